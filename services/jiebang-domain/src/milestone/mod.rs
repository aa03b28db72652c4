//! Milestone acceptance (验收, DOMAIN.md "Milestones, acceptance and funding"): the plan fixed
//! at appointment ([`plan`]), each report checked against its targets ([`check`]), the rules an
//! acceptance decision must follow ([`decision`]), the funding ledger ([`ledger`]) and the
//! horse race (赛马制) ranking ([`race`]).

pub mod check;
pub mod decision;
pub mod ledger;
pub mod plan;
pub mod race;
