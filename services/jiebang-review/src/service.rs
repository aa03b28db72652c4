//! The `ReviewService` trait: each RPC routed to its handler.

use jiebang_grpc::{ApiError, Platform, caller};
use jiebang_proto::v1 as pb;
use jiebang_proto::v1::review_service_server::ReviewService;
use tonic::{Request, Response, Status};

pub struct ReviewApi {
    platform: Platform,
}

impl ReviewApi {
    pub fn new(platform: Platform) -> Self {
        Self { platform }
    }

    pub(crate) fn platform(&self) -> &Platform {
        &self.platform
    }
}

#[tonic::async_trait]
impl ReviewService for ReviewApi {
    #[tracing::instrument(skip_all, fields(rpc = "CreateExpert"))]
    async fn create_expert(
        &self,
        request: Request<pb::CreateExpertRequest>,
    ) -> Result<Response<pb::CreateExpertResponse>, Status> {
        jiebang_grpc::authed!(self, request, create_expert, |e| pb::CreateExpertResponse {
            expert: Some(e)
        })
    }

    #[tracing::instrument(skip_all, fields(rpc = "GetExpert"))]
    async fn get_expert(
        &self,
        request: Request<pb::GetExpertRequest>,
    ) -> Result<Response<pb::GetExpertResponse>, Status> {
        jiebang_grpc::authed!(self, request, get_expert, |e| pb::GetExpertResponse {
            expert: Some(e)
        })
    }

    #[tracing::instrument(skip_all, fields(rpc = "ListExperts"))]
    async fn list_experts(
        &self,
        request: Request<pb::ListExpertsRequest>,
    ) -> Result<Response<pb::ListExpertsResponse>, Status> {
        jiebang_grpc::authed!(self, request, list_experts, |r| r)
    }

    #[tracing::instrument(skip_all, fields(rpc = "UpdateExpert"))]
    async fn update_expert(
        &self,
        request: Request<pb::UpdateExpertRequest>,
    ) -> Result<Response<pb::UpdateExpertResponse>, Status> {
        jiebang_grpc::authed!(self, request, update_expert, |e| pb::UpdateExpertResponse {
            expert: Some(e)
        })
    }

    #[tracing::instrument(skip_all, fields(rpc = "DeclareConflict"))]
    async fn declare_conflict(
        &self,
        request: Request<pb::DeclareConflictRequest>,
    ) -> Result<Response<pb::DeclareConflictResponse>, Status> {
        jiebang_grpc::authed!(self, request, declare_conflict, |r| r)
    }

    #[tracing::instrument(skip_all, fields(rpc = "ListConflicts"))]
    async fn list_conflicts(
        &self,
        request: Request<pb::ListConflictsRequest>,
    ) -> Result<Response<pb::ListConflictsResponse>, Status> {
        jiebang_grpc::authed!(self, request, list_conflicts, |r| r)
    }

    #[tracing::instrument(skip_all, fields(rpc = "SetAssignmentConstraint"))]
    async fn set_assignment_constraint(
        &self,
        request: Request<pb::SetAssignmentConstraintRequest>,
    ) -> Result<Response<pb::SetAssignmentConstraintResponse>, Status> {
        jiebang_grpc::authed!(self, request, set_constraint, |c| {
            pb::SetAssignmentConstraintResponse {
                assignment_constraint: Some(c),
            }
        })
    }

    #[tracing::instrument(skip_all, fields(rpc = "SolveAssignments"))]
    async fn solve_assignments(
        &self,
        request: Request<pb::SolveAssignmentsRequest>,
    ) -> Result<Response<pb::SolveAssignmentsResponse>, Status> {
        jiebang_grpc::authed!(self, request, solve, |r| r)
    }

