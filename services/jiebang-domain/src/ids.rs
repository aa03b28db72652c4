//! Resource ids and resource names (`challenges/{id}`), after Google AIP-122.
//!
//! Ids are UUIDv7 in simple hex form: unique across replicas without coordination, and ordered
//! by creation time, which is what keyset pagination sorts on.

use crate::DomainError;

/// A fresh, time-ordered id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// The collection part of a resource name, e.g. `challenges`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    Organizations,
    Users,
    Challenges,
}

impl Collection {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Organizations => "organizations",
            Self::Users => "users",
            Self::Challenges => "challenges",
        }
    }

    /// `organizations/{id}` for this collection.
    pub fn name(self, id: &str) -> String {
        format!("{}/{id}", self.as_str())
    }

    /// Parses `collection/{id}` and returns the id. `field` names the request field for the
    /// violation when the name is malformed.
    pub fn parse<'a>(self, name: &'a str, field: &str) -> Result<&'a str, DomainError> {
        let id = name
            .strip_prefix(self.as_str())
            .and_then(|rest| rest.strip_prefix('/'))
            .filter(|id| is_valid_id(id));
        id.ok_or_else(|| {
            DomainError::invalid(
                field,
                format!("must be a resource name like {}/{{id}}", self.as_str()),
            )
        })
    }
}

/// Parses `challenges/{challenge}/applications/{application}` into the two ids.
pub fn parse_application_name<'a>(
    name: &'a str,
    field: &str,
) -> Result<(&'a str, &'a str), DomainError> {
    let invalid = || {
        DomainError::invalid(
            field,
            "must be a resource name like challenges/{challenge}/applications/{application}",
        )
    };
    let rest = name.strip_prefix("challenges/").ok_or_else(invalid)?;
    let (challenge, application) = rest.split_once("/applications/").ok_or_else(invalid)?;
    if is_valid_id(challenge) && is_valid_id(application) {
        Ok((challenge, application))
    } else {
        Err(invalid())
    }
}

/// Parses `documents/{sha256}` into the lowercase hex digest.
pub fn parse_document_name<'a>(name: &'a str, field: &str) -> Result<&'a str, DomainError> {
    name.strip_prefix("documents/")
        .filter(|sha| crate::application::content::is_sha256(sha))
        .ok_or_else(|| {
            DomainError::invalid(
                field,
                "must be a document name like documents/{sha256} (64 lowercase hex digits)",
            )
        })
}

fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let id = new_id();
        let name = Collection::Challenges.name(&id);
        assert_eq!(Collection::Challenges.parse(&name, "name").unwrap(), id);
    }

    #[test]
    fn malformed_names_are_field_violations() {
        for bad in [
            "",
            "challenges/",
            "users/abc",
            "challenges/ABC",
            "challenges/a/b",
        ] {
            let err = Collection::Challenges.parse(bad, "name").unwrap_err();
            assert!(
                matches!(err, DomainError::InvalidArgument(ref v) if v[0].field == "name"),
                "{bad}"
            );
        }
    }

    #[test]
    fn application_names_name_both_ids() {
        assert_eq!(
            parse_application_name("challenges/c1/applications/a1", "name").unwrap(),
            ("c1", "a1")
        );
        for bad in [
            "challenges/c1",
            "challenges/c1/applications/",
            "challenges//applications/a1",
            "x/c1/applications/a1",
        ] {
            assert!(parse_application_name(bad, "name").is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_are_ordered_by_creation() {
        let a = new_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_id();
        assert!(a < b);
    }
}
