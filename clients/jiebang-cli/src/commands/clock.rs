//! `jiebang clock`: the server's time, and moving a demo server's clock forward.

use super::Context;
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
