//! Persistence for jiebang: SQLite (embedded, the default) or PostgreSQL (production), through
//! one code path on sqlx's `Any` driver.
//!
//! Every query is written once with `$n` placeholders, which both backends accept; the few
//! places where the dialects differ ask [`Dialect`]. Writes go through a [`Tx`]: the caller
//! makes its row changes, then [`Tx::finish`] appends the audit record, the outbox event and
//! the idempotency record in the same transaction and commits — so a state change, its audit
//! trail and its event exist together or not at all.
//!
//! - [`store`]: opening the pool (WAL and busy timeout on SQLite), migrations, transactions.
//! - [`batch`]: writes queued in a transaction and sent in one round trip.
//! - [`group_commit`]: SQLite's one writer, committing the writes queued together at once.
//! - [`change`]: what every write carries besides its rows (actor, audit, event, idempotency).
//! - [`audit`]: the per-resource hash chains, their verification and listing.
//! - [`events`]: reading the outbox.
//! - [`identity`], [`challenges`], [`applications`]: the rows of each resource.
//! - [`error`]: the storage error type and how database errors are classified.

pub mod applications;
pub mod audit;
pub mod batch;
mod cache_sync;
pub mod challenges;
pub mod change;
mod columns;
pub mod documents;
pub mod error;
pub mod events;
pub mod group_commit;
pub mod identity;
pub mod notice;
pub mod projects;
pub mod read_cache;
pub mod review;
pub mod secrets;
pub mod store;

pub use batch::Expect;
pub use change::{Change, IdempotencyRecord, NewEvent, StoredResponse};
pub use error::StoreError;
pub use store::{Dialect, Store, StoreOptions, Synchronous, Tx};
