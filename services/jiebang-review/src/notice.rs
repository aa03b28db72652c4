//! From the ranking to the award: the public notice (公示) of the proposed winners, real-name
//! objections (异议) and the bureau's rulings on them, and the appointment (挂帅) that starts one
//! project per winner.

use crate::convert::application_name;
use crate::ranking::Ranking;
use crate::service::ReviewApi;
use jiebang_application::convert::application_to_proto;
use jiebang_challenge::convert::challenge_to_proto;
use jiebang_domain::application::{Application, ApplicationState};
use jiebang_domain::audience::Audience;
use jiebang_domain::challenge::{Challenge, ChallengeState};
use jiebang_domain::ids::{Collection, new_id, parse_application_name, parse_document_name};
use jiebang_domain::{Caller, DomainError, Timestamp};
use jiebang_grpc::convert::{optional_time, to_proto_time};
use jiebang_grpc::idempotency::{Idempotency, digest};
use jiebang_grpc::platform::ChangeBuilder;
use jiebang_grpc::{ApiError, Platform};
use jiebang_proto::v1 as pb;
use jiebang_storage::notice::{
    self as rows, NoticeRow, ObjectionContent, ObjectionRow, ProjectRow,
};
use jiebang_storage::{StoreError, Tx, applications, challenges, documents, review};

fn parse_suffixed<'a>(name: &'a str, suffix: &str, field: &str) -> Result<&'a str, DomainError> {
    name.strip_prefix("challenges/")
        .and_then(|r| r.strip_suffix(suffix))
        .filter(|id| !id.is_empty() && !id.contains('/'))
        .ok_or_else(|| {
            DomainError::invalid(field, format!("must be challenges/{{challenge}}{suffix}"))
        })
}

/// Records one more state change inside a transaction that commits later.
#[allow(clippy::too_many_arguments)]
async fn record(
    tx: &mut Tx,
    at: Timestamp,
    caller: &Caller,
    action: &'static str,
    event_type: pb::EventType,
    resource: String,
    state: &str,
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
        state: state.to_owned(),
        summary: String::new(),
        audience,
        idempotency: &none,
    }
    .build(&pb::PublicNotice::default());
    tx.record(&change).await?;
    Ok(())
}

/// Moves an application one review step and records it, told to its team.
async fn step(
    tx: &mut Tx,
    caller: &Caller,
    application: &Application,
    from: &[ApplicationState],
    to: ApplicationState,
    event_type: pb::EventType,
    now: Timestamp,
) -> Result<Application, ApiError> {
    let next = application.review_step(from, to, now)?;
    applications::update(tx, &next, application.version).await?;
    let audience: Vec<Audience> = next
        .team_user_ids()
        .into_iter()
        .map(Audience::User)
        .collect();
    record(
        tx,
        now,
        caller,
        "application.review_step",
        event_type,
        next.name(),
        &format!("APPLICATION_STATE_{}", to.as_str()),
        &audience,
    )
    .await?;
    Ok(next)
}

fn objection_to_proto(o: &ObjectionRow) -> pb::Objection {
    pb::Objection {
        name: format!("challenges/{}/objections/{}", o.challenge_id, o.id),
        objector: Collection::Users.name(&o.objector_id),
        contact: Some(pb::Contact {
            person: o.content.contact_person.clone(),
            phone: o.content.contact_phone.clone(),
            email: o.content.contact_email.clone(),
        }),
        application: o
            .application_id
            .as_deref()
            .map(|a| application_name(&o.challenge_id, a))
            .unwrap_or_default(),
        grounds: o.content.grounds.clone(),
        evidence_documents: o
            .content
            .evidence
            .iter()
            .map(|d| format!("documents/{d}"))
            .collect(),
        state: pb::ObjectionState::from_str_name(&format!("OBJECTION_STATE_{}", o.state))
            .map_or(0, |s| s as i32),
        notice_round: o.notice_round,
        ruling_reason: o.ruling_reason.clone().unwrap_or_default(),
        remedy: o
            .remedy
            .as_deref()
            .and_then(|r| pb::ObjectionRemedy::from_str_name(&format!("OBJECTION_REMEDY_{r}")))
            .map_or(0, |r| r as i32),
        ruler: o
            .ruler_id
            .as_deref()
            .map(|r| Collection::Users.name(r))
            .unwrap_or_default(),
        file_time: Some(to_proto_time(o.filed_at)),
        rule_time: o.ruled_at.map(to_proto_time),
        etag: o.version.to_string(),
    }
}

