//! The rules of 揭榜挂帅 (open bidding for key technical problems), as pure Rust.
//!
//! This crate knows nothing of gRPC or SQL: it holds the resources, how they are validated,
//! which state transitions are allowed and who may make them. Transport (`jiebang-grpc` and the
//! service crates) converts to and from it; storage (`jiebang-storage`) persists it. Every rule
//! cites the section of `shared/DOMAIN.md` it enforces.
//!
//! - [`error`]: the domain's closed set of failures and field violations.
//! - [`time`]: instants as exact microseconds, and the clock (real or manual for tests).
//! - [`ids`]: resource ids and names.
//! - [`application`]: the application (揭榜申报), its eligibility rules and lifecycle.
//! - [`audience`]: who may see an event.
//! - [`caller`]: the authenticated user making a request.
//! - [`identity`]: organisations (with the unified social credit code), users, roles, passwords.
//! - [`challenge`]: the challenge (榜单), its content, lifecycle and access rules.
//! - [`milestone`]: milestone plans, report checks, acceptance rules, the ledger, horse races.
//! - [`review`]: assigning experts (exact min-cost flow) and aggregating scores.
//! - [`decimal`]: exact decimal values of indicators.
//! - [`document`]: accepted document types and upload declarations.

pub mod application;
pub mod audience;
pub mod caller;
pub mod challenge;
pub mod decimal;
pub mod document;
pub mod error;
pub mod identity;
pub mod ids;
pub mod milestone;
pub mod review;
pub mod time;

pub use caller::Caller;
pub use error::{DomainError, FieldViolation, Violations};
pub use time::{Clock, DemoClock, ManualClock, SystemClock, Timestamp};
