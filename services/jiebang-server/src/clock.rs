//! `ClockService`: reading the server's clock, and moving a demo clock forward.
//!
//! Lives in the server crate because the clock is the binary's choice (`JIEBANG_DEMO_CLOCK`)
//! and moving it must run the server's own timed work at once.

use jiebang_domain::challenge::access::ensure_admin;
use jiebang_domain::{Caller, DomainError};
use jiebang_grpc::convert::to_proto_time;
use jiebang_grpc::{ApiError, Platform};
use jiebang_proto::v1 as pb;
use jiebang_proto::v1::clock_service_server::ClockService;
use std::time::Duration;
use tonic::{Request, Response, Status};

/// The furthest one call may move the clock: ten years of a project's life.
const MAX_ADVANCE: Duration = Duration::from_secs(3660 * 86_400);

pub struct ClockApi {
    platform: Platform,
}

impl ClockApi {
    pub fn new(platform: Platform) -> Self {
        Self { platform }
    }

    async fn get(
        &self,
        _caller: Caller,
        _req: pb::GetClockRequest,
    ) -> Result<pb::GetClockResponse, ApiError> {
        // Asking the clock to move by nothing tells whether it can move at all.
        let adjustable = self.platform.clock.advance(Duration::ZERO).is_some();
        Ok(pb::GetClockResponse {
            now: Some(to_proto_time(self.platform.now())),
            adjustable,
        })
    }

    async fn advance(
        &self,
        caller: Caller,
        req: pb::AdvanceClockRequest,
    ) -> Result<pb::AdvanceClockResponse, ApiError> {
        ensure_admin(&caller, "move the server's clock")?;
        let by = parse_advance(req.by.as_ref())?;
        let Some(now) = self.platform.clock.advance(by) else {
            return Err(DomainError::precondition(
                "WALL_CLOCK",
                "this server runs on the wall clock, which cannot be moved; \
                 start it with JIEBANG_DEMO_CLOCK=true for a demo",
            )
            .into());
        };
        tracing::info!(by = %humantime::format_duration(by), "demo clock moved forward");
        crate::jobs::sweep(&self.platform).await;
        Ok(pb::AdvanceClockResponse {
            now: Some(to_proto_time(now)),
        })
    }
}

fn parse_advance(by: Option<&prost_types::Duration>) -> Result<Duration, DomainError> {
    let by = by.ok_or_else(|| DomainError::invalid("by", "is required"))?;
    if !(0..1_000_000_000).contains(&by.nanos) {
        return Err(DomainError::invalid(
            "by",
            "nanos must be within 0..999,999,999",
        ));
    }
    if by.seconds < 0 || (by.seconds == 0 && by.nanos == 0) {
        return Err(DomainError::invalid(
            "by",
            "must be positive: the clock never goes back",
        ));
    }
    let by = Duration::new(by.seconds.unsigned_abs(), by.nanos.unsigned_abs());
    if by > MAX_ADVANCE {
        return Err(DomainError::invalid("by", "must be at most 3660 days"));
    }
    Ok(by)
}

#[tonic::async_trait]
impl ClockService for ClockApi {
    async fn get_clock(
        &self,
        request: Request<pb::GetClockRequest>,
    ) -> Result<Response<pb::GetClockResponse>, Status> {
        jiebang_grpc::authed!(self, request, get)
    }

    async fn advance_clock(
        &self,
        request: Request<pb::AdvanceClockRequest>,
    ) -> Result<Response<pb::AdvanceClockResponse>, Status> {
        jiebang_grpc::authed!(self, request, advance)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(seconds: i64) -> prost_types::Duration {
        prost_types::Duration { seconds, nanos: 0 }
    }

    #[test]
    fn the_clock_moves_forward_only_and_within_reason() {
        assert_eq!(
            parse_advance(Some(&secs(86_400))).ok(),
            Some(Duration::from_secs(86_400))
        );
        let too_many_nanos = prost_types::Duration {
            seconds: 1,
            nanos: 2_000_000_000,
        };
        for bad in [secs(0), secs(-1), secs(3661 * 86_400), too_many_nanos] {
            assert!(parse_advance(Some(&bad)).is_err(), "{bad:?}");
        }
        assert!(parse_advance(None).is_err());
    }
}