impl ReviewApi {
    /// Whether the caller chairs the challenge's panel.
    async fn is_chair(&self, caller: &Caller, challenge_id: &str) -> Result<bool, ApiError> {
        let mut conn = self
            .platform()
            .store
            .pool()
            .acquire()
            .await
            .map_err(StoreError::from)?;
        let expert = review::expert_of_user(&mut conn, &caller.user_id).await?;
        let panel = review::get_panel(&mut conn, challenge_id).await?;
        Ok(
            matches!((expert, panel), (Some(e), Some(p)) if p.chair_expert_id.as_deref() == Some(e.id.as_str())),
        )
    }

    /// The notice as everyone sees it (its state as of now, the winners with their scores).
    async fn notice_view(
        &self,
        challenge: &Challenge,
        notice: &NoticeRow,
    ) -> Result<pb::PublicNotice, ApiError> {
        let now = self.platform().now();
        let ranking = self.ranking(challenge).await?;
        let mut conn = self
            .platform()
            .store
            .pool()
            .acquire()
            .await
            .map_err(StoreError::from)?;
        let pending = rows::objections(&mut conn, &challenge.id, None)
            .await?
            .iter()
            .filter(|o| o.state == "PENDING")
            .count();
        let mut winners = Vec::new();
        for id in &notice.winners {
            let Some(a) = applications::get(&mut conn, &challenge.id, id).await? else {
                continue;
            };
            winners.push(pb::NoticedWinner {
                application: a.name(),
                title: a.content.title.clone(),
                lead_organization: Collection::Organizations.name(&a.lead_organization_id),
                partner_organizations: a
                    .content
                    .partner_organization_ids
                    .iter()
                    .map(|p| Collection::Organizations.name(p))
                    .collect(),
                lead_person: Collection::Users.name(&a.content.lead_person_id),
                final_score: ranking
                    .entry_of(&a.name(), false)
                    .map(|e| e.final_score)
                    .unwrap_or_default(),
                requested_budget_fen: a.content.requested_budget_fen,
            });
        }
        let state = match notice.state.as_str() {
            "OPEN" if now >= notice.end_at => pb::PublicNoticeState::Ended,
            "OPEN" => pb::PublicNoticeState::Open,
            "SUPERSEDED" => pb::PublicNoticeState::Superseded,
            _ => pb::PublicNoticeState::Concluded,
        };
        Ok(pb::PublicNotice {
            name: format!("{}/publicNotice", challenge.name()),
            state: state as i32,
            round: notice.round,
            proposed_winners: winners,
            working_days: notice.working_days,
            start_time: Some(to_proto_time(notice.start_at)),
            end_time: Some(to_proto_time(notice.end_at)),
            pending_objection_count: i32::try_from(pending).unwrap_or(i32::MAX),
        })
    }

    /// Opens a notice round naming `winners`, ending after the configured working days.
    async fn open_notice(
        &self,
        tx: &mut Tx,
        challenge_id: &str,
        winners: Vec<String>,
        now: Timestamp,
    ) -> Result<NoticeRow, ApiError> {
        let settings = &self.platform().settings;
        let round = rows::latest(tx.conn(), challenge_id)
            .await?
            .map_or(1, |n| n.round + 1);
        let notice = NoticeRow {
            challenge_id: challenge_id.to_owned(),
            round,
            state: "OPEN".into(),
            working_days: i32::try_from(settings.notice_working_days).unwrap_or(5),
            winners,
            start_at: now,
            end_at: settings
                .calendar
                .notice_end(now, settings.notice_working_days),
        };
        rows::insert(tx, &notice).await?;
        Ok(notice)
    }

