//! `MilestoneService`: projects run their milestone plan and release funding tranche by
//! tranche (DOMAIN.md, "Milestones, acceptance and funding").
//!
//! Modules: `service` (reading projects, milestones and the ledger; exactly-once releases),
//! `report` (reports checked against their targets; the clock marking OVERDUE), `acceptance`
//! (panels, votes, decisions), `ending` (the one extension, the horse race's cut, failures).
//! The rules themselves live in `jiebang_domain::milestone`.

pub mod acceptance;
pub mod ending;
pub mod report;
pub mod service;

pub use service::MilestoneApi;
