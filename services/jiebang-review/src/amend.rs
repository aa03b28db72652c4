//! Changes to a review under way: an expert declaring a conflict of interest (回避) — the
//! affected assignments are withdrawn and replaced — and the chair reopening sealed sheets for
//! rescoring, which keeps the old sheets on record.

use crate::convert::{application_name, assignment_name, assignment_to_proto};
use crate::pool::parse_expert_name;
use crate::service::ReviewApi;
use jiebang_domain::audience::Audience;
use jiebang_domain::challenge::ChallengeState;
use jiebang_domain::ids::{Collection, new_id, parse_application_name};
use jiebang_domain::review::affinity::affinity;
use jiebang_domain::review::conflicts::{Parties, detect};
use jiebang_domain::review::pool::{DeclaredConflict, Expert, conflict_type_name};
use jiebang_domain::{Caller, DomainError, Timestamp};
use jiebang_grpc::ApiError;
use jiebang_grpc::idempotency::{Idempotency, digest};
use jiebang_grpc::platform::ChangeBuilder;
use jiebang_proto::v1 as pb;
use jiebang_storage::review::{self as rows, AssignmentRow, ConflictRow, SheetRow};
use jiebang_storage::{StoreError, Tx, applications, challenges};
use std::collections::BTreeMap;

async fn record(
    tx: &mut Tx,
    at: Timestamp,
    caller: &Caller,
    action: &'static str,
    event_type: pb::EventType,
    resource: String,
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
        state: String::new(),
        summary: String::new(),
        audience,
        idempotency: &none,
    }
    .build(&pb::Assignment::default());
    tx.record(&change).await?;
    Ok(())
}

