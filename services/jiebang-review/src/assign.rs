//! Pins and forbids, the exact assignment of experts to applications, the review panel, and
//! the listings of assignments and recorded conflicts.

use crate::convert::{
    application_name, assignment_name, assignment_to_proto, conflict_to_proto, constraint_to_proto,
};
use crate::pool::parse_expert_name;
use crate::service::ReviewApi;
use jiebang_domain::application::{Application, ApplicationState};
use jiebang_domain::audience::Audience;
use jiebang_domain::challenge::{Challenge, ChallengeState};
use jiebang_domain::ids::{Collection, new_id, parse_application_name};
use jiebang_domain::review::affinity::affinity;
use jiebang_domain::review::assignment::{Candidate, Demand, Infeasible, Instance, solve};
use jiebang_domain::review::conflicts::{ConflictSource, Parties, detect};
use jiebang_domain::review::pool::{Expert, conflict_type_name};
use jiebang_domain::{Caller, DomainError, Timestamp};
use jiebang_grpc::idempotency::{Idempotency, digest};
use jiebang_grpc::paging::{decode_token, finish_page, page_size};
use jiebang_grpc::platform::ChangeBuilder;
use jiebang_grpc::{ApiError, Platform};
use jiebang_proto::v1 as pb;
use jiebang_storage::review::{
    self as rows, AssignmentFilter, AssignmentRow, ConflictRow, Constraint, Panel,
};
use jiebang_storage::{StoreError, Tx, applications, challenges};
use std::collections::{BTreeMap, BTreeSet};

fn source_name(source: ConflictSource) -> &'static str {
    match source {
        ConflictSource::Detected | ConflictSource::History => "DETECTED",
        ConflictSource::Declared => "PROFILE_DECLARATION",
    }
}

fn parties(application: &Application, challenge: &Challenge) -> Parties {
    Parties {
        lead_organization_id: application.lead_organization_id.clone(),
        partner_organization_ids: application.content.partner_organization_ids.clone(),
        publisher_id: challenge.publisher_id.clone(),
        team_user_ids: application.team_user_ids(),
    }
}

fn wrong_state(challenge: &Challenge, now: Timestamp, action: &str) -> DomainError {
    DomainError::precondition(
        "CHALLENGE_WRONG_STATE",
        format!(
            "{action} needs {} to be APPLICATIONS_CLOSED or UNDER_REVIEW; it is {}",
            challenge.name(),
            challenge.state_at(now).as_str()
        ),
    )
}

fn in_review(challenge: &Challenge, now: Timestamp) -> bool {
    matches!(
        challenge.state_at(now),
        ChallengeState::ApplicationsClosed | ChallengeState::UnderReview
    )
}

/// Writes an extra audit record and event inside a transaction that commits later.
#[allow(clippy::too_many_arguments)]
async fn record(
    tx: &mut Tx,
    at: Timestamp,
    caller: &Caller,
    action: &'static str,
    event_type: pb::EventType,
    resource: String,
    state: String,
    summary: String,
    audience: &[Audience],
) -> Result<(), ApiError> {
    let none = Idempotency::none(String::new());
    let change = ChangeBuilder {
        at,
        actor: caller.actor(),
        action,
        event_type,
        resource,
        chain: None,
        state,
        summary,
        audience,
        idempotency: &none,
    }
    .build(&pb::Assignment::default());
    tx.record(&change).await?;
    Ok(())
}

