//! The challenge (榜单): what it holds ([`spec`]), its lifecycle ([`lifecycle`]) and who may
//! see and change it ([`access`]).

pub mod access;
pub mod lifecycle;
pub mod spec;

pub use lifecycle::{CancellationReason, Challenge, ChallengeState, PublicationLimits};
pub use spec::{
    AggregationMethod, ChallengeSpec, Comparison, Contact, Criterion, CriterionKind, Eligibility,
    Indicator, ReviewSettings, Tranche, TrancheTrigger,
};