impl ReviewApi {
    pub(crate) async fn declare_conflict(
        &self,
        caller: Caller,
        req: pb::DeclareConflictRequest,
    ) -> Result<pb::DeclareConflictResponse, ApiError> {
        let expert_id = parse_expert_name(&req.expert, "expert")?;
        let conflict = req.conflict.clone().unwrap_or_default();
        let kind = pb::ConflictType::try_from(conflict.r#type)
            .ok()
            .filter(|t| *t != pb::ConflictType::Unspecified)
            .map(|t| {
                t.as_str_name()
                    .trim_start_matches("CONFLICT_TYPE_")
                    .to_owned()
            })
            .ok_or_else(|| DomainError::invalid("conflict.type", "must be set"))?;
        if kind == "OTHER" && conflict.note.trim().is_empty() {
            return Err(DomainError::invalid("conflict.note", "is required for OTHER").into());
        }
        let counterpart = match &conflict.counterpart {
            Some(pb::expert_conflict::Counterpart::Organization(o)) => Some(format!(
                "organization:{}",
                Collection::Organizations.parse(o, "conflict.organization")?
            )),
            Some(pb::expert_conflict::Counterpart::User(u)) => Some(format!(
                "user:{}",
                Collection::Users.parse(u, "conflict.user")?
            )),
            Some(pb::expert_conflict::Counterpart::PersonName(n)) if !n.trim().is_empty() => {
                Some(format!("person:{}", n.trim()))
            }
            _ => None,
        };
        let on_assignment = if req.assignment.is_empty() {
            None
        } else {
            Some(
                req.assignment
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
            )
        };
        if on_assignment.is_none() && counterpart.is_none() {
            return Err(DomainError::invalid(
                "conflict.counterpart",
                "a declaration on the profile names an organisation, a user or a person",
            )
            .into());
        }
        let idem = Idempotency::new(
            &caller,
            &req.request_id,
            "/jiebang.v1.ReviewService/DeclareConflict",
            digest(&pb::DeclareConflictRequest {
                request_id: String::new(),
                ..req.clone()
            }),
        )?;
        let platform = self.platform();
        let (caller, idem, req, expert_id, kind, counterpart, on_assignment, note) = (
            &caller,
            &idem,
            &req,
            &expert_id,
            &kind,
            &counterpart,
            &on_assignment,
            &conflict.note,
        );
        platform
            .mutate(idem, move || async move {
                let now = platform.now();
                let mut tx = platform.store.begin().await?;
                let expert = rows::get_expert(tx.conn(), expert_id)
                    .await?
                    .filter(|e| caller.is_admin() || e.user_id == caller.user_id)
                    .ok_or_else(|| DomainError::not_found(&req.expert))?;
                let mut next = expert.clone();
                if let Some(counterpart) = counterpart {
                    next.declared.push(DeclaredConflict {
                        counterpart: counterpart.clone(),
                        kind: kind.clone(),
                        note: note.trim().to_owned(),
                        declared_at: now,
                    });
                    next.updated_at = now;
                    next.version += 1;
                    rows::update_expert(&mut tx, &next, expert.version).await?;
                }
                // Which live assignments the declaration withdraws.
                let mut withdrawn = Vec::new();
                let live: Vec<AssignmentRow> =
                    rows::expert_live_assignments(tx.conn(), &expert.id).await?;
                if let Some(target) = on_assignment
                    && !live.iter().any(|a| &a.id == target)
                {
                    return Err(DomainError::not_found(&req.assignment).into());
                }
                for a in &live {
                    let challenge = challenges::get_in(tx.conn(), &a.challenge_id)
                        .await?
                        .ok_or_else(|| {
                            StoreError::Corrupt("assignment without challenge".into())
                        })?;
                    if challenge.state != ChallengeState::UnderReview {
                        continue;
                    }
                    let application =
                        applications::get(tx.conn(), &a.challenge_id, &a.application_id)
                            .await?
                            .ok_or_else(|| {
                                StoreError::Corrupt("assignment without application".into())
                            })?;
                    let parties = Parties {
                        lead_organization_id: application.lead_organization_id.clone(),
                        partner_organization_ids: application
                            .content
                            .partner_organization_ids
                            .clone(),
                        publisher_id: challenge.publisher_id.clone(),
                        team_user_ids: application.team_user_ids(),
                    };
                    let declared_here = on_assignment.as_deref() == Some(a.id.as_str());
                    let now_conflicted = !detect(&next.conflict_profile(), &parties).is_empty();
                    if !(declared_here || now_conflicted) {
                        continue;
                    }
                    rows::record_conflict(
                        &mut tx,
                        &ConflictRow {
                            challenge_id: a.challenge_id.clone(),
                            expert_id: expert.id.clone(),
                            application_id: a.application_id.clone(),
                            kind: kind.clone(),
                            source: if declared_here {
                                "ASSIGNMENT_DECLARATION"
                            } else {
                                "PROFILE_DECLARATION"
                            }
                            .into(),
                            detail: format!(
                                "declared by the expert: {}",
                                kind.to_lowercase().replace('_', " ")
                            ),
                            recorded_at: now,
                        },
                    )
                    .await?;
                    if let Some(draft) = rows::current_sheet(tx.conn(), &a.id)
                        .await?
                        .filter(|s| s.state == "DRAFT")
                    {
                        let mut discarded = draft.clone();
                        discarded.state = "SUPERSEDED".into();
                        discarded.version += 1;
                        rows::update_sheet(&mut tx, &discarded, draft.version).await?;
                    }
                    let mut gone = a.clone();
                    gone.state = "WITHDRAWN".into();
                    gone.withdrawn_at = Some(now);
                    gone.version += 1;
                    rows::update_assignment(&mut tx, &gone, a.version).await?;
                    record(
                        &mut tx,
                        now,
                        caller,
                        "assignment.withdrawn",
                        pb::EventType::AssignmentWithdrawn,
                        assignment_name(&gone),
                        &[Audience::User(expert.user_id.clone())],
                    )
                    .await?;
                    withdrawn.push((gone, challenge, application));
                }
                // Replacements: the best unconflicted expert with spare load for each seat.
                let experts = rows::all_experts(tx.conn()).await?;
                let open: BTreeMap<String, i64> =
                    rows::open_loads(tx.conn()).await?.into_iter().collect();
                let mut extra: BTreeMap<String, i64> = BTreeMap::new();
                let (mut replaced, mut unfilled) = (0, 0);
                for (gone, challenge, application) in &withdrawn {
                    let taken: Vec<String> = rows::live_assignments(tx.conn(), &gone.challenge_id)
                        .await?
                        .into_iter()
                        .filter(|x| x.application_id == gone.application_id)
                        .map(|x| x.expert_id)
                        .collect();
                    let forbidden: Vec<String> = rows::constraints(tx.conn(), &gone.challenge_id)
                        .await?
                        .into_iter()
                        .filter(|c| c.application_id == gone.application_id && c.kind == "FORBID")
                        .map(|c| c.expert_id)
                        .collect();
                    let parties = Parties {
                        lead_organization_id: application.lead_organization_id.clone(),
                        partner_organization_ids: application
                            .content
                            .partner_organization_ids
                            .clone(),
                        publisher_id: challenge.publisher_id.clone(),
                        team_user_ids: application.team_user_ids(),
                    };
                    let text = format!(
                        "{} {}",
                        application.content.title, application.content.technical_plan
                    );
                    let best = experts
                        .iter()
                        .filter(|e| {
                            e.id != expert.id
                                && e.is_available(now)
                                && e.fields.contains(&challenge.spec.industry_field)
                        })
                        .filter(|e| !taken.contains(&e.id) && !forbidden.contains(&e.id))
                        .filter(|e| {
                            i64::from(e.max_load)
                                - open.get(&e.id).copied().unwrap_or(0)
                                - extra.get(&e.id).copied().unwrap_or(0)
                                > 0
                        })
                        .filter(|e| detect(&e.conflict_profile(), &parties).is_empty())
                        .map(|e: &Expert| {
                            (
                                affinity(
                                    &e.fields,
                                    &e.keywords,
                                    &challenge.spec.industry_field,
                                    &text,
                                    None,
                                ),
                                e,
                            )
                        })
                        .max_by(|(a, ea), (b, eb)| a.cmp(b).then(eb.id.cmp(&ea.id)));
                    match best {
                        Some((score, e)) => {
                            let row = AssignmentRow {
                                id: new_id(),
                                challenge_id: gone.challenge_id.clone(),
                                application_id: gone.application_id.clone(),
                                expert_id: e.id.clone(),
                                state: "ASSIGNED".into(),
                                origin: "REPLACEMENT".into(),
                                affinity: score,
                                replaces: Some(assignment_name(gone)),
                                created_at: now,
                                opened_at: None,
                                withdrawn_at: None,
                                version: 1,
                            };
                            rows::insert_assignment(&mut tx, &row).await?;
                            *extra.entry(e.id.clone()).or_default() += 1;
                            record(
                                &mut tx,
                                now,
                                caller,
                                "assignment.created",
                                pb::EventType::AssignmentCreated,
                                assignment_name(&row),
                                &[Audience::User(e.user_id.clone())],
                            )
                            .await?;
                            replaced += 1;
                        }
                        None => unfilled += 1,
                    }
                }
                let response = pb::DeclareConflictResponse {
                    expert: Some(crate::convert::expert_to_proto(&next, 0)),
                    withdrawn_assignments: withdrawn
                        .iter()
                        .map(|(a, _, _)| assignment_to_proto(a))
                        .collect(),
                    replacement_count: replaced,
                    unfilled_seat_count: if caller.is_admin() { unfilled } else { 0 },
                };
                let change = ChangeBuilder {
                    at: now,
                    actor: caller.actor(),
                    action: "expert.conflict_declared",
                    event_type: pb::EventType::ConflictDeclared,
                    resource: expert.name(),
                    chain: None,
                    state: conflict_type_name(
                        jiebang_domain::review::pool::conflict_type(kind)
                            .unwrap_or(jiebang_domain::review::conflicts::ConflictType::Other),
                    )
                    .into(),
                    summary: String::new(),
                    audience: &[Audience::User(expert.user_id.clone())],
                    idempotency: idem,
                }
                .build(&response);
                platform.commit(tx, &change).await?;
                Ok(response)
            })
            .await
    }

    pub(crate) async fn request_rescoring(
        &self,
        caller: Caller,
        req: pb::RequestRescoringRequest,
    ) -> Result<pb::RequestRescoringResponse, ApiError> {
        let (challenge_id, application_id) =
            parse_application_name(&req.application, "application")?;
        let (challenge_id, application_id) = (challenge_id.to_owned(), application_id.to_owned());
        if req.reason.trim().chars().count() < 10 {
            return Err(DomainError::invalid(
                "reason",
                "tell the experts why, in at least 10 characters",
            )
            .into());
        }
        let mut conn = self
            .platform()
            .store
            .pool()
            .acquire()
            .await
            .map_err(StoreError::from)?;
        let expert = rows::expert_of_user(&mut conn, &caller.user_id).await?;
        let panel = rows::get_panel(&mut conn, &challenge_id).await?;
        drop(conn);
        if !matches!((&expert, &panel), (Some(e), Some(p)) if p.chair_expert_id.as_deref() == Some(e.id.as_str()))
        {
            return Err(DomainError::denied(
                "CHAIR_REQUIRED",
                "only the panel chair requests a rescoring",
            )
            .into());
        }
        let idem = Idempotency::new(
            &caller,
            &req.request_id,
            "/jiebang.v1.ReviewService/RequestRescoring",
            digest(&pb::RequestRescoringRequest {
                request_id: String::new(),
                ..req.clone()
            }),
        )?;
        let platform = self.platform();
        let (caller, idem, req, challenge_id, application_id) =
            (&caller, &idem, &req, &challenge_id, &application_id);
        platform
            .mutate(idem, move || async move {
                let now = platform.now();
                let mut tx = platform.store.begin().await?;
                let challenge = challenges::get_in(tx.conn(), challenge_id).await?.ok_or_else(|| DomainError::not_found(&req.application))?;
                if challenge.state != ChallengeState::UnderReview {
                    return Err(DomainError::precondition("CHALLENGE_WRONG_STATE", "rescoring happens while the challenge is UNDER_REVIEW").into());
                }
                let mut sealed: Vec<SheetRow> = rows::sheets_of_application(tx.conn(), challenge_id, application_id, "SUBMITTED").await?;
                // The chair names sheets by their opaque position among the sorted totals.
                sealed.sort_by(|a, b| a.content.total().cmp(&b.content.total()).then(a.id.cmp(&b.id)));
                let chosen: Vec<&SheetRow> = if req.score_sheets.is_empty() {
                    sealed.iter().collect()
                } else {
                    let mut picked = Vec::new();
                    for reference in &req.score_sheets {
                        let position: usize = reference
                            .rsplit_once('#')
                            .filter(|(app, _)| *app == application_name(challenge_id, application_id))
                            .and_then(|(_, n)| n.parse().ok())
                            .ok_or_else(|| DomainError::invalid("score_sheets", format!("`{reference}` is not a sheet reference of this application's ranking entry")))?;
                        picked.push(sealed.get(position.wrapping_sub(1)).ok_or_else(|| DomainError::invalid("score_sheets", format!("`{reference}` names no submitted sheet")))?);
                    }
                    picked
                };
                if chosen.is_empty() {
                    return Err(DomainError::precondition("NOTHING_TO_RESCORE", "the application has no sealed sheet").into());
                }
                let mut reopened = Vec::new();
                for old in chosen {
                    let mut superseded = old.clone();
                    superseded.state = "SUPERSEDED".into();
                    superseded.version += 1;
                    rows::update_sheet(&mut tx, &superseded, old.version).await?;
                    rows::insert_sheet(&mut tx, &SheetRow {
                        id: new_id(),
                        state: "DRAFT".into(),
                        revision: old.revision + 1,
                        supersedes: Some(old.id.clone()),
                        rescoring_reason: Some(req.reason.trim().to_owned()),
                        seal_sha256: None,
                        created_at: now,
                        updated_at: now,
                        submitted_at: None,
                        version: 1,
                        ..old.clone()
                    })
                    .await?;
                    let assignment = rows::get_assignment(tx.conn(), &old.assignment_id).await?.ok_or_else(|| StoreError::Corrupt("sheet without assignment".into()))?;
                    let mut back = assignment.clone();
                    back.state = "ASSIGNED".into();
                    back.version += 1;
                    rows::update_assignment(&mut tx, &back, assignment.version).await?;
                    let expert = rows::get_expert(tx.conn(), &back.expert_id).await?.ok_or_else(|| StoreError::Corrupt("assignment without expert".into()))?;
                    record(&mut tx, now, caller, "score_sheet.reopened", pb::EventType::RescoringRequested, assignment_name(&back), &[Audience::User(expert.user_id.clone())]).await?;
                    reopened.push(assignment_to_proto(&back));
                }
                // A rescoring clears the dispersion flag's resolution; the new totals decide.
                sqlx::query("DELETE FROM dispersion_resolutions WHERE application_id = $1")
                    .bind(application_id)
                    .execute(tx.conn())
                    .await
                    .map_err(StoreError::from)?;
                let response = pb::RequestRescoringResponse { assignments: reopened };
                let change = ChangeBuilder {
                    at: now,
                    actor: caller.actor(),
                    action: "review.rescoring_requested",
                    event_type: pb::EventType::RescoringRequested,
                    resource: req.application.clone(),
                    chain: None,
                    state: String::new(),
                    summary: req.reason.trim().to_owned(),
                    audience: &[],
                    idempotency: idem,
                }
                .build(&response);
                platform.commit(tx, &change).await?;
                Ok(response)
            })
            .await
    }
}
