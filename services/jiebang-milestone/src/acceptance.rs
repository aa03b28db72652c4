//! Acceptance (验收): the panel, its votes, and the decision the rules allow.

use crate::service::{MilestoneApi, milestone_to_proto};
use jiebang_domain::audience::Audience;
use jiebang_domain::identity::Role;
use jiebang_domain::ids::{Collection, new_id};
use jiebang_domain::milestone::decision::{Outcome, majority, permits, verdict};
use jiebang_domain::review::affinity::affinity;
use jiebang_domain::review::assignment::{Candidate, Demand, Instance, solve};
use jiebang_domain::review::conflicts::{Parties, detect};
use jiebang_domain::{Caller, DomainError, Timestamp};
use jiebang_grpc::convert::{optional_time, to_proto_time};
use jiebang_grpc::idempotency::{Idempotency, digest};
use jiebang_grpc::platform::ChangeBuilder;
use jiebang_grpc::{ApiError, Platform};
use jiebang_proto::v1 as pb;
use jiebang_storage::projects::{self as rows, MilestoneRow, ProjectRecord, Seat, VoteRow};
use jiebang_storage::{Change, StoreError, Tx, applications, challenges, identity, review};

/// The decision on one report, as stored with the milestone.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct DecisionRecord {
    pub outcome: String,
    /// None when an OVERDUE milestone failed without a report.
    pub report_id: Option<String>,
    pub reason: String,
    pub required_fixes: Vec<String>,
    pub rework_due_at: Option<Timestamp>,
    pub failure_grounds: Vec<i32>,
    /// Current votes per outcome at decision time.
    pub vote_counts: Vec<(String, usize)>,
    /// What the rules said (bands, mandatory indicators), for the record.
    pub rules: String,
    pub decider_id: String,
    pub at: Timestamp,
}

pub(crate) fn decision_to_proto(
    milestone_name: &str,
    json: &str,
) -> Option<pb::AcceptanceDecision> {
    let d: DecisionRecord = serde_json::from_str(json).ok()?;
    let outcome = |name: &str| {
        pb::AcceptanceOutcome::from_str_name(&format!("ACCEPTANCE_OUTCOME_{name}"))
            .map_or(0, |o| o as i32)
    };
    Some(pb::AcceptanceDecision {
        outcome: outcome(&d.outcome),
        report: d
            .report_id
            .map(|r| format!("{milestone_name}/reports/{r}"))
            .unwrap_or_default(),
        reason: d.reason,
        required_fixes: d.required_fixes,
        rework_due_time: d.rework_due_at.map(to_proto_time),
        failure_grounds: d.failure_grounds,
        vote_counts: d
            .vote_counts
            .iter()
            .map(|(o, n)| pb::AcceptanceVoteCount {
                outcome: outcome(o),
                count: i32::try_from(*n).unwrap_or(i32::MAX),
            })
            .collect(),
        decider: Collection::Users.name(&d.decider_id),
        decide_time: Some(to_proto_time(d.at)),
    })
}

/// The panel as the caller may see it: the bureau, the publisher and the panel see who sits;
/// the team sees only the seat kinds.
pub(crate) fn panel_to_proto(
    seats: &[Seat],
    voted: &[String],
    show_people: bool,
) -> Option<pb::AcceptancePanel> {
    if seats.is_empty() {
        return None;
    }
    Some(pb::AcceptancePanel {
        seats: seats
            .iter()
            .map(|s| pb::PanelSeat {
                kind: pb::SeatKind::from_str_name(&format!("SEAT_KIND_{}", s.kind))
                    .map_or(0, |k| k as i32),
                expert: if show_people {
                    s.expert_id
                        .as_deref()
                        .map(|e| format!("experts/{e}"))
                        .unwrap_or_default()
                } else {
                    String::new()
                },
                user: if show_people {
                    Collection::Users.name(&s.user_id)
                } else {
                    String::new()
                },
                voted: voted.contains(&s.user_id),
            })
            .collect(),
        ..Default::default()
    })
}

fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Accepted => "ACCEPTED",
        Outcome::AcceptedAfterFixes => "ACCEPTED_AFTER_FIXES",
        Outcome::ReworkRequired => "REWORK_REQUIRED",
        Outcome::Failed => "FAILED",
    }
}