    pub(crate) async fn propose_winners(
        &self,
        caller: Caller,
        req: pb::ProposeWinnersRequest,
    ) -> Result<pb::PublicNotice, ApiError> {
        let challenge_id = Collection::Challenges
            .parse(&req.challenge, "challenge")?
            .to_owned();
        if !caller.is_admin() && !self.is_chair(&caller, &challenge_id).await? {
            return Err(DomainError::denied(
                "CHAIR_OR_ADMIN_REQUIRED",
                "the panel chair or the bureau proposes the winners",
            )
            .into());
        }
        let idem = Idempotency::new(
            &caller,
            &req.request_id,
            "/jiebang.v1.ReviewService/ProposeWinners",
            digest(&pb::ProposeWinnersRequest {
                request_id: String::new(),
                ..req.clone()
            }),
        )?;
        let platform = self.platform();
        let (caller_ref, idem_ref, req_ref, challenge_ref) = (&caller, &idem, &req, &challenge_id);
        platform
            .mutate(idem_ref, move || async move {
                let challenge = challenges::get(&platform.store, challenge_ref).await?.ok_or_else(|| DomainError::not_found(&req_ref.challenge))?;
                challenge.check_etag(&req_ref.etag)?;
                let ranking = self.ranking(&challenge).await?;
                let complete = ranking.complete();
                let ranking = ranking.all_entries(false);
                if !complete {
                    return Err(DomainError::precondition("RANKING_INCOMPLETE", "every expected score sheet must be submitted first").into());
                }
                if let Some(open) = ranking.iter().find(|e| e.dispersion_flagged && e.dispersion_resolution.is_none()) {
                    return Err(DomainError::precondition("DISPERSION_OPEN", format!("the dispersion of {} must be resolved or rescored first", open.label)).into());
                }
                let eligible: Vec<&pb::RankingEntry> = ranking.iter().filter(|e| e.eligible_for_award).collect();
                if eligible.is_empty() {
                    return Err(DomainError::precondition("NONE_ABOVE_THRESHOLD", "no application reaches every threshold; cancel the challenge with NONE_ABOVE_THRESHOLD").into());
                }
                let winners_count = usize::try_from(challenge.spec.winners_count).unwrap_or(1);
                let shortlist = usize::try_from(challenge.spec.review.shortlist_size).unwrap_or(5);
                let now = platform.now();
                let mut tx = platform.store.begin().await?;
                let mut winners = Vec::new();
                for entry in &ranking {
                    let (_, id) = parse_application_name(&entry.application, "application")?;
                    let a = applications::get(tx.conn(), challenge_ref, id).await?.ok_or_else(|| DomainError::not_found(&entry.application))?;
                    let position = eligible.iter().position(|e| e.application == entry.application);
                    let (to, event) = match position {
                        Some(p) if p < winners_count => (ApplicationState::ProposedWinner, pb::EventType::ApplicationProposedWinner),
                        Some(p) if p < shortlist => (ApplicationState::Shortlisted, pb::EventType::ApplicationShortlisted),
                        _ => (ApplicationState::NotSelected, pb::EventType::ApplicationNotSelected),
                    };
                    if to == ApplicationState::ProposedWinner {
                        winners.push(a.id.clone());
                    }
                    step(&mut tx, caller_ref, &a, &[ApplicationState::UnderReview], to, event, now).await?;
                }
                let next = challenge.review_step(ChallengeState::UnderReview, ChallengeState::PublicNotice, now)?;
                challenges::update(&mut tx, &next, challenge.version).await?;
                let notice = self.open_notice(&mut tx, challenge_ref, winners, now).await?;
                let change = ChangeBuilder {
                    at: now,
                    actor: caller_ref.actor(),
                    action: "challenge.notice_started",
                    event_type: pb::EventType::ChallengeNoticeStarted,
                    resource: challenge.name(),
                    chain: None,
                    state: "CHALLENGE_STATE_PUBLIC_NOTICE".into(),
                    summary: challenge.spec.title.clone(),
                    audience: &[Audience::Public],
                    idempotency: idem_ref,
                }
                .build(&pb::PublicNotice::default());
                platform.commit(tx, &change).await?;
                self.notice_view(&next, &notice).await
            })
            .await
    }

