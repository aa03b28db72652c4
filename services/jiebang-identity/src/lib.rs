//! `IdentityService`: organisations, users, login and passwords.
//!
//! - [`service`]: the RPC handlers.
//! - [`convert`]: protobuf ↔ domain for organisations and users.
//! - [`passwords`]: argon2id hashing, off the async threads.
//! - [`bootstrap`]: the first `admin` account of an empty database.

pub mod bootstrap;
pub mod convert;
pub mod passwords;
pub mod service;

pub use service::IdentityApi;
