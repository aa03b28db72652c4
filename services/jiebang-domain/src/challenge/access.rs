//! Who may see and change a challenge (DOMAIN.md, "Roles").
//!
//! Published challenges are public to every signed-in user ("英雄不问出处": anyone able may
//! take it on). Before publication only the publishing organisation and the bureau see it; to
//! everyone else it does not exist (NOT_FOUND rather than PERMISSION_DENIED, so drafts do not
//! leak even their existence).

use super::Challenge;
use crate::identity::Role;
use crate::{Caller, DomainError};

pub fn ensure_can_create(caller: &Caller) -> Result<(), DomainError> {
    if caller.role == Role::Publisher {
        Ok(())
    } else {
        Err(DomainError::denied(
            "PUBLISHER_ROLE_REQUIRED",
            "only publishers draft challenges",
        ))
    }
}

pub fn ensure_admin(caller: &Caller, action: &str) -> Result<(), DomainError> {
    if caller.is_admin() {
        Ok(())
    } else {
        Err(DomainError::denied(
            "ADMIN_ROLE_REQUIRED",
            format!("only the bureau may {action}"),
        ))
    }
}

/// The caller is a publisher of the organisation that owns the challenge.
pub fn ensure_is_publisher_of(caller: &Caller, challenge: &Challenge) -> Result<(), DomainError> {
    if caller.role == Role::Publisher && caller.organization_id == challenge.publisher_id {
        Ok(())
    } else {
        Err(DomainError::denied(
            "NOT_THE_PUBLISHER",
            format!(
                "only publishers of the organisation that owns {} may do this",
                challenge.name()
            ),
        ))
    }
}

pub fn ensure_publisher_or_admin(
    caller: &Caller,
    challenge: &Challenge,
) -> Result<(), DomainError> {
    if caller.is_admin() {
        Ok(())
    } else {
        ensure_is_publisher_of(caller, challenge)
    }
}

/// Whether the caller may read the challenge at all.
pub fn can_read(caller: &Caller, challenge: &Challenge) -> bool {
    challenge.open_at.is_some()
        || caller.is_admin()
        || caller.organization_id == challenge.publisher_id
}

/// Reads the challenge or pretends it does not exist.
pub fn ensure_can_read(caller: &Caller, challenge: &Challenge) -> Result<(), DomainError> {
    if can_read(caller, challenge) {
        Ok(())
    } else {
        Err(DomainError::not_found(challenge.name()))
    }
}
