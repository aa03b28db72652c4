//! `ReviewService`: expert review (专家评审).
//!
//! - [`pool`]: the expert pool (create, read, list, update).
//! - [`assign`]: pins and forbids, the exact assignment of experts, panels, assignments,
//!   recorded conflicts.
//! - [`scoring`]: opening assignments, draft and sealed score sheets, the ranking and
//!   dispersion resolutions.
//! - [`ranking`]: aggregating and ranking a challenge's sealed sheets, rendered a page at a
//!   time.
//! - [`amend`]: conflicts declared during review (withdrawal and replacement), rescoring.
//! - [`notice`]: proposing winners, the public notice, objections and rulings, appointment.
//! - [`service`]: the gRPC trait, routing each RPC to its handler.

pub mod amend;
pub mod assign;
pub mod convert;
pub mod notice;
pub mod pool;
pub mod ranking;
pub mod scoring;
pub mod service;

pub use service::ReviewApi;
