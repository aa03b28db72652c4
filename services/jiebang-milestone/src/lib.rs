//! `MilestoneService`: projects run their milestone plan and release funding tranche by
//! tranche (DOMAIN.md, "Milestones, acceptance and funding").
//!
//! This first part serves reading projects and milestones and the disbursement ledger with
//! exactly-once releases; reports, acceptance panels, decisions, extensions, horse races and
//! failures answer UNIMPLEMENTED until the rest of step 4 lands (their rules are already in
//! `jiebang_domain::milestone`).

pub mod service;

pub use service::MilestoneApi;