impl ReviewApi {
    pub(crate) async fn set_constraint(
        &self,
        caller: Caller,
        req: pb::SetAssignmentConstraintRequest,
    ) -> Result<pb::AssignmentConstraint, ApiError> {
        jiebang_domain::challenge::access::ensure_admin(&caller, "pin or forbid experts")?;
        let input = req
            .assignment_constraint
            .clone()
            .ok_or_else(|| DomainError::invalid("assignment_constraint", "must be set"))?;
        let (challenge_id, application_id) =
            parse_application_name(&input.application, "assignment_constraint.application")?;
        let (challenge_id, application_id) = (challenge_id.to_owned(), application_id.to_owned());
        let expert_id = parse_expert_name(&input.expert, "assignment_constraint.expert")?;
        let kind = match pb::AssignmentConstraintKind::try_from(input.kind) {
            Ok(pb::AssignmentConstraintKind::Pin) => "PIN",
            Ok(pb::AssignmentConstraintKind::Forbid) => "FORBID",
            Ok(pb::AssignmentConstraintKind::None) => "NONE",
            _ => {
                return Err(DomainError::invalid(
                    "assignment_constraint.kind",
                    "must be PIN, FORBID or NONE",
                )
                .into());
            }
        };
        if kind != "NONE" && input.reason.trim().is_empty() {
            return Err(DomainError::invalid(
                "assignment_constraint.reason",
                "a pin or forbid needs a reason",
            )
            .into());
        }
        let idem = Idempotency::new(
            &caller,
            &req.request_id,
            "/jiebang.v1.ReviewService/SetAssignmentConstraint",
            digest(&pb::SetAssignmentConstraintRequest {
                request_id: String::new(),
                ..req.clone()
            }),
        )?;
        let platform = self.platform();
        let (caller, idem, input, challenge_id, application_id, expert_id) = (
            &caller,
            &idem,
            &input,
            &challenge_id,
            &application_id,
            &expert_id,
        );
        platform
            .mutate(idem, move || async move {
                let now = platform.now();
                let mut tx = platform.store.begin().await?;
                let challenge = challenges::get_in(tx.conn(), challenge_id).await?.ok_or_else(|| DomainError::not_found(&input.application))?;
                if !in_review(&challenge, now) {
                    return Err(wrong_state(&challenge, now, "pinning or forbidding experts").into());
                }
                let application = applications::get(tx.conn(), challenge_id, application_id).await?.ok_or_else(|| DomainError::not_found(&input.application))?;
                let expert = rows::get_expert(tx.conn(), expert_id).await?.ok_or_else(|| DomainError::not_found(&input.expert))?;
                if kind == "PIN" {
                    let conflicts = detect(&expert.conflict_profile(), &parties(&application, &challenge));
                    if let Some(c) = conflicts.first() {
                        return Err(DomainError::precondition(
                            "PIN_CONFLICTED",
                            format!("{} has a {} conflict with this application; a conflicted pair cannot be pinned", input.expert, conflict_type_name(c.kind)),
                        )
                        .into());
                    }
                }
                let constraint = Constraint {
                    challenge_id: challenge_id.clone(),
                    application_id: application_id.clone(),
                    expert_id: expert_id.clone(),
                    kind: kind.to_owned(),
                    reason: input.reason.trim().to_owned(),
                    author_id: caller.user_id.clone(),
                    created_at: now,
                };
                rows::set_constraint(&mut tx, &constraint).await?;
                let response = constraint_to_proto(&constraint);
                let change = ChangeBuilder {
                    at: now,
                    actor: caller.actor(),
                    action: "assignment.constraint_set",
                    event_type: pb::EventType::Unspecified,
                    resource: input.application.clone(),
                    chain: Some(challenge.name()),
                    state: kind.to_owned(),
                    summary: format!("{kind} {}", input.expert),
                    audience: &[],
                    idempotency: idem,
                }
                .build(&response);
                platform.commit(tx, &change).await?;
                Ok(response)
            })
            .await
    }

    pub(crate) async fn solve(
        &self,
        caller: Caller,
        req: pb::SolveAssignmentsRequest,
    ) -> Result<pb::SolveAssignmentsResponse, ApiError> {
        jiebang_domain::challenge::access::ensure_admin(&caller, "assign experts")?;
        let challenge_id = Collection::Challenges
            .parse(&req.challenge, "challenge")?
            .to_owned();
        if req.experts_per_application != 0
            && (req.experts_per_application < 3
                || req.experts_per_application % 2 == 0
                || req.experts_per_application > 15)
        {
            return Err(DomainError::invalid(
                "experts_per_application",
                "must be odd and 3–15 (DOMAIN.md: never fewer than 3, odd numbers)",
            )
            .into());
        }
        let idem = Idempotency::new(
            &caller,
            &req.request_id,
            "/jiebang.v1.ReviewService/SolveAssignments",
            digest(&pb::SolveAssignmentsRequest {
                request_id: String::new(),
                ..req.clone()
            }),
        )?;
        let platform = self.platform();
        let (caller, idem, req, challenge_id) = (&caller, &idem, &req, &challenge_id);
        platform
            .mutate(idem, move || async move {
                solve_once(platform, caller, idem, req, challenge_id).await
            })
            .await
    }

