//! Milestone reports: the team's measured values, checked automatically against the targets,
//! and the clock marking milestones OVERDUE when no report came by their due time.

use crate::service::{MilestoneApi, milestone_to_proto};
use jiebang_domain::audience::Audience;
use jiebang_domain::caller::SYSTEM_ACTOR;
use jiebang_domain::challenge::Comparison;
use jiebang_domain::ids::{new_id, parse_document_name};
use jiebang_domain::milestone::check::{IndicatorCheck, Target, check};
use jiebang_domain::milestone::decision::{AcceptanceRules, Band};
use jiebang_domain::{Caller, DomainError, Violations, decimal};
use jiebang_grpc::convert::to_proto_time;
use jiebang_grpc::idempotency::{Idempotency, digest};
use jiebang_grpc::platform::ChangeBuilder;
use jiebang_grpc::{ApiError, Platform};
use jiebang_proto::v1 as pb;
use jiebang_storage::projects::{self as rows, CheckLine, ReportContent, ReportRow};
use jiebang_storage::{StoreError, applications, challenges, documents};
use rust_decimal::Decimal;

fn comparison_name(c: Comparison) -> &'static str {
    match c {
        Comparison::AtLeast => "AT_LEAST",
        Comparison::AtMost => "AT_MOST",
        Comparison::Equal => "EQUAL",
    }
}

/// The domain's checks of a stored report, recomputed from its targets and measured values
/// (the same inputs give the same `met`, and the relative margins the horse race ranks on).
pub(crate) fn checks_of(r: &ReportRow) -> Vec<IndicatorCheck> {
    let targets: Vec<Target> = r
        .content
        .checks
        .iter()
        .map(|c| Target {
            indicator: c.indicator.clone(),
            target: decimal::parse_exact(&c.target).unwrap_or_default(),
            comparison: [Comparison::AtLeast, Comparison::AtMost, Comparison::Equal]
                .into_iter()
                .find(|k| comparison_name(*k) == c.comparison)
                .unwrap_or(Comparison::AtLeast),
            mandatory: c.mandatory,
        })
        .collect();
    check(&targets, &r.content.measured)
}

/// The wire form of an acceptance band.
pub(crate) fn band_to_proto(band: Band) -> pb::AcceptanceBand {
    match band {
        Band::Pass => pb::AcceptanceBand::Pass,
        Band::ReExamine => pb::AcceptanceBand::ReExamine,
        Band::Fail => pb::AcceptanceBand::Fail,
    }
}

pub(crate) fn report_to_proto(
    r: &ReportRow,
    milestone_name: &str,
    rules: AcceptanceRules,
) -> pb::MilestoneReport {
    let lines = &r.content.checks;
    let met = lines.iter().filter(|c| c.met).count();
    let percent = if lines.is_empty() {
        Decimal::ONE_HUNDRED
    } else {
        Decimal::from(met) * Decimal::ONE_HUNDRED / Decimal::from(lines.len())
    };
    let band = band_to_proto(rules.band(percent));
    pb::MilestoneReport {
        name: format!("{milestone_name}/reports/{}", r.id),
        measured_values: r
            .content
            .measured
            .iter()
            .map(|(i, v)| pb::MeasuredValue {
                indicator: i.clone(),
                value: v.clone(),
                ..Default::default()
            })
            .collect(),
        evidence_documents: r
            .content
            .evidence
            .iter()
            .map(|d| format!("documents/{d}"))
            .collect(),
        narrative: r.content.narrative.clone(),
        indicator_checks: lines
            .iter()
            .map(|c| pb::IndicatorCheck {
                indicator: c.indicator.clone(),
                comparison: pb::Comparison::from_str_name(&format!("COMPARISON_{}", c.comparison))
                    .map_or(0, |x| x as i32),
                target_value: c.target.clone(),
                measured_value: c.measured.clone(),
                unit: c.unit.clone(),
                mandatory: c.mandatory,
                met: c.met,
            })
            .collect(),
        check_summary: Some(pb::IndicatorCheckSummary {
            target_count: i32::try_from(lines.len()).unwrap_or(i32::MAX),
            met_count: i32::try_from(met).unwrap_or(i32::MAX),
            met_basis_points: i32::try_from(met * 10_000 / lines.len().max(1)).unwrap_or(0),
            all_mandatory_met: lines.iter().all(|c| !c.mandatory || c.met),
            band: band as i32,
        }),
        submitter: format!("users/{}", r.submitter_id),
        submit_time: Some(to_proto_time(r.submitted_at)),
        days_late: i32::try_from(r.days_late).unwrap_or(i32::MAX),
    }
}

