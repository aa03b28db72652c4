//! The `ChallengeService` handlers: convert, let the domain decide, persist, convert back.

use crate::convert::{
    cancellation_from_proto, challenge_to_basic_proto, challenge_to_proto, merge_masked,
    new_spec_from_proto, spec_from_proto, state_from_proto,
};
use jiebang_domain::challenge::{Challenge, access};
use jiebang_domain::ids::{Collection, new_id};
use jiebang_domain::{Caller, DomainError, Timestamp};
use jiebang_grpc::convert::{non_empty, optional_time};
use jiebang_grpc::idempotency::{Idempotency, digest};
use jiebang_grpc::paging::{self, decode_token, finish_page, page_size};
use jiebang_grpc::platform::ChangeBuilder;
use jiebang_grpc::{ApiError, Platform, caller};
use jiebang_proto::v1 as pb;
use jiebang_proto::v1::challenge_service_server::ChallengeService;
use jiebang_storage::challenges::{self as rows, ChallengeFilter};
use prost::Message;
use tonic::{Request, Response, Status};

pub struct ChallengeApi {
    platform: Platform,
}

impl ChallengeApi {
    pub fn new(platform: Platform) -> Self {
        Self { platform }
    }
}

/// The digest of a request with its `request_id` cleared, so retries digest alike.
fn digest_without_request_id<M: Message + Clone>(
    request: &M,
    clear: impl FnOnce(&mut M),
) -> String {
    let mut copy = request.clone();
    clear(&mut copy);
    digest(&copy)
}

/// One lifecycle transition, as the handlers of Submit/Approve/Reject/Publish/Cancel describe it.
struct Transition<'a> {
    name: &'a str,
    etag: &'a str,
    action: &'static str,
    event_type: pb::EventType,
}

impl ChallengeApi {
    async fn load(&self, caller: &Caller, name: &str) -> Result<Challenge, ApiError> {
        let id = Collection::Challenges.parse(name, "name")?;
        let challenge = rows::get(&self.platform.store, id)
            .await?
            .ok_or_else(|| DomainError::not_found(name))?;
        access::ensure_can_read(caller, &challenge)?;
        Ok(challenge)
    }

    /// Runs a transition: load the latest version, check the etag, let `decide` compute the
    /// next version, save it only if nobody changed it meanwhile (otherwise retry from the
    /// load), with its audit record and event in the same transaction.
    async fn transition(
        &self,
        caller: &Caller,
        idem: &Idempotency,
        t: Transition<'_>,
        decide: impl Fn(&Challenge, Timestamp) -> Result<Challenge, DomainError>,
    ) -> Result<pb::Challenge, ApiError> {
        let decide = &decide;
        let t = &t;
        self.platform
            .mutate(idem, move || async move {
                let current = self.load(caller, t.name).await?;
                current.check_etag(t.etag)?;
                let now = self.platform.now();
                let next = decide(&current, now)?;
                self.save(
                    caller,
                    idem,
                    Some(current.version),
                    &next,
                    t.action,
                    t.event_type,
                )
                .await
            })
            .await
    }

    /// Writes `next` (inserting when `expected_version` is `None`) with its audit record and
    /// event, and returns what the client gets back.
    async fn save(
        &self,
        caller: &Caller,
        idem: &Idempotency,
        expected_version: Option<i64>,
        next: &Challenge,
        action: &'static str,
        event_type: pb::EventType,
    ) -> Result<pb::Challenge, ApiError> {
        let now = next.updated_at;
        let response = challenge_to_proto(next, now);
        let mut tx = self.platform.store.begin().await?;
        match expected_version {
            Some(version) => rows::update(&mut tx, next, version).await?,
            None => rows::insert(&mut tx, next).await?,
        }
        let audience = next.audience();
        let change = ChangeBuilder {
            at: now,
            actor: caller.actor(),
            action,
            event_type,
            resource: next.name(),
            chain: None,
            state: pb::ChallengeState::try_from(response.state)
                .map(|s| s.as_str_name().to_owned())
                .unwrap_or_default(),
            summary: next.spec.title.clone(),
            audience: &audience,
            idempotency: idem,
        }
        .build(&response);
        self.platform.commit(tx, &change).await?;
        Ok(response)
    }

    async fn create(
        &self,
        caller: Caller,
        req: pb::CreateChallengeRequest,
    ) -> Result<pb::Challenge, ApiError> {
        access::ensure_can_create(&caller)?;
        let input = req
            .challenge
            .clone()
            .ok_or_else(|| DomainError::invalid("challenge", "must be set"))?;
        let spec =
            new_spec_from_proto(&input, self.platform.now()).map_err(|e| e.within("challenge"))?;
        let idem = Idempotency::new(
            &caller,
            &req.request_id,
            "/jiebang.v1.ChallengeService/CreateChallenge",
            digest_without_request_id(&req, |r| r.request_id.clear()),
        )?;
        let (caller, idem, spec) = (&caller, &idem, &spec);
        self.platform
            .mutate(idem, move || async move {
                let challenge =
                    Challenge::draft(caller, new_id(), spec.clone(), self.platform.now())
                        .map_err(|e| e.within("challenge"))?;
                self.save(
                    caller,
                    idem,
                    None,
                    &challenge,
                    "challenge.created",
                    pb::EventType::ChallengeCreated,
                )
                .await
            })
            .await
    }

