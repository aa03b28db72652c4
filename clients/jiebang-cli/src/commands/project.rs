//! `jiebang project …`, `jiebang milestone …` and `jiebang race …`: projects after appointment,
//! milestone reports and their acceptance (验收), the funding ledger, the one extension, the
//! horse race (赛马制) and failures (失败宽容).

use super::{Context, request_id, resource_name};
use crate::commands::challenge::parse_time;
use crate::views::{time, yuan};
use anyhow::{Context as _, Result, bail};
use clap::Subcommand;
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
use jiebang_proto::v1 as pb;
use jiebang_proto::v1::application_service_client::ApplicationServiceClient;
use jiebang_proto::v1::milestone_service_client::MilestoneServiceClient;
use serde_json::{Value, json};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ProjectCommand {
    /// Projects you may see (teams: yours; publishers: your challenges'; admins: all).
    List {
        #[arg(long)]
        challenge: Option<String>,
    },
    /// One project and its milestone plan.
    Show { project: String },
    /// The disbursement ledger (拨付) of a project.
    Ledger { project: String },
    /// Release a tranche (admin): the signing tranche, or an accepted milestone's.
    Release {
        project: String,
        #[arg(long)]
        milestone: Option<String>,
    },
    /// Grant the project's one extension, of 1–12 months, from a milestone on (admin).
    Extend {
        project: String,
        #[arg(long)]
        milestone: String,
        #[arg(long)]
        months: i32,
        #[arg(long)]
        reason: String,
    },
    /// End a project as FAILED (admin): exempt after diligent work, or misconduct (bars).
    Fail {
        project: String,
        /// exempt | misconduct
        #[arg(long)]
        kind: String,
        #[arg(long)]
        reason: String,
        /// The FAILED milestone that led to it.
        #[arg(long)]
        milestone: Option<String>,
        /// Misconduct: organisations to bar (default the lead organisation).
        #[arg(long = "bar")]
        barred: Vec<String>,
        /// Misconduct: when the bar lifts, RFC 3339; default never.
        #[arg(long)]
        barred_until: Option<String>,
        /// Supporting documents already uploaded, documents/{sha256}.
        #[arg(long = "evidence")]
        evidence: Vec<String>,
    },
}

#[derive(Subcommand)]
pub enum MilestoneCommand {
    /// Milestones: of one project, or every one you may see (panel members: those you accept).
    List {
        #[arg(long)]
        project: Option<String>,
        /// e.g. under_acceptance, overdue
        #[arg(long)]
        state: Option<String>,
    },
    /// One milestone with its reports, panel and decision.
    Show { milestone: String },
    /// Submit the team's report (lead person): measured values and evidence files.
    Report {
        milestone: String,
        /// indicator=value, e.g. 机电破坏负荷=560; repeat for each indicator.
        #[arg(long = "value", required = true)]
        values: Vec<String>,
        /// Evidence files to upload and attach (PDF, images, …).
        #[arg(long = "evidence")]
        evidence: Vec<PathBuf>,
        #[arg(long, default_value = "")]
        narrative: String,
    },
    /// Form the acceptance panel (admin): the publisher's end user and unconflicted experts.
    Panel {
        milestone: String,
        /// Seats in all (odd, 3–15); default 5.
        #[arg(long, default_value_t = 0)]
        seats: i32,
        /// End-user seats, users/{id} of the publisher; default its first publisher.
        #[arg(long = "end-user")]
        end_users: Vec<String>,
        /// Experts that must sit, experts/{id}.
        #[arg(long = "expert")]
        experts: Vec<String>,
        /// After a rework: the same panel judges the corrected report.
        #[arg(long)]
        reuse: bool,
    },
    /// Vote as a panel member: accepted | accepted_after_fixes | rework_required | failed.
    Vote {
        milestone: String,
        #[arg(long)]
        outcome: String,
        #[arg(long)]
        comment: String,
    },
    /// The votes you may see (members after voting; the team after the decision).
    Votes {
        milestone: String,
        /// Also superseded votes.
        #[arg(long)]
        all: bool,
    },
    /// Decide once every seat has voted (admin).
    Decide {
        milestone: String,
        #[arg(long)]
        outcome: String,
        #[arg(long)]
        reason: String,
        /// accepted_after_fixes: what the team must fix; repeat.
        #[arg(long = "fix")]
        fixes: Vec<String>,
        /// rework_required: the new due time, RFC 3339, within 3 months.
        #[arg(long)]
        rework_due: Option<String>,
        /// failed: mandatory_indicator_missed | false_data | too_late | below_fail_band |
        /// rework_failed | panel_judgement; repeat.
        #[arg(long = "ground")]
        grounds: Vec<String>,
    },
}