impl MilestoneApi {
    pub(crate) async fn submit_report(
        &self,
        caller: Caller,
        req: pb::SubmitMilestoneReportRequest,
    ) -> Result<pb::SubmitMilestoneReportResponse, ApiError> {
        let (project_name, milestone_id) =
            req.milestone.split_once("/milestones/").ok_or_else(|| {
                DomainError::invalid(
                    "milestone",
                    "must be projects/{project}/milestones/{milestone}",
                )
            })?;
        let input = req.milestone_report.clone().unwrap_or_default();
        let mut v = Violations::new();
        let mut measured = Vec::new();
        for (i, m) in input.measured_values.iter().enumerate() {
            v.require(
                decimal::parse_exact(&m.value).is_some(),
                format!("milestone_report.measured_values[{i}].value"),
                "must be an exact decimal like 560 or 4.5",
            );
            measured.push((m.indicator.clone(), m.value.clone()));
        }
        v.require(
            (20..=20_000).contains(&input.narrative.trim().chars().count()),
            "milestone_report.narrative",
            "describe the work in 20–20,000 characters",
        );
        let mut evidence = Vec::new();
        for (i, d) in input.evidence_documents.iter().enumerate() {
            match parse_document_name(d, "evidence") {
                Ok(sha) => evidence.push(sha.to_owned()),
                Err(_) => v.add(
                    format!("milestone_report.evidence_documents[{i}]"),
                    "must be a document name like documents/{sha256}",
                ),
            }
        }
        v.into_result()?;
        let idem = Idempotency::new(
            &caller,
            &req.request_id,
            "/jiebang.v1.MilestoneService/SubmitMilestoneReport",
            digest(&pb::SubmitMilestoneReportRequest {
                request_id: String::new(),
                ..req.clone()
            }),
        )?;
        let platform = self.platform();
        let (caller, idem, req, project_name, milestone_id, measured, evidence, input) = (
            &caller,
            &idem,
            &req,
            project_name,
            milestone_id,
            &measured,
            &evidence,
            &input,
        );
        platform
            .mutate(idem, move || async move {
                let now = platform.now();
                let mut conn = platform
                    .store
                    .pool()
                    .acquire()
                    .await
                    .map_err(StoreError::from)?;
                let project = self.load(&mut conn, caller, project_name).await?;
                let application =
                    applications::get(&mut conn, &project.challenge_id, &project.application_id)
                        .await?
                        .ok_or_else(|| StoreError::Corrupt("project without application".into()))?;
                if caller.user_id != application.content.lead_person_id {
                    return Err(DomainError::denied(
                        "NOT_THE_LEAD_PERSON",
                        "the project's lead person reports its milestones",
                    )
                    .into());
                }
                if project.state != "ACTIVE" {
                    return Err(DomainError::precondition(
                        "PROJECT_NOT_ACTIVE",
                        format!("the project is {}", project.state),
                    )
                    .into());
                }
                let challenge = challenges::get_in(&mut conn, &project.challenge_id)
                    .await?
                    .ok_or_else(|| StoreError::Corrupt("project without challenge".into()))?;
                for sha in evidence {
                    if !documents::uploaded_by(&mut conn, sha, &caller.user_id).await? {
                        return Err(DomainError::invalid(
                            "milestone_report.evidence_documents",
                            format!("documents/{sha} is not a document you uploaded"),
                        )
                        .into());
                    }
                }
                let milestone = rows::milestones_of(&mut conn, &project.id)
                    .await?
                    .into_iter()
                    .find(|m| m.id == milestone_id)
                    .ok_or_else(|| DomainError::not_found(&req.milestone))?;
                drop(conn);
                if !req.etag.is_empty() && req.etag != milestone.version.to_string() {
                    return Err(DomainError::stale_etag(&req.milestone).into());
                }
                if !matches!(
                    milestone.state.as_str(),
                    "PLANNED" | "OVERDUE" | "REWORK_REQUIRED"
                ) {
                    return Err(DomainError::precondition(
                        "MILESTONE_WRONG_STATE",
                        format!(
                            "milestone {} is {}; a report is not expected now",
                            milestone.position, milestone.state
                        ),
                    )
                    .into());
                }
                for (name, _) in measured {
                    if !milestone.plan.targets.iter().any(|(t, _)| t == name) {
                        return Err(DomainError::invalid(
                            "milestone_report.measured_values",
                            format!("`{name}` is not targeted by this milestone"),
                        )
                        .into());
                    }
                }
                let targets: Vec<(Target, String)> = milestone
                    .plan
                    .targets
                    .iter()
                    .filter_map(|(name, value)| {
                        let indicator =
                            challenge.spec.indicators.iter().find(|i| &i.name == name)?;
                        Some((
                            Target {
                                indicator: name.clone(),
                                target: decimal::parse_exact(value)?,
                                comparison: indicator.comparison,
                                mandatory: indicator.mandatory,
                            },
                            indicator.unit.clone(),
                        ))
                    })
                    .collect();
                let checks = check(
                    &targets.iter().map(|(t, _)| t.clone()).collect::<Vec<_>>(),
                    measured,
                );
                let lines: Vec<CheckLine> = checks
                    .iter()
                    .zip(&targets)
                    .map(|(c, (t, unit))| CheckLine {
                        indicator: c.indicator.clone(),
                        comparison: comparison_name(t.comparison).into(),
                        target: c.target.normalize().to_string(),
                        measured: c
                            .measured
                            .map(|m| m.normalize().to_string())
                            .unwrap_or_default(),
                        unit: unit.clone(),
                        mandatory: c.mandatory,
                        met: c.met,
                    })
                    .collect();
                let days_late = if now > milestone.due_at {
                    i64::try_from(now.since(milestone.due_at).as_secs() / 86_400).unwrap_or(0)
                } else {
                    0
                };
                let report = ReportRow {
                    id: new_id(),
                    milestone_id: milestone.id.clone(),
                    project_id: project.id.clone(),
                    content: ReportContent {
                        measured: measured.clone(),
                        evidence: evidence.clone(),
                        narrative: input.narrative.trim().to_owned(),
                        checks: lines,
                    },
                    submitter_id: caller.user_id.clone(),
                    submitted_at: now,
                    days_late,
                };
                let mut tx = platform.store.begin().await?;
                rows::set_milestone_state(&mut tx, &milestone, "REPORT_SUBMITTED", now).await?;
                rows::insert_report(&mut tx, &report).await?;
                let mut updated = milestone.clone();
                updated.state = "REPORT_SUBMITTED".into();
                updated.version += 1;
                updated.updated_at = now;
                let milestone_name = format!("projects/{}/milestones/{}", project.id, milestone.id);
                let response = pb::SubmitMilestoneReportResponse {
                    milestone_report: Some(report_to_proto(
                        &report,
                        &milestone_name,
                        self.platform().settings.acceptance,
                    )),
                    milestone: Some(milestone_to_proto(&updated)),
                };
                let mut audience: Vec<Audience> = application
                    .team_user_ids()
                    .into_iter()
                    .map(Audience::User)
                    .collect();
                audience.push(Audience::Organization(challenge.publisher_id.clone()));
                let change = ChangeBuilder {
                    at: now,
                    actor: caller.actor(),
                    action: "milestone.report_submitted",
                    event_type: pb::EventType::MilestoneReportSubmitted,
                    resource: milestone_name,
                    chain: Some(format!("projects/{}", project.id)),
                    state: "MILESTONE_STATE_REPORT_SUBMITTED".into(),
                    summary: milestone.title.clone(),
                    audience: &audience,
                    idempotency: idem,
                }
                .build(&response);
                platform.commit(tx, &change).await?;
                Ok(response)
            })
            .await
    }
}

