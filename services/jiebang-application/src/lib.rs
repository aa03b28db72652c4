//! `ApplicationService`: research teams take a published challenge (揭榜).
//!
//! - [`service`]: the RPC handlers for applications.
//! - [`convert`]: protobuf ↔ domain for applications.
//! - [`documents`], [`document_store`]: uploading, downloading and storing documents.
//! - [`blind`]: the application as experts of a blind challenge see it.
//! - [`references`]: checks that the users, organisations and documents an application names
//!   exist and may be named by the caller.

pub mod blind;
pub mod convert;
pub mod document_store;
pub mod documents;
pub mod references;
pub mod service;

pub use service::ApplicationApi;
