//! Scoring (评分): experts open their assignments, save drafts and seal their sheets; the chair
//! and the bureau see the ranking only as the rules allow.
//!
//! Sealing: a submitted sheet never changes (a rescoring supersedes it and keeps it on record),
//! and nobody — the chair included — sees another expert's scores before submitting their own.

use crate::convert::{application_name, assignment_name, assignment_to_proto};
use crate::ranking::Ranking;
use crate::service::ReviewApi;
use jiebang_application::{blind::blind_of, convert::application_to_proto};
use jiebang_domain::audience::Audience;
use jiebang_domain::challenge::{Challenge, Criterion, CriterionKind};
use jiebang_domain::ids::new_id;
use jiebang_domain::review::sheet::{CriterionScore, SheetContent};
use jiebang_domain::{Caller, DomainError};
use jiebang_grpc::convert::to_proto_time;
use jiebang_grpc::idempotency::{Idempotency, digest};
use jiebang_grpc::paging::{decode_token, encode_token, page_size};
use jiebang_grpc::platform::ChangeBuilder;
use jiebang_grpc::{ApiError, Platform};
use jiebang_proto::v1 as pb;
use jiebang_storage::review::{self as rows, AssignmentRow, SheetRow};
use jiebang_storage::{StoreError, applications, challenges};
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

/// ListRanking's page size when none is asked for, and the most it returns (review.proto).
const RANKING_PAGE_SIZE: i64 = 100;
const MAX_RANKING_PAGE_SIZE: i64 = 1000;

/// `challenges/{c}/applications/{a}/assignments/{x}` → (c, a, x).
fn parse_assignment(name: &str, field: &str) -> Result<(String, String, String), DomainError> {
    let parts: Vec<&str> = name.split('/').collect();
    match parts.as_slice() {
        ["challenges", c, "applications", a, "assignments", x]
            if !c.is_empty() && !a.is_empty() && !x.is_empty() =>
        {
            Ok(((*c).to_owned(), (*a).to_owned(), (*x).to_owned()))
        }
        _ => Err(DomainError::invalid(
            field,
            "must be challenges/{challenge}/applications/{application}/assignments/{assignment}",
        )),
    }
}

/// `…/assignments/{x}/scoreSheets/{s}` → (assignment id, sheet id).
fn parse_sheet(name: &str) -> Result<(String, String), DomainError> {
    let (assignment, sheet) = name.rsplit_once("/scoreSheets/").ok_or_else(|| {
        DomainError::invalid(
            "name",
            "must be …/assignments/{assignment}/scoreSheets/{score_sheet}",
        )
    })?;
    let (_, _, x) = parse_assignment(assignment, "name")?;
    Ok((x, sheet.to_owned()))
}

fn sheet_name(s: &SheetRow) -> String {
    format!(
        "{}/assignments/{}/scoreSheets/{}",
        application_name(&s.challenge_id, &s.application_id),
        s.assignment_id,
        s.id
    )
}

pub fn sheet_to_proto(s: &SheetRow) -> pb::ScoreSheet {
    pb::ScoreSheet {
        name: sheet_name(s),
        state: pb::ScoreSheetState::from_str_name(&format!("SCORE_SHEET_STATE_{}", s.state))
            .map_or(0, |x| x as i32),
        criterion_scores: s
            .content
            .scores
            .iter()
            .map(|c| pb::CriterionScore {
                criterion: c.criterion.clone(),
                score: c.score.clone(),
                comment: c.comment.clone(),
            })
            .collect(),
        overall_comment: s.content.overall_comment.clone(),
        recommendation: pb::Recommendation::from_str_name(&format!(
            "RECOMMENDATION_{}",
            s.content.recommendation
        ))
        .map_or(0, |r| r as i32),
        total: s.content.total().normalize().to_string(),
        revision: s.revision,
        supersedes: s.supersedes.clone().unwrap_or_default(),
        seal_sha256: s.seal_sha256.clone().unwrap_or_default(),
        create_time: Some(to_proto_time(s.created_at)),
        update_time: Some(to_proto_time(s.updated_at)),
        submit_time: s.submitted_at.map(to_proto_time),
        etag: s.version.to_string(),
        rescoring_reason: s.rescoring_reason.clone().unwrap_or_default(),
    }
}

