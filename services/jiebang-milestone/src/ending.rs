//! How projects bend and end: the one extension, the horse race's mid-term cut (赛马制), and
//! failures recorded with failure tolerance (失败宽容) or, for misconduct, bars.

use crate::acceptance::{change, commit};
use crate::service::{MilestoneApi, milestone_to_proto, parse_project};
use jiebang_domain::audience::Audience;
use jiebang_domain::challenge::{Challenge, ChallengeState};
use jiebang_domain::ids::{Collection, parse_document_name};
use jiebang_domain::milestone::check::percent_met;
use jiebang_domain::milestone::plan::add_months;
use jiebang_domain::milestone::race::{Runner, rank};
use jiebang_domain::{Caller, DomainError, Timestamp, Violations};
use jiebang_grpc::convert::{optional_time, to_proto_time};
use jiebang_grpc::idempotency::{Idempotency, digest};
use jiebang_grpc::platform::ChangeBuilder;
use jiebang_grpc::{ApiError, Platform};
use jiebang_proto::v1 as pb;
use jiebang_storage::projects::{self as rows, MilestoneRow, ProjectRecord};
use jiebang_storage::{Change, StoreError, Tx, applications, challenges};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The project's one extension, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ExtensionRecord {
    pub months: i32,
    pub milestone_id: String,
    pub reason: String,
    pub granter_id: String,
    pub at: Timestamp,
}

/// A failure record, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FailureRecord {
    /// `EXEMPT` or `MISCONDUCT`.
    pub kind: String,
    pub reason: String,
    pub milestone_id: Option<String>,
    pub evidence: Vec<String>,
    pub barred: Vec<String>,
    pub barred_until: Option<Timestamp>,
    pub recorder_id: String,
    pub at: Timestamp,
}

pub(crate) fn extension_to_proto(
    project_id: &str,
    json: Option<&str>,
) -> Option<pb::ProjectExtension> {
    let e: ExtensionRecord = serde_json::from_str(json?).ok()?;
    Some(pb::ProjectExtension {
        months: e.months,
        milestone: format!("projects/{project_id}/milestones/{}", e.milestone_id),
        reason: e.reason,
        granter: Collection::Users.name(&e.granter_id),
        grant_time: Some(to_proto_time(e.at)),
    })
}

pub(crate) fn failure_to_proto(project_id: &str, json: Option<&str>) -> Option<pb::ProjectFailure> {
    let f: FailureRecord = serde_json::from_str(json?).ok()?;
    Some(pb::ProjectFailure {
        kind: pb::FailureKind::from_str_name(&format!("FAILURE_KIND_{}", f.kind))
            .map_or(0, |k| k as i32),
        reason: f.reason,
        milestone: f
            .milestone_id
            .map(|m| format!("projects/{project_id}/milestones/{m}"))
            .unwrap_or_default(),
        evidence_documents: f
            .evidence
            .iter()
            .map(|d| format!("documents/{d}"))
            .collect(),
        barred_organizations: f
            .barred
            .iter()
            .map(|o| Collection::Organizations.name(o))
            .collect(),
        barred_until: f.barred_until.map(to_proto_time),
        recorder: Collection::Users.name(&f.recorder_id),
        record_time: Some(to_proto_time(f.at)),
    })
}