#[derive(Subcommand)]
pub enum RaceCommand {
    /// Rank the racing projects on their decided mid-term milestones (admin, publisher).
    Rank { challenge: String },
    /// Confirm who continues (admin); the other racing projects are STOPPED.
    Select {
        challenge: String,
        #[arg(long = "continue", required = true)]
        continuing: Vec<String>,
        #[arg(long)]
        reason: String,
    },
}

async fn client(ctx: &Context) -> Result<MilestoneServiceClient<crate::client::Authed>> {
    Ok(MilestoneServiceClient::new(ctx.connect().await?.authed()))
}

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY).set_header(header.to_vec());
    t
}

/// `MILESTONE_STATE_UNDER_ACCEPTANCE` → `UNDER_ACCEPTANCE`.
fn short(full: &str) -> String {
    full.split_once("_STATE_")
        .or_else(|| full.split_once("_OUTCOME_"))
        .or_else(|| full.split_once("_KIND_"))
        .map_or(full, |(_, rest)| rest)
        .to_owned()
}

/// Parses `accepted` / `ACCEPTED` into `PREFIX_ACCEPTED` of an enum.
fn enum_value<T>(
    text: &str,
    prefix: &str,
    from: impl Fn(&str) -> Option<T>,
    what: &str,
) -> Result<T> {
    from(&format!(
        "{prefix}{}",
        text.to_uppercase().replace('-', "_")
    ))
    .with_context(|| format!("`{text}` is not a {what}"))
}

fn outcome(text: &str) -> Result<pb::AcceptanceOutcome> {
    enum_value(
        text,
        "ACCEPTANCE_OUTCOME_",
        pb::AcceptanceOutcome::from_str_name,
        "acceptance outcome (accepted, accepted_after_fixes, rework_required, failed)",
    )
}

fn milestone_name(text: &str) -> Result<String> {
    if text.starts_with("projects/") && text.contains("/milestones/") {
        Ok(text.to_owned())
    } else {
        bail!("`{text}` is not a milestone name: projects/{{project}}/milestones/{{milestone}}")
    }
}

pub fn project_json(p: &pb::Project) -> Value {
    json!({
        "name": p.name,
        "challenge": p.challenge,
        "title": p.title,
        "lead_organization": p.lead_organization,
        "state": pb::ProjectState::try_from(p.state).map(|s| short(s.as_str_name())).unwrap_or_default(),
        "award_fen": p.award_fen,
        "disbursed_fen": p.disbursed_fen,
        "horse_race": p.horse_race,
        "milestones": p.milestone_count,
        "accepted_milestones": p.accepted_milestone_count,
        "extension": p.extension.as_ref().map(|e| json!({"months": e.months, "milestone": e.milestone, "reason": e.reason})),
        "failure": p.failure.as_ref().map(|f| json!({
            "kind": pb::FailureKind::try_from(f.kind).map(|k| short(k.as_str_name())).unwrap_or_default(),
            "reason": f.reason,
            "barred_organizations": f.barred_organizations,
        })),
        "stop_reason": p.stop_reason,
        "end_time": time(p.end_time.as_ref()),
    })
}

