//! The `ApplicationService` handlers for applications.

use crate::convert::{
    application_to_proto, content_from_proto, merge_masked, reasons_from_proto, state_from_proto,
};
use crate::references;
use jiebang_domain::application::{Application, EligibilityFacts, Pledge, access};
use jiebang_domain::audience::Audience;
use jiebang_domain::challenge::Challenge;
use jiebang_domain::ids::{Collection, new_id, parse_application_name, parse_document_name};
use jiebang_domain::{Caller, DomainError, Timestamp};
use jiebang_grpc::convert::{non_empty, optional_time};
use jiebang_grpc::idempotency::{Idempotency, digest};
use jiebang_grpc::paging::{self, decode_token, finish_page, page_size};
use jiebang_grpc::platform::ChangeBuilder;
use jiebang_grpc::{ApiError, Platform, caller};
use jiebang_proto::v1 as pb;
use jiebang_proto::v1::application_service_server::ApplicationService;
use jiebang_storage::applications::{self as rows, ApplicationFilter};
use jiebang_storage::{StoreError, challenges};
use prost::Message;
use sha2::{Digest, Sha256};
use std::pin::Pin;
use tokio_stream::Stream;
use tonic::{Request, Response, Status, Streaming};

pub struct ApplicationApi {
    platform: Platform,
}

impl ApplicationApi {
    pub fn new(platform: Platform) -> Self {
        Self { platform }
    }

    pub(crate) fn platform(&self) -> &Platform {
        &self.platform
    }
}

/// Who hears about a change to an application: its team (and the bureau, which sees all).
fn audience_of(application: &Application) -> Vec<Audience> {
    application
        .team_user_ids()
        .into_iter()
        .map(Audience::User)
        .collect()
}

fn digest_without_request_id<M: Message + Clone>(
    request: &M,
    clear: impl FnOnce(&mut M),
) -> String {
    let mut copy = request.clone();
    clear(&mut copy);
    digest(&copy)
}

/// Combines reading violations with the content's own rules, paths under `application.`.
fn checked_content(
    a: &pb::Application,
    lead_organization_id: &str,
) -> Result<jiebang_domain::application::ApplicationContent, DomainError> {
    let (content, mut violations) = content_from_proto(a);
    if let Err(DomainError::InvalidArgument(more)) = content.validate(lead_organization_id) {
        violations.extend(more);
    }
    if violations.is_empty() {
        Ok(content)
    } else {
        Err(DomainError::InvalidArgument(violations).within("application"))
    }
}

struct Transition<'a> {
    name: &'a str,
    etag: &'a str,
    action: &'static str,
    event_type: pb::EventType,
}

impl ApplicationApi {
    async fn load_challenge(
        &self,
        caller: &Caller,
        challenge_id: &str,
    ) -> Result<Challenge, ApiError> {
        let challenge = challenges::get(&self.platform.store, challenge_id)
            .await?
            .ok_or_else(|| DomainError::not_found(Collection::Challenges.name(challenge_id)))?;
        jiebang_domain::challenge::access::ensure_can_read(caller, &challenge)?;
        Ok(challenge)
    }

    /// The application and its challenge, if the caller may read them (NOT_FOUND otherwise).
    pub(crate) async fn load(
        &self,
        caller: &Caller,
        name: &str,
    ) -> Result<(Application, Challenge), ApiError> {
        let (challenge_id, id) = parse_application_name(name, "name")?;
        let mut conn = self
            .platform
            .store
            .pool()
            .acquire()
            .await
            .map_err(StoreError::from)?;
        let application = rows::get(&mut conn, challenge_id, id)
            .await?
            .ok_or_else(|| DomainError::not_found(name))?;
        drop(conn);
        let challenge = challenges::get(&self.platform.store, challenge_id)
            .await?
            .ok_or_else(|| DomainError::not_found(name))?;
        access::ensure_can_read(caller, &application, &challenge, self.platform.now())?;
        Ok((application, challenge))
    }

    async fn save(
        &self,
        caller: &Caller,
        idem: &Idempotency,
        expected_version: Option<i64>,
        next: &Application,
        action: &'static str,
        event_type: pb::EventType,
    ) -> Result<pb::Application, ApiError> {
        let mut tx = self.platform.store.begin().await?;
        match expected_version {
            Some(version) => rows::update(&mut tx, next, version).await?,
            None => rows::insert(&mut tx, next).await?,
        }
        self.commit(tx, caller, idem, next, action, event_type)
            .await
    }