/// Once no project of the challenge is ACTIVE any more, the challenge ends: COMPLETED when at
/// least one project completed, FAILED otherwise. Call after the project's own update, on `tx`.
/// Returns the challenge as it was read (locked for this transaction), and its change if it
/// ended (its audit record on the challenge's chain, and CHALLENGE_COMPLETED or
/// CHALLENGE_FAILED told to everyone, like its other events since publication), for the caller
/// to record in the same transaction after the project's own.
pub(crate) async fn settle_challenge(
    tx: &mut Tx,
    challenge_id: &str,
    caller: &Caller,
    request_digest: &str,
    now: Timestamp,
) -> Result<(Challenge, Option<Change>), ApiError> {
    // Two projects ending at once in two transactions would each see the other still ACTIVE
    // and neither would settle the challenge. Whoever locks the challenge second reads the
    // project states after the first has committed (read committed: each statement sees what
    // was committed before it began), so one of them settles it.
    let challenge = challenges::get_exclusive(tx, challenge_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt("project without challenge".into()))?;
    let states = rows::project_states(tx.conn(), &challenge.id).await?;
    if states.iter().any(|s| s == "ACTIVE")
        || !matches!(
            challenge.state,
            ChallengeState::Awarded | ChallengeState::InProgress
        )
    {
        return Ok((challenge, None));
    }
    let (to, action, event_type, state) = if states.iter().any(|s| s == "COMPLETED") {
        (
            ChallengeState::Completed,
            "challenge.completed",
            pb::EventType::ChallengeCompleted,
            pb::ChallengeState::Completed,
        )
    } else {
        (
            ChallengeState::Failed,
            "challenge.failed",
            pb::EventType::ChallengeFailed,
            pb::ChallengeState::Failed,
        )
    };
    let next = challenge.review_step(challenge.state, to, now)?;
    challenges::update(tx, &next, challenge.version).await?;
    let audience = next.audience();
    let settled = ChangeBuilder {
        at: now,
        actor: caller.actor(),
        action,
        event_type,
        resource: next.name(),
        chain: None,
        state: state.as_str_name().to_owned(),
        summary: next.spec.title.clone(),
        audience: &audience,
        idempotency: &Idempotency::none(request_digest.to_owned()),
    }
    .build(&pb::Challenge::default());
    Ok((challenge, Some(settled)))
}

/// The change of a project that ended with `state` (`COMPLETED`, `FAILED`, `STOPPED`): its
/// audit record on the project's chain and PROJECT_ENDED for `audience`. A secondary record:
/// the request's own change carries the idempotency record.
pub(crate) fn project_ended(
    project_id: &str,
    action: &'static str,
    state: &str,
    caller: &Caller,
    request_digest: &str,
    audience: &[Audience],
    now: Timestamp,
) -> Change {
    ChangeBuilder {
        at: now,
        actor: caller.actor(),
        action,
        event_type: pb::EventType::ProjectEnded,
        resource: format!("projects/{project_id}"),
        chain: None,
        state: format!("PROJECT_STATE_{state}"),
        summary: String::new(),
        audience,
        idempotency: &Idempotency::none(request_digest.to_owned()),
    }
    .build(&pb::Project::default())
}

/// Writes `changes` in order (the request's own first, carrying its idempotency record, then
/// those it caused) and commits them with the transaction's row changes, all or nothing.
pub(crate) async fn commit_in_order(
    platform: &Platform,
    mut tx: Tx,
    mut changes: Vec<Change>,
) -> Result<(), ApiError> {
    let last = changes
        .pop()
        .ok_or_else(|| StoreError::Corrupt("a commit without a change".into()))?;
    for change in &changes {
        tx.record(change).await?;
    }
    platform.commit(tx, &last).await
}

/// The team of a project and the publisher's organisation hear about how it ends.
pub(crate) async fn audience_of(
    tx: &mut Tx,
    project: &ProjectRecord,
    challenge: &Challenge,
) -> Result<Vec<Audience>, ApiError> {
    let application = applications::get(tx.conn(), &project.challenge_id, &project.application_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt("project without application".into()))?;
    let mut audience: Vec<Audience> = application
        .team_user_ids()
        .into_iter()
        .map(Audience::User)
        .collect();
    audience.push(Audience::Organization(challenge.publisher_id.clone()));
    Ok(audience)
}

/// A horse-race runner's standing on its decided mid-term milestone.
struct Standing {
    project: ProjectRecord,
    lead_organization_id: String,
    mid_term: MilestoneRow,
    runner: Runner,
    met: usize,
    targets: usize,
    all_mandatory_met: bool,
    disbursed_fen: i64,
}

