//! `jiebang audit …`.

use super::Context;
use crate::views::{AuditRecordView, audit_table};
use anyhow::Result;
use clap::Subcommand;
use jiebang_proto::v1 as pb;
use jiebang_proto::v1::audit_service_client::AuditServiceClient;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Recompute every hash of the audit chains and report any break. Exits 1 when broken.
    Verify {
        /// Only this chain (a resource name such as challenges/…).
        #[arg(long)]
        chain: Option<String>,
    },
    /// List audit records, oldest first.
    List {
        #[arg(long)]
        chain: Option<String>,
        #[arg(long)]
        actor: Option<String>,
        /// At most this many records.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
}

pub async fn run(ctx: &Context, command: AuditCommand) -> Result<()> {
    let mut client = AuditServiceClient::new(ctx.connect().await?.authed());
    match command {
        AuditCommand::Verify { chain } => {
            let result = client
                .verify_audit_chain(pb::VerifyAuditChainRequest {
                    chain: chain.unwrap_or_default(),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            #[derive(serde::Serialize)]
            struct Verdict {
                intact: bool,
                chains_checked: i64,
                records_checked: i64,
                breaks: Vec<(String, i64, String)>,
            }
            let verdict = Verdict {
                intact: result.intact,
                chains_checked: result.chains_checked,
                records_checked: result.records_checked,
                breaks: result
                    .breaks
                    .iter()
                    .map(|b| (b.chain.clone(), b.chain_sequence, b.reason.clone()))
                    .collect(),
            };
            ctx.print(&verdict, || {
                let mut text = format!(
                    "{}: {} records in {} chains checked",
                    if result.intact { "intact" } else { "BROKEN" },
                    result.records_checked,
                    result.chains_checked
                );
                for b in &result.breaks {
                    text.push_str(&format!(
                        "\n  {} at #{}: {}",
                        b.chain, b.chain_sequence, b.reason
                    ));
                }
                text
            })?;
            if result.intact {
                Ok(())
            } else {
                Err(anyhow::anyhow!("the audit trail has been tampered with"))
            }
        }
        AuditCommand::List {
            chain,
            actor,
            limit,
        } => {
            let mut all = Vec::new();
            let mut page_token = String::new();
            while all.len() < limit {
                let page = client
                    .list_audit_records(pb::ListAuditRecordsRequest {
                        page_size: i32::try_from(limit.min(1000)).unwrap_or(1000),
                        page_token,
                        chain: chain.clone().unwrap_or_default(),
                        actor: actor.clone().unwrap_or_default(),
                    })
                    .await
                    .map_err(|s| ctx.fail(s))?
                    .into_inner();
                all.extend(page.records);
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            all.truncate(limit);
            let views: Vec<_> = all.iter().map(AuditRecordView::from).collect();
            ctx.print(&views, || audit_table(&all))
        }
    }
}
