//! The public gRPC face of `jiebang-server`, tested through real sockets on SQLite and on
//! PostgreSQL. Each module is one capability; each test reads as a rule of the process.

mod support;

mod applications;
mod audit;
mod audit_concurrency;
mod challenge_access;
mod challenge_lifecycle;
mod challenge_listing;
mod challenge_validation;
mod cli_milestones;
mod documents;
mod events;
mod idempotency;
mod identity;
mod milestones;
mod permissions;
mod project_endings;
mod review;
mod samples;
mod server;
mod write_batches;
