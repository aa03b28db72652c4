//! The authenticated user behind a request, as the access token describes them.

use crate::identity::Role;

/// Who is calling. Built by the transport from a verified access token; the domain's
/// permission rules take it as their first argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: String,
    pub username: String,
    pub role: Role,
    pub organization_id: String,
}

impl Caller {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// `users/{id}`, as audit records and events name the actor.
    pub fn actor(&self) -> String {
        crate::ids::Collection::Users.name(&self.user_id)
    }
}

/// The actor name of changes the clock makes by itself (e.g. closing at the deadline).
pub const SYSTEM_ACTOR: &str = "system";
