//! Background work driven by the clock rather than by calls.

use jiebang_grpc::Platform;
use std::time::Duration;
use tokio::sync::watch;

/// Every `interval` until shutdown: records passed deadlines as APPLICATIONS_CLOSED, and
/// awarded challenges whose projects have started as IN_PROGRESS, and milestones past due
/// without a report as OVERDUE.
pub async fn close_deadlines(
    platform: Platform,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        sweep(&platform).await;
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// One pass of the clock's work; failures are logged and retried on the next pass.
pub async fn sweep(platform: &Platform) {
    match jiebang_challenge::deadline::close_due(platform).await {
        Ok(0) => {}
        Ok(n) => tracing::debug!(closed = n, "deadline sweep"),
        Err(e) => tracing::warn!(error = %e, "deadline sweep failed; will retry"),
    }
    match jiebang_milestone::report::mark_overdue(platform).await {
        Ok(0) => {}
        Ok(n) => tracing::debug!(overdue = n, "overdue sweep"),
        Err(e) => tracing::warn!(error = %e, "overdue sweep failed; will retry"),
    }
    match jiebang_challenge::deadline::start_due(platform).await {
        Ok(0) => {}
        Ok(n) => tracing::debug!(started = n, "project start sweep"),
        Err(e) => tracing::warn!(error = %e, "project start sweep failed; will retry"),
    }
}