async fn standings(tx: &mut Tx, challenge: &Challenge) -> Result<Vec<Standing>, ApiError> {
    if challenge.spec.winners_count < 2 {
        return Err(DomainError::precondition(
            "NOT_A_HORSE_RACE",
            format!("{} funds one team; there is no race", challenge.name()),
        )
        .into());
    }
    let projects = rows::list_projects(
        tx.conn(),
        true,
        "",
        None,
        rows::ProjectFilter {
            challenge_id: Some(&challenge.id),
            ..Default::default()
        },
        None,
        10,
    )
    .await?;
    let mut undecided = Vec::new();
    let mut out = Vec::new();
    for project in projects.into_iter().filter(|p| p.state == "ACTIVE") {
        let milestones = rows::milestones_of(tx.conn(), &project.id).await?;
        let mid_term = milestones
            .iter()
            .find(|m| m.plan.mid_term)
            .or_else(|| milestones.first())
            .cloned()
            .ok_or_else(|| StoreError::Corrupt("project without milestones".into()))?;
        if !matches!(
            mid_term.state.as_str(),
            "ACCEPTED" | "ACCEPTED_AFTER_FIXES" | "REWORK_REQUIRED" | "FAILED"
        ) {
            undecided.push(format!(
                "projects/{}/milestones/{} is {}",
                project.id, mid_term.id, mid_term.state
            ));
            continue;
        }
        let report = rows::reports_of(tx.conn(), &mid_term.id).await?.pop();
        let checks = report
            .map(|r| crate::report::checks_of(&r))
            .unwrap_or_default();
        let mean_margin = if checks.is_empty() {
            Decimal::ZERO
        } else {
            (checks.iter().map(|c| c.relative_margin).sum::<Decimal>()
                / Decimal::from(checks.len()))
            .round_dp(4)
        };
        let application =
            applications::get(tx.conn(), &project.challenge_id, &project.application_id)
                .await?
                .ok_or_else(|| StoreError::Corrupt("project without application".into()))?;
        let disbursed_fen = rows::disbursements(tx.conn(), &project.id)
            .await?
            .iter()
            .map(|d| d.amount_fen)
            .sum();
        out.push(Standing {
            runner: Runner {
                project_id: project.id.clone(),
                accepted: mid_term.state.starts_with("ACCEPTED"),
                percent_met: percent_met(&checks),
                mean_margin,
            },
            met: checks.iter().filter(|c| c.met).count(),
            targets: checks.len(),
            all_mandatory_met: checks.iter().all(|c| !c.mandatory || c.met),
            lead_organization_id: application.lead_organization_id,
            project,
            mid_term,
            disbursed_fen,
        });
    }
    if !undecided.is_empty() {
        return Err(DomainError::precondition(
            "MID_TERM_UNDECIDED",
            format!(
                "every racing project's mid-term milestone must be decided first: {}",
                undecided.join("; ")
            ),
        )
        .into());
    }
    let order = rank(out.iter().map(|s| s.runner.clone()).collect());
    out.sort_by_key(|s| order.iter().position(|r| r.project_id == s.project.id));
    Ok(out)
}

fn entry_to_proto(
    rank: usize,
    s: &Standing,
    rules: jiebang_domain::milestone::decision::AcceptanceRules,
) -> pb::HorseRaceEntry {
    let band = crate::report::band_to_proto(rules.band(s.runner.percent_met));
    pb::HorseRaceEntry {
        rank: i32::try_from(rank).unwrap_or(i32::MAX),
        project: format!("projects/{}", s.project.id),
        lead_organization: Collection::Organizations.name(&s.lead_organization_id),
        mid_term_milestone: format!("projects/{}/milestones/{}", s.project.id, s.mid_term.id),
        mid_term_state: pb::MilestoneState::from_str_name(&format!(
            "MILESTONE_STATE_{}",
            s.mid_term.state
        ))
        .map_or(0, |m| m as i32),
        check_summary: Some(pb::IndicatorCheckSummary {
            target_count: i32::try_from(s.targets).unwrap_or(i32::MAX),
            met_count: i32::try_from(s.met).unwrap_or(i32::MAX),
            met_basis_points: i32::try_from(s.met * 10_000 / s.targets.max(1)).unwrap_or(0),
            all_mandatory_met: s.all_mandatory_met,
            band: band as i32,
        }),
        relative_margin: s.runner.mean_margin.to_string(),
        disbursed_fen: s.disbursed_fen,
    }
}

