//! The `MilestoneService` handlers.

use jiebang_domain::audience::Audience;
use jiebang_domain::identity::Role;
use jiebang_domain::ids::{Collection, new_id};
use jiebang_domain::milestone::ledger;
use jiebang_domain::{Caller, DomainError};
use jiebang_grpc::convert::to_proto_time;
use jiebang_grpc::idempotency::{Idempotency, digest};
use jiebang_grpc::paging::{decode_token, finish_page, page_size};
use jiebang_grpc::platform::ChangeBuilder;
use jiebang_grpc::{ApiError, Platform};
use jiebang_proto::v1 as pb;
use jiebang_proto::v1::milestone_service_server::MilestoneService;
use jiebang_storage::projects::{self as rows, DisbursementRow, MilestoneRow, ProjectRecord};
use jiebang_storage::{StoreError, applications, challenges};
use sqlx::AnyConnection;
use tonic::{Request, Response, Status};

pub struct MilestoneApi {
    platform: Platform,
}

impl MilestoneApi {
    pub fn new(platform: Platform) -> Self {
        Self { platform }
    }

    pub(crate) fn platform(&self) -> &Platform {
        &self.platform
    }
}

pub(crate) fn parse_project(name: &str, field: &str) -> Result<String, DomainError> {
    name.strip_prefix("projects/")
        .filter(|id| {
            !id.is_empty()
                && id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        .map(str::to_owned)
        .ok_or_else(|| DomainError::invalid(field, "must be a project name like projects/{id}"))
}

pub(crate) fn milestone_to_proto(m: &MilestoneRow) -> pb::Milestone {
    pb::Milestone {
        name: format!("projects/{}/milestones/{}", m.project_id, m.id),
        sequence: m.position,
        title: m.title.clone(),
        deliverables: m.plan.deliverables.clone(),
        indicator_targets: m
            .plan
            .targets
            .iter()
            .map(|(i, v)| pb::IndicatorTarget {
                indicator: i.clone(),
                target_value: v.clone(),
            })
            .collect(),
        share_basis_points: m.share_bp,
        tranche_fen: m.tranche_fen,
        mid_term: m.plan.mid_term,
        final_acceptance: m.plan.final_acceptance,
        state: pb::MilestoneState::from_str_name(&format!("MILESTONE_STATE_{}", m.state))
            .map_or(0, |s| s as i32),
        due_time: Some(to_proto_time(m.due_at)),
        original_due_time: Some(to_proto_time(m.original_due_at)),
        update_time: Some(to_proto_time(m.updated_at)),
        etag: m.version.to_string(),
        ..Default::default()
    }
}

fn disbursement_to_proto(d: &DisbursementRow, cumulative: i64) -> pb::Disbursement {
    pb::Disbursement {
        name: format!("projects/{}/disbursements/{}", d.project_id, d.id),
        milestone: d
            .milestone_id
            .as_deref()
            .map(|m| format!("projects/{}/milestones/{m}", d.project_id))
            .unwrap_or_default(),
        amount_fen: d.amount_fen,
        share_basis_points: d.share_bp,
        approver: Collection::Users.name(&d.approver_id),
        disburse_time: Some(to_proto_time(d.disbursed_at)),
        cumulative_fen: cumulative,
    }
}

impl MilestoneApi {
    /// The project, if the caller may read it: the bureau, the team, the challenge's publisher.
    pub(crate) async fn load(
        &self,
        conn: &mut AnyConnection,
        caller: &Caller,
        name: &str,
    ) -> Result<ProjectRecord, ApiError> {
        let id = parse_project(name, "name")?;
        let project = rows::get_project(conn, &id)
            .await?
            .ok_or_else(|| DomainError::not_found(name))?;
        let application = applications::get(conn, &project.challenge_id, &project.application_id)
            .await?
            .ok_or_else(|| DomainError::not_found(name))?;
        let challenge = challenges::get_in(conn, &project.challenge_id)
            .await?
            .ok_or_else(|| DomainError::not_found(name))?;
        let allowed = caller.is_admin()
            || jiebang_domain::application::access::is_team(caller, &application)
            || (caller.role == Role::Publisher && caller.organization_id == challenge.publisher_id);
        if allowed {
            Ok(project)
        } else {
            Err(DomainError::not_found(name).into())
        }
    }

    pub(crate) async fn project_to_proto(
        &self,
        conn: &mut AnyConnection,
        p: &ProjectRecord,
    ) -> Result<pb::Project, ApiError> {
        let application = applications::get(conn, &p.challenge_id, &p.application_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("project without application".into()))?;
        let challenge = challenges::get_in(conn, &p.challenge_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("project without challenge".into()))?;
        let milestones = rows::milestones_of(conn, &p.id).await?;
        let disbursed: i64 = rows::disbursements(conn, &p.id)
            .await?
            .iter()
            .map(|d| d.amount_fen)
            .sum();
        Ok(pb::Project {
            name: format!("projects/{}", p.id),
            challenge: challenge.name(),
            application: application.name(),
            title: application.content.title.clone(),
            lead_organization: Collection::Organizations.name(&application.lead_organization_id),
            partner_organizations: application
                .content
                .partner_organization_ids
                .iter()
                .map(|o| Collection::Organizations.name(o))
                .collect(),
            lead_person: Collection::Users.name(&application.content.lead_person_id),
            state: pb::ProjectState::from_str_name(&format!("PROJECT_STATE_{}", p.state))
                .map_or(0, |s| s as i32),
            award_fen: p.award_fen,
            disbursed_fen: disbursed,
            signing_share_basis_points: p.signing_share_bp,
            horse_race: challenge.spec.winners_count >= 2,
            start_time: Some(to_proto_time(p.start_at)),
            end_time: p.ended_at.map(to_proto_time),
            milestone_count: i32::try_from(milestones.len()).unwrap_or(i32::MAX),
            accepted_milestone_count: i32::try_from(
                milestones
                    .iter()
                    .filter(|m| m.state.starts_with("ACCEPTED"))
                    .count(),
            )
            .unwrap_or(i32::MAX),
            create_time: Some(to_proto_time(p.created_at)),
            update_time: Some(to_proto_time(p.updated_at)),
            etag: p.version.to_string(),
            extension: crate::ending::extension_to_proto(&p.id, p.extension.as_deref()),
            failure: crate::ending::failure_to_proto(&p.id, p.failure.as_deref()),
            stop_reason: p.stop_reason.clone().unwrap_or_default(),
            ..Default::default()
        })
    }

    async fn get_project(
        &self,
        caller: Caller,
        req: pb::GetProjectRequest,
    ) -> Result<pb::Project, ApiError> {
        let mut conn = self
            .platform
            .store
            .pool()
            .acquire()
            .await
            .map_err(StoreError::from)?;
        let project = self.load(&mut conn, &caller, &req.name).await?;
        self.project_to_proto(&mut conn, &project).await
    }

    async fn list_projects(
        &self,
        caller: Caller,
        req: pb::ListProjectsRequest,
    ) -> Result<pb::ListProjectsResponse, ApiError> {
        let size = page_size(req.page_size, 20, 100)?;
        let challenge = if req.challenge.is_empty() {
            None
        } else {
            Some(
                Collection::Challenges
                    .parse(&req.challenge, "challenge")?
                    .to_owned(),
            )
        };
        let lead = if req.lead_organization.is_empty() {
            None
        } else {
            Some(
                Collection::Organizations
                    .parse(&req.lead_organization, "lead_organization")?
                    .to_owned(),
            )
        };
        let state = match pb::ProjectState::try_from(req.state) {
            Ok(pb::ProjectState::Unspecified) => None,
            Ok(s) => Some(
                s.as_str_name()
                    .trim_start_matches("PROJECT_STATE_")
                    .to_owned(),
            ),
            Err(_) => return Err(DomainError::invalid("state", "unknown project state").into()),
        };
        let filters = format!(
            "challenge={};state={};lead={}",
            req.challenge, req.state, req.lead_organization
        );
        let cursor = decode_token(&req.page_token, &filters)?;
        let mut conn = self
            .platform
            .store
            .pool()
            .acquire()
            .await
            .map_err(StoreError::from)?;
        let publisher = (caller.role == Role::Publisher).then_some(caller.organization_id.as_str());
        let found = rows::list_projects(
            &mut conn,
            caller.is_admin(),
            &caller.user_id,
            publisher,
            rows::ProjectFilter {
                challenge_id: challenge.as_deref(),
                state: state.as_deref(),
                lead_organization_id: lead.as_deref(),
            },
            cursor.as_deref(),
            size + 1,
        )
        .await?;
        let (page, next_page_token) = finish_page(found, size, &filters, |p| p.id.clone());
        let mut projects = Vec::with_capacity(page.len());
        for p in &page {
            projects.push(self.project_to_proto(&mut conn, p).await?);
        }
        Ok(pb::ListProjectsResponse {
            projects,
            next_page_token,
        })
    }

    async fn list_milestones(
        &self,
        caller: Caller,
        req: pb::ListMilestonesRequest,
    ) -> Result<pb::ListMilestonesResponse, ApiError> {
        let mut conn = self
            .platform
            .store
            .pool()
            .acquire()
            .await
            .map_err(StoreError::from)?;
        if req.parent == "projects/-" {
            return self.list_visible_milestones(&mut conn, &caller, &req).await;
        }
        let project = self.load(&mut conn, &caller, &req.parent).await?;
        let milestones = rows::milestones_of(&mut conn, &project.id)
            .await?
            .iter()
            .filter(|m| {
                req.state == 0
                    || pb::MilestoneState::from_str_name(&format!("MILESTONE_STATE_{}", m.state))
                        .map(|s| s as i32)
                        == Some(req.state)
            })
            .map(milestone_to_proto)
            .collect();
        Ok(pb::ListMilestonesResponse {
            milestones,
            next_page_token: String::new(),
        })
    }

    /// `projects/-`: every milestone the caller may see, across projects — an expert's are
    /// those whose acceptance panel they sit on.
    async fn list_visible_milestones(
        &self,
        conn: &mut AnyConnection,
        caller: &Caller,
        req: &pb::ListMilestonesRequest,
    ) -> Result<pb::ListMilestonesResponse, ApiError> {
        let size = page_size(req.page_size, 20, 100)?;
        let state = match pb::MilestoneState::try_from(req.state) {
            Ok(pb::MilestoneState::Unspecified) => None,
            Ok(s) => Some(
                s.as_str_name()
                    .trim_start_matches("MILESTONE_STATE_")
                    .to_owned(),
            ),
            Err(_) => return Err(DomainError::invalid("state", "unknown milestone state").into()),
        };
        let filters = format!("parent=-;state={}", req.state);
        let cursor = decode_token(&req.page_token, &filters)?;
        let publisher = (caller.role == Role::Publisher).then_some(caller.organization_id.as_str());
        let found = rows::visible_milestones(
            conn,
            caller.is_admin(),
            &caller.user_id,
            publisher,
            state.as_deref(),
            cursor.as_deref(),
            size + 1,
        )
        .await?;
        let (page, next_page_token) = finish_page(found, size, &filters, |m| m.id.clone());
        Ok(pb::ListMilestonesResponse {
            milestones: page.iter().map(milestone_to_proto).collect(),
            next_page_token,
        })
    }

    async fn get_milestone(
        &self,
        caller: Caller,
        req: pb::GetMilestoneRequest,
    ) -> Result<pb::Milestone, ApiError> {
        let (project, milestone) = req.name.split_once("/milestones/").ok_or_else(|| {
            DomainError::invalid("name", "must be projects/{project}/milestones/{milestone}")
        })?;
        let mut conn = self
            .platform
            .store
            .pool()
            .acquire()
            .await
            .map_err(StoreError::from)?;
        let seats = rows::seats(&mut conn, milestone).await?;
        let seated = seats.iter().any(|s| s.user_id == caller.user_id);
        // Panel members read the milestone they accept, not the rest of the project.
        let project = match self.load(&mut conn, &caller, project).await {
            Ok(p) => p,
            Err(hidden) if seated => rows::get_project(&mut conn, &parse_project(project, "name")?)
                .await?
                .ok_or(hidden)?,
            Err(hidden) => return Err(hidden),
        };
        let row = rows::milestones_of(&mut conn, &project.id)
            .await?
            .into_iter()
            .find(|m| m.id == milestone)
            .ok_or_else(|| DomainError::not_found(&req.name))?;
        let mut view = milestone_to_proto(&row);
        let reports = rows::reports_of(&mut conn, &row.id).await?;
        view.reports = reports
            .iter()
            .map(|r| {
                crate::report::report_to_proto(r, &view.name, self.platform.settings.acceptance)
            })
            .collect();
        let current_report = reports.last().map(|r| r.id.clone());
        let voted: Vec<String> = rows::votes(&mut conn, &row.id, false)
            .await?
            .into_iter()
            .filter(|v| Some(&v.report_id) == current_report.as_ref())
            .map(|v| v.voter_id)
            .collect();
        let show_people = caller.is_admin() || seated || caller.role == Role::Publisher;
        view.acceptance_panel = crate::acceptance::panel_to_proto(&seats, &voted, show_people);
        view.decision = rows::acceptance(&mut conn, &row.id)
            .await?
            .decision
            .and_then(|d| crate::acceptance::decision_to_proto(&view.name, &d));
        Ok(view)
    }

    async fn list_disbursements(
        &self,
        caller: Caller,
        req: pb::ListDisbursementsRequest,
    ) -> Result<pb::ListDisbursementsResponse, ApiError> {
        let mut conn = self
            .platform
            .store
            .pool()
            .acquire()
            .await
            .map_err(StoreError::from)?;
        let project = self.load(&mut conn, &caller, &req.parent).await?;
        let mut cumulative = 0;
        let disbursements = rows::disbursements(&mut conn, &project.id)
            .await?
            .iter()
            .map(|d| {
                cumulative += d.amount_fen;
                disbursement_to_proto(d, cumulative)
            })
            .collect();
        Ok(pb::ListDisbursementsResponse {
            disbursements,
            next_page_token: String::new(),
        })
    }

    /// Releases one tranche exactly once: the (project, tranche) key is unique, so a retry or
    /// a racing call finds the first release and returns it.
    async fn release(
        &self,
        caller: Caller,
        req: pb::ReleaseTrancheRequest,
    ) -> Result<pb::ReleaseTrancheResponse, ApiError> {
        jiebang_domain::challenge::access::ensure_admin(&caller, "release funds")?;
        let project_id = parse_project(&req.project, "project")?;
        let milestone_id = if req.milestone.is_empty() {
            None
        } else {
            let (p, m) = req.milestone.split_once("/milestones/").ok_or_else(|| {
                DomainError::invalid(
                    "milestone",
                    "must be projects/{project}/milestones/{milestone}",
                )
            })?;
            if p != req.project {
                return Err(DomainError::invalid("milestone", "belongs to another project").into());
            }
            Some(m.to_owned())
        };
        let tranche = milestone_id.clone().unwrap_or_else(|| "signing".into());
        let idem = Idempotency::new(
            &caller,
            &req.request_id,
            "/jiebang.v1.MilestoneService/ReleaseTranche",
            digest(&pb::ReleaseTrancheRequest {
                request_id: String::new(),
                ..req.clone()
            }),
        )?;
        let platform = &self.platform;
        let (caller, idem, project_id, milestone_id, tranche) =
            (&caller, &idem, &project_id, &milestone_id, &tranche);
        platform
            .mutate(idem, move || async move {
                let now = platform.now();
                let mut tx = platform.store.begin().await?;
                rows::lock_project(&mut tx, project_id).await?;
                let project = rows::get_project(tx.conn(), project_id).await?.ok_or_else(|| DomainError::not_found(format!("projects/{project_id}")))?;
                let ledger_rows = rows::disbursements(tx.conn(), project_id).await?;
                if let Some(existing) = ledger_rows.iter().find(|d| &d.tranche == tranche) {
                    let cumulative = ledger_rows.iter().take_while(|d| d.id != existing.id).map(|d| d.amount_fen).sum::<i64>() + existing.amount_fen;
                    return Ok(pb::ReleaseTrancheResponse { disbursement: Some(disbursement_to_proto(existing, cumulative)), already_released: true });
                }
                if matches!(project.state.as_str(), "STOPPED" | "FAILED") {
                    return Err(DomainError::precondition("PROJECT_ENDED", format!("the project is {}; its remaining tranches are not released", project.state)).into());
                }
                let milestones = rows::milestones_of(tx.conn(), project_id).await?;
                let mut shares: Vec<i32> = milestones.iter().map(|m| m.share_bp).collect();
                shares.insert(0, project.signing_share_bp);
                let amounts = ledger::amounts(project.award_fen, &shares);
                let (amount, share) = match milestone_id {
                    None if project.signing_share_bp == 0 => {
                        return Err(DomainError::precondition("NO_SIGNING_TRANCHE", "this project has no tranche paid on signing").into());
                    }
                    None => (amounts[0], project.signing_share_bp),
                    Some(id) => {
                        let m = milestones.iter().find(|m| &m.id == id).ok_or_else(|| DomainError::not_found(format!("projects/{project_id}/milestones/{id}")))?;
                        if !matches!(m.state.as_str(), "ACCEPTED" | "ACCEPTED_AFTER_FIXES") {
                            return Err(DomainError::precondition("MILESTONE_NOT_ACCEPTED", format!("milestone {} is {}; only an accepted milestone releases its tranche", m.position, m.state)).into());
                        }
                        (m.tranche_fen, m.share_bp)
                    }
                };
                let released: i64 = ledger_rows.iter().map(|d| d.amount_fen).sum();
                if !ledger::within_award(released, amount, project.award_fen) {
                    return Err(DomainError::precondition("AWARD_EXCEEDED", "this release would exceed the award").into());
                }
                let row = DisbursementRow {
                    id: new_id(),
                    project_id: project_id.clone(),
                    tranche: tranche.clone(),
                    milestone_id: milestone_id.clone(),
                    amount_fen: amount,
                    share_bp: share,
                    approver_id: caller.user_id.clone(),
                    disbursed_at: now,
                };
                rows::insert_disbursement(&mut tx, &row).await.map_err(|e| match e {
                    // A racing release of the same tranche committed first: retry, and the next
                    // attempt returns it.
                    StoreError::UniqueViolation { .. } => StoreError::Conflict,
                    other => other,
                })?;
                let response = pb::ReleaseTrancheResponse { disbursement: Some(disbursement_to_proto(&row, released + amount)), already_released: false };
                let application = applications::get(tx.conn(), &project.challenge_id, &project.application_id).await?.ok_or_else(|| StoreError::Corrupt("project without application".into()))?;
                let audience: Vec<Audience> = application.team_user_ids().into_iter().map(Audience::User).collect();
                let change = ChangeBuilder {
                    at: now,
                    actor: caller.actor(),
                    action: "funds.disbursed",
                    event_type: pb::EventType::FundsDisbursed,
                    resource: format!("projects/{project_id}/disbursements/{}", row.id),
                    chain: Some(format!("projects/{project_id}")),
                    state: String::new(),
                    summary: format!("{amount} fen"),
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

#[tonic::async_trait]
impl MilestoneService for MilestoneApi {
    async fn get_project(
        &self,
        request: Request<pb::GetProjectRequest>,
    ) -> Result<Response<pb::GetProjectResponse>, Status> {
        jiebang_grpc::authed!(self, request, get_project, |p| pb::GetProjectResponse {
            project: Some(p)
        })
    }

    async fn list_projects(
        &self,
        request: Request<pb::ListProjectsRequest>,
    ) -> Result<Response<pb::ListProjectsResponse>, Status> {
        jiebang_grpc::authed!(self, request, list_projects, |r| r)
    }

    async fn get_milestone(
        &self,
        request: Request<pb::GetMilestoneRequest>,
    ) -> Result<Response<pb::GetMilestoneResponse>, Status> {
        jiebang_grpc::authed!(self, request, get_milestone, |m| pb::GetMilestoneResponse {
            milestone: Some(m)
        })
    }

    async fn list_milestones(
        &self,
        request: Request<pb::ListMilestonesRequest>,
    ) -> Result<Response<pb::ListMilestonesResponse>, Status> {
        jiebang_grpc::authed!(self, request, list_milestones, |r| r)
    }

    async fn submit_milestone_report(
        &self,
        request: Request<pb::SubmitMilestoneReportRequest>,
    ) -> Result<Response<pb::SubmitMilestoneReportResponse>, Status> {
        jiebang_grpc::authed!(self, request, submit_report, |r| r)
    }

    async fn form_acceptance_panel(
        &self,
        request: Request<pb::FormAcceptancePanelRequest>,
    ) -> Result<Response<pb::FormAcceptancePanelResponse>, Status> {
        jiebang_grpc::authed!(self, request, form_panel, |m| {
            pb::FormAcceptancePanelResponse { milestone: Some(m) }
        })
    }

    async fn cast_acceptance_vote(
        &self,
        request: Request<pb::CastAcceptanceVoteRequest>,
    ) -> Result<Response<pb::CastAcceptanceVoteResponse>, Status> {
        jiebang_grpc::authed!(self, request, cast_vote, |v| {
            pb::CastAcceptanceVoteResponse {
                acceptance_vote: Some(v),
            }
        })
    }

    async fn list_acceptance_votes(
        &self,
        request: Request<pb::ListAcceptanceVotesRequest>,
    ) -> Result<Response<pb::ListAcceptanceVotesResponse>, Status> {
        jiebang_grpc::authed!(self, request, list_votes, |r| r)
    }

    async fn decide_milestone(
        &self,
        request: Request<pb::DecideMilestoneRequest>,
    ) -> Result<Response<pb::DecideMilestoneResponse>, Status> {
        jiebang_grpc::authed!(self, request, decide, |r| r)
    }

    async fn grant_extension(
        &self,
        request: Request<pb::GrantExtensionRequest>,
    ) -> Result<Response<pb::GrantExtensionResponse>, Status> {
        jiebang_grpc::authed!(self, request, grant_extension, |r| r)
    }

    async fn list_disbursements(
        &self,
        request: Request<pb::ListDisbursementsRequest>,
    ) -> Result<Response<pb::ListDisbursementsResponse>, Status> {
        jiebang_grpc::authed!(self, request, list_disbursements, |r| r)
    }

    async fn release_tranche(
        &self,
        request: Request<pb::ReleaseTrancheRequest>,
    ) -> Result<Response<pb::ReleaseTrancheResponse>, Status> {
        jiebang_grpc::authed!(self, request, release, |r| r)
    }

    async fn rank_horse_race(
        &self,
        request: Request<pb::RankHorseRaceRequest>,
    ) -> Result<Response<pb::RankHorseRaceResponse>, Status> {
        jiebang_grpc::authed!(self, request, rank_horse_race, |r| r)
    }

    async fn select_horse_race_continuers(
        &self,
        request: Request<pb::SelectHorseRaceContinuersRequest>,
    ) -> Result<Response<pb::SelectHorseRaceContinuersResponse>, Status> {
        jiebang_grpc::authed!(self, request, select_continuers, |r| r)
    }

    async fn record_project_failure(
        &self,
        request: Request<pb::RecordProjectFailureRequest>,
    ) -> Result<Response<pb::RecordProjectFailureResponse>, Status> {
        jiebang_grpc::authed!(self, request, record_failure, |r| r)
    }
}