    async fn commit(
        &self,
        tx: jiebang_storage::Tx,
        caller: &Caller,
        idem: &Idempotency,
        next: &Application,
        action: &'static str,
        event_type: pb::EventType,
    ) -> Result<pb::Application, ApiError> {
        let response = application_to_proto(next);
        let audience = audience_of(next);
        let change = ChangeBuilder {
            at: next.updated_at,
            actor: caller.actor(),
            action,
            event_type,
            resource: next.name(),
            chain: None,
            state: pb::ApplicationState::try_from(response.state)
                .map(|s| s.as_str_name().to_owned())
                .unwrap_or_default(),
            summary: next.content.title.clone(),
            audience: &audience,
            idempotency: idem,
        }
        .build(&response);
        self.platform.commit(tx, &change).await?;
        Ok(response)
    }

    async fn transition(
        &self,
        caller: &Caller,
        idem: &Idempotency,
        t: Transition<'_>,
        decide: impl Fn(&Application, &Challenge, Timestamp) -> Result<Application, DomainError>,
    ) -> Result<pb::Application, ApiError> {
        let (decide, t) = (&decide, &t);
        self.platform
            .mutate(idem, move || async move {
                let (current, challenge) = self.load(caller, t.name).await?;
                current.check_etag(t.etag)?;
                let next = decide(&current, &challenge, self.platform.now())?;
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

    async fn create(
        &self,
        caller: Caller,
        req: pb::CreateApplicationRequest,
    ) -> Result<pb::Application, ApiError> {
        access::ensure_can_apply(&caller)?;
        let challenge_id = Collection::Challenges
            .parse(&req.parent, "parent")?
            .to_owned();
        let input = req
            .application
            .clone()
            .ok_or_else(|| DomainError::invalid("application", "must be set"))?;
        let content = checked_content(&input, &caller.organization_id)?;
        let challenge = self.load_challenge(&caller, &challenge_id).await?;
        references::check(
            &self.platform.store,
            &caller,
            &caller.organization_id,
            &content,
            &[],
        )
        .await?;
        let idem = Idempotency::new(
            &caller,
            &req.request_id,
            "/jiebang.v1.ApplicationService/CreateApplication",
            digest_without_request_id(&req, |r| r.request_id.clear()),
        )?;
        let (caller, idem, content, challenge) = (&caller, &idem, &content, &challenge);
        self.platform
            .mutate(idem, move || async move {
                let application = Application::draft(
                    caller,
                    new_id(),
                    challenge,
                    content.clone(),
                    self.platform.now(),
                )
                .map_err(|e| e.within("application"))?;
                self.save(
                    caller,
                    idem,
                    None,
                    &application,
                    "application.created",
                    pb::EventType::ApplicationCreated,
                )
                .await
            })
            .await
    }

    async fn list(
        &self,
        caller: Caller,
        req: pb::ListApplicationsRequest,
    ) -> Result<pb::ListApplicationsResponse, ApiError> {
        let size = page_size(
            req.page_size,
            paging::DEFAULT_PAGE_SIZE,
            paging::MAX_PAGE_SIZE,
        )?;
        let challenge_id = match req.parent.as_str() {
            "" | "challenges/-" => None,
            parent => Some(Collection::Challenges.parse(parent, "parent")?.to_owned()),
        };
        let state = match req.state {
            0 => None,
            s => Some(
                state_from_proto(s)
                    .ok_or_else(|| DomainError::invalid("state", "is not a known state"))?,
            ),
        };
        let lead = non_empty(&req.lead_organization)
            .map(|o| {
                Collection::Organizations
                    .parse(o, "lead_organization")
                    .map(str::to_owned)
            })
            .transpose()?;
        let filters = format!(
            "parent={};state={};lead={}",
            req.parent, req.state, req.lead_organization
        );
        let cursor = decode_token(&req.page_token, &filters)?;
        let filter = ApplicationFilter {
            challenge_id,
            state,
            lead_organization_id: lead,
            viewer_is_admin: caller.is_admin(),
            viewer_user_id: caller.user_id.clone(),
            viewer_publisher_org: (caller.role == jiebang_domain::identity::Role::Publisher)
                .then(|| caller.organization_id.clone()),
            before_id: cursor,
            limit: size + 1,
        };
        let found = rows::list(&self.platform.store, &filter, self.platform.now()).await?;
        let (page, next_page_token) = finish_page(found, size, &filters, |a| a.id.clone());
        Ok(pb::ListApplicationsResponse {
            applications: page.iter().map(application_to_proto).collect(),
            next_page_token,
        })
    }

    async fn update(
        &self,
        caller: Caller,
        req: pb::UpdateApplicationRequest,
    ) -> Result<pb::Application, ApiError> {
        let input = req
            .application
            .clone()
            .ok_or_else(|| DomainError::invalid("application", "must be set"))?;
        if input.etag.is_empty() {
            return Err(DomainError::invalid("application.etag", "is required for updates").into());
        }
        let paths = req.update_mask.clone().map(|m| m.paths).unwrap_or_default();
        let incoming = content_from_proto(&input);
        let idem = Idempotency::new(
            &caller,
            &req.request_id,
            "/jiebang.v1.ApplicationService/UpdateApplication",
            digest_without_request_id(&req, |r| r.request_id.clear()),
        )?;
        let (caller, idem, incoming, paths, input) = (&caller, &idem, &incoming, &paths, &input);
        self.platform
            .mutate(idem, move || async move {
                let (current, _) = self.load(caller, &input.name).await?;
                current.check_etag(&input.etag)?;
                let merged = merge_masked(&current.content, incoming.clone(), paths)?;
                references::check(
                    &self.platform.store,
                    caller,
                    &current.lead_organization_id,
                    &merged,
                    &current.content.documents,
                )
                .await?;
                let next = current
                    .update(caller, merged, self.platform.now())
                    .map_err(|e| e.within("application"))?;
                self.save(
                    caller,
                    idem,
                    Some(current.version),
                    &next,
                    "application.updated",
                    pb::EventType::ApplicationUpdated,
                )
                .await
            })
            .await
    }

    fn pledge_from_proto(
        &self,
        caller: &Caller,
        pledge: Option<&pb::ResponsibilityPledge>,
    ) -> Result<Pledge, DomainError> {
        let p = pledge.ok_or_else(|| {
            DomainError::invalid(
                "pledge",
                "the signed responsibility pledge (军令状) is required",
            )
        })?;
        let signer = Collection::Users.parse(&p.signer, "pledge.signer")?;
        let signed_at = optional_time(p.sign_time.as_ref(), "pledge.sign_time")?
            .ok_or_else(|| DomainError::invalid("pledge.sign_time", "must be set"))?;
        let signed_document = non_empty(&p.signed_document)
            .map(|d| parse_document_name(d, "pledge.signed_document").map(str::to_owned))
            .transpose()?;
        let _ = caller;
        Ok(Pledge {
            signer_id: signer.to_owned(),
            signed_at,
            text: p.text.clone(),
            signed_document,
            text_sha256: hex::encode(Sha256::digest(p.text.as_bytes())),
        })
    }

    /// The facts the eligibility rules need, read inside the submitting transaction after the
    /// organisations involved are locked, so concurrent submissions count each other.
    async fn eligibility_facts(
        &self,
        tx: &mut jiebang_storage::Tx,
        a: &Application,
    ) -> Result<EligibilityFacts, ApiError> {
        let orgs = a.content.organization_ids(&a.lead_organization_id);
        rows::lock_organizations(tx, &orgs).await?;
        let standings = rows::standings(tx, a, &orgs, self.platform.now()).await?;
        let standing = |org: &str| standings.iter().find(|s| s.organization_id == org);
        let lead = standing(&a.lead_organization_id).ok_or_else(|| {
            DomainError::not_found(Collection::Organizations.name(&a.lead_organization_id))
        })?;
        let having = |test: fn(&rows::Standing) -> bool| {
            orgs.iter()
                .filter(|org| standing(org).is_some_and(test))
                .cloned()
                .collect::<Vec<_>>()
        };
        Ok(EligibilityFacts {
            lead_organization_id: lead.organization_id.clone(),
            lead_type: lead.org_type,
            lead_region: lead.region.clone(),
            applications_in_round: orgs
                .iter()
                .map(|org| {
                    let count = standing(org).map_or(0, |s| s.applications_in_round);
                    (org.clone(), count)
                })
                .collect(),
            past_winners: having(|s| s.won_in_round),
            barred: having(|s| s.barred),
            lead_already_applied: lead.leads_another,
        })
    }

    async fn submit(
        &self,
        caller: Caller,
        req: pb::SubmitApplicationRequest,
    ) -> Result<pb::Application, ApiError> {
        let pledge = self.pledge_from_proto(&caller, req.pledge.as_ref())?;
        if let Some(doc) = &pledge.signed_document {
            let mut conn = self
                .platform
                .store
                .pool()
                .acquire()
                .await
                .map_err(StoreError::from)?;
            if !jiebang_storage::documents::uploaded_by(&mut conn, doc, &caller.user_id).await? {
                return Err(DomainError::invalid(
                    "pledge.signed_document",
                    "is not a document you uploaded",
                )
                .into());
            }
        }
        let idem = Idempotency::new(
            &caller,
            &req.request_id,
            "/jiebang.v1.ApplicationService/SubmitApplication",
            digest_without_request_id(&req, |r| r.request_id.clear()),
        )?;
        let (caller, idem, pledge, req) = (&caller, &idem, &pledge, &req);
        self.platform
            .mutate(idem, move || async move {
                let (challenge_id, id) = parse_application_name(&req.name, "name")?;
                let mut tx = self.platform.store.begin().await?;
                let (current, challenge) =
                    rows::get_with_challenge_shared(&mut tx, challenge_id, id)
                        .await?
                        .ok_or_else(|| DomainError::not_found(&req.name))?;
                // Access first, so outsiders learn nothing.
                access::ensure_can_read(caller, &current, &challenge, self.platform.now())?;
                current.check_etag(&req.etag)?;
                let facts = self.eligibility_facts(&mut tx, &current).await?;
                // The deadline is compared with this instant: taken inside the committing
                // transaction, after every lock it needs.
                let now = self.platform.now();
                let next = current.submit(caller, &challenge, pledge.clone(), &facts, now)?;
                if req.validate_only {
                    return Ok(application_to_proto(&current));
                }
                // Submission changes no content, so the team, organisation and document rows
                // stand.
                rows::queue_update_row(&mut tx, &next, current.version)?;
                self.commit(tx, caller, idem, &next, "application.submitted", pb::EventType::ApplicationSubmitted)
                    .await
                    .map_err(|e| match e {
                        // Two applications of one lead submitted at once: the second meets the
                        // unique index when the writes are sent.
                        ApiError::Store(e) if e.is_unique_on("one_per_lead") || e.is_unique_on("applications.challenge_id") => {
                            DomainError::Ineligible(vec![jiebang_domain::application::IneligibilityReason {
                                rule: jiebang_domain::application::EligibilityRule::DuplicateApplication,
                                detail: format!(
                                    "organizations/{} already has a submitted application for this challenge",
                                    current.lead_organization_id
                                ),
                            }])
                            .into()
                        }
                        other => other,
                    })
            })
            .await
    }
}

type DownloadStream =
    Pin<Box<dyn Stream<Item = Result<pb::DownloadDocumentResponse, Status>> + Send>>;

#[tonic::async_trait]
impl ApplicationService for ApplicationApi {
    type DownloadDocumentStream = DownloadStream;

    #[tracing::instrument(skip_all, fields(rpc = "CreateApplication"))]
    async fn create_application(
        &self,
        request: Request<pb::CreateApplicationRequest>,
    ) -> Result<Response<pb::CreateApplicationResponse>, Status> {
        jiebang_grpc::authed!(self, request, create, |a| pb::CreateApplicationResponse {
            application: Some(a)
        })
    }

    #[tracing::instrument(skip_all, fields(rpc = "GetApplication"))]
    async fn get_application(
        &self,
        request: Request<pb::GetApplicationRequest>,
    ) -> Result<Response<pb::GetApplicationResponse>, Status> {
        let caller = caller(&request).map_err(ApiError::from)?;
        let (application, _) = self.load(&caller, &request.get_ref().name).await?;
        Ok(Response::new(pb::GetApplicationResponse {
            application: Some(application_to_proto(&application)),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "ListApplications"))]
    async fn list_applications(
        &self,
        request: Request<pb::ListApplicationsRequest>,
    ) -> Result<Response<pb::ListApplicationsResponse>, Status> {
        jiebang_grpc::authed!(self, request, list, |r| r)
    }

    #[tracing::instrument(skip_all, fields(rpc = "UpdateApplication"))]
    async fn update_application(
        &self,
        request: Request<pb::UpdateApplicationRequest>,
    ) -> Result<Response<pb::UpdateApplicationResponse>, Status> {
        jiebang_grpc::authed!(self, request, update, |a| pb::UpdateApplicationResponse {
            application: Some(a)
        })
    }

    #[tracing::instrument(skip_all, fields(rpc = "SubmitApplication"))]
    async fn submit_application(
        &self,
        request: Request<pb::SubmitApplicationRequest>,
    ) -> Result<Response<pb::SubmitApplicationResponse>, Status> {
        jiebang_grpc::authed!(self, request, submit, |a| pb::SubmitApplicationResponse {
            application: Some(a)
        })
    }

    #[tracing::instrument(skip_all, fields(rpc = "WithdrawApplication"))]
    async fn withdraw_application(
        &self,
        request: Request<pb::WithdrawApplicationRequest>,
    ) -> Result<Response<pb::WithdrawApplicationResponse>, Status> {
        let caller = caller(&request).map_err(ApiError::from)?;
        let req = request.into_inner();
        let idem = Idempotency::new(
            &caller,
            &req.request_id,
            "/jiebang.v1.ApplicationService/WithdrawApplication",
            digest_without_request_id(&req, |r| r.request_id.clear()),
        )
        .map_err(ApiError::from)?;
        let t = Transition {
            name: &req.name,
            etag: &req.etag,
            action: "application.withdrawn",
            event_type: pb::EventType::ApplicationWithdrawn,
        };
        let application = self
            .transition(&caller, &idem, t, |a, c, now| {
                a.withdraw(&caller, c, &req.reason, now)
            })
            .await?;
        Ok(Response::new(pb::WithdrawApplicationResponse {
            application: Some(application),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "RecordFormalCheck"))]
    async fn record_formal_check(
        &self,
        request: Request<pb::RecordFormalCheckRequest>,
    ) -> Result<Response<pb::RecordFormalCheckResponse>, Status> {
        let caller = caller(&request).map_err(ApiError::from)?;
        let req = request.into_inner();
        let reasons = reasons_from_proto(&req.reasons)
            .map_err(|v| ApiError::from(DomainError::InvalidArgument(v)))?;
        let eligible = match pb::FormalCheckOutcome::try_from(req.outcome) {
            Ok(pb::FormalCheckOutcome::Eligible) => Some(true),
            Ok(pb::FormalCheckOutcome::Ineligible) => Some(false),
            _ => None,
        };
        let idem = Idempotency::new(
            &caller,
            &req.request_id,
            "/jiebang.v1.ApplicationService/RecordFormalCheck",
            digest_without_request_id(&req, |r| r.request_id.clear()),
        )
        .map_err(ApiError::from)?;
        let t = Transition {
            name: &req.name,
            etag: &req.etag,
            action: "application.formal_check_recorded",
            event_type: if eligible == Some(true) {
                pb::EventType::ApplicationEligible
            } else {
                pb::EventType::ApplicationIneligible
            },
        };
        let application = self
            .transition(&caller, &idem, t, |a, c, now| {
                a.record_formal_check(&caller, c, eligible, reasons.clone(), now)
            })
            .await?;
        Ok(Response::new(pb::RecordFormalCheckResponse {
            application: Some(application),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "GetBlindView"))]
    async fn get_blind_view(
        &self,
        request: Request<pb::GetBlindViewRequest>,
    ) -> Result<Response<pb::GetBlindViewResponse>, Status> {
        let caller = caller(&request).map_err(ApiError::from)?;
        let blind = self.blind_view(&caller, &request.get_ref().name).await?;
        Ok(Response::new(pb::GetBlindViewResponse {
            blind_application: Some(blind),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "UploadDocument"))]
    async fn upload_document(
        &self,
        request: Request<Streaming<pb::UploadDocumentRequest>>,
    ) -> Result<Response<pb::UploadDocumentResponse>, Status> {
        self.upload(request).await.map(Response::new)
    }

    #[tracing::instrument(skip_all, fields(rpc = "DownloadDocument"))]
    async fn download_document(
        &self,
        request: Request<pb::DownloadDocumentRequest>,
    ) -> Result<Response<Self::DownloadDocumentStream>, Status> {
        let caller = caller(&request).map_err(ApiError::from)?;
        let rx = self.download(caller, request.into_inner()).await?;
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    #[tracing::instrument(skip_all, fields(rpc = "GetDocument"))]
    async fn get_document(
        &self,
        request: Request<pb::GetDocumentRequest>,
    ) -> Result<Response<pb::GetDocumentResponse>, Status> {
        let caller = caller(&request).map_err(ApiError::from)?;
        let sha = parse_document_name(&request.get_ref().name, "name").map_err(ApiError::from)?;
        let document = self.describe(&caller, sha).await?;
        Ok(Response::new(pb::GetDocumentResponse {
            document: Some(document),
        }))
    }
}