fn outcome_from_proto(value: i32) -> Option<Outcome> {
    match pb::AcceptanceOutcome::try_from(value).ok()? {
        pb::AcceptanceOutcome::Accepted => Some(Outcome::Accepted),
        pb::AcceptanceOutcome::AcceptedAfterFixes => Some(Outcome::AcceptedAfterFixes),
        pb::AcceptanceOutcome::ReworkRequired => Some(Outcome::ReworkRequired),
        pb::AcceptanceOutcome::Failed => Some(Outcome::Failed),
        pb::AcceptanceOutcome::Unspecified => None,
    }
}

fn parse_outcome(text: &str) -> Option<Outcome> {
    [
        Outcome::Accepted,
        Outcome::AcceptedAfterFixes,
        Outcome::ReworkRequired,
        Outcome::Failed,
    ]
    .into_iter()
    .find(|o| outcome_name(*o) == text)
}

fn vote_to_proto(v: &VoteRow, milestone_name: &str, show_voter: bool) -> pb::AcceptanceVote {
    pb::AcceptanceVote {
        name: format!("{milestone_name}/votes/{}", v.id),
        report: format!("{milestone_name}/reports/{}", v.report_id),
        voter: if show_voter {
            Collection::Users.name(&v.voter_id)
        } else {
            String::new()
        },
        seat_kind: pb::SeatKind::from_str_name(&format!("SEAT_KIND_{}", v.seat_kind))
            .map_or(0, |s| s as i32),
        outcome: pb::AcceptanceOutcome::from_str_name(&format!("ACCEPTANCE_OUTCOME_{}", v.outcome))
            .map_or(0, |o| o as i32),
        comment: v.comment.clone(),
        supersedes: v
            .supersedes
            .as_deref()
            .map(|s| format!("{milestone_name}/votes/{s}"))
            .unwrap_or_default(),
        cast_time: Some(to_proto_time(v.cast_at)),
    }
}

/// `projects/{p}/milestones/{m}` → the project record and milestone row, read on `tx`.
async fn milestone_in(tx: &mut Tx, name: &str) -> Result<(ProjectRecord, MilestoneRow), ApiError> {
    let (project, milestone) = name
        .strip_prefix("projects/")
        .and_then(|r| r.split_once("/milestones/"))
        .ok_or_else(|| {
            DomainError::invalid(
                "milestone",
                "must be projects/{project}/milestones/{milestone}",
            )
        })?;
    let p = rows::get_project(tx.conn(), project)
        .await?
        .ok_or_else(|| DomainError::not_found(name))?;
    let m = rows::milestones_of(tx.conn(), project)
        .await?
        .into_iter()
        .find(|m| m.id == milestone)
        .ok_or_else(|| DomainError::not_found(name))?;
    Ok((p, m))
}

/// A milestone-service change with its audit record on the project's chain and its event.
#[allow(clippy::too_many_arguments)]
pub(crate) fn change(
    platform: &Platform,
    caller: &Caller,
    idem: &Idempotency,
    action: &'static str,
    event_type: pb::EventType,
    resource: String,
    project_id: &str,
    state: &str,
    audience: &[Audience],
    response: &impl prost::Message,
) -> Change {
    ChangeBuilder {
        at: platform.now(),
        actor: caller.actor(),
        action,
        event_type,
        resource,
        chain: Some(format!("projects/{project_id}")),
        state: state.to_owned(),
        summary: String::new(),
        audience,
        idempotency: idem,
    }
    .build(response)
}

/// Commits a milestone-service change with its audit record on the project's chain and its
/// event.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn commit(
    platform: &Platform,
    tx: Tx,
    caller: &Caller,
    idem: &Idempotency,
    action: &'static str,
    event_type: pb::EventType,
    resource: String,
    project_id: &str,
    state: &str,
    audience: &[Audience],
    response: &impl prost::Message,
) -> Result<(), ApiError> {
    let change = change(
        platform, caller, idem, action, event_type, resource, project_id, state, audience, response,
    );
    platform.commit(tx, &change).await
}

