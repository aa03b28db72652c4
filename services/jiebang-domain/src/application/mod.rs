//! The application (揭榜申报): what a team proposes ([`content`]), who may see and change it
//! ([`access`]), its lifecycle ([`lifecycle`]) and the eligibility rules checked when it is
//! submitted ([`eligibility`]).

pub mod access;
pub mod content;
pub mod eligibility;
pub mod lifecycle;

pub use content::{
    ApplicationContent, Contact, IndicatorTarget, Member, ProposedMilestone, TeamRole,
};
pub use eligibility::{EligibilityFacts, EligibilityRule, IneligibilityReason};
pub use lifecycle::{Application, ApplicationState, FormalCheck, Pledge};