    pub(crate) async fn public_notice(
        &self,
        caller: Caller,
        req: pb::GetPublicNoticeRequest,
    ) -> Result<pb::PublicNotice, ApiError> {
        let challenge_id = parse_suffixed(&req.name, "/publicNotice", "name")?;
        let challenge = challenges::get(&self.platform().store, challenge_id)
            .await?
            .ok_or_else(|| DomainError::not_found(&req.name))?;
        jiebang_domain::challenge::access::ensure_can_read(&caller, &challenge)?;
        let mut conn = self
            .platform()
            .store
            .pool()
            .acquire()
            .await
            .map_err(StoreError::from)?;
        let notice = rows::latest(&mut conn, challenge_id)
            .await?
            .ok_or_else(|| DomainError::not_found(&req.name))?;
        drop(conn);
        self.notice_view(&challenge, &notice).await
    }

    pub(crate) async fn file_objection(
        &self,
        caller: Caller,
        req: pb::FileObjectionRequest,
    ) -> Result<pb::Objection, ApiError> {
        let challenge_id = Collection::Challenges
            .parse(&req.parent, "parent")?
            .to_owned();
        let input = req.objection.clone().unwrap_or_default();
        let contact = input.contact.clone().unwrap_or_default();
        let mut v = jiebang_domain::Violations::new();
        v.require(
            !contact.person.trim().is_empty(),
            "objection.contact.person",
            "objections are filed under a real name (anonymous ones are not accepted)",
        );
        v.require(
            !contact.phone.trim().is_empty() || !contact.email.trim().is_empty(),
            "objection.contact",
            "needs a phone number or an e-mail address",
        );
        v.require(
            (10..=10_000).contains(&input.grounds.trim().chars().count()),
            "objection.grounds",
            "state the facts and reasons in 10–10,000 characters",
        );
        v.into_result()?;
        let application_id = if input.application.is_empty() {
            None
        } else {
            Some(
                parse_application_name(&input.application, "objection.application")?
                    .1
                    .to_owned(),
            )
        };
        let mut evidence = Vec::new();
        let mut conn = self
            .platform()
            .store
            .pool()
            .acquire()
            .await
            .map_err(StoreError::from)?;
        for (i, d) in input.evidence_documents.iter().enumerate() {
            let sha = parse_document_name(d, &format!("objection.evidence_documents[{i}]"))?;
            if !documents::uploaded_by(&mut conn, sha, &caller.user_id).await? {
                return Err(DomainError::invalid(
                    format!("objection.evidence_documents[{i}]"),
                    "is not a document you uploaded",
                )
                .into());
            }
            evidence.push(sha.to_owned());
        }
        drop(conn);
        let idem = Idempotency::new(
            &caller,
            &req.request_id,
            "/jiebang.v1.ReviewService/FileObjection",
            digest(&pb::FileObjectionRequest {
                request_id: String::new(),
                ..req.clone()
            }),
        )?;
        let platform = self.platform();
        let (
            caller_ref,
            idem_ref,
            req_ref,
            challenge_ref,
            application_ref,
            evidence_ref,
            contact_ref,
            input_ref,
        ) = (
            &caller,
            &idem,
            &req,
            &challenge_id,
            &application_id,
            &evidence,
            &contact,
            &input,
        );
        platform
            .mutate(idem_ref, move || async move {
                let now = platform.now();
                let mut tx = platform.store.begin().await?;
                let challenge = challenges::get_in(tx.conn(), challenge_ref)
                    .await?
                    .ok_or_else(|| DomainError::not_found(&req_ref.parent))?;
                let notice = rows::latest(tx.conn(), challenge_ref).await?;
                let open = challenge.state == ChallengeState::PublicNotice
                    && notice
                        .as_ref()
                        .is_some_and(|n| n.state == "OPEN" && now < n.end_at);
                let Some(notice) = notice.filter(|_| open) else {
                    return Err(DomainError::precondition(
                        "NOTICE_NOT_OPEN",
                        "objections are filed while the public notice is open",
                    )
                    .into());
                };
                if let Some(a) = application_ref
                    && !notice.winners.contains(a)
                {
                    return Err(DomainError::invalid(
                        "objection.application",
                        "is not a proposed winner of this notice",
                    )
                    .into());
                }
                let objection = ObjectionRow {
                    id: new_id(),
                    challenge_id: challenge_ref.clone(),
                    application_id: application_ref.clone(),
                    objector_id: caller_ref.user_id.clone(),
                    content: ObjectionContent {
                        contact_person: contact_ref.person.trim().to_owned(),
                        contact_phone: contact_ref.phone.trim().to_owned(),
                        contact_email: contact_ref.email.trim().to_owned(),
                        grounds: input_ref.grounds.trim().to_owned(),
                        evidence: evidence_ref.clone(),
                    },
                    state: "PENDING".into(),
                    notice_round: notice.round,
                    ruling_reason: None,
                    remedy: None,
                    ruler_id: None,
                    filed_at: now,
                    ruled_at: None,
                    version: 1,
                };
                rows::insert_objection(&mut tx, &objection).await?;
                let response = objection_to_proto(&objection);
                let change = ChangeBuilder {
                    at: now,
                    actor: caller_ref.actor(),
                    action: "objection.filed",
                    event_type: pb::EventType::ObjectionFiled,
                    resource: response.name.clone(),
                    chain: Some(challenge.name()),
                    state: "OBJECTION_STATE_PENDING".into(),
                    summary: String::new(),
                    audience: &[Audience::User(caller_ref.user_id.clone())],
                    idempotency: idem_ref,
                }
                .build(&response);
                platform.commit(tx, &change).await?;
                Ok(response)
            })
            .await
    }