impl MilestoneApi {
    pub(crate) async fn form_panel(
        &self,
        caller: Caller,
        req: pb::FormAcceptancePanelRequest,
    ) -> Result<pb::Milestone, ApiError> {
        jiebang_domain::challenge::access::ensure_admin(&caller, "form acceptance panels")?;
        let seat_count = if req.seat_count == 0 {
            5
        } else {
            req.seat_count
        };
        if seat_count < 3 || seat_count % 2 == 0 || seat_count > 15 {
            return Err(DomainError::invalid("seat_count", "must be odd and 3–15").into());
        }
        let idem = Idempotency::new(
            &caller,
            &req.request_id,
            "/jiebang.v1.MilestoneService/FormAcceptancePanel",
            digest(&pb::FormAcceptancePanelRequest {
                request_id: String::new(),
                ..req.clone()
            }),
        )?;
        let platform = self.platform();
        let (caller, idem, req) = (&caller, &idem, &req);
        platform
            .mutate(idem, move || async move {
                let now = platform.now();
                let mut tx = platform.store.begin().await?;
                let (project, milestone) = milestone_in(&mut tx, &req.milestone).await?;
                if milestone.state != "REPORT_SUBMITTED" {
                    return Err(DomainError::precondition("MILESTONE_WRONG_STATE", format!("a panel is formed for a submitted report; the milestone is {}", milestone.state)).into());
                }
                let application = applications::get(tx.conn(), &project.challenge_id, &project.application_id).await?.ok_or_else(|| StoreError::Corrupt("project without application".into()))?;
                let challenge = challenges::get_in(tx.conn(), &project.challenge_id).await?.ok_or_else(|| StoreError::Corrupt("project without challenge".into()))?;
                // The end user's seat: the publisher's representatives (DOMAIN.md: at least one).
                let mut end_users = Vec::new();
                for name in &req.end_user_representatives {
                    let id = Collection::Users.parse(name, "end_user_representatives")?;
                    end_users.push(id.to_owned());
                }
                let previous_seats = rows::seats(tx.conn(), &milestone.id).await?;
                if req.reuse_previous_panel && !previous_seats.is_empty() {
                    // After a rework the same panel judges the corrected report.
                    rows::set_milestone_state(&mut tx, &milestone, "UNDER_ACCEPTANCE", now).await?;
                    let mut updated = milestone.clone();
                    updated.state = "UNDER_ACCEPTANCE".into();
                    updated.version += 1;
                    let response = milestone_to_proto(&updated);
                    let audience: Vec<Audience> = previous_seats.iter().map(|s| Audience::User(s.user_id.clone())).chain(application.team_user_ids().into_iter().map(Audience::User)).collect();
                    commit(platform, tx, caller, idem, "milestone.panel_formed", pb::EventType::AcceptancePanelFormed, req.milestone.clone(), &project.id, "MILESTONE_STATE_UNDER_ACCEPTANCE", &audience, &response).await?;
                    return Ok(response);
                }
                rows::clear_seats(&mut tx, &milestone.id).await?;
                if end_users.is_empty() {
                    let first = identity::first_user_in(tx.conn(), &challenge.publisher_id, Role::Publisher).await?.ok_or_else(|| DomainError::precondition("NO_END_USER", "the publisher has no user to sit on the panel"))?;
                    end_users.push(first.id);
                }
                for id in &end_users {
                    let user = identity::get_user_in(tx.conn(), id).await?.ok_or_else(|| DomainError::not_found(Collection::Users.name(id)))?;
                    if user.role != Role::Publisher || user.organization_id != challenge.publisher_id {
                        return Err(DomainError::invalid("end_user_representatives", "must be publishers of the challenge's publisher").into());
                    }
                }
                let expert_seats = u32::try_from(seat_count).unwrap_or(5).saturating_sub(u32::try_from(end_users.len()).unwrap_or(0));
                // Experts drawn without conflicts, best suited first, by the review's solver.
                let parties = Parties {
                    lead_organization_id: application.lead_organization_id.clone(),
                    partner_organization_ids: application.content.partner_organization_ids.clone(),
                    publisher_id: challenge.publisher_id.clone(),
                    team_user_ids: application.team_user_ids(),
                };
                let experts: Vec<_> = review::all_experts(tx.conn()).await?.into_iter().filter(|e| e.is_available(now)).collect();
                let text = format!("{} {}", application.content.title, application.content.technical_plan);
                let candidates: Vec<Candidate> = experts
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| detect(&e.conflict_profile(), &parties).is_empty())
                    .map(|(i, e)| Candidate { expert: i, affinity: affinity(&e.fields, &e.keywords, &challenge.spec.industry_field, &text, None) })
                    .collect();
                let pinned: Vec<usize> = req.required_experts.iter().filter_map(|r| experts.iter().position(|e| &e.name() == r)).collect();
                let instance = Instance { expert_loads: vec![1; experts.len()], applications: vec![Demand { experts_needed: expert_seats, candidates, pinned }] };
                let chosen = solve(&instance).map_err(|_| {
                    let available = instance.applications[0].candidates.len();
                    DomainError::precondition(
                        "PANEL_UNFILLED",
                        format!("{} expert seat(s) cannot be filled: {available} unconflicted experts are available for {expert_seats} seats", expert_seats.saturating_sub(u32::try_from(available).unwrap_or(0))),
                    )
                })?;
                for id in &end_users {
                    rows::insert_seat(&mut tx, &milestone.id, &Seat { user_id: id.clone(), kind: "END_USER".into(), expert_id: None }).await?;
                }
                for &i in &chosen.experts[0] {
                    rows::insert_seat(&mut tx, &milestone.id, &Seat { user_id: experts[i].user_id.clone(), kind: "EXPERT".into(), expert_id: Some(experts[i].id.clone()) }).await?;
                }
                rows::set_milestone_state(&mut tx, &milestone, "UNDER_ACCEPTANCE", now).await?;
                let mut updated = milestone.clone();
                updated.state = "UNDER_ACCEPTANCE".into();
                updated.version += 1;
                let response = milestone_to_proto(&updated);
                let mut audience: Vec<Audience> = end_users.iter().cloned().map(Audience::User).collect();
                audience.extend(chosen.experts[0].iter().map(|&i| Audience::User(experts[i].user_id.clone())));
                audience.extend(application.team_user_ids().into_iter().map(Audience::User));
                commit(platform, tx, caller, idem, "milestone.panel_formed", pb::EventType::AcceptancePanelFormed, req.milestone.clone(), &project.id, "MILESTONE_STATE_UNDER_ACCEPTANCE", &audience, &response).await?;
                Ok(response)
            })
            .await
    }

    pub(crate) async fn cast_vote(
        &self,
        caller: Caller,
        req: pb::CastAcceptanceVoteRequest,
    ) -> Result<pb::AcceptanceVote, ApiError> {
        let outcome = outcome_from_proto(req.outcome)
            .ok_or_else(|| DomainError::invalid("outcome", "must be set"))?;
        if req.comment.trim().chars().count() < 10 {
            return Err(DomainError::invalid(
                "comment",
                "a vote carries a comment of at least 10 characters",
            )
            .into());
        }
        let idem = Idempotency::new(
            &caller,
            &req.request_id,
            "/jiebang.v1.MilestoneService/CastAcceptanceVote",
            digest(&pb::CastAcceptanceVoteRequest {
                request_id: String::new(),
                ..req.clone()
            }),
        )?;
        let platform = self.platform();
        let (caller, idem, req) = (&caller, &idem, &req);
        platform
            .mutate(idem, move || async move {
                let now = platform.now();
                let mut tx = platform.store.begin().await?;
                let (project, milestone) = milestone_in(&mut tx, &req.milestone).await?;
                let seats = rows::seats(tx.conn(), &milestone.id).await?;
                let Some(seat) = seats.iter().find(|s| s.user_id == caller.user_id) else {
                    return Err(DomainError::denied(
                        "NOT_ON_PANEL",
                        "only members of the acceptance panel vote",
                    )
                    .into());
                };
                if milestone.state != "UNDER_ACCEPTANCE" {
                    return Err(DomainError::precondition(
                        "MILESTONE_WRONG_STATE",
                        format!("the milestone is {}", milestone.state),
                    )
                    .into());
                }
                let report = rows::reports_of(tx.conn(), &milestone.id)
                    .await?
                    .pop()
                    .ok_or_else(|| StoreError::Corrupt("panel without report".into()))?;
                // A vote on an earlier (reworked) report is history, not something to supersede.
                let previous = rows::votes(tx.conn(), &milestone.id, false)
                    .await?
                    .into_iter()
                    .find(|v| v.voter_id == caller.user_id && v.report_id == report.id);
                let vote = VoteRow {
                    id: new_id(),
                    milestone_id: milestone.id.clone(),
                    report_id: report.id.clone(),
                    voter_id: caller.user_id.clone(),
                    seat_kind: seat.kind.clone(),
                    outcome: outcome_name(outcome).into(),
                    comment: req.comment.trim().to_owned(),
                    supersedes: previous.map(|p| p.id),
                    current: true,
                    cast_at: now,
                };
                rows::cast_vote(&mut tx, &vote).await?;
                let name = format!("projects/{}/milestones/{}", project.id, milestone.id);
                let response = vote_to_proto(&vote, &name, true);
                commit(
                    platform,
                    tx,
                    caller,
                    idem,
                    "milestone.vote_cast",
                    pb::EventType::AcceptanceVoteCast,
                    response.name.clone(),
                    &project.id,
                    "",
                    &[Audience::User(caller.user_id.clone())],
                    &response,
                )
                .await?;
                Ok(response)
            })
            .await
    }

    pub(crate) async fn list_votes(
        &self,
        caller: Caller,
        req: pb::ListAcceptanceVotesRequest,
    ) -> Result<pb::ListAcceptanceVotesResponse, ApiError> {
        let mut tx = self.platform().store.begin().await?;
        let (project, milestone) = milestone_in(&mut tx, &req.parent).await?;
        let seats = rows::seats(tx.conn(), &milestone.id).await?;
        let votes = rows::votes(tx.conn(), &milestone.id, req.include_superseded).await?;
        let application =
            applications::get(tx.conn(), &project.challenge_id, &project.application_id)
                .await?
                .ok_or_else(|| StoreError::Corrupt("project without application".into()))?;
        tx.commit().await?;
        let decided = rows_decided(&milestone);
        let on_panel = seats.iter().any(|s| s.user_id == caller.user_id);
        let voted = votes.iter().any(|v| v.voter_id == caller.user_id);
        let is_team = jiebang_domain::application::access::is_team(&caller, &application);
        let visible: Vec<pb::AcceptanceVote> = if caller.is_admin() {
            votes
                .iter()
                .map(|v| vote_to_proto(v, &req.parent, true))
                .collect()
        } else if on_panel {
            // A member sees their own vote, and the others' once they have voted.
            votes
                .iter()
                .filter(|v| voted || v.voter_id == caller.user_id)
                .map(|v| vote_to_proto(v, &req.parent, true))
                .collect()
        } else if is_team && decided {
            votes
                .iter()
                .map(|v| vote_to_proto(v, &req.parent, false))
                .collect()
        } else {
            return Err(DomainError::not_found(&req.parent).into());
        };
        Ok(pb::ListAcceptanceVotesResponse {
            acceptance_votes: visible,
            next_page_token: String::new(),
        })
    }

    pub(crate) async fn decide(
        &self,
        caller: Caller,
        req: pb::DecideMilestoneRequest,
    ) -> Result<pb::DecideMilestoneResponse, ApiError> {
        jiebang_domain::challenge::access::ensure_admin(&caller, "decide milestones")?;
        let decided = outcome_from_proto(req.outcome)
            .ok_or_else(|| DomainError::invalid("outcome", "must be set"))?;
        if req.reason.trim().chars().count() < 10 {
            return Err(DomainError::invalid(
                "reason",
                "a decision states its basis in at least 10 characters",
            )
            .into());
        }
        if decided == Outcome::AcceptedAfterFixes
            && req.required_fixes.iter().all(|f| f.trim().is_empty())
        {
            return Err(DomainError::invalid(
                "required_fixes",
                "acceptance after fixes names at least one fix",
            )
            .into());
        }
        if decided == Outcome::Failed
            && req.failure_grounds.iter().all(|g| {
                *g == pb::FailureGround::Unspecified as i32
                    || pb::FailureGround::try_from(*g).is_err()
            })
        {
            return Err(DomainError::invalid(
                "failure_grounds",
                "a failure names at least one ground",
            )
            .into());
        }
        let rework_due = optional_time(req.rework_due_time.as_ref(), "rework_due_time")?;
        let false_data = req
            .failure_grounds
            .contains(&(pb::FailureGround::FalseData as i32));
        let idem = Idempotency::new(
            &caller,
            &req.request_id,
            "/jiebang.v1.MilestoneService/DecideMilestone",
            digest(&pb::DecideMilestoneRequest {
                request_id: String::new(),
                ..req.clone()
            }),
        )?;
        let platform = self.platform();
        let (caller, idem, req) = (&caller, &idem, &req);
        platform
            .mutate(idem, move || async move {
                decide_once(platform, caller, idem, req, decided, rework_due, false_data).await
            })
            .await
    }
}