    pub(crate) async fn list_assignments(
        &self,
        caller: Caller,
        req: pb::ListAssignmentsRequest,
    ) -> Result<pb::ListAssignmentsResponse, ApiError> {
        let size = page_size(req.page_size, 20, 100)?;
        let (challenge, application) = match req.parent.as_str() {
            "" => (None, None),
            parent => {
                let rest = parent.strip_prefix("challenges/").ok_or_else(|| {
                    DomainError::invalid(
                        "parent",
                        "must be challenges/{challenge}/applications/{application}, with - for all",
                    )
                })?;
                let (c, a) = rest.split_once("/applications/").ok_or_else(|| {
                    DomainError::invalid(
                        "parent",
                        "must be challenges/{challenge}/applications/{application}, with - for all",
                    )
                })?;
                (
                    (c != "-").then(|| c.to_owned()),
                    (a != "-").then(|| a.to_owned()),
                )
            }
        };
        let mut conn = self
            .platform()
            .store
            .pool()
            .acquire()
            .await
            .map_err(StoreError::from)?;
        let expert_id = if caller.is_admin() {
            if req.expert.is_empty() {
                None
            } else {
                Some(parse_expert_name(&req.expert, "expert")?)
            }
        } else {
            // Experts, the chair included, see only their own assignments.
            let own = rows::expert_of_user(&mut conn, &caller.user_id)
                .await?
                .ok_or_else(|| {
                    DomainError::denied(
                        "EXPERT_ROLE_REQUIRED",
                        "only experts and the bureau list assignments",
                    )
                })?;
            Some(own.id)
        };
        drop(conn);
        let state = match pb::AssignmentState::try_from(req.state) {
            Ok(pb::AssignmentState::Unspecified) | Err(_) => None,
            Ok(s) => Some(
                s.as_str_name()
                    .trim_start_matches("ASSIGNMENT_STATE_")
                    .to_owned(),
            ),
        };
        let filters = format!(
            "parent={};expert={:?};state={}",
            req.parent, expert_id, req.state
        );
        let cursor = decode_token(&req.page_token, &filters)?;
        let found = rows::list_assignments(
            &self.platform().store,
            &AssignmentFilter {
                challenge_id: challenge,
                application_id: application,
                expert_id,
                state,
                before_id: cursor,
                limit: size + 1,
            },
        )
        .await?;
        let (page, next_page_token) = finish_page(found, size, &filters, |a| a.id.clone());
        Ok(pb::ListAssignmentsResponse {
            assignments: page.iter().map(assignment_to_proto).collect(),
            next_page_token,
        })
    }

    pub(crate) async fn list_conflicts(
        &self,
        caller: Caller,
        req: pb::ListConflictsRequest,
    ) -> Result<pb::ListConflictsResponse, ApiError> {
        jiebang_domain::challenge::access::ensure_admin(&caller, "read recorded conflicts")?;
        let challenge_id = Collection::Challenges.parse(&req.parent, "parent")?;
        let expert = if req.expert.is_empty() {
            None
        } else {
            Some(parse_expert_name(&req.expert, "expert")?)
        };
        let application = if req.application.is_empty() {
            None
        } else {
            Some(
                parse_application_name(&req.application, "application")?
                    .1
                    .to_owned(),
            )
        };
        let size = page_size(req.page_size, 100, 1000)?;
        let filters = format!("{}|{:?}|{:?}", req.parent, expert, application);
        let skip: usize = decode_token(&req.page_token, &filters)?
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        let all = rows::list_conflicts(
            &self.platform().store,
            challenge_id,
            expert.as_deref(),
            application.as_deref(),
        )
        .await?;
        let take = usize::try_from(size).unwrap_or(100);
        let next_page_token = if all.len() > skip + take {
            jiebang_grpc::paging::encode_token(&(skip + take).to_string(), &filters)
        } else {
            String::new()
        };
        Ok(pb::ListConflictsResponse {
            conflicts: all
                .iter()
                .skip(skip)
                .take(take)
                .map(conflict_to_proto)
                .collect(),
            next_page_token,
        })
    }