fn milestone_json(m: &pb::Milestone) -> Value {
    json!({
        "name": m.name,
        "sequence": m.sequence,
        "title": m.title,
        "state": pb::MilestoneState::try_from(m.state).map(|s| short(s.as_str_name())).unwrap_or_default(),
        "due": time(m.due_time.as_ref()),
        "final": m.final_acceptance,
        "tranche_fen": m.tranche_fen,
        "reports": m.reports.iter().map(|r| json!({
            "name": r.name,
            "days_late": r.days_late,
            "evidence_documents": r.evidence_documents,
            "checks": r.indicator_checks.iter().map(|c| json!({"indicator": c.indicator, "target": c.target_value, "measured": c.measured_value, "mandatory": c.mandatory, "met": c.met})).collect::<Vec<_>>(),
            "band": r.check_summary.as_ref().and_then(|s| pb::AcceptanceBand::try_from(s.band).ok()).map(|b| b.as_str_name().trim_start_matches("ACCEPTANCE_BAND_").to_owned()),
        })).collect::<Vec<_>>(),
        "panel": m.acceptance_panel.as_ref().map(|p| p.seats.iter().map(|s| json!({
            "kind": pb::SeatKind::try_from(s.kind).map(|k| short(k.as_str_name())).unwrap_or_default(),
            "user": s.user,
            "expert": s.expert,
            "voted": s.voted,
        })).collect::<Vec<_>>()),
        "decision": m.decision.as_ref().map(|d| json!({
            "outcome": pb::AcceptanceOutcome::try_from(d.outcome).map(|o| short(o.as_str_name())).unwrap_or_default(),
            "reason": d.reason,
            "required_fixes": d.required_fixes,
            "rework_due": time(d.rework_due_time.as_ref()),
            "votes": d.vote_counts.iter().map(|c| json!({"outcome": pb::AcceptanceOutcome::try_from(c.outcome).map(|o| short(o.as_str_name())).unwrap_or_default(), "count": c.count})).collect::<Vec<_>>(),
        })),
    })
}

fn print_milestones(ctx: &Context, milestones: &[pb::Milestone]) -> Result<()> {
    let views: Vec<Value> = milestones.iter().map(milestone_json).collect();
    ctx.print(&views, || {
        let mut t = table(&["milestone", "#", "title", "state", "due", "tranche"]);
        for (m, v) in milestones.iter().zip(&views) {
            t.add_row(vec![
                m.name.clone(),
                m.sequence.to_string(),
                m.title.clone(),
                v["state"].as_str().unwrap_or_default().to_owned(),
                v["due"].as_str().unwrap_or_default().to_owned(),
                yuan(m.tranche_fen),
            ]);
        }
        t.to_string()
    })
}

fn print_project(ctx: &Context, p: &pb::Project) -> Result<()> {
    let view = project_json(p);
    ctx.print(&view, || {
        format!(
            "{} — {} ({})\n{} of {} paid; {}/{} milestones accepted{}",
            p.name,
            p.title,
            view["state"].as_str().unwrap_or_default(),
            yuan(p.disbursed_fen),
            yuan(p.award_fen),
            p.accepted_milestone_count,
            p.milestone_count,
            if p.horse_race { "; horse race" } else { "" }
        )
    })
}