impl MilestoneApi {
    pub(crate) async fn grant_extension(
        &self,
        caller: Caller,
        req: pb::GrantExtensionRequest,
    ) -> Result<pb::GrantExtensionResponse, ApiError> {
        jiebang_domain::challenge::access::ensure_admin(&caller, "grant extensions")?;
        let mut v = Violations::new();
        let project_id = parse_project(&req.project, "project");
        v.require(project_id.is_ok(), "project", "must be projects/{project}");
        let milestone_id = req
            .milestone
            .strip_prefix(&format!("{}/milestones/", req.project))
            .filter(|m| !m.is_empty() && !m.contains('/'))
            .map(str::to_owned);
        v.require(
            milestone_id.is_some(),
            "milestone",
            "must be a milestone of the project, projects/{project}/milestones/{milestone}",
        );
        v.require(
            (1..=12).contains(&req.months),
            "months",
            "must be 1–12 (DOMAIN.md: at most one extension, of at most 12 months)",
        );
        v.require(
            req.reason.trim().chars().count() >= 10,
            "reason",
            "an extension states why, in at least 10 characters",
        );
        v.into_result()?;
        let (project_id, milestone_id) = (project_id?, milestone_id.unwrap_or_default());
        let idem = Idempotency::new(
            &caller,
            &req.request_id,
            "/jiebang.v1.MilestoneService/GrantExtension",
            digest(&pb::GrantExtensionRequest {
                request_id: String::new(),
                ..req.clone()
            }),
        )?;
        let platform = self.platform();
        let (caller, idem, req, project_id, milestone_id) =
            (&caller, &idem, &req, &project_id, &milestone_id);
        platform
            .mutate(idem, move || async move {
                let now = platform.now();
                let mut tx = platform.store.begin().await?;
                let project = rows::get_project(tx.conn(), project_id)
                    .await?
                    .ok_or_else(|| DomainError::not_found(&req.project))?;
                if !req.etag.is_empty() && req.etag != project.version.to_string() {
                    return Err(DomainError::stale_etag(&req.project).into());
                }
                if project.state != "ACTIVE" {
                    return Err(DomainError::precondition(
                        "PROJECT_NOT_ACTIVE",
                        format!("the project is {}", project.state),
                    )
                    .into());
                }
                if project.extension.is_some() {
                    return Err(DomainError::precondition(
                        "EXTENSION_USED",
                        "a project gets one extension only",
                    )
                    .into());
                }
                let milestones = rows::milestones_of(tx.conn(), project_id).await?;
                let first = milestones
                    .iter()
                    .find(|m| &m.id == milestone_id)
                    .ok_or_else(|| DomainError::not_found(&req.milestone))?;
                if !matches!(first.state.as_str(), "PLANNED" | "OVERDUE") {
                    return Err(DomainError::precondition(
                        "MILESTONE_WRONG_STATE",
                        format!(
                            "only a PLANNED or OVERDUE milestone is extended; this one is {}",
                            first.state
                        ),
                    )
                    .into());
                }
                let record = ExtensionRecord {
                    months: req.months,
                    milestone_id: milestone_id.clone(),
                    reason: req.reason.trim().to_owned(),
                    granter_id: caller.user_id.clone(),
                    at: now,
                };
                rows::set_extension(
                    &mut tx,
                    &project,
                    &serde_json::to_string(&record)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    now,
                )
                .await?;
                let mut moved = Vec::new();
                for m in milestones.iter().filter(|m| {
                    m.position >= first.position
                        && matches!(m.state.as_str(), "PLANNED" | "OVERDUE")
                }) {
                    let due = add_months(m.due_at, req.months);
                    // Moved past now, an overdue milestone is merely planned again.
                    let state = if due > now {
                        "PLANNED"
                    } else {
                        m.state.as_str()
                    };
                    rows::move_milestone(&mut tx, m, due, state, now).await?;
                    let mut updated = m.clone();
                    updated.due_at = due;
                    state.clone_into(&mut updated.state);
                    updated.version += 1;
                    moved.push(milestone_to_proto(&updated));
                }
                let challenge = challenges::get_in(tx.conn(), &project.challenge_id)
                    .await?
                    .ok_or_else(|| StoreError::Corrupt("project without challenge".into()))?;
                let audience = audience_of(&mut tx, &project, &challenge).await?;
                let mut updated = project.clone();
                updated.version += 1;
                updated.extension = serde_json::to_string(&record).ok();
                let response = pb::GrantExtensionResponse {
                    project: Some(self.project_to_proto(tx.conn(), &updated).await?),
                    milestones: moved,
                };
                commit(
                    platform,
                    tx,
                    caller,
                    idem,
                    "project.extended",
                    pb::EventType::MilestoneExtended,
                    req.project.clone(),
                    project_id,
                    "",
                    &audience,
                    &response,
                )
                .await?;
                Ok(response)
            })
            .await
    }