fn rows_decided(m: &MilestoneRow) -> bool {
    matches!(
        m.state.as_str(),
        "ACCEPTED" | "ACCEPTED_AFTER_FIXES" | "REWORK_REQUIRED" | "FAILED"
    )
}

#[allow(clippy::too_many_arguments)]
async fn decide_once(
    platform: &Platform,
    caller: &Caller,
    idem: &Idempotency,
    req: &pb::DecideMilestoneRequest,
    decided: Outcome,
    rework_due: Option<Timestamp>,
    false_data: bool,
) -> Result<pb::DecideMilestoneResponse, ApiError> {
    let now = platform.now();
    let rules = platform.settings.acceptance;
    let mut tx = platform.store.begin().await?;
    let (project, milestone) = milestone_in(&mut tx, &req.name).await?;
    if !req.etag.is_empty() && req.etag != milestone.version.to_string() {
        return Err(DomainError::stale_etag(&req.name).into());
    }
    let acceptance = rows::acceptance(tx.conn(), &milestone.id).await?;
    let challenge = challenges::get_in(tx.conn(), &project.challenge_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt("project without challenge".into()))?;
    // "More than 6 months late" in calendar months from the due time.
    let too_late = now
        > jiebang_domain::milestone::plan::add_months(
            milestone.due_at,
            i32::try_from(rules.max_months_late).unwrap_or(6),
        );
    let (outcomes, report_id, rules_text) = match milestone.state.as_str() {
        "UNDER_ACCEPTANCE" => {
            let seats = rows::seats(tx.conn(), &milestone.id).await?;
            let report = rows::reports_of(tx.conn(), &milestone.id)
                .await?
                .pop()
                .ok_or_else(|| StoreError::Corrupt("no report".into()))?;
            let votes: Vec<VoteRow> = rows::votes(tx.conn(), &milestone.id, false)
                .await?
                .into_iter()
                .filter(|v| {
                    v.report_id == report.id && seats.iter().any(|s| s.user_id == v.voter_id)
                })
                .collect();
            if votes.len() < seats.len() {
                return Err(DomainError::precondition(
                    "VOTES_OUTSTANDING",
                    format!("{} of {} seats have voted", votes.len(), seats.len()),
                )
                .into());
            }
            let checks = crate::report::checks_of(&report);
            let v = verdict(&checks, rules, acceptance.rework_used, false_data);
            permits(&v, decided, acceptance.rework_used)
                .map_err(|why| DomainError::precondition("DECISION_AGAINST_RULES", why))?;
            let outcomes: Vec<Outcome> = votes
                .iter()
                .filter_map(|v| parse_outcome(&v.outcome))
                .collect();
            (outcomes, Some(report.id), v.reasons.join("; "))
        }
        "OVERDUE" if decided == Outcome::Failed && too_late => (
            Vec::new(),
            None,
            format!(
                "more than {} months late without a report",
                rules.max_months_late
            ),
        ),
        "OVERDUE" => {
            return Err(DomainError::precondition(
                "MILESTONE_WRONG_STATE",
                format!(
                    "an overdue milestone fails only after {} months without a report",
                    rules.max_months_late
                ),
            )
            .into());
        }
        other => {
            return Err(DomainError::precondition(
                "MILESTONE_WRONG_STATE",
                format!("the milestone is {other}; decisions follow the panel's votes"),
            )
            .into());
        }
    };
    let mut next = acceptance.clone();
    if decided == Outcome::ReworkRequired {
        let due = rework_due.ok_or_else(|| {
            DomainError::invalid("rework_due_time", "a rework needs its new due time")
        })?;
        let limit = jiebang_domain::milestone::plan::add_months(
            now,
            i32::try_from(rules.rework_months).unwrap_or(3),
        );
        if due <= now || due > limit {
            return Err(DomainError::invalid(
                "rework_due_time",
                format!("must be within {} months from now", rules.rework_months),
            )
            .into());
        }
        next.rework_used = true;
        next.rework_due_at = Some(due);
    }
    if majority(&outcomes).is_some_and(|m| m != decided) {
        tracing::info!(milestone = %req.name, "decision departs from the panel's majority; its reason is on record");
    }
    let record = DecisionRecord {
        outcome: outcome_name(decided).into(),
        report_id,
        reason: req.reason.trim().to_owned(),
        required_fixes: req
            .required_fixes
            .iter()
            .map(|f| f.trim().to_owned())
            .filter(|f| !f.is_empty())
            .collect(),
        rework_due_at: next
            .rework_due_at
            .filter(|_| decided == Outcome::ReworkRequired),
        failure_grounds: req.failure_grounds.clone(),
        vote_counts: [
            Outcome::Accepted,
            Outcome::AcceptedAfterFixes,
            Outcome::ReworkRequired,
            Outcome::Failed,
        ]
        .into_iter()
        .map(|o| {
            (
                outcome_name(o).to_owned(),
                outcomes.iter().filter(|v| **v == o).count(),
            )
        })
        .filter(|(_, n)| *n > 0)
        .collect(),
        rules: rules_text,
        decider_id: caller.user_id.clone(),
        at: now,
    };
    next.decision =
        Some(serde_json::to_string(&record).map_err(|e| StoreError::Corrupt(e.to_string()))?);
    rows::decide(&mut tx, &milestone, outcome_name(decided), &next, now).await?;
    let mut updated = milestone.clone();
    updated.state = outcome_name(decided).into();
    updated.version += 1;
    let mut project_view = project.clone();
    // Accepting the final milestone completes the project (结题), and with its last project the
    // challenge ends: each in this transaction, with its own record and event after the
    // decision's.
    let mut caused = Vec::new();
    if matches!(decided, Outcome::Accepted | Outcome::AcceptedAfterFixes)
        && milestone.plan.final_acceptance
    {
        rows::end_project(&mut tx, &project, "COMPLETED", now).await?;
        project_view.state = "COMPLETED".into();
        let audience = crate::ending::audience_of(&mut tx, &project, &challenge).await?;
        caused.push(crate::ending::project_ended(
            &project.id,
            "project.completed",
            "COMPLETED",
            caller,
            &idem.request_digest,
            &audience,
            now,
        ));
        caused.extend(
            crate::ending::settle_challenge(
                &mut tx,
                &challenge.id,
                caller,
                &idem.request_digest,
                now,
            )
            .await?
            .1,
        );
    }
    let application = applications::get(tx.conn(), &project.challenge_id, &project.application_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt("project without application".into()))?;
    let audience: Vec<Audience> = application
        .team_user_ids()
        .into_iter()
        .map(Audience::User)
        .collect();
    let response = pb::DecideMilestoneResponse {
        milestone: Some(milestone_to_proto(&updated)),
        project: Some(pb::Project {
            name: format!("projects/{}", project.id),
            state: pb::ProjectState::from_str_name(&format!(
                "PROJECT_STATE_{}",
                project_view.state
            ))
            .map_or(0, |s| s as i32),
            ..Default::default()
        }),
    };
    let decided_change = change(
        platform,
        caller,
        idem,
        "milestone.decided",
        pb::EventType::MilestoneDecided,
        req.name.clone(),
        &project.id,
        &format!("MILESTONE_STATE_{}", outcome_name(decided)),
        &audience,
        &response,
    );
    crate::ending::commit_in_order(
        platform,
        tx,
        std::iter::once(decided_change).chain(caused).collect(),
    )
    .await?;
    Ok(response)
}