    #[tracing::instrument(skip_all, fields(rpc = "GetReviewPanel"))]
    async fn get_review_panel(
        &self,
        request: Request<pb::GetReviewPanelRequest>,
    ) -> Result<Response<pb::GetReviewPanelResponse>, Status> {
        let caller = caller(&request).map_err(ApiError::from)?;
        let challenge_id = request
            .get_ref()
            .name
            .strip_prefix("challenges/")
            .and_then(|r| r.strip_suffix("/reviewPanel"))
            .ok_or_else(|| {
                ApiError::from(jiebang_domain::DomainError::invalid(
                    "name",
                    "must be challenges/{challenge}/reviewPanel",
                ))
            })?
            .to_owned();
        let panel = self.review_panel(&caller, &challenge_id).await?;
        Ok(Response::new(pb::GetReviewPanelResponse {
            review_panel: Some(panel),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "SetPanelChair"))]
    async fn set_panel_chair(
        &self,
        request: Request<pb::SetPanelChairRequest>,
    ) -> Result<Response<pb::SetPanelChairResponse>, Status> {
        jiebang_grpc::authed!(self, request, set_chair, |p| pb::SetPanelChairResponse {
            review_panel: Some(p)
        })
    }

    #[tracing::instrument(skip_all, fields(rpc = "ListAssignments"))]
    async fn list_assignments(
        &self,
        request: Request<pb::ListAssignmentsRequest>,
    ) -> Result<Response<pb::ListAssignmentsResponse>, Status> {
        jiebang_grpc::authed!(self, request, list_assignments, |r| r)
    }

    #[tracing::instrument(skip_all, fields(rpc = "OpenAssignment"))]
    async fn open_assignment(
        &self,
        request: Request<pb::OpenAssignmentRequest>,
    ) -> Result<Response<pb::OpenAssignmentResponse>, Status> {
        jiebang_grpc::authed!(self, request, open_assignment, |r| r)
    }

    #[tracing::instrument(skip_all, fields(rpc = "SaveScoreSheet"))]
    async fn save_score_sheet(
        &self,
        request: Request<pb::SaveScoreSheetRequest>,
    ) -> Result<Response<pb::SaveScoreSheetResponse>, Status> {
        jiebang_grpc::authed!(self, request, save_sheet, |s| pb::SaveScoreSheetResponse {
            score_sheet: Some(s)
        })
    }

    #[tracing::instrument(skip_all, fields(rpc = "SubmitScoreSheet"))]
    async fn submit_score_sheet(
        &self,
        request: Request<pb::SubmitScoreSheetRequest>,
    ) -> Result<Response<pb::SubmitScoreSheetResponse>, Status> {
        jiebang_grpc::authed!(self, request, submit_sheet, |s| {
            pb::SubmitScoreSheetResponse {
                score_sheet: Some(s),
            }
        })
    }

    #[tracing::instrument(skip_all, fields(rpc = "RequestRescoring"))]
    async fn request_rescoring(
        &self,
        request: Request<pb::RequestRescoringRequest>,
    ) -> Result<Response<pb::RequestRescoringResponse>, Status> {
        jiebang_grpc::authed!(self, request, request_rescoring, |r| r)
    }

    #[tracing::instrument(skip_all, fields(rpc = "GetApplicationResult"))]
    async fn get_application_result(
        &self,
        request: Request<pb::GetApplicationResultRequest>,
    ) -> Result<Response<pb::GetApplicationResultResponse>, Status> {
        jiebang_grpc::authed!(self, request, application_result, |r| {
            pb::GetApplicationResultResponse {
                application_result: Some(r),
            }
        })
    }

    #[tracing::instrument(skip_all, fields(rpc = "ListRanking"))]
    async fn list_ranking(
        &self,
        request: Request<pb::ListRankingRequest>,
    ) -> Result<Response<pb::ListRankingResponse>, Status> {
        jiebang_grpc::authed!(self, request, list_ranking, |r| r)
    }

    #[tracing::instrument(skip_all, fields(rpc = "RecordDispersionResolution"))]
    async fn record_dispersion_resolution(
        &self,
        request: Request<pb::RecordDispersionResolutionRequest>,
    ) -> Result<Response<pb::RecordDispersionResolutionResponse>, Status> {
        jiebang_grpc::authed!(self, request, resolve_dispersion, |e| {
            pb::RecordDispersionResolutionResponse {
                ranking_entry: Some(e),
            }
        })
    }

    #[tracing::instrument(skip_all, fields(rpc = "ProposeWinners"))]
    async fn propose_winners(
        &self,
        request: Request<pb::ProposeWinnersRequest>,
    ) -> Result<Response<pb::ProposeWinnersResponse>, Status> {
        jiebang_grpc::authed!(self, request, propose_winners, |n| {
            pb::ProposeWinnersResponse {
                public_notice: Some(n),
            }
        })
    }

    #[tracing::instrument(skip_all, fields(rpc = "GetPublicNotice"))]
    async fn get_public_notice(
        &self,
        request: Request<pb::GetPublicNoticeRequest>,
    ) -> Result<Response<pb::GetPublicNoticeResponse>, Status> {
        jiebang_grpc::authed!(self, request, public_notice, |n| {
            pb::GetPublicNoticeResponse {
                public_notice: Some(n),
            }
        })
    }

    #[tracing::instrument(skip_all, fields(rpc = "FileObjection"))]
    async fn file_objection(
        &self,
        request: Request<pb::FileObjectionRequest>,
    ) -> Result<Response<pb::FileObjectionResponse>, Status> {
        jiebang_grpc::authed!(self, request, file_objection, |o| {
            pb::FileObjectionResponse { objection: Some(o) }
        })
    }

    #[tracing::instrument(skip_all, fields(rpc = "ListObjections"))]
    async fn list_objections(
        &self,
        request: Request<pb::ListObjectionsRequest>,
    ) -> Result<Response<pb::ListObjectionsResponse>, Status> {
        jiebang_grpc::authed!(self, request, list_objections, |r| r)
    }

    #[tracing::instrument(skip_all, fields(rpc = "RuleOnObjection"))]
    async fn rule_on_objection(
        &self,
        request: Request<pb::RuleOnObjectionRequest>,
    ) -> Result<Response<pb::RuleOnObjectionResponse>, Status> {
        jiebang_grpc::authed!(self, request, rule_on_objection, |r| r)
    }

    #[tracing::instrument(skip_all, fields(rpc = "AppointWinners"))]
    async fn appoint_winners(
        &self,
        request: Request<pb::AppointWinnersRequest>,
    ) -> Result<Response<pb::AppointWinnersResponse>, Status> {
        jiebang_grpc::authed!(self, request, appoint_winners, |r| r)
    }
}