pub async fn project(ctx: &Context, command: ProjectCommand) -> Result<()> {
    let mut client = client(ctx).await?;
    match command {
        ProjectCommand::List { challenge } => {
            let mut projects = Vec::new();
            let mut page_token = String::new();
            loop {
                let page = client
                    .list_projects(pb::ListProjectsRequest {
                        challenge: challenge
                            .as_deref()
                            .map(|c| resource_name("challenges", c))
                            .unwrap_or_default(),
                        page_size: 100,
                        page_token,
                        ..Default::default()
                    })
                    .await
                    .map_err(|s| ctx.fail(s))?
                    .into_inner();
                projects.extend(page.projects);
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            let views: Vec<Value> = projects.iter().map(project_json).collect();
            ctx.print(&views, || {
                let mut t = table(&["project", "title", "state", "paid", "award"]);
                for (p, v) in projects.iter().zip(&views) {
                    t.add_row(vec![
                        p.name.clone(),
                        p.title.clone(),
                        v["state"].as_str().unwrap_or_default().to_owned(),
                        yuan(p.disbursed_fen),
                        yuan(p.award_fen),
                    ]);
                }
                t.to_string()
            })
        }
        ProjectCommand::Show { project } => {
            let name = resource_name("projects", &project);
            let p = client
                .get_project(pb::GetProjectRequest { name: name.clone() })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner()
                .project
                .unwrap_or_default();
            let milestones = client
                .list_milestones(pb::ListMilestonesRequest {
                    parent: name,
                    page_size: 100,
                    ..Default::default()
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner()
                .milestones;
            let mut view = project_json(&p);
            view["plan"] = milestones.iter().map(milestone_json).collect();
            if ctx.output == crate::views::Output::Json {
                return ctx.print(&view, String::new);
            }
            print_project(ctx, &p)?;
            print_milestones(ctx, &milestones)
        }
        ProjectCommand::Ledger { project } => {
            let rows = client
                .list_disbursements(pb::ListDisbursementsRequest {
                    parent: resource_name("projects", &project),
                    page_size: 1000,
                    ..Default::default()
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner()
                .disbursements;
            let views: Vec<Value> = rows
                .iter()
                .map(|d| json!({"name": d.name, "milestone": d.milestone, "amount_fen": d.amount_fen, "cumulative_fen": d.cumulative_fen, "approver": d.approver, "time": time(d.disburse_time.as_ref())}))
                .collect();
            ctx.print(&views, || {
                let mut t = table(&["tranche", "amount", "cumulative", "approver", "time"]);
                for d in &rows {
                    t.add_row(vec![
                        if d.milestone.is_empty() {
                            "signing".to_owned()
                        } else {
                            d.milestone.clone()
                        },
                        yuan(d.amount_fen),
                        yuan(d.cumulative_fen),
                        d.approver.clone(),
                        time(d.disburse_time.as_ref()),
                    ]);
                }
                t.to_string()
            })
        }
        ProjectCommand::Release { project, milestone } => {
            let r = client
                .release_tranche(pb::ReleaseTrancheRequest {
                    project: resource_name("projects", &project),
                    milestone: milestone
                        .as_deref()
                        .map(milestone_name)
                        .transpose()?
                        .unwrap_or_default(),
                    request_id: request_id(),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            let d = r.disbursement.unwrap_or_default();
            let view = json!({"name": d.name, "amount_fen": d.amount_fen, "cumulative_fen": d.cumulative_fen, "already_released": r.already_released});
            ctx.print(&view, || {
                format!(
                    "{} {} (cumulative {})",
                    if r.already_released {
                        "already released:"
                    } else {
                        "released"
                    },
                    yuan(d.amount_fen),
                    yuan(d.cumulative_fen)
                )
            })
        }
        ProjectCommand::Extend {
            project,
            milestone,
            months,
            reason,
        } => {
            let r = client
                .grant_extension(pb::GrantExtensionRequest {
                    project: resource_name("projects", &project),
                    milestone: milestone_name(&milestone)?,
                    months,
                    reason,
                    etag: String::new(),
                    request_id: request_id(),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            if ctx.output == crate::views::Output::Table {
                eprintln!("extended by {months} month(s); the milestones moved:");
            }
            print_milestones(ctx, &r.milestones)
        }
        ProjectCommand::Fail {
            project,
            kind,
            reason,
            milestone,
            barred,
            barred_until,
            evidence,
        } => {
            let kind = enum_value(
                &kind,
                "FAILURE_KIND_",
                pb::FailureKind::from_str_name,
                "failure kind (exempt, misconduct)",
            )?;
            let p = client
                .record_project_failure(pb::RecordProjectFailureRequest {
                    name: resource_name("projects", &project),
                    etag: String::new(),
                    failure: Some(pb::ProjectFailure {
                        kind: kind as i32,
                        reason,
                        milestone: milestone
                            .as_deref()
                            .map(milestone_name)
                            .transpose()?
                            .unwrap_or_default(),
                        evidence_documents: evidence
                            .iter()
                            .map(|d| resource_name("documents", d))
                            .collect(),
                        barred_organizations: barred
                            .iter()
                            .map(|o| resource_name("organizations", o))
                            .collect(),
                        barred_until: barred_until
                            .as_deref()
                            .map(|t| parse_time(t, "--barred-until"))
                            .transpose()?,
                        ..Default::default()
                    }),
                    request_id: request_id(),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner()
                .project
                .unwrap_or_default();
            print_project(ctx, &p)
        }
    }
}

pub async fn milestone(ctx: &Context, command: MilestoneCommand) -> Result<()> {
    let mut client = client(ctx).await?;
    match command {
        MilestoneCommand::List { project, state } => {
            let state = state
                .as_deref()
                .map(|s| {
                    enum_value(
                        s,
                        "MILESTONE_STATE_",
                        pb::MilestoneState::from_str_name,
                        "milestone state",
                    )
                })
                .transpose()?
                .map_or(0, |s| s as i32);
            let parent = project
                .as_deref()
                .map_or_else(|| "projects/-".to_owned(), |p| resource_name("projects", p));
            let mut milestones = Vec::new();
            let mut page_token = String::new();
            loop {
                let page = client
                    .list_milestones(pb::ListMilestonesRequest {
                        parent: parent.clone(),
                        page_size: 100,
                        page_token,
                        state,
                    })
                    .await
                    .map_err(|s| ctx.fail(s))?
                    .into_inner();
                milestones.extend(page.milestones);
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            print_milestones(ctx, &milestones)
        }
        MilestoneCommand::Show { milestone } => {
            let m = client
                .get_milestone(pb::GetMilestoneRequest {
                    name: milestone_name(&milestone)?,
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner()
                .milestone
                .unwrap_or_default();
            let view = milestone_json(&m);
            ctx.print(&view, || {
                serde_json::to_string_pretty(&view).unwrap_or_default()
            })
        }
        MilestoneCommand::Report {
            milestone,
            values,
            evidence,
            narrative,
        } => {
            let mut measured_values = Vec::new();
            for v in &values {
                let (indicator, value) = v
                    .split_once('=')
                    .with_context(|| format!("`{v}`: give each value as indicator=value"))?;
                measured_values.push(pb::MeasuredValue {
                    indicator: indicator.trim().to_owned(),
                    value: value.trim().to_owned(),
                    ..Default::default()
                });
            }
            let mut documents = ApplicationServiceClient::new(ctx.connect().await?.authed());
            let mut evidence_documents = Vec::new();
            for file in &evidence {
                let uploaded = crate::commands::document::upload(
                    ctx,
                    &mut documents,
                    file,
                    "milestone_evidence",
                    None,
                )
                .await?;
                evidence_documents.push(
                    uploaded
                        .document
                        .context("the server sent no document")?
                        .name,
                );
            }
            let r = client
                .submit_milestone_report(pb::SubmitMilestoneReportRequest {
                    milestone: milestone_name(&milestone)?,
                    milestone_report: Some(pb::MilestoneReport {
                        measured_values,
                        evidence_documents,
                        narrative,
                        ..Default::default()
                    }),
                    etag: String::new(),
                    request_id: request_id(),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            let mut m = r.milestone.unwrap_or_default();
            m.reports = r.milestone_report.into_iter().collect();
            let view = milestone_json(&m);
            ctx.print(&view, || {
                let mut text = format!("report submitted for {}; the automatic check:\n", m.name);
                for c in m.reports.iter().flat_map(|r| &r.indicator_checks) {
                    text.push_str(&format!(
                        "  {} {} (target {}{}) — {}\n",
                        c.indicator,
                        c.measured_value,
                        c.target_value,
                        if c.mandatory { ", mandatory" } else { "" },
                        if c.met { "met" } else { "MISSED" }
                    ));
                }
                text
            })
        }
        MilestoneCommand::Panel {
            milestone,
            seats,
            end_users,
            experts,
            reuse,
        } => {
            let name = milestone_name(&milestone)?;
            client
                .form_acceptance_panel(pb::FormAcceptancePanelRequest {
                    milestone: name.clone(),
                    etag: String::new(),
                    seat_count: seats,
                    end_user_representatives: end_users
                        .iter()
                        .map(|u| resource_name("users", u))
                        .collect(),
                    required_experts: experts
                        .iter()
                        .map(|e| resource_name("experts", e))
                        .collect(),
                    reuse_previous_panel: reuse,
                    request_id: request_id(),
                })
                .await
                .map_err(|s| ctx.fail(s))?;
            let m = client
                .get_milestone(pb::GetMilestoneRequest { name })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner()
                .milestone
                .unwrap_or_default();
            let view = milestone_json(&m);
            ctx.print(&view, || {
                let mut t = table(&["seat", "user", "expert"]);
                for s in m.acceptance_panel.iter().flat_map(|p| &p.seats) {
                    t.add_row(vec![
                        pb::SeatKind::try_from(s.kind)
                            .map(|k| short(k.as_str_name()))
                            .unwrap_or_default(),
                        s.user.clone(),
                        s.expert.clone(),
                    ]);
                }
                format!("panel formed for {}:\n{t}", m.name)
            })
        }
        MilestoneCommand::Vote {
            milestone,
            outcome: chosen,
            comment,
        } => {
            let v = client
                .cast_acceptance_vote(pb::CastAcceptanceVoteRequest {
                    milestone: milestone_name(&milestone)?,
                    outcome: outcome(&chosen)? as i32,
                    comment,
                    request_id: request_id(),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner()
                .acceptance_vote
                .unwrap_or_default();
            let view = vote_json(&v);
            ctx.print(&view, || {
                format!(
                    "voted {} on {}{}",
                    view["outcome"].as_str().unwrap_or_default(),
                    milestone,
                    if v.supersedes.is_empty() {
                        ""
                    } else {
                        " (replacing your earlier vote)"
                    }
                )
            })
        }
        MilestoneCommand::Votes { milestone, all } => {
            let votes = client
                .list_acceptance_votes(pb::ListAcceptanceVotesRequest {
                    parent: milestone_name(&milestone)?,
                    page_size: 100,
                    include_superseded: all,
                    ..Default::default()
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner()
                .acceptance_votes;
            let views: Vec<Value> = votes.iter().map(vote_json).collect();
            ctx.print(&views, || {
                let mut t = table(&["seat", "voter", "outcome", "comment"]);
                for v in &views {
                    t.add_row(vec![
                        v["seat"].as_str().unwrap_or_default().to_owned(),
                        v["voter"].as_str().unwrap_or_default().to_owned(),
                        v["outcome"].as_str().unwrap_or_default().to_owned(),
                        v["comment"].as_str().unwrap_or_default().to_owned(),
                    ]);
                }
                t.to_string()
            })
        }
        MilestoneCommand::Decide {
            milestone,
            outcome: chosen,
            reason,
            fixes,
            rework_due,
            grounds,
        } => {
            let mut failure_grounds = Vec::new();
            for g in &grounds {
                failure_grounds.push(enum_value(
                    g,
                    "FAILURE_GROUND_",
                    pb::FailureGround::from_str_name,
                    "failure ground",
                )? as i32);
            }
            let r = client
                .decide_milestone(pb::DecideMilestoneRequest {
                    name: milestone_name(&milestone)?,
                    etag: String::new(),
                    outcome: outcome(&chosen)? as i32,
                    reason,
                    required_fixes: fixes,
                    rework_due_time: rework_due
                        .as_deref()
                        .map(|t| parse_time(t, "--rework-due"))
                        .transpose()?,
                    failure_grounds,
                    request_id: request_id(),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            let m = r.milestone.unwrap_or_default();
            let p = r.project.unwrap_or_default();
            let view = json!({
                "milestone": milestone_json(&m),
                "project_state": pb::ProjectState::try_from(p.state).map(|s| short(s.as_str_name())).unwrap_or_default(),
            });
            ctx.print(&view, || {
                format!(
                    "{} is {}; the project is {}",
                    m.name,
                    view["milestone"]["state"].as_str().unwrap_or_default(),
                    view["project_state"].as_str().unwrap_or_default()
                )
            })
        }
    }
}

fn vote_json(v: &pb::AcceptanceVote) -> Value {
    json!({
        "name": v.name,
        "seat": pb::SeatKind::try_from(v.seat_kind).map(|k| short(k.as_str_name())).unwrap_or_default(),
        "voter": v.voter,
        "outcome": pb::AcceptanceOutcome::try_from(v.outcome).map(|o| short(o.as_str_name())).unwrap_or_default(),
        "comment": v.comment,
        "supersedes": v.supersedes,
        "time": time(v.cast_time.as_ref()),
    })
}

pub async fn race(ctx: &Context, command: RaceCommand) -> Result<()> {
    let mut client = client(ctx).await?;
    match command {
        RaceCommand::Rank { challenge } => {
            let entries = client
                .rank_horse_race(pb::RankHorseRaceRequest {
                    challenge: resource_name("challenges", &challenge),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner()
                .horse_race_entries;
            let views: Vec<Value> = entries
                .iter()
                .map(|e| {
                    json!({
                        "rank": e.rank,
                        "project": e.project,
                        "lead_organization": e.lead_organization,
                        "mid_term_state": pb::MilestoneState::try_from(e.mid_term_state).map(|s| short(s.as_str_name())).unwrap_or_default(),
                        "met": e.check_summary.as_ref().map(|s| format!("{}/{}", s.met_count, s.target_count)),
                        "relative_margin": e.relative_margin,
                        "disbursed_fen": e.disbursed_fen,
                    })
                })
                .collect();
            ctx.print(&views, || {
                let mut t = table(&["rank", "project", "mid-term", "met", "margin", "paid"]);
                for (e, v) in entries.iter().zip(&views) {
                    t.add_row(vec![
                        e.rank.to_string(),
                        e.project.clone(),
                        v["mid_term_state"].as_str().unwrap_or_default().to_owned(),
                        v["met"].as_str().unwrap_or_default().to_owned(),
                        e.relative_margin.clone(),
                        yuan(e.disbursed_fen),
                    ]);
                }
                t.to_string()
            })
        }
        RaceCommand::Select {
            challenge,
            continuing,
            reason,
        } => {
            let projects = client
                .select_horse_race_continuers(pb::SelectHorseRaceContinuersRequest {
                    challenge: resource_name("challenges", &challenge),
                    continuing_projects: continuing
                        .iter()
                        .map(|p| resource_name("projects", p))
                        .collect(),
                    reason,
                    request_id: request_id(),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner()
                .projects;
            let views: Vec<Value> = projects.iter().map(project_json).collect();
            ctx.print(&views, || {
                let mut t = table(&["project", "state", "paid"]);
                for (p, v) in projects.iter().zip(&views) {
                    t.add_row(vec![
                        p.name.clone(),
                        v["state"].as_str().unwrap_or_default().to_owned(),
                        yuan(p.disbursed_fen),
                    ]);
                }
                t.to_string()
            })
        }
    }
}
