//! `jiebang events watch`.

use super::Context;
use crate::views::{EventView, Output};
use anyhow::Result;
use clap::Subcommand;
use jiebang_proto::v1 as pb;
use jiebang_proto::v1::event_service_client::EventServiceClient;
use tokio_stream::StreamExt;

#[derive(Subcommand)]
pub enum EventsCommand {
    /// Print events as they are committed, one per line, until interrupted.
    Watch {
        /// Start after this sequence (0: from the beginning of what you may see).
        #[arg(long, default_value_t = 0)]
        after: i64,
        /// Only events whose resource starts with this, e.g. challenges/.
        #[arg(long, default_value = "")]
        prefix: String,
        /// Stop after this many events.
        #[arg(long)]
        count: Option<usize>,
    },
}

pub async fn run(ctx: &Context, command: EventsCommand) -> Result<()> {
    let EventsCommand::Watch {
        after,
        prefix,
        count,
    } = command;
    let mut stream = EventServiceClient::new(ctx.connect().await?.authed())
        .watch_events(pb::WatchEventsRequest {
            after_sequence: after,
            types: vec![],
            resource_prefix: prefix,
        })
        .await
        .map_err(|s| ctx.fail(s))?
        .into_inner();
    let mut seen = 0;
    while let Some(item) = stream.next().await {
        let Some(event) = item.map_err(|s| ctx.fail(s))?.event else {
            continue;
        };
        let view = EventView::from(&event);
        match ctx.output {
            Output::Json => println!("{}", serde_json::to_string(&view)?),
            Output::Table => println!(
                "#{:<6} {} {:<28} {} {} {}",
                view.sequence, view.time, view.r#type, view.resource, view.state, view.summary
            ),
        }
        seen += 1;
        if count.is_some_and(|c| seen >= c) {
            break;
        }
    }
    Ok(())
}
