//! `MilestoneService`: projects run their milestone plan and release funding tranche by
//! tranche (DOMAIN.md, "Milestones, acceptance and funding").
//!
//! Served so far: reading projects and milestones, reports with their automatic checks, the
//! clock marking milestones OVERDUE, and the disbursement ledger with exactly-once releases; acceptance panels, decisions, extensions, horse races and failures answer UNIMPLEMENTED until the rest of step 4 lands (their rules are already in
//! `jiebang_domain::milestone`).

pub mod acceptance;
pub mod report;
pub mod service;

pub use service::MilestoneApi;
