//! `ApplicationService`: research teams take a published challenge (揭榜).
//!
//! - [`service`]: the RPC handlers for applications.
//! - [`convert`]: protobuf ↔ domain for applications.
//! - [`references`]: checks that the users, organisations and documents an application names
//!   exist and may be named by the caller.

pub mod convert;
pub mod references;
pub mod service;

pub use service::ApplicationApi;
