//! Showing a failed call the way a person can act on it: the code in words, the server's
//! message, each bad field, and a hint for the usual fixes.

use tonic::{Code, Status};
use tonic_types::StatusExt;

/// An error that has already been explained to the user.
#[derive(Debug)]
pub struct Explained(pub String);

impl std::fmt::Display for Explained {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Explained {}

pub fn explain(status: &Status, server: &str) -> Explained {
    let what = describe(status.code());
    // Some server messages already start with the same words; say them once.
    let mut text = if status.message().starts_with(what) {
        status.message().to_owned()
    } else {
        format!("{what}: {}", status.message())
    };
    if let Some(bad) = status.get_details_bad_request() {
        for violation in bad.field_violations {
            text.push_str(&format!(
                "\n  - {}: {}",
                violation.field, violation.description
            ));
        }
    }
    let hint = match status.code() {
        Code::Unauthenticated => Some("log in with `jiebang login <username>`".to_owned()),
        Code::Unavailable => Some(format!("is the server running at {server}?")),
        Code::Aborted => Some("someone changed it meanwhile: show it again and retry".to_owned()),
        _ => None,
    };
    if let Some(hint) = hint {
        text.push_str(&format!("\nhint: {hint}"));
    }
    Explained(text)
}

fn describe(code: Code) -> &'static str {
    match code {
        Code::InvalidArgument => "invalid request",
        Code::NotFound => "not found",
        Code::AlreadyExists => "already exists",
        Code::PermissionDenied => "not allowed",
        Code::Unauthenticated => "not logged in",
        Code::FailedPrecondition => "not possible now",
        Code::Aborted => "conflict",
        Code::Unavailable => "server unavailable",
        Code::Unimplemented => "not implemented yet",
        Code::DeadlineExceeded => "timed out",
        _ => "server error",
    }
}
