//! `ChallengeService`: drafting, approval, publication, cancellation and the automatic close
//! of challenges (榜单).
//!
//! - [`service`]: the RPC handlers.
//! - [`convert`]: protobuf ↔ domain, with the defaults of unset fields and the field mask.
//! - [`deadline`]: the clock's own transition, PUBLISHED → APPLICATIONS_CLOSED.

pub mod convert;
pub mod deadline;
pub mod service;

pub use service::ChallengeApi;