    pub(crate) async fn list_objections(
        &self,
        caller: Caller,
        req: pb::ListObjectionsRequest,
    ) -> Result<pb::ListObjectionsResponse, ApiError> {
        let challenge_id = Collection::Challenges.parse(&req.parent, "parent")?;
        let mut conn = self
            .platform()
            .store
            .pool()
            .acquire()
            .await
            .map_err(StoreError::from)?;
        let mine = (!caller.is_admin()).then_some(caller.user_id.as_str());
        let state = match pb::ObjectionState::try_from(req.state) {
            Ok(pb::ObjectionState::Unspecified) | Err(_) => None,
            Ok(s) => Some(
                s.as_str_name()
                    .trim_start_matches("OBJECTION_STATE_")
                    .to_owned(),
            ),
        };
        let objections = rows::objections(&mut conn, challenge_id, mine)
            .await?
            .iter()
            .filter(|o| state.as_ref().is_none_or(|s| &o.state == s))
            .map(objection_to_proto)
            .collect();
        Ok(pb::ListObjectionsResponse {
            objections,
            next_page_token: String::new(),
        })
    }

    pub(crate) async fn rule_on_objection(
        &self,
        caller: Caller,
        req: pb::RuleOnObjectionRequest,
    ) -> Result<pb::RuleOnObjectionResponse, ApiError> {
        jiebang_domain::challenge::access::ensure_admin(&caller, "rule on objections")?;
        let (challenge_id, objection_id) = req
            .name
            .strip_prefix("challenges/")
            .and_then(|r| r.split_once("/objections/"))
            .ok_or_else(|| {
                DomainError::invalid(
                    "name",
                    "must be challenges/{challenge}/objections/{objection}",
                )
            })?;
        let (challenge_id, objection_id) = (challenge_id.to_owned(), objection_id.to_owned());
        let outcome = match pb::ObjectionState::try_from(req.outcome) {
            Ok(pb::ObjectionState::Dismissed) => "DISMISSED",
            Ok(pb::ObjectionState::Upheld) => "UPHELD",
            _ => return Err(DomainError::invalid("outcome", "must be DISMISSED or UPHELD").into()),
        };
        let remedy = match (outcome, pb::ObjectionRemedy::try_from(req.remedy)) {
            ("DISMISSED", Ok(pb::ObjectionRemedy::Unspecified)) => None,
            ("DISMISSED", _) => {
                return Err(DomainError::invalid("remedy", "must be unset when DISMISSED").into());
            }
            (_, Ok(pb::ObjectionRemedy::ReplaceWinner)) => Some("REPLACE_WINNER"),
            (_, Ok(pb::ObjectionRemedy::ReopenReview)) => Some("REOPEN_REVIEW"),
            _ => {
                return Err(DomainError::invalid(
                    "remedy",
                    "an upheld objection needs REPLACE_WINNER or REOPEN_REVIEW",
                )
                .into());
            }
        };
        if req.reason.trim().chars().count() < 10 {
            return Err(DomainError::invalid(
                "reason",
                "give the reasoning in at least 10 characters",
            )
            .into());
        }
        let idem = Idempotency::new(
            &caller,
            &req.request_id,
            "/jiebang.v1.ReviewService/RuleOnObjection",
            digest(&pb::RuleOnObjectionRequest {
                request_id: String::new(),
                ..req.clone()
            }),
        )?;
        let platform = self.platform();
        let (caller_ref, idem_ref, req_ref, challenge_ref, objection_ref) =
            (&caller, &idem, &req, &challenge_id, &objection_id);
        platform
            .mutate(idem_ref, move || async move {
                let now = platform.now();
                let mut tx = platform.store.begin().await?;
                let objection = rows::get_objection(tx.conn(), challenge_ref, objection_ref).await?.ok_or_else(|| DomainError::not_found(&req_ref.name))?;
                if !req_ref.etag.is_empty() && req_ref.etag != objection.version.to_string() {
                    return Err(DomainError::stale_etag(&req_ref.name).into());
                }
                if objection.state != "PENDING" {
                    return Err(DomainError::precondition("OBJECTION_RULED", format!("the objection was already {}", objection.state)).into());
                }
                let challenge = challenges::get_in(tx.conn(), challenge_ref).await?.ok_or_else(|| DomainError::not_found(&req_ref.name))?;
                let notice = rows::latest(tx.conn(), challenge_ref).await?.ok_or_else(|| DomainError::not_found(&req_ref.name))?;
                let mut ruled = objection.clone();
                ruled.state = outcome.into();
                ruled.remedy = remedy.map(str::to_owned);
                ruled.ruling_reason = Some(req_ref.reason.trim().to_owned());
                ruled.ruler_id = Some(caller_ref.user_id.clone());
                ruled.ruled_at = Some(now);
                ruled.version += 1;
                rows::update_objection(&mut tx, &ruled, objection.version).await?;
                let mut current = challenge.clone();
                match remedy {
                    Some("REPLACE_WINNER") => {
                        let Some(objected) = &objection.application_id else {
                            return Err(DomainError::invalid("remedy", "an objection to the selection as a whole can only reopen the review").into());
                        };
                        // On the transaction's own connection: holding it while waiting for a
                        // second one of the pool could exhaust a small pool under load.
                        let ranking = Ranking::read(tx.conn(), &challenge).await?.all_entries(false);
                        let loser = applications::get(tx.conn(), challenge_ref, objected).await?.ok_or_else(|| DomainError::not_found(&req_ref.name))?;
                        step(&mut tx, caller_ref, &loser, &[ApplicationState::ProposedWinner], ApplicationState::NotSelected, pb::EventType::ApplicationNotSelected, now).await?;
                        let mut winners: Vec<String> = notice.winners.iter().filter(|w| *w != objected).cloned().collect();
                        // The next eligible application of the ranking takes the place.
                        for entry in ranking.iter().filter(|e| e.eligible_for_award) {
                            let (_, id) = parse_application_name(&entry.application, "application")?;
                            let candidate = applications::get(tx.conn(), challenge_ref, id).await?.ok_or_else(|| DomainError::not_found(&entry.application))?;
                            if candidate.state == ApplicationState::Shortlisted {
                                step(&mut tx, caller_ref, &candidate, &[ApplicationState::Shortlisted], ApplicationState::ProposedWinner, pb::EventType::ApplicationProposedWinner, now).await?;
                                winners.push(candidate.id.clone());
                                break;
                            }
                        }
                        if winners.is_empty() {
                            return Err(DomainError::precondition("NO_REPLACEMENT", "no eligible application is left to propose; reopen the review instead").into());
                        }
                        rows::set_state(&mut tx, challenge_ref, notice.round, "OPEN", "SUPERSEDED").await?;
                        self.open_notice(&mut tx, challenge_ref, winners, now).await?;
                    }
                    Some(_) => {
                        rows::set_state(&mut tx, challenge_ref, notice.round, "OPEN", "SUPERSEDED").await?;
                        for a in review::applications_of(tx.conn(), challenge_ref).await? {
                            if matches!(a.state, ApplicationState::ProposedWinner | ApplicationState::Shortlisted | ApplicationState::NotSelected) {
                                step(&mut tx, caller_ref, &a, &[a.state], ApplicationState::UnderReview, pb::EventType::ApplicationUnderReview, now).await?;
                            }
                        }
                        current = challenge.review_step(ChallengeState::PublicNotice, ChallengeState::UnderReview, now)?;
                        challenges::update(&mut tx, &current, challenge.version).await?;
                    }
                    None => {}
                }
                let response_objection = objection_to_proto(&ruled);
                let change = ChangeBuilder {
                    at: now,
                    actor: caller_ref.actor(),
                    action: "objection.ruled",
                    event_type: pb::EventType::ObjectionRuled,
                    resource: response_objection.name.clone(),
                    chain: Some(challenge.name()),
                    state: format!("OBJECTION_STATE_{outcome}"),
                    summary: String::new(),
                    audience: &[Audience::User(objection.objector_id.clone())],
                    idempotency: idem_ref,
                }
                .build(&response_objection);
                platform.commit(tx, &change).await?;
                let mut conn = platform.store.pool().acquire().await.map_err(StoreError::from)?;
                let latest = rows::latest(&mut conn, challenge_ref).await?;
                drop(conn);
                let public_notice = match latest {
                    Some(n) => Some(self.notice_view(&current, &n).await?),
                    None => None,
                };
                Ok(pb::RuleOnObjectionResponse { objection: Some(response_objection), public_notice })
            })
            .await
    }

