//! `AuditService`: listing the audit trail and verifying its hash chains. Bureau only.

use jiebang_domain::challenge::access::ensure_admin;
use jiebang_domain::{Caller, DomainError};
use jiebang_grpc::convert::{non_empty, to_proto_time};
use jiebang_grpc::paging::{decode_token, finish_page, page_size};
use jiebang_grpc::{ApiError, Platform, caller};
use jiebang_proto::v1 as pb;
use jiebang_proto::v1::audit_service_server::AuditService;
use jiebang_storage::audit::{self, AuditFilter};
use tonic::{Request, Response, Status};

pub struct AuditApi {
    platform: Platform,
}

impl AuditApi {
    pub fn new(platform: Platform) -> Self {
        Self { platform }
    }

    async fn list(
        &self,
        caller: Caller,
        req: pb::ListAuditRecordsRequest,
    ) -> Result<pb::ListAuditRecordsResponse, ApiError> {
        ensure_admin(&caller, "read the audit trail")?;
        let size = page_size(req.page_size, 100, 1000)?;
        let filters = format!("chain={};actor={}", req.chain, req.actor);
        let after = match decode_token(&req.page_token, &filters)? {
            None => 0,
            Some(key) => key.parse::<i64>().map_err(|_| {
                DomainError::invalid("page_token", "is not a token from a previous page")
            })?,
        };
        let records = audit::list(
            &self.platform.store,
            &AuditFilter {
                chain: non_empty(&req.chain).map(str::to_owned),
                actor: non_empty(&req.actor).map(str::to_owned),
                after_sequence: after,
                limit: size + 1,
            },
        )
        .await?;
        let (records, next_page_token) =
            finish_page(records, size, &filters, |r| r.sequence.to_string());
        Ok(pb::ListAuditRecordsResponse {
            records: records
                .into_iter()
                .map(|r| pb::AuditRecord {
                    sequence: r.sequence,
                    chain: r.chain,
                    chain_sequence: r.chain_seq,
                    time: Some(to_proto_time(r.recorded_at)),
                    actor: r.actor,
                    action: r.action,
                    resource: r.resource,
                    request_digest: r.request_digest,
                    previous_hash: r.prev_hash,
                    hash: r.hash,
                })
                .collect(),
            next_page_token,
        })
    }

    async fn verify(
        &self,
        caller: Caller,
        req: pb::VerifyAuditChainRequest,
    ) -> Result<pb::VerifyAuditChainResponse, ApiError> {
        ensure_admin(&caller, "verify the audit trail")?;
        let result = audit::verify(&self.platform.store, non_empty(&req.chain)).await?;
        if !result.breaks.is_empty() {
            tracing::warn!(
                breaks = result.breaks.len(),
                "audit chain verification failed"
            );
        }
        Ok(pb::VerifyAuditChainResponse {
            intact: result.breaks.is_empty(),
            chains_checked: result.chains_checked,
            records_checked: result.records_checked,
            breaks: result
                .breaks
                .into_iter()
                .map(|b| pb::AuditChainBreak {
                    chain: b.chain,
                    chain_sequence: b.chain_seq,
                    sequence: b.sequence,
                    reason: b.reason,
                })
                .collect(),
        })
    }
}

#[tonic::async_trait]
impl AuditService for AuditApi {
    #[tracing::instrument(skip_all, fields(rpc = "ListAuditRecords"))]
    async fn list_audit_records(
        &self,
        request: Request<pb::ListAuditRecordsRequest>,
    ) -> Result<Response<pb::ListAuditRecordsResponse>, Status> {
        let caller = caller(&request).map_err(ApiError::from)?;
        Ok(Response::new(
            self.list(caller, request.into_inner()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(rpc = "VerifyAuditChain"))]
    async fn verify_audit_chain(
        &self,
        request: Request<pb::VerifyAuditChainRequest>,
    ) -> Result<Response<pb::VerifyAuditChainResponse>, Status> {
        let caller = caller(&request).map_err(ApiError::from)?;
        Ok(Response::new(
            self.verify(caller, request.into_inner()).await?,
        ))
    }
}
