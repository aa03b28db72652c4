//! Who may see an event of the outbox. Events carry audience tags; a subscriber receives an
//! event only when one tag admits them. The bureau sees everything (it supervises the process).

use crate::Caller;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// Every signed-in user (e.g. a challenge was published).
    Public,
    /// Every user of one organisation (e.g. the publisher's own drafts).
    Organization(String),
    /// One user.
    User(String),
}

impl Audience {
    fn tag(&self) -> String {
        match self {
            Self::Public => "public".to_owned(),
            Self::Organization(id) => format!("org:{id}"),
            Self::User(id) => format!("user:{id}"),
        }
    }
}

/// Encodes audiences as the space-separated tags stored with an event.
pub fn to_tags(audiences: &[Audience]) -> String {
    audiences
        .iter()
        .map(Audience::tag)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether stored tags admit the caller.
pub fn admits(tags: &str, caller: &Caller) -> bool {
    caller.is_admin()
        || tags.split(' ').any(|tag| {
            tag == "public"
                || tag.strip_prefix("org:") == Some(caller.organization_id.as_str())
                || tag.strip_prefix("user:") == Some(caller.user_id.as_str())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Role;

    fn caller(role: Role, user: &str, org: &str) -> Caller {
        Caller {
            user_id: user.into(),
            username: user.into(),
            role,
            organization_id: org.into(),
        }
    }

    #[test]
    fn organisation_events_reach_only_that_organisation_and_the_bureau() {
        let tags = to_tags(&[Audience::Organization("o1".into())]);
        assert!(admits(&tags, &caller(Role::Publisher, "u1", "o1")));
        assert!(!admits(&tags, &caller(Role::Publisher, "u2", "o2")));
        assert!(admits(&tags, &caller(Role::Admin, "a", "bureau")));
    }

    #[test]
    fn public_and_personal_tags() {
        let tags = to_tags(&[Audience::User("u9".into()), Audience::Public]);
        assert!(admits(&tags, &caller(Role::Expert, "u1", "o1")));
        let personal = to_tags(&[Audience::User("u9".into())]);
        assert!(admits(&personal, &caller(Role::Expert, "u9", "o1")));
        assert!(!admits(&personal, &caller(Role::Expert, "u1", "o1")));
        // A tag must match whole, not as a prefix.
        assert!(!admits("org:o10", &caller(Role::Expert, "u1", "o1")));
    }
}
