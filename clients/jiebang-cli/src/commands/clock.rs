//! `jiebang clock`: the server's time, and moving a demo server's clock forward.

use super::Context;
use crate::client::Connection;
use anyhow::{Context as _, Result};
use clap::Subcommand;
use jiebang_proto::v1 as pb;
use jiebang_proto::v1::clock_service_client::ClockServiceClient;
use serde::Serialize;

#[derive(Subcommand)]
pub enum ClockCommand {
    /// The server's current time, and whether it runs on a demo clock.
    Show,
    /// Move a demo server's clock forward (admin; JIEBANG_DEMO_CLOCK=true servers only).
    Advance {
        /// How far, e.g. 30d, 12h, 1d 6h.
        by: String,
    },
}

/// The server's current time; any signed-in user may read it. Commands that date something
/// (a publication window, a pledge) count from it rather than from this machine's clock, which
/// may differ from the server's (plain skew, or a demo clock moved forward).
pub async fn server_now(ctx: &Context, connection: &Connection) -> Result<prost_types::Timestamp> {
    ClockServiceClient::new(connection.authed())
        .get_clock(pb::GetClockRequest {})
        .await
        .map_err(|s| ctx.fail(s))?
        .into_inner()
        .now
        .context("the server sent no time")
}

/// `t` moved forward by `by`, to the nanosecond.
pub fn plus(t: &prost_types::Timestamp, by: std::time::Duration) -> prost_types::Timestamp {
    const NANOS: i64 = 1_000_000_000;
    let nanos = i64::from(t.nanos) + i64::from(by.subsec_nanos());
    prost_types::Timestamp {
        seconds: t
            .seconds
            .saturating_add(i64::try_from(by.as_secs()).unwrap_or(i64::MAX))
            .saturating_add(nanos.div_euclid(NANOS)),
        nanos: i32::try_from(nanos.rem_euclid(NANOS)).unwrap_or(0),
    }
}

#[derive(Serialize)]
struct ClockView {
    now: String,
    adjustable: bool,
}

pub async fn run(ctx: &Context, command: ClockCommand) -> Result<()> {
    let mut client = ClockServiceClient::new(ctx.connect().await?.authed());
    let view = match command {
        ClockCommand::Show => {
            let clock = client
                .get_clock(pb::GetClockRequest {})
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            ClockView {
                now: crate::views::time(clock.now.as_ref()),
                adjustable: clock.adjustable,
            }
        }
        ClockCommand::Advance { by } => {
            let by = humantime::parse_duration(&by)
                .with_context(|| format!("`{by}` is not a duration like 30d or 12h"))?;
            let moved = client
                .advance_clock(pb::AdvanceClockRequest {
                    by: Some(prost_types::Duration {
                        seconds: i64::try_from(by.as_secs()).unwrap_or(i64::MAX),
                        nanos: i32::try_from(by.subsec_nanos()).unwrap_or(0),
                    }),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            ClockView {
                now: crate::views::time(moved.now.as_ref()),
                adjustable: true,
            }
        }
    };
    ctx.print(&view, || {
        let kind = if view.adjustable {
            "demo clock: the bureau may move it forward"
        } else {
            "wall clock"
        };
        format!("{} ({kind})", view.now)
    })
}

#[cfg(test)]
mod tests {
    use super::plus;
    use std::time::Duration;

    #[test]
    fn plus_carries_nanoseconds_into_seconds() {
        let t = prost_types::Timestamp {
            seconds: 100,
            nanos: 900_000_000,
        };
        let moved = plus(&t, Duration::new(30 * 86_400, 200_000_000));
        assert_eq!(moved.seconds, 100 + 30 * 86_400 + 1);
        assert_eq!(moved.nanos, 100_000_000);
    }
}