    async fn get(
        &self,
        caller: Caller,
        req: pb::GetChallengeRequest,
    ) -> Result<pb::Challenge, ApiError> {
        // Cached: the busiest read. `load` (every decision) reads the database.
        let id = Collection::Challenges.parse(&req.name, "name")?;
        let challenge = rows::get_cached(&self.platform.store, id)
            .await?
            .ok_or_else(|| DomainError::not_found(&req.name))?;
        access::ensure_can_read(&caller, &challenge)?;
        Ok(challenge_to_proto(&challenge, self.platform.now()))
    }

    async fn list(
        &self,
        caller: Caller,
        req: pb::ListChallengesRequest,
    ) -> Result<pb::ListChallengesResponse, ApiError> {
        let size = page_size(
            req.page_size,
            paging::DEFAULT_PAGE_SIZE,
            paging::MAX_PAGE_SIZE,
        )?;
        let state = match req.state {
            0 => None,
            s => Some(
                state_from_proto(s)
                    .ok_or_else(|| DomainError::invalid("state", "is not a known state"))?,
            ),
        };
        let publisher_id = non_empty(&req.publisher)
            .map(|p| {
                Collection::Organizations
                    .parse(p, "publisher")
                    .map(str::to_owned)
            })
            .transpose()?;
        let view = pb::ChallengeView::try_from(req.view)
            .map_err(|_| DomainError::invalid("view", "is not a known view"))?;
        let filters = format!(
            "state={};field={};publisher={};title={}",
            req.state, req.industry_field, req.publisher, req.title_contains
        );
        let cursor = decode_token(&req.page_token, &filters)?;
        let filter = ChallengeFilter {
            state,
            industry_field: non_empty(&req.industry_field).map(str::to_owned),
            publisher_id,
            title_contains: non_empty(&req.title_contains).map(str::to_owned),
            viewer_is_admin: caller.is_admin(),
            viewer_organization_id: caller.organization_id.clone(),
            before_id: cursor,
            limit: size + 1,
        };
        let now = self.platform.now();
        let found = rows::list(&self.platform.store, &filter, now).await?;
        let (page, next_page_token) = finish_page(found, size, &filters, |c| c.id.clone());
        let render = match view {
            pb::ChallengeView::Full => challenge_to_proto,
            pb::ChallengeView::Basic | pb::ChallengeView::Unspecified => challenge_to_basic_proto,
        };
        Ok(pb::ListChallengesResponse {
            challenges: page.iter().map(|c| render(c, now)).collect(),
            next_page_token,
        })
    }

    async fn update(
        &self,
        caller: Caller,
        req: pb::UpdateChallengeRequest,
    ) -> Result<pb::Challenge, ApiError> {
        let input = req
            .challenge
            .clone()
            .ok_or_else(|| DomainError::invalid("challenge", "must be set"))?;
        let incoming = spec_from_proto(&input, self.platform.now());
        let paths = req.update_mask.clone().map(|m| m.paths).unwrap_or_default();
        let idem = Idempotency::new(
            &caller,
            &req.request_id,
            "/jiebang.v1.ChallengeService/UpdateChallenge",
            digest_without_request_id(&req, |r| r.request_id.clear()),
        )?;
        if input.etag.is_empty() {
            return Err(DomainError::invalid("challenge.etag", "is required for updates").into());
        }
        let t = Transition {
            name: &input.name,
            etag: &input.etag,
            action: "challenge.updated",
            event_type: pb::EventType::ChallengeUpdated,
        };
        self.transition(&caller, &idem, t, |current, now| {
            let merged = merge_masked(&current.spec, incoming.clone(), &paths)?;
            current
                .update(&caller, merged, now)
                .map_err(|e| e.within("challenge"))
        })
        .await
    }
}

macro_rules! transition_rpc {
    ($self:ident, $request:ident, $method:literal, $action:literal, $event:ident, |$c:ident, $caller:ident, $req:ident, $now:ident| $decide:expr) => {{
        let $caller = caller(&$request).map_err(ApiError::from)?;
        let $req = $request.into_inner();
        let idem = Idempotency::new(
            &$caller,
            &$req.request_id,
            concat!("/jiebang.v1.ChallengeService/", $method),
            digest_without_request_id(&$req, |r| r.request_id.clear()),
        )
        .map_err(ApiError::from)?;
        let t = Transition {
            name: &$req.name,
            etag: &$req.etag,
            action: $action,
            event_type: pb::EventType::$event,
        };
        $self
            .transition(&$caller, &idem, t, |$c, $now| $decide)
            .await
            .map_err(Status::from)?
    }};
}