    pub(crate) async fn review_panel(
        &self,
        caller: &Caller,
        challenge_id: &str,
    ) -> Result<pb::ReviewPanel, ApiError> {
        let mut conn = self
            .platform()
            .store
            .pool()
            .acquire()
            .await
            .map_err(StoreError::from)?;
        let name = format!("challenges/{challenge_id}/reviewPanel");
        let panel = rows::get_panel(&mut conn, challenge_id)
            .await?
            .ok_or_else(|| DomainError::not_found(&name))?;
        let live = rows::live_assignments(&mut conn, challenge_id).await?;
        if !caller.is_admin() {
            let own = rows::expert_of_user(&mut conn, &caller.user_id).await?;
            if !own.is_some_and(|e| live.iter().any(|a| a.expert_id == e.id)) {
                return Err(DomainError::not_found(name).into());
            }
        }
        let constraints = if caller.is_admin() {
            rows::constraints(&mut conn, challenge_id).await?
        } else {
            Vec::new()
        };
        let experts: BTreeSet<&str> = live.iter().map(|a| a.expert_id.as_str()).collect();
        Ok(pb::ReviewPanel {
            name,
            chair: panel
                .chair_expert_id
                .map(|c| format!("experts/{c}"))
                .unwrap_or_default(),
            experts_per_application: panel.experts_per_application,
            expert_count: i32::try_from(experts.len()).unwrap_or(i32::MAX),
            assignment_count: i32::try_from(live.len()).unwrap_or(i32::MAX),
            submitted_sheet_count: i32::try_from(
                live.iter().filter(|a| a.state == "SUBMITTED").count(),
            )
            .unwrap_or(i32::MAX),
            open_dispersion_count: 0,
            constraints: constraints.iter().map(constraint_to_proto).collect(),
        })
    }

    pub(crate) async fn set_chair(
        &self,
        caller: Caller,
        req: pb::SetPanelChairRequest,
    ) -> Result<pb::ReviewPanel, ApiError> {
        jiebang_domain::challenge::access::ensure_admin(&caller, "choose the panel chair")?;
        let challenge_id = req
            .name
            .strip_prefix("challenges/")
            .and_then(|r| r.strip_suffix("/reviewPanel"))
            .ok_or_else(|| {
                DomainError::invalid("name", "must be challenges/{challenge}/reviewPanel")
            })?
            .to_owned();
        let chair = parse_expert_name(&req.chair, "chair")?;
        let idem = Idempotency::new(
            &caller,
            &req.request_id,
            "/jiebang.v1.ReviewService/SetPanelChair",
            digest(&pb::SetPanelChairRequest {
                request_id: String::new(),
                ..req.clone()
            }),
        )?;
        let platform = self.platform();
        let (caller_ref, idem_ref, challenge_ref, chair_ref) =
            (&caller, &idem, &challenge_id, &chair);
        platform
            .mutate(idem_ref, move || async move {
                let mut tx = platform.store.begin().await?;
                let panel = rows::get_panel(tx.conn(), challenge_ref)
                    .await?
                    .ok_or_else(|| {
                        DomainError::precondition(
                            "NO_PANEL_YET",
                            "the panel exists once experts are assigned",
                        )
                    })?;
                let live = rows::live_assignments(tx.conn(), challenge_ref).await?;
                if !live.iter().any(|a| &a.expert_id == chair_ref) {
                    return Err(DomainError::precondition(
                        "CHAIR_NOT_ON_PANEL",
                        "the chair must hold an assignment in this challenge",
                    )
                    .into());
                }
                rows::set_chair(&mut tx, challenge_ref, chair_ref, panel.version).await?;
                let change = ChangeBuilder {
                    at: platform.now(),
                    actor: caller_ref.actor(),
                    action: "review.chair_set",
                    event_type: pb::EventType::Unspecified,
                    resource: format!("challenges/{challenge_ref}/reviewPanel"),
                    chain: Some(format!("challenges/{challenge_ref}")),
                    state: String::new(),
                    summary: format!("experts/{chair_ref}"),
                    audience: &[],
                    idempotency: idem_ref,
                }
                .build(&pb::ReviewPanel::default());
                platform.commit(tx, &change).await?;
                Ok(pb::ReviewPanel::default())
            })
            .await?;
        self.review_panel(&caller, &challenge_id).await
    }
}