    pub(crate) async fn appoint_winners(
        &self,
        caller: Caller,
        req: pb::AppointWinnersRequest,
    ) -> Result<pb::AppointWinnersResponse, ApiError> {
        jiebang_domain::challenge::access::ensure_admin(&caller, "appoint the winners")?;
        let challenge_id = Collection::Challenges
            .parse(&req.challenge, "challenge")?
            .to_owned();
        let start = optional_time(req.project_start_time.as_ref(), "project_start_time")?;
        let idem = Idempotency::new(
            &caller,
            &req.request_id,
            "/jiebang.v1.ReviewService/AppointWinners",
            digest(&pb::AppointWinnersRequest {
                request_id: String::new(),
                ..req.clone()
            }),
        )?;
        let platform = self.platform();
        let (caller_ref, idem_ref, req_ref, challenge_ref) = (&caller, &idem, &req, &challenge_id);
        platform
            .mutate(idem_ref, move || async move {
                appoint(
                    platform,
                    caller_ref,
                    idem_ref,
                    req_ref,
                    challenge_ref,
                    start,
                )
                .await
            })
            .await
    }
}

/// Fixes the milestone plan of a new project from the application's proposal: due dates in
/// calendar months from the start, and each tranche's amount to the fen (the final tranche
/// takes the rounding remainder, so the tranches sum to the award).
async fn write_plan(
    tx: &mut Tx,
    project: &ProjectRow,
    application: &Application,
    now: Timestamp,
) -> Result<(), ApiError> {
    use jiebang_domain::milestone::{ledger, plan};
    use jiebang_storage::projects::{self, MilestonePlan, MilestoneRow};
    let content = &application.content;
    let mut shares: Vec<i32> = content
        .milestones
        .iter()
        .map(|m| m.share_basis_points)
        .collect();
    shares.insert(0, content.signing_share_basis_points);
    let amounts = ledger::amounts(project.award_fen, &shares);
    projects::set_signing_share(tx, &project.id, content.signing_share_basis_points, now).await?;
    let last = content.milestones.len().saturating_sub(1);
    for (i, m) in content.milestones.iter().enumerate() {
        let due = plan::add_months(project.start_at, m.due_after_months);
        projects::insert_milestone(
            tx,
            &MilestoneRow {
                id: new_id(),
                project_id: project.id.clone(),
                position: i32::try_from(i + 1).unwrap_or(i32::MAX),
                title: m.title.clone(),
                plan: MilestonePlan {
                    deliverables: m.deliverables.clone(),
                    targets: m
                        .indicator_targets
                        .iter()
                        .map(|t| (t.indicator.clone(), t.target_value.clone()))
                        .collect(),
                    mid_term: m.mid_term,
                    final_acceptance: i == last,
                },
                share_bp: m.share_basis_points,
                tranche_fen: amounts[i + 1],
                state: "PLANNED".into(),
                due_at: due,
                original_due_at: due,
                updated_at: now,
                version: 1,
            },
        )
        .await?;
    }
    Ok(())
}

