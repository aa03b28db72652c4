//! `jiebang expert …` and `jiebang review …`: the expert pool, assignment, scoring, ranking,
//! the public notice, objections and appointment.

use super::{Context, request_id, resource_name};
use crate::sheet_file;
use anyhow::{Context as _, Result, bail};
use clap::Subcommand;
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
use jiebang_proto::v1 as pb;
use jiebang_proto::v1::review_service_client::ReviewServiceClient;
use serde_json::json;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ExpertCommand {
    /// Add a user with the expert role to the pool (admin).
    Create {
        /// users/{id}
        #[arg(long)]
        user: String,
        /// The expert's organisation, organizations/{id}.
        #[arg(long)]
        org: String,
        /// Industry fields, comma-separated (e.g. electric_porcelain).
        #[arg(long, value_delimiter = ',', required = true)]
        fields: Vec<String>,
        #[arg(long, value_delimiter = ',')]
        keywords: Vec<String>,
        #[arg(long, default_value_t = 10)]
        max_load: i32,
    },
    /// List the pool (admin).
    List,
    /// Show one expert.
    Show { name: String },
}

#[derive(Subcommand)]
pub enum ReviewCommand {
    /// Assign experts to every application of a closed challenge (admin).
    Assign {
        challenge: String,
        /// Experts per application (odd, at least 3); default the challenge's setting.
        #[arg(long, default_value_t = 0)]
        k: i32,
        /// Also draw experts of other fields.
        #[arg(long)]
        other_fields: bool,
        /// Report what would be assigned; store nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Pin, forbid or clear an (expert, application) pair before assigning (admin).
    Constraint {
        application: String,
        #[arg(long)]
        expert: String,
        #[arg(long, conflicts_with_all = ["forbid", "clear"])]
        pin: bool,
        #[arg(long, conflicts_with = "clear")]
        forbid: bool,
        #[arg(long)]
        clear: bool,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Choose the panel chair (admin).
    Chair {
        challenge: String,
        #[arg(long)]
        expert: String,
    },
    /// The panel of a challenge: size, progress, chair.
    Panel { challenge: String },
    /// Recorded conflicts of interest of a challenge (admin).
    Conflicts { challenge: String },
    /// Your assignments (experts), or a challenge's (admin).
    Assignments {
        #[arg(long)]
        challenge: Option<String>,
    },
    /// Open an assignment: the application (blind when the challenge is) and a sheet template.
    Open {
        assignment: String,
        /// Write a score-sheet template for this assignment's criteria to this file.
        #[arg(long)]
        template: Option<PathBuf>,
    },
    /// Save a score sheet from a file, and seal it with --submit.
    Score {
        assignment: String,
        #[arg(long)]
        file: PathBuf,
        #[arg(long)]
        submit: bool,
    },
    /// Declare a conflict of interest, on your profile or on one of your assignments.
    DeclareConflict {
        #[arg(long)]
        expert: String,
        #[arg(long)]
        assignment: Option<String>,
        /// same_organization | partner | former_employer | collaborator | family | publisher |
        /// past_collaboration | other
        #[arg(long = "type")]
        kind: String,
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        org: Option<String>,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// The ranking (admin; the chair after sealing their own sheets).
    Ranking { challenge: String },
    /// Record why a flagged dispersion stands (chair).
    Resolve {
        application: String,
        #[arg(long)]
        reason: String,
    },
    /// Reopen sealed sheets of an application for rescoring (chair).
    Rescore {
        application: String,
        #[arg(long)]
        reason: String,
        /// Sheet references from the ranking (application#n); default all.
        #[arg(long = "sheet")]
        sheets: Vec<String>,
    },
    /// Propose the winners and open the public notice (chair or admin).
    Propose { challenge: String },
    /// Show the public notice of a challenge.
    Notice { challenge: String },
    /// File a real-name objection during the notice.
    Object {
        challenge: String,
        #[arg(long)]
        application: Option<String>,
        #[arg(long)]
        person: String,
        #[arg(long, default_value = "")]
        phone: String,
        #[arg(long, default_value = "")]
        email: String,
        #[arg(long)]
        grounds: String,
    },
    /// List objections (admin: all; others: yours).
    Objections { challenge: String },
    /// Rule on an objection (admin).
    Rule {
        objection: String,
        #[arg(long, conflicts_with_all = ["replace_winner", "reopen_review"])]
        dismiss: bool,
        /// Uphold: the objected winner is replaced and the notice restarts.
        #[arg(long, conflicts_with = "reopen_review")]
        replace_winner: bool,
        /// Uphold: the review is reopened.
        #[arg(long)]
        reopen_review: bool,
        #[arg(long)]
        reason: String,
    },
    /// Appoint the winners once the notice has ended (admin).
    Appoint { challenge: String },
    /// A team's own result, after the notice has started.
    Result { application: String },
}

async fn client(ctx: &Context) -> Result<ReviewServiceClient<crate::client::Authed>> {
    Ok(ReviewServiceClient::new(ctx.connect().await?.authed()))
}

fn short(full: &str, prefix: &str) -> String {
    full.strip_prefix(prefix).unwrap_or(full).to_owned()
}

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY).set_header(header.to_vec());
    t
}

fn assignment_json(a: &pb::Assignment) -> serde_json::Value {
    json!({
        "name": a.name,
        "application": a.application,
        "expert": a.expert,
        "state": pb::AssignmentState::try_from(a.state).map(|s| short(s.as_str_name(), "ASSIGNMENT_STATE_")).unwrap_or_default(),
        "origin": pb::AssignmentOrigin::try_from(a.origin).map(|s| short(s.as_str_name(), "ASSIGNMENT_ORIGIN_")).unwrap_or_default(),
        "affinity": a.affinity,
    })
}

fn print_assignments(ctx: &Context, assignments: &[pb::Assignment]) -> Result<()> {
    let views: Vec<_> = assignments.iter().map(assignment_json).collect();
    ctx.print(&views, || {
        let mut t = table(&["assignment", "expert", "state", "origin", "affinity"]);
        for v in &views {
            t.add_row(vec![
                v["name"].as_str().unwrap_or_default().to_owned(),
                v["expert"].as_str().unwrap_or_default().to_owned(),
                v["state"].as_str().unwrap_or_default().to_owned(),
                v["origin"].as_str().unwrap_or_default().to_owned(),
                v["affinity"].to_string(),
            ]);
        }
        t.to_string()
    })
}

fn notice_json(n: &pb::PublicNotice) -> serde_json::Value {
    json!({
        "name": n.name,
        "round": n.round,
        "state": pb::PublicNoticeState::try_from(n.state).map(|s| short(s.as_str_name(), "PUBLIC_NOTICE_STATE_")).unwrap_or_default(),
        "ends": crate::views::time(n.end_time.as_ref()),
        "pending_objections": n.pending_objection_count,
        "winners": n.proposed_winners.iter().map(|w| json!({"application": w.application, "title": w.title, "lead_organization": w.lead_organization, "final_score": w.final_score})).collect::<Vec<_>>(),
    })
}

fn print_notice(ctx: &Context, n: &pb::PublicNotice) -> Result<()> {
    let view = notice_json(n);
    ctx.print(&view, || {
        let mut text = format!(
            "public notice round {} — {} until {} ({} pending objections)\n",
            view["round"],
            view["state"].as_str().unwrap_or_default(),
            view["ends"].as_str().unwrap_or_default(),
            n.pending_objection_count
        );
        for w in &n.proposed_winners {
            text.push_str(&format!(
                "  {} {} ({}) — {}\n",
                w.final_score, w.title, w.lead_organization, w.application
            ));
        }
        text
    })
}

pub async fn expert(ctx: &Context, command: ExpertCommand) -> Result<()> {
    let mut client = client(ctx).await?;
    let show = |e: &pb::Expert| json!({"name": e.name, "user": e.user, "display_name": e.display_name, "fields": e.fields_of_expertise, "keywords": e.keywords, "affiliation": e.affiliation, "max_load": e.max_load, "current_load": e.current_load});
    match command {
        ExpertCommand::Create {
            user,
            org,
            fields,
            keywords,
            max_load,
        } => {
            let e = client
                .create_expert(pb::CreateExpertRequest {
                    expert: Some(pb::Expert {
                        user: resource_name("users", &user),
                        affiliation: resource_name("organizations", &org),
                        fields_of_expertise: fields,
                        keywords,
                        max_load,
                        ..Default::default()
                    }),
                    request_id: request_id(),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner()
                .expert
                .unwrap_or_default();
            let v = show(&e);
            ctx.print(&v, || {
                format!(
                    "{} ({}) joined the pool: {}",
                    e.display_name, e.user, e.name
                )
            })
        }
        ExpertCommand::List => {
            let experts = client
                .list_experts(pb::ListExpertsRequest {
                    page_size: 100,
                    ..Default::default()
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner()
                .experts;
            let views: Vec<_> = experts.iter().map(show).collect();
            ctx.print(&views, || {
                let mut t = table(&["expert", "name", "fields", "affiliation", "load"]);
                for e in &experts {
                    t.add_row(vec![
                        e.name.clone(),
                        e.display_name.clone(),
                        e.fields_of_expertise.join(","),
                        e.affiliation.clone(),
                        format!("{}/{}", e.current_load, e.max_load),
                    ]);
                }
                t.to_string()
            })
        }
        ExpertCommand::Show { name } => {
            let e = client
                .get_expert(pb::GetExpertRequest {
                    name: resource_name("experts", &name),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner()
                .expert
                .unwrap_or_default();
            let v = show(&e);
            ctx.print(&v, || serde_json::to_string_pretty(&v).unwrap_or_default())
        }
    }
}

pub async fn run(ctx: &Context, command: ReviewCommand) -> Result<()> {
    let mut client = client(ctx).await?;
    match command {
        ReviewCommand::Assign {
            challenge,
            k,
            other_fields,
            dry_run,
        } => {
            let r = client
                .solve_assignments(pb::SolveAssignmentsRequest {
                    challenge: resource_name("challenges", &challenge),
                    experts_per_application: k,
                    include_other_fields: other_fields,
                    validate_only: dry_run,
                    request_id: request_id(),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            if !r.feasible {
                for reason in &r.infeasibility_reasons {
                    eprintln!("  - {}", reason.explanation);
                }
                bail!("no assignment satisfies every rule; nothing was stored");
            }
            eprintln!(
                "{} {} assignments for {} applications from {} candidate experts; total affinity {}",
                if dry_run { "would create" } else { "created" },
                r.assignments.len(),
                r.application_count,
                r.candidate_expert_count,
                r.total_affinity
            );
            print_assignments(ctx, &r.assignments)
        }
        ReviewCommand::Constraint {
            application,
            expert,
            pin,
            forbid,
            clear,
            reason,
        } => {
            let kind = match (pin, forbid, clear) {
                (true, _, _) => pb::AssignmentConstraintKind::Pin,
                (_, true, _) => pb::AssignmentConstraintKind::Forbid,
                (_, _, true) => pb::AssignmentConstraintKind::None,
                _ => bail!("say --pin, --forbid or --clear"),
            };
            client
                .set_assignment_constraint(pb::SetAssignmentConstraintRequest {
                    assignment_constraint: Some(pb::AssignmentConstraint {
                        application,
                        expert: resource_name("experts", &expert),
                        kind: kind as i32,
                        reason,
                        ..Default::default()
                    }),
                    request_id: request_id(),
                })
                .await
                .map_err(|s| ctx.fail(s))?;
            eprintln!("recorded");
            Ok(())
        }
        ReviewCommand::Chair { challenge, expert } => {
            let panel = client
                .set_panel_chair(pb::SetPanelChairRequest {
                    name: format!("{}/reviewPanel", resource_name("challenges", &challenge)),
                    chair: resource_name("experts", &expert),
                    request_id: request_id(),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner()
                .review_panel
                .unwrap_or_default();
            eprintln!("{} chairs {}", panel.chair, panel.name);
            Ok(())
        }
        ReviewCommand::Panel { challenge } => {
            let p = client
                .get_review_panel(pb::GetReviewPanelRequest {
                    name: format!("{}/reviewPanel", resource_name("challenges", &challenge)),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner()
                .review_panel
                .unwrap_or_default();
            let v = json!({"name": p.name, "chair": p.chair, "experts_per_application": p.experts_per_application, "experts": p.expert_count, "assignments": p.assignment_count, "sealed_sheets": p.submitted_sheet_count});
            ctx.print(&v, || format!("{}: {} experts per application, {} experts, {} assignments, {} sealed sheets, chair {}", p.name, p.experts_per_application, p.expert_count, p.assignment_count, p.submitted_sheet_count, if p.chair.is_empty() { "not chosen" } else { &p.chair }))
        }
        ReviewCommand::Conflicts { challenge } => {
            let list = client
                .list_conflicts(pb::ListConflictsRequest {
                    parent: resource_name("challenges", &challenge),
                    page_size: 1000,
                    ..Default::default()
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner()
                .conflicts;
            let views: Vec<_> = list.iter().map(|c| json!({"expert": c.expert, "application": c.application, "type": pb::ConflictType::try_from(c.r#type).map(|t| short(t.as_str_name(), "CONFLICT_TYPE_")).unwrap_or_default(), "detail": c.detail})).collect();
            ctx.print(&views, || {
                let mut t = table(&["expert", "application", "type", "detail"]);
                for v in &views {
                    t.add_row(vec![
                        v["expert"].as_str().unwrap_or_default().to_owned(),
                        v["application"].as_str().unwrap_or_default().to_owned(),
                        v["type"].as_str().unwrap_or_default().to_owned(),
                        v["detail"].as_str().unwrap_or_default().to_owned(),
                    ]);
                }
                t.to_string()
            })
        }
        ReviewCommand::Assignments { challenge } => {
            let parent = challenge.map_or_else(
                || "challenges/-/applications/-".to_owned(),
                |c| format!("{}/applications/-", resource_name("challenges", &c)),
            );
            let list = client
                .list_assignments(pb::ListAssignmentsRequest {
                    parent,
                    page_size: 100,
                    ..Default::default()
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner()
                .assignments;
            print_assignments(ctx, &list)
        }
        ReviewCommand::Open {
            assignment,
            template,
        } => {
            let r = client
                .open_assignment(pb::OpenAssignmentRequest {
                    name: assignment,
                    request_id: request_id(),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            if let Some(path) = template {
                std::fs::write(&path, sheet_file::template(&r.criteria))
                    .with_context(|| format!("cannot write {}", path.display()))?;
                eprintln!("wrote a score-sheet template to {}", path.display());
            }
            let (label, title, plan, budget) = match r.application_view {
                Some(pb::open_assignment_response::ApplicationView::BlindApplication(b)) => {
                    (b.label, b.title, b.technical_plan, b.requested_budget_fen)
                }
                Some(pb::open_assignment_response::ApplicationView::Application(a)) => {
                    (a.name, a.title, a.technical_plan, a.requested_budget_fen)
                }
                None => Default::default(),
            };
            let v = json!({"label": label, "title": title, "technical_plan": plan, "requested_budget_fen": budget, "criteria": r.criteria.iter().map(|c| json!({"name": c.name, "weight": c.weight})).collect::<Vec<_>>()});
            ctx.print(&v, || {
                format!(
                    "{label} — {title}\nbudget: {}\n\n{plan}\n\ncriteria: {}",
                    crate::views::yuan(budget),
                    r.criteria
                        .iter()
                        .map(|c| format!("{} ({})", c.name, c.weight))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
        }
        ReviewCommand::Score {
            assignment,
            file,
            submit,
        } => {
            let sheet = sheet_file::read(&file)?;
            let saved = client
                .save_score_sheet(pb::SaveScoreSheetRequest {
                    assignment,
                    score_sheet: Some(sheet),
                    request_id: request_id(),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner()
                .score_sheet
                .unwrap_or_default();
            let final_sheet = if submit {
                client
                    .submit_score_sheet(pb::SubmitScoreSheetRequest {
                        name: saved.name,
                        etag: saved.etag,
                        request_id: request_id(),
                    })
                    .await
                    .map_err(|s| ctx.fail(s))?
                    .into_inner()
                    .score_sheet
                    .unwrap_or_default()
            } else {
                saved
            };
            let v = json!({"name": final_sheet.name, "state": pb::ScoreSheetState::try_from(final_sheet.state).map(|s| short(s.as_str_name(), "SCORE_SHEET_STATE_")).unwrap_or_default(), "total": final_sheet.total, "seal_sha256": final_sheet.seal_sha256});
            ctx.print(&v, || {
                format!(
                    "{} — total {} ({})",
                    v["state"].as_str().unwrap_or_default(),
                    final_sheet.total,
                    final_sheet.name
                )
            })
        }
        ReviewCommand::DeclareConflict {
            expert,
            assignment,
            kind,
            user,
            org,
            note,
        } => {
            let r#type =
                pb::ConflictType::from_str_name(&format!("CONFLICT_TYPE_{}", kind.to_uppercase()))
                    .with_context(|| format!("`{kind}` is not a conflict type"))?
                    as i32;
            let counterpart = match (user, org) {
                (Some(u), _) => Some(pb::expert_conflict::Counterpart::User(resource_name(
                    "users", &u,
                ))),
                (None, Some(o)) => Some(pb::expert_conflict::Counterpart::Organization(
                    resource_name("organizations", &o),
                )),
                _ => None,
            };
            let r = client
                .declare_conflict(pb::DeclareConflictRequest {
                    expert: resource_name("experts", &expert),
                    assignment: assignment.unwrap_or_default(),
                    conflict: Some(pb::ExpertConflict {
                        r#type,
                        counterpart,
                        note,
                        ..Default::default()
                    }),
                    request_id: request_id(),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            eprintln!(
                "declared; {} assignment(s) withdrawn, {} replaced",
                r.withdrawn_assignments.len(),
                r.replacement_count
            );
            Ok(())
        }
        ReviewCommand::Ranking { challenge } => {
            // Every page, so the table and the JSON hold the whole ranking.
            let mut entries = Vec::new();
            let mut page_token = String::new();
            let (complete, open_dispersions) = loop {
                let page = client
                    .list_ranking(pb::ListRankingRequest {
                        challenge: resource_name("challenges", &challenge),
                        page_size: 1000,
                        page_token,
                    })
                    .await
                    .map_err(|s| ctx.fail(s))?
                    .into_inner();
                entries.extend(page.ranking_entries);
                if page.next_page_token.is_empty() {
                    break (page.complete, page.open_dispersion_count);
                }
                page_token = page.next_page_token;
            };
            let views: Vec<_> = entries
                .iter()
                .map(|e| json!({"rank": e.rank, "application": e.application, "label": e.label, "title": e.title, "final_score": e.final_score, "sheets": format!("{}/{}", e.submitted_sheet_count, e.expected_sheet_count), "eligible_for_award": e.eligible_for_award, "dispersion_flagged": e.dispersion_flagged, "dispersion_resolved": e.dispersion_resolution.is_some(), "totals": e.sheet_totals.iter().map(|t| t.total.clone()).collect::<Vec<_>>()}))
                .collect();
            ctx.print(&views, || {
                let mut t = table(&[
                    "rank",
                    "label",
                    "title",
                    "score",
                    "sheets",
                    "award?",
                    "dispersion",
                ]);
                for e in &entries {
                    t.add_row(vec![
                        e.rank.to_string(),
                        e.label.clone(),
                        e.title.clone(),
                        e.final_score.clone(),
                        format!("{}/{}", e.submitted_sheet_count, e.expected_sheet_count),
                        if e.eligible_for_award {
                            "yes".into()
                        } else {
                            "no".into()
                        },
                        match (e.dispersion_flagged, e.dispersion_resolution.is_some()) {
                            (false, _) => String::new(),
                            (true, false) => "OPEN".into(),
                            (true, true) => "resolved".into(),
                        },
                    ]);
                }
                format!(
                    "{t}\n{} · {} open dispersion flag(s)",
                    if complete {
                        "complete"
                    } else {
                        "sheets outstanding"
                    },
                    open_dispersions
                )
            })
        }
        ReviewCommand::Resolve {
            application,
            reason,
        } => {
            client
                .record_dispersion_resolution(pb::RecordDispersionResolutionRequest {
                    application,
                    reason,
                    request_id: request_id(),
                })
                .await
                .map_err(|s| ctx.fail(s))?;
            eprintln!("resolution recorded");
            Ok(())
        }
        ReviewCommand::Rescore {
            application,
            reason,
            sheets,
        } => {
            let r = client
                .request_rescoring(pb::RequestRescoringRequest {
                    application,
                    score_sheets: sheets,
                    reason,
                    request_id: request_id(),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            eprintln!("{} sheet(s) reopened for rescoring", r.assignments.len());
            Ok(())
        }
        ReviewCommand::Propose { challenge } => {
            let n = client
                .propose_winners(pb::ProposeWinnersRequest {
                    challenge: resource_name("challenges", &challenge),
                    ..Default::default()
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner()
                .public_notice
                .unwrap_or_default();
            print_notice(ctx, &n)
        }
        ReviewCommand::Notice { challenge } => {
            let n = client
                .get_public_notice(pb::GetPublicNoticeRequest {
                    name: format!("{}/publicNotice", resource_name("challenges", &challenge)),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner()
                .public_notice
                .unwrap_or_default();
            print_notice(ctx, &n)
        }
        ReviewCommand::Object {
            challenge,
            application,
            person,
            phone,
            email,
            grounds,
        } => {
            let o = client
                .file_objection(pb::FileObjectionRequest {
                    parent: resource_name("challenges", &challenge),
                    objection: Some(pb::Objection {
                        contact: Some(pb::Contact {
                            person,
                            phone,
                            email,
                        }),
                        application: application.unwrap_or_default(),
                        grounds,
                        ..Default::default()
                    }),
                    request_id: request_id(),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner()
                .objection
                .unwrap_or_default();
            let v = json!({"name": o.name, "state": "PENDING"});
            ctx.print(&v, || format!("objection filed: {}", o.name))
        }
        ReviewCommand::Objections { challenge } => {
            let list = client
                .list_objections(pb::ListObjectionsRequest {
                    parent: resource_name("challenges", &challenge),
                    ..Default::default()
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner()
                .objections;
            let views: Vec<_> = list.iter().map(|o| json!({"name": o.name, "application": o.application, "state": pb::ObjectionState::try_from(o.state).map(|s| short(s.as_str_name(), "OBJECTION_STATE_")).unwrap_or_default(), "grounds": o.grounds, "ruling": o.ruling_reason})).collect();
            ctx.print(&views, || {
                let mut t = table(&["objection", "state", "grounds", "ruling"]);
                for v in &views {
                    t.add_row(vec![
                        v["name"].as_str().unwrap_or_default().to_owned(),
                        v["state"].as_str().unwrap_or_default().to_owned(),
                        v["grounds"].as_str().unwrap_or_default().to_owned(),
                        v["ruling"].as_str().unwrap_or_default().to_owned(),
                    ]);
                }
                t.to_string()
            })
        }
        ReviewCommand::Rule {
            objection,
            dismiss,
            replace_winner,
            reopen_review,
            reason,
        } => {
            let (outcome, remedy) = match (dismiss, replace_winner, reopen_review) {
                (true, _, _) => (
                    pb::ObjectionState::Dismissed,
                    pb::ObjectionRemedy::Unspecified,
                ),
                (_, true, _) => (
                    pb::ObjectionState::Upheld,
                    pb::ObjectionRemedy::ReplaceWinner,
                ),
                (_, _, true) => (
                    pb::ObjectionState::Upheld,
                    pb::ObjectionRemedy::ReopenReview,
                ),
                _ => bail!("say --dismiss, --replace-winner or --reopen-review"),
            };
            let r = client
                .rule_on_objection(pb::RuleOnObjectionRequest {
                    name: objection,
                    etag: String::new(),
                    outcome: outcome as i32,
                    remedy: remedy as i32,
                    reason,
                    request_id: request_id(),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            match r.public_notice {
                Some(n) => print_notice(ctx, &n),
                None => Ok(()),
            }
        }
        ReviewCommand::Appoint { challenge } => {
            let r = client
                .appoint_winners(pb::AppointWinnersRequest {
                    challenge: resource_name("challenges", &challenge),
                    ..Default::default()
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            let views: Vec<_> = r
                .applications
                .iter()
                .map(|a| json!({"application": a.name, "title": a.title, "project": a.project}))
                .collect();
            ctx.print(&views, || {
                r.applications
                    .iter()
                    .map(|a| format!("挂帅: {} → {}", a.title, a.project))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        ReviewCommand::Result { application } => {
            let r = client
                .get_application_result(pb::GetApplicationResultRequest { application })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner()
                .application_result
                .unwrap_or_default();
            let v = json!({"final_score": r.final_score, "rank": r.rank, "ranked": r.ranked_count, "eligible_for_award": r.eligible_for_award, "criteria": r.criterion_results.iter().map(|c| json!({"criterion": c.criterion, "mean": c.mean, "weight": c.weight})).collect::<Vec<_>>(), "comments": r.comments.iter().map(|c| json!({"criterion": c.criterion, "text": c.text})).collect::<Vec<_>>()});
            ctx.print(&v, || {
                let mut text = format!(
                    "final score {} — rank {} of {}\n",
                    r.final_score, r.rank, r.ranked_count
                );
                for c in &r.criterion_results {
                    text.push_str(&format!("  {}: {} / {}\n", c.criterion, c.mean, c.weight));
                }
                for c in &r.comments {
                    text.push_str(&format!(
                        "  · {}{}\n",
                        if c.criterion.is_empty() {
                            String::new()
                        } else {
                            format!("[{}] ", c.criterion)
                        },
                        c.text
                    ));
                }
                text
            })
        }
    }
}