/// One attempt of SolveAssignments, inside one transaction.
async fn solve_once(
    platform: &Platform,
    caller: &Caller,
    idem: &Idempotency,
    req: &pb::SolveAssignmentsRequest,
    challenge_id: &str,
) -> Result<pb::SolveAssignmentsResponse, ApiError> {
    let now = platform.now();
    let mut tx = platform.store.begin().await?;
    let challenge = challenges::get_in(tx.conn(), challenge_id)
        .await?
        .ok_or_else(|| DomainError::not_found(&req.challenge))?;
    if !in_review(&challenge, now) {
        return Err(wrong_state(&challenge, now, "assigning experts").into());
    }
    let applications = rows::applications_of(tx.conn(), challenge_id).await?;
    let pending = applications
        .iter()
        .filter(|a| a.state == ApplicationState::Submitted)
        .count();
    if pending > 0 {
        return Err(DomainError::precondition(
            "FORMAL_CHECK_PENDING",
            format!("{pending} submitted application(s) still await the formal check (形式审查)"),
        )
        .into());
    }
    let reviewed: Vec<&Application> = applications
        .iter()
        .filter(|a| {
            matches!(
                a.state,
                ApplicationState::Eligible | ApplicationState::UnderReview
            )
        })
        .collect();
    if reviewed.is_empty() {
        return Err(DomainError::precondition(
            "NO_ELIGIBLE_APPLICATIONS",
            "no eligible application to review; the challenge may be cancelled for that reason",
        )
        .into());
    }
    let panel = rows::get_panel(tx.conn(), challenge_id).await?;
    let k = match (&panel, req.experts_per_application) {
        (Some(p), 0) => p.experts_per_application,
        (Some(p), k) if k != p.experts_per_application => {
            return Err(DomainError::precondition("PANEL_SIZE_FIXED", format!("this challenge's panels have {} experts per application, fixed by the first solve", p.experts_per_application)).into());
        }
        (_, 0) => challenge.spec.review.experts_per_application,
        (_, k) => k,
    };
    let k_seats = u32::try_from(k).unwrap_or(0);
    let experts: Vec<Expert> = rows::all_experts(tx.conn())
        .await?
        .into_iter()
        .filter(|e| e.is_available(now))
        .filter(|e| {
            req.include_other_fields || e.fields.iter().any(|f| f == &challenge.spec.industry_field)
        })
        .collect();
    let open: BTreeMap<String, i64> = rows::open_loads(tx.conn()).await?.into_iter().collect();
    let live = rows::live_assignments(tx.conn(), challenge_id).await?;
    let constraints = rows::constraints(tx.conn(), challenge_id).await?;
    let index_of: BTreeMap<&str, usize> = experts
        .iter()
        .enumerate()
        .map(|(i, e)| (e.id.as_str(), i))
        .collect();

    let mut conflict_rows = Vec::new();
    let mut demands = Vec::new();
    let mut bad_pins = Vec::new();
    for application in &reviewed {
        let existing: BTreeSet<&str> = live
            .iter()
            .filter(|a| a.application_id == application.id)
            .map(|a| a.expert_id.as_str())
            .collect();
        let forbidden: BTreeSet<&str> = constraints
            .iter()
            .filter(|c| c.application_id == application.id && c.kind == "FORBID")
            .map(|c| c.expert_id.as_str())
            .collect();
        let who = parties(application, &challenge);
        let text = format!(
            "{} {}",
            application.content.title, application.content.technical_plan
        );
        let mut candidates = Vec::new();
        for (i, expert) in experts.iter().enumerate() {
            let conflicts = detect(&expert.conflict_profile(), &who);
            for c in &conflicts {
                conflict_rows.push(ConflictRow {
                    challenge_id: challenge_id.to_owned(),
                    expert_id: expert.id.clone(),
                    application_id: application.id.clone(),
                    kind: conflict_type_name(c.kind).to_owned(),
                    source: source_name(c.source).to_owned(),
                    detail: format!(
                        "{} {}",
                        conflict_type_name(c.kind).to_lowercase().replace('_', " "),
                        c.concerning
                    ),
                    recorded_at: now,
                });
            }
            if conflicts.is_empty()
                && !existing.contains(expert.id.as_str())
                && !forbidden.contains(expert.id.as_str())
            {
                candidates.push(Candidate {
                    expert: i,
                    affinity: affinity(
                        &expert.fields,
                        &expert.keywords,
                        &challenge.spec.industry_field,
                        &text,
                        None,
                    ),
                });
            }
        }
        let mut pinned = Vec::new();
        for c in constraints
            .iter()
            .filter(|c| c.application_id == application.id && c.kind == "PIN")
        {
            if existing.contains(c.expert_id.as_str()) {
                continue;
            }
            match index_of.get(c.expert_id.as_str()) {
                Some(&i) => pinned.push(i),
                None => bad_pins.push((application.id.clone(), c.expert_id.clone())),
            }
        }
        demands.push(Demand {
            experts_needed: k_seats.saturating_sub(u32::try_from(existing.len()).unwrap_or(0)),
            candidates,
            pinned,
        });
    }
    let instance = Instance {
        expert_loads: experts
            .iter()
            .map(|e| {
                u32::try_from(
                    (i64::from(e.max_load) - open.get(&e.id).copied().unwrap_or(0)).max(0),
                )
                .unwrap_or(0)
            })
            .collect(),
        applications: demands,
    };
    let name_of = |i: usize| application_name(challenge_id, &reviewed[i].id);
    let mut response = pb::SolveAssignmentsResponse {
        feasible: false,
        assignments: Vec::new(),
        total_affinity: live.iter().map(|a| a.affinity).sum(),
        infeasibility_reasons: Vec::new(),
        application_count: i32::try_from(reviewed.len()).unwrap_or(i32::MAX),
        candidate_expert_count: i32::try_from(experts.len()).unwrap_or(i32::MAX),
    };
    if !bad_pins.is_empty() {
        response.infeasibility_reasons = bad_pins
            .iter()
            .map(|(a, e)| pb::InfeasibilityReason {
                kind: pb::InfeasibilityKind::PinInvalid as i32,
                applications: vec![application_name(challenge_id, a)],
                expert: format!("experts/{e}"),
                required: 1,
                available: 0,
                explanation: format!(
                    "experts/{e} is pinned but is not available or not in the challenge's field"
                ),
            })
            .collect();
        return Ok(response);
    }
    let solved = match solve(&instance) {
        Ok(s) => s,
        Err(why) => {
            response.infeasibility_reasons = explain(&why, &name_of, &experts, k_seats);
            return Ok(response);
        }
    };
    response.feasible = true;
    let mut created = Vec::new();
    for (i, chosen) in solved.experts.iter().enumerate() {
        for &e in chosen {
            let affinity = instance.applications[i]
                .candidates
                .iter()
                .filter(|c| c.expert == e)
                .map(|c| c.affinity)
                .max()
                .unwrap_or(0);
            created.push(AssignmentRow {
                id: new_id(),
                challenge_id: challenge_id.to_owned(),
                application_id: reviewed[i].id.clone(),
                expert_id: experts[e].id.clone(),
                state: "ASSIGNED".into(),
                origin: if instance.applications[i].pinned.contains(&e) {
                    "PINNED"
                } else {
                    "SOLVER"
                }
                .into(),
                affinity,
                replaces: None,
                created_at: now,
                opened_at: None,
                withdrawn_at: None,
                version: 1,
            });
        }
    }
    response.total_affinity += solved.total_affinity;
    response.assignments = created.iter().map(assignment_to_proto).collect();
    if req.validate_only || (created.is_empty() && challenge.state == ChallengeState::UnderReview) {
        return Ok(response);
    }

    for row in &conflict_rows {
        rows::record_conflict(&mut tx, row).await?;
    }
    for row in &created {
        rows::insert_assignment(&mut tx, row).await?;
        let expert = &experts[index_of[row.expert_id.as_str()]];
        record(
            &mut tx,
            now,
            caller,
            "assignment.created",
            pb::EventType::AssignmentCreated,
            assignment_name(row),
            "ASSIGNMENT_STATE_ASSIGNED".into(),
            String::new(),
            &[Audience::User(expert.user_id.clone())],
        )
        .await?;
    }
    if panel.is_none() {
        rows::insert_panel(
            &mut tx,
            &Panel {
                challenge_id: challenge_id.to_owned(),
                experts_per_application: k,
                chair_expert_id: None,
                version: 1,
            },
        )
        .await?;
    }
    for application in reviewed
        .iter()
        .filter(|a| a.state == ApplicationState::Eligible)
    {
        let next = application.start_review(now)?;
        applications::update(&mut tx, &next, application.version).await?;
        let audience: Vec<Audience> = next
            .team_user_ids()
            .into_iter()
            .map(Audience::User)
            .collect();
        record(
            &mut tx,
            now,
            caller,
            "application.under_review",
            pb::EventType::ApplicationUnderReview,
            next.name(),
            "APPLICATION_STATE_UNDER_REVIEW".into(),
            next.content.title.clone(),
            &audience,
        )
        .await?;
    }
    let (event_type, action) = if challenge.state_at(now) == ChallengeState::ApplicationsClosed {
        let next = challenge.start_review(caller, now)?;
        challenges::update(&mut tx, &next, challenge.version).await?;
        (
            pb::EventType::ChallengeReviewStarted,
            "challenge.review_started",
        )
    } else {
        (
            pb::EventType::AssignmentCreated,
            "challenge.experts_assigned",
        )
    };
    let change = ChangeBuilder {
        at: now,
        actor: caller.actor(),
        action,
        event_type,
        resource: challenge.name(),
        chain: None,
        state: "CHALLENGE_STATE_UNDER_REVIEW".into(),
        summary: format!("{} assignments", created.len()),
        audience: &[Audience::Public],
        idempotency: idem,
    }
    .build(&response);
    platform.commit(tx, &change).await?;
    tracing::info!(challenge = %challenge.name(), assignments = created.len(), total_affinity = response.total_affinity, "experts assigned");
    Ok(response)
}