fn content_from_proto(sheet: &pb::ScoreSheet) -> SheetContent {
    SheetContent {
        scores: sheet
            .criterion_scores
            .iter()
            .map(|c| CriterionScore {
                criterion: c.criterion.clone(),
                score: c.score.clone(),
                comment: c.comment.clone(),
            })
            .collect(),
        overall_comment: sheet.overall_comment.clone(),
        recommendation: match pb::Recommendation::try_from(sheet.recommendation) {
            Ok(pb::Recommendation::Unspecified) | Err(_) => String::new(),
            Ok(r) => r
                .as_str_name()
                .trim_start_matches("RECOMMENDATION_")
                .to_owned(),
        },
    }
}

/// An audit record (and an event for `audience`) for a review step, on `chain`. An expert's
/// steps on an assignment go on the assignment's chain, not the application's: a panel's
/// experts seal their sheets of one application together, in its meeting, and on one chain
/// they would race for its head (on PostgreSQL all but one would wait for the winner's
/// commit and then start again).
#[allow(clippy::too_many_arguments)]
async fn commit(
    platform: &Platform,
    tx: jiebang_storage::Tx,
    caller: &Caller,
    idem: &Idempotency,
    action: &'static str,
    event_type: pb::EventType,
    resource: String,
    chain: String,
    audience: &[Audience],
    response: &impl prost::Message,
) -> Result<(), ApiError> {
    let change = ChangeBuilder {
        at: platform.now(),
        actor: caller.actor(),
        action,
        event_type,
        resource,
        chain: Some(chain),
        state: String::new(),
        summary: String::new(),
        audience,
        idempotency: idem,
    }
    .build(response);
    platform.commit(tx, &change).await
}

/// A WITHDRAWN assignment (its expert declared a conflict of interest) is neither opened nor
/// scored any more: FAILED_PRECONDITION `ASSIGNMENT_WITHDRAWN`.
fn ensure_not_withdrawn(assignment: &AssignmentRow) -> Result<(), DomainError> {
    if assignment.state == "WITHDRAWN" {
        return Err(DomainError::precondition(
            "ASSIGNMENT_WITHDRAWN",
            "this assignment was withdrawn after a conflict of interest was recorded; \
             it is no longer yours to open or score",
        ));
    }
    Ok(())
}

impl ReviewApi {
    /// The caller's own assignment (NOT_FOUND for anyone else's).
    async fn own_assignment(
        &self,
        caller: &Caller,
        assignment_id: &str,
        name: &str,
    ) -> Result<AssignmentRow, ApiError> {
        let mut conn = self
            .platform()
            .store
            .pool()
            .acquire()
            .await
            .map_err(StoreError::from)?;
        let expert = rows::expert_of_user(&mut conn, &caller.user_id).await?;
        let assignment = rows::get_assignment(&mut conn, assignment_id).await?;
        match (expert, assignment) {
            (Some(e), Some(a)) if a.expert_id == e.id => Ok(a),
            _ => Err(DomainError::not_found(name).into()),
        }
    }