/// Marks PLANNED milestones past their due time OVERDUE (no call needed); returns how many.
pub async fn mark_overdue(platform: &Platform) -> Result<usize, ApiError> {
    let now = platform.now();
    let mut conn = platform
        .store
        .pool()
        .acquire()
        .await
        .map_err(StoreError::from)?;
    let due = rows::overdue(&mut conn, now).await?;
    drop(conn);
    let mut marked = 0;
    for milestone in due {
        let mut tx = platform.store.begin().await?;
        match rows::set_milestone_state(&mut tx, &milestone, "OVERDUE", now).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
        let name = format!(
            "projects/{}/milestones/{}",
            milestone.project_id, milestone.id
        );
        let idem = Idempotency::none(jiebang_grpc::idempotency::digest(
            &pb::GetMilestoneRequest {
                name: format!("{name}@{}", milestone.version),
            },
        ));
        let change = ChangeBuilder {
            at: now,
            actor: SYSTEM_ACTOR.into(),
            action: "milestone.overdue",
            event_type: pb::EventType::MilestoneOverdue,
            resource: name,
            chain: Some(format!("projects/{}", milestone.project_id)),
            state: "MILESTONE_STATE_OVERDUE".into(),
            summary: milestone.title.clone(),
            audience: &[],
            idempotency: &idem,
        }
        .build(&pb::Milestone::default());
        match platform.commit(tx, &change).await {
            Ok(()) => marked += 1,
            Err(e) if e.is_retryable() => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(marked)
}
