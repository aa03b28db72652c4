//! The transport's error type and its mapping to gRPC status, in one place.
//!
//! Clients get a precise code and, for every refusal, a `google.rpc.ErrorInfo` with a stable
//! `reason` and domain `jiebang`; invalid requests also get one `google.rpc.BadRequest` field
//! violation per bad field (AIP-193). Internal causes go to the log, never to the client.

use jiebang_domain::DomainError;
use jiebang_storage::StoreError;
use std::collections::HashMap;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

pub const ERROR_DOMAIN: &str = "jiebang";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ApiError {
    /// Worth running the whole operation again: a concurrent writer got there first.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Store(StoreError::Conflict) => true,
            // A concurrent retry of the same request committed first; the next attempt
            // replays its answer.
            Self::Store(e) => e.is_unique_on("idempotency"),
            Self::Domain(_) => false,
        }
    }
}

fn with_info(code: Code, message: String, reason: &str) -> Status {
    let mut details = ErrorDetails::new();
    details.set_error_info(reason, ERROR_DOMAIN, HashMap::new());
    Status::with_error_details(code, message, details)
}

fn domain_status(err: DomainError) -> Status {
    {
        match err {
            DomainError::InvalidArgument(violations) => {
                let message = format!(
                    "invalid request: {}",
                    violations
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                );
                let mut details = ErrorDetails::new();
                details.set_error_info("INVALID_FIELDS", ERROR_DOMAIN, HashMap::new());
                for v in violations {
                    details.add_bad_request_violation(v.field, v.description);
                }
                Status::with_error_details(Code::InvalidArgument, message, details)
            }
            DomainError::Ineligible(reasons) => {
                let message = format!(
                    "the application is not eligible: {}",
                    reasons
                        .iter()
                        .map(|r| r.detail.clone())
                        .collect::<Vec<_>>()
                        .join("; ")
                );
                let mut details = ErrorDetails::new();
                details.set_error_info("INELIGIBLE", ERROR_DOMAIN, HashMap::new());
                for r in reasons {
                    details.add_precondition_failure_violation(
                        format!("ELIGIBILITY_RULE_{}", r.rule.as_str()),
                        "",
                        r.detail,
                    );
                }
                Status::with_error_details(Code::FailedPrecondition, message, details)
            }
            DomainError::FailedPrecondition { reason, message } => {
                with_info(Code::FailedPrecondition, message, reason)
            }
            DomainError::NotFound { resource } => {
                with_info(Code::NotFound, format!("{resource} not found"), "NOT_FOUND")
            }
            DomainError::PermissionDenied { reason, message } => {
                with_info(Code::PermissionDenied, message, reason)
            }
            DomainError::Unauthenticated(message) => {
                with_info(Code::Unauthenticated, message, "UNAUTHENTICATED")
            }
            DomainError::Aborted { reason, message } => with_info(Code::Aborted, message, reason),
            DomainError::TooLarge { message } => {
                with_info(Code::ResourceExhausted, message, "TOO_LARGE")
            }
            DomainError::AlreadyExists { reason, message } => {
                with_info(Code::AlreadyExists, message, reason)
            }
        }
    }
}

impl From<ApiError> for Status {
    fn from(err: ApiError) -> Self {
        match err {
            ApiError::Domain(e) => domain_status(e),
            ApiError::Store(StoreError::Conflict) => with_info(
                Code::Aborted,
                "the resource is being changed by concurrent requests; retry".into(),
                "CONCURRENT_MODIFICATION",
            ),
            ApiError::Store(StoreError::UniqueViolation { key }) => {
                tracing::warn!(%key, "unmapped unique violation");
                with_info(
                    Code::AlreadyExists,
                    "a resource with these unique values already exists".into(),
                    "ALREADY_EXISTS",
                )
            }
            ApiError::Store(StoreError::Database(e)) => {
                tracing::error!(error = %e, "database failure");
                if matches!(
                    e,
                    sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)
                ) {
                    with_info(
                        Code::Unavailable,
                        "the database is unavailable; retry later".into(),
                        "DATABASE_UNAVAILABLE",
                    )
                } else {
                    with_info(Code::Internal, "internal error".into(), "INTERNAL")
                }
            }
            ApiError::Store(e) => {
                tracing::error!(error = %e, "storage failure");
                with_info(Code::Internal, "internal error".into(), "INTERNAL")
            }
        }
    }
}