    pub(crate) async fn rank_horse_race(
        &self,
        caller: Caller,
        req: pb::RankHorseRaceRequest,
    ) -> Result<pb::RankHorseRaceResponse, ApiError> {
        let challenge_id = Collection::Challenges
            .parse(&req.challenge, "challenge")?
            .to_owned();
        let mut tx = self.platform().store.begin().await?;
        let challenge = challenges::get_in(tx.conn(), &challenge_id)
            .await?
            .ok_or_else(|| DomainError::not_found(&req.challenge))?;
        let may = caller.is_admin()
            || (caller.role == jiebang_domain::identity::Role::Publisher
                && caller.organization_id == challenge.publisher_id);
        if !may {
            return Err(DomainError::not_found(&req.challenge).into());
        }
        let standings = standings(&mut tx, &challenge).await?;
        tx.commit().await?;
        Ok(pb::RankHorseRaceResponse {
            horse_race_entries: standings
                .iter()
                .enumerate()
                .map(|(i, s)| entry_to_proto(i + 1, s, self.platform().settings.acceptance))
                .collect(),
        })
    }

    pub(crate) async fn select_continuers(
        &self,
        caller: Caller,
        req: pb::SelectHorseRaceContinuersRequest,
    ) -> Result<pb::SelectHorseRaceContinuersResponse, ApiError> {
        jiebang_domain::challenge::access::ensure_admin(&caller, "select horse-race continuers")?;
        let challenge_id = Collection::Challenges
            .parse(&req.challenge, "challenge")?
            .to_owned();
        let mut v = Violations::new();
        v.require(
            !req.continuing_projects.is_empty(),
            "continuing_projects",
            "at least one project continues",
        );
        for (i, p) in req.continuing_projects.iter().enumerate() {
            v.require(
                parse_project(p, "continuing_projects").is_ok(),
                format!("continuing_projects[{i}]"),
                "must be projects/{project}",
            );
        }
        v.require(
            req.reason.trim().chars().count() >= 10,
            "reason",
            "the selection states why, in at least 10 characters",
        );
        v.into_result()?;
        let idem = Idempotency::new(
            &caller,
            &req.request_id,
            "/jiebang.v1.MilestoneService/SelectHorseRaceContinuers",
            digest(&pb::SelectHorseRaceContinuersRequest {
                request_id: String::new(),
                ..req.clone()
            }),
        )?;
        let platform = self.platform();
        let (caller, idem, req, challenge_id) = (&caller, &idem, &req, &challenge_id);
        platform
            .mutate(idem, move || async move {
                let now = platform.now();
                let mut tx = platform.store.begin().await?;
                let challenge = challenges::get_in(tx.conn(), challenge_id)
                    .await?
                    .ok_or_else(|| DomainError::not_found(&req.challenge))?;
                let standings = standings(&mut tx, &challenge).await?;
                // A project named twice continues once.
                let continuing: std::collections::BTreeSet<&str> = req
                    .continuing_projects
                    .iter()
                    .map(|p| p.trim_start_matches("projects/"))
                    .collect();
                if let Some(unknown) = continuing
                    .iter()
                    .find(|id| !standings.iter().any(|s| s.project.id == **id))
                {
                    return Err(DomainError::invalid(
                        "continuing_projects",
                        format!("projects/{unknown} is not an ACTIVE project of this race"),
                    )
                    .into());
                }
                if continuing.len() >= standings.len() {
                    return Err(DomainError::invalid(
                        "continuing_projects",
                        format!(
                            "fewer than the {} racing projects continue; the race stops the others",
                            standings.len()
                        ),
                    )
                    .into());
                }
                let mut audience = Vec::new();
                let mut after = Vec::new();
                for s in &standings {
                    let mut p = s.project.clone();
                    if !continuing.contains(&s.project.id.as_str()) {
                        rows::end_project_with(
                            &mut tx,
                            &s.project,
                            "STOPPED",
                            None,
                            Some(req.reason.trim()),
                            now,
                        )
                        .await?;
                        p.state = "STOPPED".into();
                        p.stop_reason = Some(req.reason.trim().to_owned());
                        p.ended_at = Some(now);
                        p.version += 1;
                        audience.extend(audience_of(&mut tx, &s.project, &challenge).await?);
                    }
                    after.push(p);
                }
                let mut projects = Vec::new();
                for p in &after {
                    projects.push(self.project_to_proto(tx.conn(), p).await?);
                }
                let response = pb::SelectHorseRaceContinuersResponse { projects };
                let stopped: Vec<&ProjectRecord> =
                    after.iter().filter(|p| p.state == "STOPPED").collect();
                let first = stopped.first().map_or_else(String::new, |p| p.id.clone());
                // Each stopped project's chain records its end; the first carries the response.
                let none = Idempotency::none(String::new());
                for p in stopped.iter().skip(1) {
                    let record = ChangeBuilder {
                        at: now,
                        actor: caller.actor(),
                        action: "project.stopped",
                        event_type: pb::EventType::ProjectEnded,
                        resource: format!("projects/{}", p.id),
                        chain: Some(format!("projects/{}", p.id)),
                        state: "PROJECT_STATE_STOPPED".into(),
                        summary: req.reason.trim().to_owned(),
                        audience: &audience,
                        idempotency: &none,
                    }
                    .build(&response);
                    tx.record(&record).await?;
                }
                commit(
                    platform,
                    tx,
                    caller,
                    idem,
                    "project.stopped",
                    pb::EventType::ProjectEnded,
                    format!("projects/{first}"),
                    &first,
                    "PROJECT_STATE_STOPPED",
                    &audience,
                    &response,
                )
                .await?;
                Ok(response)
            })
            .await
    }

