//! The jiebang server: every `jiebang.v1` service on one port, with `grpc.health.v1` per
//! service, server reflection (v1 and v1alpha), and gRPC-Web for browsers.
//!
//! - [`config`]: settings from a file and `JIEBANG_*` variables.
//! - [`telemetry`]: logs, OTLP traces, W3C trace context.
//! - [`server`]: building the services, serving, graceful shutdown with a drain timeout.
//! - [`jobs`]: the clock's own work (closing challenges at their deadline).
//! - [`metrics`]: the Prometheus endpoint and the per-RPC metrics layer.
//! - [`clock`]: `ClockService`, reading the clock and moving a demo clock forward.

pub mod clock;
pub mod config;
pub mod jobs;
pub mod metrics;
pub mod server;
pub mod telemetry;

pub use config::Config;
pub use server::{RunningServer, start};
