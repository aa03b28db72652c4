//! Who may see and change an application (DOMAIN.md, "Applying": only the team sees its
//! application). The team is its creator, its lead person and its members with accounts; the
//! bureau sees all; the publisher sees the submitted applications of its own challenges once
//! the deadline has passed. Everyone else is told it does not exist.

use super::lifecycle::{Application, ApplicationState};
use crate::challenge::Challenge;
use crate::identity::Role;
use crate::{Caller, DomainError, Timestamp};

pub fn ensure_can_apply(caller: &Caller) -> Result<(), DomainError> {
    if caller.role == Role::TeamMember {
        Ok(())
    } else {
        Err(DomainError::denied(
            "TEAM_MEMBER_ROLE_REQUIRED",
            "only research team members apply to challenges",
        ))
    }
}

pub fn is_team(caller: &Caller, application: &Application) -> bool {
    application.team_user_ids().contains(&caller.user_id)
}

pub fn can_read(
    caller: &Caller,
    application: &Application,
    challenge: &Challenge,
    now: Timestamp,
) -> bool {
    caller.is_admin()
        || is_team(caller, application)
        || (caller.role == Role::Publisher
            && caller.organization_id == challenge.publisher_id
            && application.state != ApplicationState::Draft
            && challenge.close_at.is_some_and(|close| now >= close))
}

pub fn ensure_can_read(
    caller: &Caller,
    application: &Application,
    challenge: &Challenge,
    now: Timestamp,
) -> Result<(), DomainError> {
    if can_read(caller, application, challenge, now) {
        Ok(())
    } else {
        Err(DomainError::not_found(application.name()))
    }
}

/// Editing and withdrawing: the creator or the lead person.
pub fn ensure_can_edit(caller: &Caller, application: &Application) -> Result<(), DomainError> {
    if caller.user_id == application.creator_id
        || caller.user_id == application.content.lead_person_id
    {
        Ok(())
    } else {
        Err(DomainError::denied(
            "NOT_THE_TEAM_LEAD",
            "only the lead person or the creator of the application may change it",
        ))
    }
}

/// Submitting signs the pledge: the lead person (揭榜挂帅人) alone.
pub fn ensure_is_lead_person(
    caller: &Caller,
    application: &Application,
) -> Result<(), DomainError> {
    if caller.user_id == application.content.lead_person_id {
        Ok(())
    } else {
        Err(DomainError::denied(
            "NOT_THE_LEAD_PERSON",
            "only the lead person signs the pledge and submits",
        ))
    }
}
