//! `jiebang application …`: a team's application from the command line.

use super::clock::server_now;
use super::{Context, request_id, resource_name};
use crate::application_file::{self, Author, TEMPLATE};
use crate::views::{ApplicationView, application_detail, applications_table};
use anyhow::{Context as _, Result, bail};
use clap::Subcommand;
use jiebang_proto::v1 as pb;
use jiebang_proto::v1::application_service_client::ApplicationServiceClient;
use jiebang_proto::v1::identity_service_client::IdentityServiceClient;
use std::path::PathBuf;

/// The pledge text used when none is given.
const DEFAULT_PLEDGE: &str =
    "本团队承诺按申报书所列里程碑完成全部考核指标；如未达到，愿接受考核结果并承担相应责任。";

#[derive(Subcommand)]
pub enum ApplicationCommand {
    /// Print an example application file to start from.
    Template,
    /// Create a DRAFT application to a published challenge (team members).
    Create {
        /// The challenge, challenges/{id}.
        #[arg(long)]
        challenge: String,
        #[arg(long)]
        file: PathBuf,
    },
    /// Change a DRAFT: the fields present in the file replace the stored ones.
    Edit {
        name: String,
        #[arg(long)]
        file: PathBuf,
        /// Only these fields (comma-separated).
        #[arg(long, value_delimiter = ',')]
        fields: Vec<String>,
    },
    /// Sign the responsibility pledge (军令状) and submit (the lead person).
    Submit {
        name: String,
        /// The pledge text; default: a standard pledge to meet every indicator.
        #[arg(long, conflicts_with = "pledge_file")]
        pledge: Option<String>,
        /// Read the pledge text from a file.
        #[arg(long)]
        pledge_file: Option<PathBuf>,
        /// Only check the deadline and the eligibility rules; submit nothing.
        #[arg(long)]
        validate_only: bool,
    },
    /// Withdraw before the deadline (it stays on record).
    Withdraw {
        name: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// List the applications you may see.
    List {
        /// Only those of this challenge.
        #[arg(long)]
        challenge: Option<String>,
        /// draft | submitted | eligible | ineligible | withdrawn | …
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Show one application.
    Show { name: String },
    /// Record the formal check (形式审查) after the deadline (admin).
    Check {
        name: String,
        /// The application passes.
        #[arg(long, conflicts_with = "ineligible")]
        eligible: bool,
        /// The application fails; give --reason RULE=detail at least once.
        #[arg(long)]
        ineligible: bool,
        /// RULE=detail, RULE one of organization_type, region, consortium_size,
        /// applications_per_organization, past_winner, barred_for_misconduct,
        /// duplicate_application, budget, milestone_plan, incomplete, other.
        #[arg(long = "reason")]
        reasons: Vec<String>,
    },
    /// Show what experts of a blind challenge will see.
    Blind { name: String },
}

async fn author(ctx: &Context) -> Result<Author> {
    let me = IdentityServiceClient::new(ctx.connect().await?.authed())
        .who_am_i(pb::WhoAmIRequest {})
        .await
        .map_err(|s| ctx.fail(s))?
        .into_inner();
    let user = me.user.context("the server sent no user")?;
    Ok(Author {
        user: user.name,
        display_name: user.display_name,
        organization: user.organization,
    })
}

fn state(text: &str) -> Result<i32> {
    pb::ApplicationState::from_str_name(&format!("APPLICATION_STATE_{}", text.to_uppercase()))
        .map(|s| s as i32)
        .with_context(|| {
            format!("`{text}` is not an application state (e.g. draft, submitted, eligible)")
        })
}

fn reason(text: &str) -> Result<pb::IneligibilityReason> {
    let (rule, detail) = text.split_once('=').with_context(|| {
        format!("`{text}`: write a reason as RULE=detail, e.g. incomplete=缺少资质证明")
    })?;
    let rule = pb::EligibilityRule::from_str_name(&format!(
        "ELIGIBILITY_RULE_{}",
        rule.trim().to_uppercase()
    ))
    .with_context(|| format!("`{rule}` is not an eligibility rule"))?;
    Ok(pb::IneligibilityReason {
        rule: rule as i32,
        detail: detail.trim().to_owned(),
    })
}

fn show(ctx: &Context, application: Option<pb::Application>, what: &str) -> Result<()> {
    let application = application.context("the server sent no application")?;
    if ctx.output == crate::views::Output::Table && !what.is_empty() {
        eprintln!(
            "{what} {} — now {}",
            application.name,
            crate::views::application_state(application.state)
        );
    }
    ctx.print(&ApplicationView::from(&application), || {
        application_detail(&application)
    })
}

pub async fn run(ctx: &Context, command: ApplicationCommand) -> Result<()> {
    if let ApplicationCommand::Template = command {
        print!("{TEMPLATE}");
        return Ok(());
    }
    let connection = ctx.connect().await?;
    let mut client = ApplicationServiceClient::new(connection.authed());
    match command {
        ApplicationCommand::Template => Ok(()),
        ApplicationCommand::Create { challenge, file } => {
            let author = author(ctx).await?;
            let application = application_file::read(&file)?.to_proto(&author)?;
            let r = client
                .create_application(pb::CreateApplicationRequest {
                    parent: resource_name("challenges", &challenge),
                    application: Some(application),
                    request_id: request_id(),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            show(ctx, r.application, "created")
        }
        ApplicationCommand::Edit { name, file, fields } => {
            let author = author(ctx).await?;
            let parsed = application_file::read(&file)?;
            let paths = if fields.is_empty() {
                parsed.present_fields()
            } else {
                fields
            };
            if paths.is_empty() {
                bail!("{} sets no field to update", file.display());
            }
            let current = client
                .get_application(pb::GetApplicationRequest { name: name.clone() })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner()
                .application
                .unwrap_or_default();
            let mut application = parsed.to_proto(&author)?;
            application.name = name;
            application.etag = current.etag;
            let r = client
                .update_application(pb::UpdateApplicationRequest {
                    application: Some(application),
                    update_mask: Some(prost_types::FieldMask { paths }),
                    request_id: request_id(),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            show(ctx, r.application, "updated")
        }
        ApplicationCommand::Submit {
            name,
            pledge,
            pledge_file,
            validate_only,
        } => {
            let text = match (pledge, pledge_file) {
                (Some(text), _) => text,
                (None, Some(path)) => std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?,
                (None, None) => DEFAULT_PLEDGE.to_owned(),
            };
            let signer = author(ctx).await?.user;
            // Dated by the server's clock, which judges the pledge; this machine's may differ.
            let now = server_now(ctx, &connection).await?;
            let r = client
                .submit_application(pb::SubmitApplicationRequest {
                    name,
                    etag: String::new(),
                    pledge: Some(pb::ResponsibilityPledge {
                        signer,
                        sign_time: Some(now),
                        text,
                        ..Default::default()
                    }),
                    validate_only,
                    request_id: request_id(),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            show(
                ctx,
                r.application,
                if validate_only {
                    "eligible and on time:"
                } else {
                    "submitted"
                },
            )
        }
        ApplicationCommand::Withdraw { name, reason } => {
            let r = client
                .withdraw_application(pb::WithdrawApplicationRequest {
                    name,
                    etag: String::new(),
                    reason,
                    request_id: request_id(),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            show(ctx, r.application, "withdrew")
        }
        ApplicationCommand::List {
            challenge,
            state: state_text,
            limit,
        } => {
            let state = state_text.as_deref().map(state).transpose()?.unwrap_or(0);
            let parent = challenge.map_or_else(
                || "challenges/-".to_owned(),
                |c| resource_name("challenges", &c),
            );
            let mut all = Vec::new();
            let mut page_token = String::new();
            while all.len() < limit {
                let page = client
                    .list_applications(pb::ListApplicationsRequest {
                        parent: parent.clone(),
                        page_size: i32::try_from(limit.min(100)).unwrap_or(100),
                        page_token,
                        state,
                        lead_organization: String::new(),
                    })
                    .await
                    .map_err(|s| ctx.fail(s))?
                    .into_inner();
                all.extend(page.applications);
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            all.truncate(limit);
            let views: Vec<_> = all.iter().map(ApplicationView::from).collect();
            ctx.print(&views, || applications_table(&all))
        }
        ApplicationCommand::Show { name } => {
            let r = client
                .get_application(pb::GetApplicationRequest { name })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            show(ctx, r.application, "")
        }
        ApplicationCommand::Check {
            name,
            eligible,
            ineligible,
            reasons,
        } => {
            let outcome = match (eligible, ineligible) {
                (true, false) => pb::FormalCheckOutcome::Eligible,
                (false, true) => pb::FormalCheckOutcome::Ineligible,
                _ => {
                    bail!("say --eligible, or --ineligible with at least one --reason RULE=detail")
                }
            };
            let reasons = reasons
                .iter()
                .map(|r| reason(r))
                .collect::<Result<Vec<_>>>()?;
            let r = client
                .record_formal_check(pb::RecordFormalCheckRequest {
                    name,
                    etag: String::new(),
                    outcome: outcome as i32,
                    reasons,
                    request_id: request_id(),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            show(ctx, r.application, "checked")
        }
        ApplicationCommand::Blind { name } => {
            let blind = client
                .get_blind_view(pb::GetBlindViewRequest { name })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner()
                .blind_application
                .unwrap_or_default();
            #[derive(serde::Serialize)]
            struct BlindView {
                label: String,
                title: String,
                technical_plan: String,
                requested_budget_fen: i64,
                partner_count: i32,
                members: Vec<String>,
                documents: Vec<String>,
            }
            let view = BlindView {
                label: blind.label.clone(),
                title: blind.title.clone(),
                technical_plan: blind.technical_plan.clone(),
                requested_budget_fen: blind.requested_budget_fen,
                partner_count: blind.partner_count,
                members: blind.members.iter().map(|m| m.duty.clone()).collect(),
                documents: blind
                    .documents
                    .iter()
                    .map(|d| format!("{} ({})", d.document, d.media_type))
                    .collect(),
            };
            ctx.print(&view, || {
                format!(
                    "{} — {}\nbudget: {}\npartners: {}\nmembers' duties: {}\ndocuments: {}\n\n{}",
                    view.label,
                    view.title,
                    crate::views::yuan(view.requested_budget_fen),
                    view.partner_count,
                    view.members.join("; "),
                    view.documents.join("; "),
                    view.technical_plan
                )
            })
        }
    }
}
