//! The failures the domain can report. The transport maps each variant to one gRPC status in
//! one place (`jiebang_grpc::error`); nothing here knows about gRPC.

use std::fmt;

/// One bad field of a request, named by its path in the request (`challenge.criteria[1].weight`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

impl fmt::Display for FieldViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.description)
    }
}

/// Why a request was refused. `reason` values are stable, UPPER_SNAKE identifiers that clients
/// may match on (they become `google.rpc.ErrorInfo.reason`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The request itself is malformed; one violation per bad field.
    #[error("invalid request: {}", join(.0))]
    InvalidArgument(Vec<FieldViolation>),
    /// The application fails eligibility rules: one reason per failing rule.
    #[error("the application is not eligible: {}", .0.iter().map(|r| format!("{} ({})", r.detail, r.rule.as_str())).collect::<Vec<_>>().join("; "))]
    Ineligible(Vec<crate::application::IneligibilityReason>),
    /// The resource is not in a state that allows this (a wrong lifecycle transition).
    #[error("{message}")]
    FailedPrecondition {
        reason: &'static str,
        message: String,
    },
    /// Nothing by that name exists, or the caller may not know that it does.
    #[error("{resource} not found")]
    NotFound { resource: String },
    /// The caller is known but not allowed to do this.
    #[error("{message}")]
    PermissionDenied {
        reason: &'static str,
        message: String,
    },
    /// No valid credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// Optimistic concurrency: the caller's etag is stale.
    #[error("{message}")]
    Aborted {
        reason: &'static str,
        message: String,
    },
    /// A declared size is above a configured limit.
    #[error("{message}")]
    TooLarge { message: String },
    /// A unique thing (a username, a credit code) is already taken.
    #[error("{message}")]
    AlreadyExists {
        reason: &'static str,
        message: String,
    },
}

fn join(violations: &[FieldViolation]) -> String {
    violations
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::InvalidArgument(vec![FieldViolation {
            field: field.into(),
            description: description.into(),
        }])
    }

    pub fn precondition(reason: &'static str, message: impl Into<String>) -> Self {
        Self::FailedPrecondition {
            reason,
            message: message.into(),
        }
    }

    pub fn denied(reason: &'static str, message: impl Into<String>) -> Self {
        Self::PermissionDenied {
            reason,
            message: message.into(),
        }
    }

    pub fn not_found(resource: impl Into<String>) -> Self {
        Self::NotFound {
            resource: resource.into(),
        }
    }

    /// The etag the caller sent does not match the stored version.
    pub fn stale_etag(resource: &str) -> Self {
        Self::Aborted {
            reason: "ETAG_MISMATCH",
            message: format!("{resource} was changed by someone else; read it again and retry"),
        }
    }

    /// Prefixes every field path, so a sub-validator's paths read from the request's root.
    pub fn within(self, prefix: &str) -> Self {
        match self {
            Self::InvalidArgument(violations) => Self::InvalidArgument(
                violations
                    .into_iter()
                    .map(|v| FieldViolation {
                        field: format!("{prefix}.{}", v.field),
                        description: v.description,
                    })
                    .collect(),
            ),
            other => other,
        }
    }
}

/// Collects field violations so one response names every bad field, not just the first.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation {
            field: field.into(),
            description: description.into(),
        });
    }

    /// Records a violation at `field` unless `ok` holds.
    pub fn require(&mut self, ok: bool, field: impl Into<String>, description: impl Into<String>) {
        if !ok {
            self.add(field, description);
        }
    }

    /// Merges the violations of a sub-validation, if it failed with field violations.
    pub fn absorb(&mut self, result: Result<(), DomainError>) -> Result<(), DomainError> {
        match result {
            Ok(()) => Ok(()),
            Err(DomainError::InvalidArgument(mut v)) => {
                self.0.append(&mut v);
                Ok(())
            }
            Err(other) => Err(other),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_result(self) -> Result<(), DomainError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(DomainError::InvalidArgument(self.0))
        }
    }
}