fn explain(
    why: &Infeasible,
    name_of: &dyn Fn(usize) -> String,
    experts: &[Expert],
    k: u32,
) -> Vec<pb::InfeasibilityReason> {
    let to_i32 = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
    match why {
        Infeasible::TooFewCandidates(short) => short
            .iter()
            .map(|s| pb::InfeasibilityReason {
                kind: pb::InfeasibilityKind::ApplicationLacksExperts as i32,
                applications: vec![name_of(s.application)],
                expert: String::new(),
                required: to_i32(s.needed),
                available: to_i32(s.available),
                explanation: format!(
                    "{} has {} unconflicted experts with spare load; {} are needed (short by {}): add experts to the pool or raise loads",
                    name_of(s.application),
                    s.available,
                    s.needed,
                    s.missing()
                ),
            })
            .collect(),
        Infeasible::LoadsTooSmall(short) => vec![pb::InfeasibilityReason {
            kind: pb::InfeasibilityKind::GroupLacksExperts as i32,
            applications: short.iter().map(|s| name_of(s.application)).collect(),
            expert: String::new(),
            required: to_i32(short.iter().map(|s| s.needed).sum()),
            available: to_i32(short.iter().map(|s| s.available).sum()),
            explanation: format!(
                "the candidates of these {} applications cannot cover all their seats ({k} each) within their loads: raise loads or add experts",
                short.len()
            ),
        }],
        Infeasible::BadPin { application, expert, why } => vec![pb::InfeasibilityReason {
            kind: if why.contains("load") {
                pb::InfeasibilityKind::PinsExceedLoad as i32
            } else if why.contains("needs") {
                pb::InfeasibilityKind::PinsExceedSeats as i32
            } else {
                pb::InfeasibilityKind::PinInvalid as i32
            },
            applications: vec![name_of(*application)],
            expert: experts.get(*expert).map(|e| e.name()).unwrap_or_default(),
            required: 1,
            available: 0,
            explanation: (*why).to_owned(),
        }],
    }
}
