//! `jiebang challenge …`: the lifecycle of a challenge from the command line.

use super::clock::{plus, server_now};
use super::{Context, request_id, resource_name};
use crate::challenge_file::{self, TEMPLATE};
use crate::views::{ChallengeView, challenge_detail, challenges_table};
use anyhow::{Context as _, Result, bail};
use clap::Subcommand;
use jiebang_proto::v1 as pb;
use jiebang_proto::v1::challenge_service_client::ChallengeServiceClient;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ChallengeCommand {
    /// Print a complete example challenge file to start from.
    Template,
    /// Create a DRAFT from a challenge file (publishers).
    Create {
        /// TOML (or .json) challenge file; see `jiebang challenge template`.
        #[arg(long)]
        file: PathBuf,
    },
    /// Change a DRAFT: the fields present in the file replace the stored ones.
    Update {
        name: String,
        #[arg(long)]
        file: PathBuf,
        /// Only these top-level fields (comma-separated), instead of all fields in the file.
        #[arg(long, value_delimiter = ',')]
        fields: Vec<String>,
    },
    /// DRAFT → PENDING_APPROVAL (its publisher).
    Submit { name: String },
    /// PENDING_APPROVAL → APPROVED (admin).
    Approve { name: String },
    /// PENDING_APPROVAL → DRAFT with a reason (admin).
    Reject {
        name: String,
        #[arg(long)]
        reason: String,
    },
    /// APPROVED → PUBLISHED with an application window (publisher or admin).
    Publish {
        name: String,
        /// The deadline, RFC 3339 (e.g. 2026-12-31T17:00:00+08:00).
        #[arg(long, conflicts_with = "window")]
        closes: Option<String>,
        /// Or: the window's length from opening, e.g. 30d, 72h (counted by the server's clock).
        #[arg(long)]
        window: Option<humantime::Duration>,
        /// When applications open, RFC 3339; default the server's now.
        #[arg(long)]
        opens: Option<String>,
    },
    /// Cancel with a typed reason.
    Cancel {
        name: String,
        /// no_eligible_applications | none_above_threshold | withdrawn_by_publisher | policy_change | other
        #[arg(long)]
        reason: String,
        /// Required with `other`.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// List the challenges you may see, newest first.
    List {
        /// draft | pending_approval | approved | published | applications_closed | … | cancelled
        #[arg(long)]
        state: Option<String>,
        /// Industry field code, e.g. electric_porcelain.
        #[arg(long)]
        field: Option<String>,
        /// Publisher organisation.
        #[arg(long)]
        publisher: Option<String>,
        /// Text contained in the title.
        #[arg(long)]
        title: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Show one challenge in full.
    Show { name: String },
}

pub(crate) fn parse_time(text: &str, flag: &str) -> Result<prost_types::Timestamp> {
    let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .with_context(|| {
            format!("{flag} must be an RFC 3339 time like 2026-12-31T17:00:00+08:00")
        })?;
    Ok(prost_types::Timestamp {
        seconds: t.unix_timestamp(),
        nanos: i32::try_from(t.nanosecond()).unwrap_or(0),
    })
}

fn state(text: &str) -> Result<i32> {
    let wanted = format!("CHALLENGE_STATE_{}", text.to_uppercase());
    pb::ChallengeState::from_str_name(&wanted)
        .map(|s| s as i32)
        .with_context(|| {
            format!("`{text}` is not a challenge state (e.g. draft, published, cancelled)")
        })
}

fn cancellation(text: &str) -> Result<i32> {
    let wanted = format!("CANCELLATION_REASON_{}", text.to_uppercase());
    pb::CancellationReason::from_str_name(&wanted)
        .map(|r| r as i32)
        .with_context(|| {
            format!("`{text}` is not a cancellation reason (no_eligible_applications, none_above_threshold, withdrawn_by_publisher, policy_change, other)")
        })
}

fn show(ctx: &Context, challenge: Option<pb::Challenge>, what: &str) -> Result<()> {
    let challenge = challenge.context("the server sent no challenge")?;
    if ctx.output == crate::views::Output::Table && !what.is_empty() {
        eprintln!(
            "{what} {} — now {}",
            challenge.name,
            crate::views::challenge_state(challenge.state)
        );
    }
    ctx.print(&ChallengeView::from(&challenge), || {
        challenge_detail(&challenge)
    })
}

pub async fn run(ctx: &Context, command: ChallengeCommand) -> Result<()> {
    if let ChallengeCommand::Template = command {
        print!("{TEMPLATE}");
        return Ok(());
    }
    let connection = ctx.connect().await?;
    let mut client = ChallengeServiceClient::new(connection.authed());
    match command {
        ChallengeCommand::Template => Ok(()),
        ChallengeCommand::Create { file } => {
            let challenge = challenge_file::read(&file)?.to_proto()?;
            let created = client
                .create_challenge(pb::CreateChallengeRequest {
                    challenge: Some(challenge),
                    request_id: request_id(),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            show(ctx, created.challenge, "created")
        }
        ChallengeCommand::Update { name, file, fields } => {
            let name = resource_name("challenges", &name);
            let parsed = challenge_file::read(&file)?;
            let paths = if fields.is_empty() {
                parsed.present_fields()
            } else {
                fields
            };
            if paths.is_empty() {
                bail!("{} sets no field to update", file.display());
            }
            let current = client
                .get_challenge(pb::GetChallengeRequest { name: name.clone() })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner()
                .challenge
                .unwrap_or_default();
            let mut challenge = parsed.to_proto()?;
            challenge.name = name;
            challenge.etag = current.etag;
            let updated = client
                .update_challenge(pb::UpdateChallengeRequest {
                    challenge: Some(challenge),
                    update_mask: Some(prost_types::FieldMask { paths }),
                    request_id: request_id(),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            show(ctx, updated.challenge, "updated")
        }
        ChallengeCommand::Submit { name } => {
            let r = client
                .submit_challenge(pb::SubmitChallengeRequest {
                    name: resource_name("challenges", &name),
                    etag: String::new(),
                    request_id: request_id(),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            show(ctx, r.challenge, "submitted")
        }
        ChallengeCommand::Approve { name } => {
            let r = client
                .approve_challenge(pb::ApproveChallengeRequest {
                    name: resource_name("challenges", &name),
                    etag: String::new(),
                    request_id: request_id(),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            show(ctx, r.challenge, "approved")
        }
        ChallengeCommand::Reject { name, reason } => {
            let r = client
                .reject_challenge(pb::RejectChallengeRequest {
                    name: resource_name("challenges", &name),
                    etag: String::new(),
                    reason,
                    request_id: request_id(),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            show(ctx, r.challenge, "rejected")
        }
        ChallengeCommand::Publish {
            name,
            closes,
            window,
            opens,
        } => {
            let mut open_time = opens
                .as_deref()
                .map(|o| parse_time(o, "--opens"))
                .transpose()?;
            let close_time = match (closes, window) {
                (Some(closes), _) => parse_time(&closes, "--closes")?,
                (None, Some(window)) => {
                    // Counted from the server's clock, never this machine's: the two may differ
                    // (skew, or a demo clock moved forward). Opening at that instant keeps the
                    // window exactly as long as asked.
                    let start = match &open_time {
                        Some(t) => *t,
                        None => {
                            let now = server_now(ctx, &connection).await?;
                            open_time = Some(now);
                            now
                        }
                    };
                    plus(&start, window.into())
                }
                (None, None) => {
                    bail!("give the deadline with --closes <RFC 3339 time> or --window <length>")
                }
            };
            let r = client
                .publish_challenge(pb::PublishChallengeRequest {
                    name: resource_name("challenges", &name),
                    etag: String::new(),
                    application_open_time: open_time,
                    application_close_time: Some(close_time),
                    request_id: request_id(),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            show(ctx, r.challenge, "published")
        }
        ChallengeCommand::Cancel { name, reason, note } => {
            let r = client
                .cancel_challenge(pb::CancelChallengeRequest {
                    name: resource_name("challenges", &name),
                    etag: String::new(),
                    reason: cancellation(&reason)?,
                    note,
                    request_id: request_id(),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            show(ctx, r.challenge, "cancelled")
        }
        ChallengeCommand::List {
            state: state_text,
            field,
            publisher,
            title,
            limit,
        } => {
            let state = state_text.as_deref().map(state).transpose()?.unwrap_or(0);
            let mut all = Vec::new();
            let mut page_token = String::new();
            while all.len() < limit {
                let page = client
                    .list_challenges(pb::ListChallengesRequest {
                        page_size: i32::try_from(limit.min(100)).unwrap_or(100),
                        page_token,
                        state,
                        industry_field: field.clone().unwrap_or_default(),
                        publisher: publisher
                            .as_deref()
                            .map(|p| resource_name("organizations", p))
                            .unwrap_or_default(),
                        title_contains: title.clone().unwrap_or_default(),
                        // The table shows the basic view; JSON is every field.
                        view: match ctx.output {
                            crate::views::Output::Json => pb::ChallengeView::Full,
                            crate::views::Output::Table => pb::ChallengeView::Basic,
                        } as i32,
                    })
                    .await
                    .map_err(|s| ctx.fail(s))?
                    .into_inner();
                all.extend(page.challenges);
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            all.truncate(limit);
            let views: Vec<_> = all.iter().map(ChallengeView::from).collect();
            ctx.print(&views, || challenges_table(&all))
        }
        ChallengeCommand::Show { name } => {
            let r = client
                .get_challenge(pb::GetChallengeRequest {
                    name: resource_name("challenges", &name),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            show(ctx, r.challenge, "")
        }
    }
}