    pub(crate) async fn open_assignment(
        &self,
        caller: Caller,
        req: pb::OpenAssignmentRequest,
    ) -> Result<pb::OpenAssignmentResponse, ApiError> {
        let (_, _, id) = parse_assignment(&req.name, "name")?;
        let mut assignment = self.own_assignment(&caller, &id, &req.name).await?;
        ensure_not_withdrawn(&assignment)?;
        let platform = self.platform();
        if assignment.opened_at.is_none() {
            let mut next = assignment.clone();
            next.opened_at = Some(platform.now());
            next.version += 1;
            let mut tx = platform.store.begin().await?;
            match rows::update_assignment(&mut tx, &next, assignment.version).await {
                Ok(()) => {
                    let none = Idempotency::none(String::new());
                    let chain = assignment_name(&assignment);
                    commit(
                        platform,
                        tx,
                        &caller,
                        &none,
                        "assignment.opened",
                        pb::EventType::Unspecified,
                        req.name.clone(),
                        chain,
                        &[],
                        &pb::Assignment::default(),
                    )
                    .await?;
                    assignment = next;
                }
                // Opened concurrently elsewhere: the first opening stands.
                Err(StoreError::Conflict) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let mut conn = platform
            .store
            .pool()
            .acquire()
            .await
            .map_err(StoreError::from)?;
        let application = applications::get(
            &mut conn,
            &assignment.challenge_id,
            &assignment.application_id,
        )
        .await?
        .ok_or_else(|| DomainError::not_found(&req.name))?;
        let challenge = challenges::get_in(&mut conn, &assignment.challenge_id)
            .await?
            .ok_or_else(|| DomainError::not_found(&req.name))?;
        let sheet = rows::current_sheet(&mut conn, &assignment.id).await?;
        drop(conn);
        let view = if challenge.spec.blind_review {
            pb::open_assignment_response::ApplicationView::BlindApplication(
                blind_of(platform, &application).await?,
            )
        } else {
            pb::open_assignment_response::ApplicationView::Application(application_to_proto(
                &application,
            ))
        };
        Ok(pb::OpenAssignmentResponse {
            assignment: Some(assignment_to_proto(&assignment)),
            application_view: Some(view),
            criteria: criteria_to_proto(&challenge.spec.criteria),
            score_sheet: sheet.as_ref().map(sheet_to_proto),
        })
    }

    pub(crate) async fn save_sheet(
        &self,
        caller: Caller,
        req: pb::SaveScoreSheetRequest,
    ) -> Result<pb::ScoreSheet, ApiError> {
        let (challenge_id, _, id) = parse_assignment(&req.assignment, "assignment")?;
        let input = req.score_sheet.clone().unwrap_or_default();
        let content = content_from_proto(&input);
        let challenge = challenges::get(&self.platform().store, &challenge_id)
            .await?
            .ok_or_else(|| DomainError::not_found(&req.assignment))?;
        content.validate_draft(&challenge.spec.criteria)?;
        let idem = Idempotency::new(
            &caller,
            &req.request_id,
            "/jiebang.v1.ReviewService/SaveScoreSheet",
            digest(&pb::SaveScoreSheetRequest {
                request_id: String::new(),
                ..req.clone()
            }),
        )?;
        let platform = self.platform();
        let (caller, idem, req, content, id, input) = (&caller, &idem, &req, &content, &id, &input);
        platform
            .mutate(idem, move || async move {
                let assignment = self.own_assignment(caller, id, &req.assignment).await?;
                ensure_not_withdrawn(&assignment)?;
                if assignment.state != "ASSIGNED" {
                    return Err(DomainError::precondition("SHEET_SEALED", format!("the sheet of this assignment is {}; a sealed sheet changes only through a rescoring", assignment.state)).into());
                }
                let now = platform.now();
                let mut tx = platform.store.begin().await?;
                let sheet = match rows::current_sheet(tx.conn(), &assignment.id).await? {
                    Some(current) => {
                        if !input.etag.is_empty() && input.etag != current.version.to_string() {
                            return Err(DomainError::stale_etag(&sheet_name(&current)).into());
                        }
                        let mut next = current.clone();
                        next.content = content.clone();
                        next.updated_at = now;
                        next.version += 1;
                        rows::update_sheet(&mut tx, &next, current.version).await?;
                        next
                    }
                    None => {
                        let sheet = SheetRow {
                            id: new_id(),
                            assignment_id: assignment.id.clone(),
                            challenge_id: assignment.challenge_id.clone(),
                            application_id: assignment.application_id.clone(),
                            expert_id: assignment.expert_id.clone(),
                            state: "DRAFT".into(),
                            content: content.clone(),
                            revision: 1,
                            supersedes: None,
                            rescoring_reason: None,
                            seal_sha256: None,
                            created_at: now,
                            updated_at: now,
                            submitted_at: None,
                            version: 1,
                        };
                        rows::insert_sheet(&mut tx, &sheet).await?;
                        sheet
                    }
                };
                let response = sheet_to_proto(&sheet);
                let chain = assignment_name(&assignment);
                commit(platform, tx, caller, idem, "score_sheet.saved", pb::EventType::Unspecified, response.name.clone(), chain, &[], &response).await?;
                Ok(response)
            })
            .await
    }

    pub(crate) async fn submit_sheet(
        &self,
        caller: Caller,
        req: pb::SubmitScoreSheetRequest,
    ) -> Result<pb::ScoreSheet, ApiError> {
        let (assignment_id, sheet_id) = parse_sheet(&req.name)?;
        let idem = Idempotency::new(
            &caller,
            &req.request_id,
            "/jiebang.v1.ReviewService/SubmitScoreSheet",
            digest(&pb::SubmitScoreSheetRequest {
                request_id: String::new(),
                ..req.clone()
            }),
        )?;
        let platform = self.platform();
        let (caller, idem, req, assignment_id, sheet_id) =
            (&caller, &idem, &req, &assignment_id, &sheet_id);
        platform
            .mutate(idem, move || async move {
                // One read decides it all, inside the transaction: on SQLite every statement
                // here is made while holding the one write lock.
                let mut tx = platform.store.begin().await?;
                let rows::SheetToSeal {
                    assignment,
                    sheet,
                    conflicted,
                    criteria,
                } = rows::sheet_to_seal(tx.conn(), &caller.user_id, assignment_id, sheet_id)
                    .await?
                    .ok_or_else(|| DomainError::not_found(&req.name))?;
                ensure_not_withdrawn(&assignment)?;
                if sheet.state != "DRAFT" {
                    return Err(DomainError::precondition(
                        "SHEET_SEALED",
                        format!("the sheet is {}; only a DRAFT is submitted", sheet.state),
                    )
                    .into());
                }
                if !req.etag.is_empty() && req.etag != sheet.version.to_string() {
                    return Err(DomainError::stale_etag(&req.name).into());
                }
                if conflicted {
                    return Err(DomainError::precondition(
                        "CONFLICT_RECORDED",
                        "a conflict of interest is recorded for you and this application",
                    )
                    .into());
                }
                sheet.content.validate_submission(&criteria)?;
                let now = platform.now();
                let seal = hex::encode(Sha256::digest(
                    serde_json::to_vec(&sheet.content)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                ));
                let mut next = sheet.clone();
                next.state = "SUBMITTED".into();
                next.seal_sha256 = Some(seal);
                next.submitted_at = Some(now);
                next.updated_at = now;
                next.version += 1;
                rows::queue_sheet_update(&mut tx, &next, sheet.version)?;
                let mut sealed = assignment.clone();
                sealed.state = "SUBMITTED".into();
                sealed.version += 1;
                rows::queue_assignment_update(&mut tx, &sealed, assignment.version);
                let response = sheet_to_proto(&next);
                let chain = assignment_name(&assignment);
                commit(
                    platform,
                    tx,
                    caller,
                    idem,
                    "score_sheet.submitted",
                    pb::EventType::ScoreSheetSubmitted,
                    response.name.clone(),
                    chain,
                    &[Audience::User(caller.user_id.clone())],
                    &response,
                )
                .await?;
                Ok(response)
            })
            .await
    }

    /// Who may see the ranking: the bureau, and the panel chair once all of their own sheets
    /// are sealed. Returns whether the caller is the chair (who sees no identity when blind).
    async fn ranking_access(&self, caller: &Caller, challenge_id: &str) -> Result<bool, ApiError> {
        if caller.is_admin() {
            return Ok(false);
        }
        let mut conn = self
            .platform()
            .store
            .pool()
            .acquire()
            .await
            .map_err(StoreError::from)?;
        let expert = rows::expert_of_user(&mut conn, &caller.user_id).await?;
        let panel = rows::get_panel(&mut conn, challenge_id).await?;
        let Some((expert, panel)) = expert.zip(panel) else {
            return Err(DomainError::denied(
                "CHAIR_OR_ADMIN_REQUIRED",
                "only the panel chair and the bureau see the ranking",
            )
            .into());
        };
        if panel.chair_expert_id.as_deref() != Some(expert.id.as_str()) {
            return Err(DomainError::denied(
                "CHAIR_OR_ADMIN_REQUIRED",
                "only the panel chair and the bureau see the ranking",
            )
            .into());
        }
        let pending = rows::live_assignments(&mut conn, challenge_id)
            .await?
            .iter()
            .filter(|a| a.expert_id == expert.id && a.state == "ASSIGNED")
            .count();
        if pending > 0 {
            return Err(DomainError::precondition(
                "OWN_SHEETS_PENDING",
                format!("submit your own {pending} sheet(s) before seeing anyone else's scores"),
            )
            .into());
        }
        Ok(true)
    }

    /// The ranking, read on connections of the pool ([`Ranking::read_pooled`]). Inside a
    /// transaction read [`Ranking::read`] on the transaction's connection, so a request never
    /// holds one connection while waiting for another.
    pub(crate) async fn ranking(&self, challenge: &Challenge) -> Result<Ranking, ApiError> {
        Ranking::read_pooled(&self.platform().store, challenge).await
    }

    pub(crate) async fn list_ranking(
        &self,
        caller: Caller,
        req: pb::ListRankingRequest,
    ) -> Result<pb::ListRankingResponse, ApiError> {
        let challenge_id = jiebang_domain::ids::Collection::Challenges
            .parse(&req.challenge, "challenge")?
            .to_owned();
        let size = page_size(req.page_size, RANKING_PAGE_SIZE, MAX_RANKING_PAGE_SIZE)?;
        // The ranking is recomputed for every page: a page token is the position to resume
        // after, bound to the challenge, and positions move only when a sheet is sealed or a
        // resolution changes what counts (the response says whether it is complete).
        let filters = format!("ranking:{challenge_id}");
        let start = match decode_token(&req.page_token, &filters)? {
            None => 0,
            Some(after) => after.parse::<usize>().map_err(|_| {
                DomainError::invalid(
                    "page_token",
                    "is not a token from a previous page of this listing",
                )
            })?,
        };
        let challenge = challenges::get(&self.platform().store, &challenge_id)
            .await?
            .ok_or_else(|| DomainError::not_found(&req.challenge))?;
        let as_chair = self.ranking_access(&caller, &challenge_id).await?;
        let ranking = self.ranking(&challenge).await?;
        let end = start.saturating_add(usize::try_from(size).unwrap_or(usize::MAX));
        Ok(pb::ListRankingResponse {
            ranking_entries: ranking.entries(start..end, as_chair),
            next_page_token: if end < ranking.len() {
                encode_token(&end.to_string(), &filters)
            } else {
                String::new()
            },
            complete: ranking.complete(),
            open_dispersion_count: i32::try_from(ranking.open_dispersions()).unwrap_or(i32::MAX),
            aggregation_method: crate::convert::aggregation_to_proto(
                challenge.spec.review.aggregation_method,
            ) as i32,
        })
    }

    pub(crate) async fn resolve_dispersion(
        &self,
        caller: Caller,
        req: pb::RecordDispersionResolutionRequest,
    ) -> Result<pb::RankingEntry, ApiError> {
        let (challenge_id, application_id) =
            jiebang_domain::ids::parse_application_name(&req.application, "application")?;
        let (challenge_id, application_id) = (challenge_id.to_owned(), application_id.to_owned());
        if req.reason.trim().chars().count() < 10 {
            return Err(DomainError::invalid(
                "reason",
                "say why the scores stand, in at least 10 characters",
            )
            .into());
        }
        let challenge = challenges::get(&self.platform().store, &challenge_id)
            .await?
            .ok_or_else(|| DomainError::not_found(&req.application))?;
        if caller.is_admin() || !self.ranking_access(&caller, &challenge_id).await? {
            return Err(DomainError::denied(
                "CHAIR_REQUIRED",
                "only the panel chair records how a dispersion was resolved",
            )
            .into());
        }
        let entry = self
            .ranking(&challenge)
            .await?
            .entry_of(&req.application, true)
            .ok_or_else(|| DomainError::not_found(&req.application))?;
        if !entry.dispersion_flagged || entry.dispersion_resolution.is_some() {
            return Err(DomainError::precondition(
                "NOT_FLAGGED",
                "this application has no open dispersion flag",
            )
            .into());
        }
        let idem = Idempotency::new(
            &caller,
            &req.request_id,
            "/jiebang.v1.ReviewService/RecordDispersionResolution",
            digest(&pb::RecordDispersionResolutionRequest {
                request_id: String::new(),
                ..req.clone()
            }),
        )?;
        let platform = self.platform();
        let (caller_ref, idem_ref, req_ref) = (&caller, &idem, &req);
        platform
            .mutate(idem_ref, || async {
                let mut tx = platform.store.begin().await?;
                rows::resolve_dispersion(
                    &mut tx,
                    &challenge_id,
                    &application_id,
                    req_ref.reason.trim(),
                    &caller_ref.user_id,
                    platform.now(),
                )
                .await?;
                commit(
                    platform,
                    tx,
                    caller_ref,
                    idem_ref,
                    "review.dispersion_resolved",
                    pb::EventType::DispersionResolved,
                    req_ref.application.clone(),
                    req_ref.application.clone(),
                    &[],
                    &pb::RankingEntry::default(),
                )
                .await?;
                Ok(pb::RankingEntry::default())
            })
            .await?;
        self.ranking(&challenge)
            .await?
            .entry_of(&req.application, true)
            .ok_or_else(|| DomainError::not_found(&req.application).into())
    }
}

impl ReviewApi {
    /// The team's own result, once the public notice has started: scores and comments, never
    /// who gave them.
    pub(crate) async fn application_result(
        &self,
        caller: Caller,
        req: pb::GetApplicationResultRequest,
    ) -> Result<pb::ApplicationResult, ApiError> {
        let (challenge_id, application_id) =
            jiebang_domain::ids::parse_application_name(&req.application, "application")?;
        let mut conn = self
            .platform()
            .store
            .pool()
            .acquire()
            .await
            .map_err(StoreError::from)?;
        let application = applications::get(&mut conn, challenge_id, application_id)
            .await?
            .ok_or_else(|| DomainError::not_found(&req.application))?;
        let challenge = challenges::get_in(&mut conn, challenge_id)
            .await?
            .ok_or_else(|| DomainError::not_found(&req.application))?;
        if !caller.is_admin()
            && !jiebang_domain::application::access::is_team(&caller, &application)
        {
            return Err(DomainError::not_found(&req.application).into());
        }
        use jiebang_domain::challenge::ChallengeState::*;
        if !matches!(
            challenge.state,
            PublicNotice | Awarded | InProgress | Completed | Failed
        ) {
            return Err(DomainError::precondition(
                "RESULT_NOT_PUBLISHED",
                "results are published with the public notice",
            )
            .into());
        }
        let sheets: Vec<SheetRow> =
            rows::sheets_of_application(&mut conn, challenge_id, &application.id, "SUBMITTED")
                .await?;
        drop(conn);
        let ranking = self.ranking(&challenge).await?;
        let entry = ranking.entry_of(&req.application, false).ok_or_else(|| {
            DomainError::precondition("NOT_RANKED", "the application was not ranked")
        })?;
        let mut comments: Vec<pb::ReviewComment> = sheets
            .iter()
            .flat_map(|s| {
                s.content
                    .scores
                    .iter()
                    .map(|c| pb::ReviewComment {
                        criterion: c.criterion.clone(),
                        text: c.comment.clone(),
                    })
                    .chain(std::iter::once(pb::ReviewComment {
                        criterion: String::new(),
                        text: s.content.overall_comment.clone(),
                    }))
            })
            .collect();
        // Sorted, so the order says nothing about who wrote what.
        comments.sort_by(|a, b| a.criterion.cmp(&b.criterion).then(a.text.cmp(&b.text)));
        let counted = entry.sheet_totals.iter().filter(|t| !t.trimmed).count();
        Ok(pb::ApplicationResult {
            application: req.application.clone(),
            final_score: entry.final_score.clone(),
            aggregation_method: crate::convert::aggregation_to_proto(
                challenge.spec.review.aggregation_method,
            ) as i32,
            counted_sheet_count: i32::try_from(counted).unwrap_or(i32::MAX),
            criterion_results: entry.criterion_results.clone(),
            total_threshold_met: entry
                .final_score
                .parse::<Decimal>()
                .is_ok_and(|f| f >= Decimal::from(challenge.spec.review.total_threshold)),
            eligible_for_award: entry.eligible_for_award,
            rank: entry.rank,
            ranked_count: i32::try_from(ranking.len()).unwrap_or(i32::MAX),
            comments,
        })
    }
}

fn criteria_to_proto(criteria: &[Criterion]) -> Vec<pb::Criterion> {
    criteria
        .iter()
        .map(|c| pb::Criterion {
            name: c.name.clone(),
            kind: match c.kind {
                CriterionKind::TechnicalFeasibility => pb::CriterionKind::TechnicalFeasibility,
                CriterionKind::TeamCapability => pb::CriterionKind::TeamCapability,
                CriterionKind::Budget => pb::CriterionKind::Budget,
                CriterionKind::Industrialisation => pb::CriterionKind::Industrialisation,
                CriterionKind::Other => pb::CriterionKind::Other,
            } as i32,
            weight: c.weight,
            guidance: c.guidance.clone(),
        })
        .collect()
}