    pub(crate) async fn record_failure(
        &self,
        caller: Caller,
        req: pb::RecordProjectFailureRequest,
    ) -> Result<pb::RecordProjectFailureResponse, ApiError> {
        jiebang_domain::challenge::access::ensure_admin(&caller, "record project failures")?;
        let project_id = parse_project(&req.name, "name")?;
        let failure = req.failure.clone().unwrap_or_default();
        let kind = pb::FailureKind::try_from(failure.kind).unwrap_or(pb::FailureKind::Unspecified);
        let mut v = Violations::new();
        v.require(
            kind != pb::FailureKind::Unspecified,
            "failure.kind",
            "must be EXEMPT or MISCONDUCT",
        );
        v.require(
            failure.reason.trim().chars().count() >= 10,
            "failure.reason",
            "a failure record says what happened, in at least 10 characters",
        );
        let mut evidence = Vec::new();
        for (i, d) in failure.evidence_documents.iter().enumerate() {
            match parse_document_name(d, "evidence_documents") {
                Ok(sha) => evidence.push(sha.to_owned()),
                Err(_) => v.add(
                    format!("failure.evidence_documents[{i}]"),
                    "must be documents/{sha256}",
                ),
            }
        }
        let mut barred = Vec::new();
        for (i, o) in failure.barred_organizations.iter().enumerate() {
            match Collection::Organizations.parse(o, "barred_organizations") {
                Ok(id) => barred.push(id.to_owned()),
                Err(_) => v.add(
                    format!("failure.barred_organizations[{i}]"),
                    "must be organizations/{organization}",
                ),
            }
        }
        if kind == pb::FailureKind::Exempt {
            v.require(
                barred.is_empty() && failure.barred_until.is_none(),
                "failure.barred_organizations",
                "an exempt failure bars no one (失败宽容)",
            );
        }
        let barred_until = optional_time(failure.barred_until.as_ref(), "failure.barred_until");
        v.require(
            barred_until.is_ok(),
            "failure.barred_until",
            "must be a valid time",
        );
        let milestone_id = if failure.milestone.is_empty() {
            None
        } else {
            let id = failure
                .milestone
                .strip_prefix(&format!("{}/milestones/", req.name))
                .filter(|m| !m.is_empty() && !m.contains('/'))
                .map(str::to_owned);
            v.require(
                id.is_some(),
                "failure.milestone",
                "must be a milestone of the project",
            );
            id
        };
        v.into_result()?;
        let barred_until = barred_until?;
        let idem = Idempotency::new(
            &caller,
            &req.request_id,
            "/jiebang.v1.MilestoneService/RecordProjectFailure",
            digest(&pb::RecordProjectFailureRequest {
                request_id: String::new(),
                ..req.clone()
            }),
        )?;
        let platform = self.platform();
        let (caller, idem, req) = (&caller, &idem, &req);
        let (project_id, failure, evidence, barred, milestone_id) =
            (&project_id, &failure, &evidence, &barred, &milestone_id);
        platform
            .mutate(idem, move || async move {
                let now = platform.now();
                if barred_until.is_some_and(|t| t <= now) {
                    return Err(DomainError::invalid(
                        "failure.barred_until",
                        "must be in the future",
                    )
                    .into());
                }
                let mut tx = platform.store.begin().await?;
                let project = rows::get_project(tx.conn(), project_id)
                    .await?
                    .ok_or_else(|| DomainError::not_found(&req.name))?;
                if !req.etag.is_empty() && req.etag != project.version.to_string() {
                    return Err(DomainError::stale_etag(&req.name).into());
                }
                if project.state != "ACTIVE" {
                    return Err(DomainError::precondition(
                        "PROJECT_NOT_ACTIVE",
                        format!("the project is {}", project.state),
                    )
                    .into());
                }
                if let Some(m) = milestone_id {
                    rows::milestones_of(tx.conn(), project_id)
                        .await?
                        .into_iter()
                        .find(|x| &x.id == m)
                        .ok_or_else(|| DomainError::not_found(&failure.milestone))?;
                }
                let application =
                    applications::get(tx.conn(), &project.challenge_id, &project.application_id)
                        .await?
                        .ok_or_else(|| StoreError::Corrupt("project without application".into()))?;
                let mut barred = barred.clone();
                if kind == pb::FailureKind::Misconduct && barred.is_empty() {
                    barred.push(application.lead_organization_id.clone());
                }
                for org in &barred {
                    jiebang_storage::identity::get_organization_in(tx.conn(), org)
                        .await?
                        .ok_or_else(|| {
                            DomainError::not_found(Collection::Organizations.name(org))
                        })?;
                    applications::bar_organization(
                        &mut tx,
                        org,
                        failure.reason.trim(),
                        barred_until,
                        now,
                    )
                    .await?;
                }
                let record = FailureRecord {
                    kind: if kind == pb::FailureKind::Exempt {
                        "EXEMPT"
                    } else {
                        "MISCONDUCT"
                    }
                    .into(),
                    reason: failure.reason.trim().to_owned(),
                    milestone_id: milestone_id.clone(),
                    evidence: evidence.clone(),
                    barred,
                    barred_until,
                    recorder_id: caller.user_id.clone(),
                    at: now,
                };
                let json = serde_json::to_string(&record)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                rows::end_project_with(&mut tx, &project, "FAILED", Some(&json), None, now).await?;
                let (challenge, ended) = settle_challenge(
                    &mut tx,
                    &project.challenge_id,
                    caller,
                    &idem.request_digest,
                    now,
                )
                .await?;
                let mut updated = project.clone();
                updated.state = "FAILED".into();
                updated.failure = Some(json);
                updated.ended_at = Some(now);
                updated.version += 1;
                let audience = audience_of(&mut tx, &project, &challenge).await?;
                let response = pb::RecordProjectFailureResponse {
                    project: Some(self.project_to_proto(tx.conn(), &updated).await?),
                };
                let failed = change(
                    platform,
                    caller,
                    idem,
                    "project.failed",
                    pb::EventType::ProjectEnded,
                    req.name.clone(),
                    project_id,
                    "PROJECT_STATE_FAILED",
                    &audience,
                    &response,
                );
                commit_in_order(platform, tx, std::iter::once(failed).chain(ended).collect())
                    .await?;
                Ok(response)
            })
            .await
    }
}