#[tonic::async_trait]
impl ChallengeService for ChallengeApi {
    #[tracing::instrument(skip_all, fields(rpc = "CreateChallenge"))]
    async fn create_challenge(
        &self,
        request: Request<pb::CreateChallengeRequest>,
    ) -> Result<Response<pb::CreateChallengeResponse>, Status> {
        let caller = caller(&request).map_err(ApiError::from)?;
        let challenge = self.create(caller, request.into_inner()).await?;
        Ok(Response::new(pb::CreateChallengeResponse {
            challenge: Some(challenge),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "GetChallenge"))]
    async fn get_challenge(
        &self,
        request: Request<pb::GetChallengeRequest>,
    ) -> Result<Response<pb::GetChallengeResponse>, Status> {
        let caller = caller(&request).map_err(ApiError::from)?;
        let challenge = self.get(caller, request.into_inner()).await?;
        Ok(Response::new(pb::GetChallengeResponse {
            challenge: Some(challenge),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "ListChallenges"))]
    async fn list_challenges(
        &self,
        request: Request<pb::ListChallengesRequest>,
    ) -> Result<Response<pb::ListChallengesResponse>, Status> {
        let caller = caller(&request).map_err(ApiError::from)?;
        Ok(Response::new(
            self.list(caller, request.into_inner()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(rpc = "UpdateChallenge"))]
    async fn update_challenge(
        &self,
        request: Request<pb::UpdateChallengeRequest>,
    ) -> Result<Response<pb::UpdateChallengeResponse>, Status> {
        let caller = caller(&request).map_err(ApiError::from)?;
        let challenge = self.update(caller, request.into_inner()).await?;
        Ok(Response::new(pb::UpdateChallengeResponse {
            challenge: Some(challenge),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "SubmitChallenge"))]
    async fn submit_challenge(
        &self,
        request: Request<pb::SubmitChallengeRequest>,
    ) -> Result<Response<pb::SubmitChallengeResponse>, Status> {
        let challenge = transition_rpc!(
            self,
            request,
            "SubmitChallenge",
            "challenge.submitted",
            ChallengeSubmitted,
            |c, caller, req, now| c.submit(&caller, now)
        );
        Ok(Response::new(pb::SubmitChallengeResponse {
            challenge: Some(challenge),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "ApproveChallenge"))]
    async fn approve_challenge(
        &self,
        request: Request<pb::ApproveChallengeRequest>,
    ) -> Result<Response<pb::ApproveChallengeResponse>, Status> {
        let challenge = transition_rpc!(
            self,
            request,
            "ApproveChallenge",
            "challenge.approved",
            ChallengeApproved,
            |c, caller, req, now| c.approve(&caller, now)
        );
        Ok(Response::new(pb::ApproveChallengeResponse {
            challenge: Some(challenge),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "RejectChallenge"))]
    async fn reject_challenge(
        &self,
        request: Request<pb::RejectChallengeRequest>,
    ) -> Result<Response<pb::RejectChallengeResponse>, Status> {
        let challenge = transition_rpc!(
            self,
            request,
            "RejectChallenge",
            "challenge.rejected",
            ChallengeRejected,
            |c, caller, req, now| c.reject(&caller, &req.reason, now)
        );
        Ok(Response::new(pb::RejectChallengeResponse {
            challenge: Some(challenge),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "PublishChallenge"))]
    async fn publish_challenge(
        &self,
        request: Request<pb::PublishChallengeRequest>,
    ) -> Result<Response<pb::PublishChallengeResponse>, Status> {
        let open = optional_time(
            request.get_ref().application_open_time.as_ref(),
            "application_open_time",
        )
        .map_err(ApiError::from)?;
        let close = optional_time(
            request.get_ref().application_close_time.as_ref(),
            "application_close_time",
        )
        .map_err(ApiError::from)?;
        let limits = self.platform.settings.publication;
        let challenge = transition_rpc!(
            self,
            request,
            "PublishChallenge",
            "challenge.published",
            ChallengePublished,
            |c, caller, req, now| c.publish(&caller, open, close, limits, now)
        );
        Ok(Response::new(pb::PublishChallengeResponse {
            challenge: Some(challenge),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "CancelChallenge"))]
    async fn cancel_challenge(
        &self,
        request: Request<pb::CancelChallengeRequest>,
    ) -> Result<Response<pb::CancelChallengeResponse>, Status> {
        let reason = cancellation_from_proto(request.get_ref().reason);
        let challenge = transition_rpc!(
            self,
            request,
            "CancelChallenge",
            "challenge.cancelled",
            ChallengeCancelled,
            |c, caller, req, now| c.cancel(&caller, reason, &req.note, now)
        );
        Ok(Response::new(pb::CancelChallengeResponse {
            challenge: Some(challenge),
        }))
    }
}