async fn appoint(
    platform: &Platform,
    caller: &Caller,
    idem: &Idempotency,
    req: &pb::AppointWinnersRequest,
    challenge_id: &str,
    start: Option<Timestamp>,
) -> Result<pb::AppointWinnersResponse, ApiError> {
    let now = platform.now();
    let start = start.unwrap_or(now);
    if start.plus(std::time::Duration::from_secs(60)) < now {
        return Err(DomainError::invalid("project_start_time", "must not be in the past").into());
    }
    let mut tx = platform.store.begin().await?;
    let challenge = challenges::get_in(tx.conn(), challenge_id)
        .await?
        .ok_or_else(|| DomainError::not_found(&req.challenge))?;
    challenge.check_etag(&req.etag)?;
    let notice = rows::latest(tx.conn(), challenge_id).await?;
    let Some(notice) =
        notice.filter(|n| challenge.state == ChallengeState::PublicNotice && n.state == "OPEN")
    else {
        return Err(DomainError::precondition(
            "CHALLENGE_WRONG_STATE",
            format!("{} is not in public notice", challenge.name()),
        )
        .into());
    };
    if now < notice.end_at {
        return Err(DomainError::precondition(
            "NOTICE_NOT_ENDED",
            "the winners are appointed after the public notice ends",
        )
        .into());
    }
    let pending = rows::objections(tx.conn(), challenge_id, None)
        .await?
        .iter()
        .filter(|o| o.state == "PENDING")
        .count();
    if pending > 0 {
        return Err(DomainError::precondition(
            "OBJECTION_PENDING",
            format!("{pending} objection(s) await a ruling; the appointment is frozen"),
        )
        .into());
    }
    let mut appointed = Vec::new();
    for id in &notice.winners {
        let a = applications::get(tx.conn(), challenge_id, id)
            .await?
            .ok_or_else(|| DomainError::not_found(id))?;
        let next = step(
            &mut tx,
            caller,
            &a,
            &[ApplicationState::ProposedWinner],
            ApplicationState::Appointed,
            pb::EventType::ApplicationAppointed,
            now,
        )
        .await?;
        let project = ProjectRow {
            id: new_id(),
            challenge_id: challenge_id.to_owned(),
            application_id: next.id.clone(),
            award_fen: next.content.requested_budget_fen,
            state: "ACTIVE".into(),
            start_at: start,
            created_at: now,
            version: 1,
        };
        rows::insert_project(&mut tx, &project).await?;
        write_plan(&mut tx, &project, &next, now).await?;
        let audience: Vec<Audience> = next
            .team_user_ids()
            .into_iter()
            .map(Audience::User)
            .collect();
        record(
            &mut tx,
            now,
            caller,
            "project.started",
            pb::EventType::ProjectStarted,
            format!("projects/{}", project.id),
            "PROJECT_STATE_ACTIVE",
            &audience,
        )
        .await?;
        let mut view = application_to_proto(&next);
        view.project = format!("projects/{}", project.id);
        appointed.push(view);
    }
    rows::set_state(&mut tx, challenge_id, notice.round, "OPEN", "CONCLUDED").await?;
    let next = challenge.review_step(ChallengeState::PublicNotice, ChallengeState::Awarded, now)?;
    challenges::update(&mut tx, &next, challenge.version).await?;
    let response = pb::AppointWinnersResponse {
        challenge: Some(challenge_to_proto(&next, now)),
        applications: appointed,
    };
    let change = ChangeBuilder {
        at: now,
        actor: caller.actor(),
        action: "challenge.awarded",
        event_type: pb::EventType::ChallengeAwarded,
        resource: next.name(),
        chain: None,
        state: "CHALLENGE_STATE_AWARDED".into(),
        summary: next.spec.title.clone(),
        audience: &[Audience::Public],
        idempotency: idem,
    }
    .build(&response);
    platform.commit(tx, &change).await?;
    Ok(response)
}
