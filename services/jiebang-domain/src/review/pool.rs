//! The expert pool: profiles, their validation, and who is a candidate for a challenge.

use super::conflicts::{ConflictType, Declared, ExpertProfile, Party};
use crate::{DomainError, Timestamp, Violations};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    Available,
    Unavailable,
    Retired,
}

impl Availability {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Available => "AVAILABLE",
            Self::Unavailable => "UNAVAILABLE",
            Self::Retired => "RETIRED",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Available, Self::Unavailable, Self::Retired]
            .into_iter()
            .find(|a| a.as_str() == text)
    }
}

/// A declared conflict as stored on the profile.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeclaredConflict {
    /// `organization:{id}`, `user:{id}` or `person:{name}`.
    pub counterpart: String,
    pub kind: String,
    pub note: String,
    pub declared_at: Timestamp,
}

/// An expert as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expert {
    pub id: String,
    pub user_id: String,
    pub display_name: String,
    pub fields: Vec<String>,
    pub keywords: Vec<String>,
    pub affiliation_id: String,
    pub declared: Vec<DeclaredConflict>,
    pub max_load: i32,
    pub availability: Availability,
    pub unavailable_until: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

pub const DEFAULT_MAX_LOAD: i32 = 10;

impl Expert {
    pub fn name(&self) -> String {
        format!("experts/{}", self.id)
    }

    /// Field rules of a profile; paths relative to the expert.
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut v = Violations::new();
        v.require(
            (1..=20).contains(&self.fields.len()),
            "fields_of_expertise",
            "must list 1–20 industry fields",
        );
        for (i, f) in self.fields.iter().enumerate() {
            v.require(
                (2..=64).contains(&f.len())
                    && f.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                format!("fields_of_expertise[{i}]"),
                "must be a field code like electric_porcelain",
            );
        }
        v.require(self.keywords.len() <= 50, "keywords", "at most 50 keywords");
        for (i, k) in self.keywords.iter().enumerate() {
            v.require(
                (1..=50).contains(&k.trim().chars().count()),
                format!("keywords[{i}]"),
                "must be 1–50 characters",
            );
        }
        v.require(
            (1..=200).contains(&self.max_load),
            "max_load",
            "must be 1–200",
        );
        v.into_result()
    }

    /// Whether the expert can take new assignments at `now`.
    pub fn is_available(&self, now: Timestamp) -> bool {
        match self.availability {
            Availability::Available => true,
            Availability::Unavailable => self.unavailable_until.is_some_and(|until| now >= until),
            Availability::Retired => false,
        }
    }

    /// The profile conflict detection needs.
    pub fn conflict_profile(&self) -> ExpertProfile {
        ExpertProfile {
            affiliation_id: self.affiliation_id.clone(),
            declared: self
                .declared
                .iter()
                .filter_map(|d| {
                    let kind = conflict_type(&d.kind)?;
                    let party = if let Some(id) = d.counterpart.strip_prefix("organization:") {
                        Party::Organization(id.to_owned())
                    } else if let Some(id) = d.counterpart.strip_prefix("user:") {
                        Party::Person(id.to_owned())
                    } else {
                        return None;
                    };
                    Some(Declared { party, kind })
                })
                .collect(),
            past_collaborations: Vec::new(),
        }
    }
}

pub fn conflict_type(text: &str) -> Option<ConflictType> {
    use ConflictType::*;
    [
        (SameOrganization, "SAME_ORGANIZATION"),
        (Partner, "PARTNER"),
        (Publisher, "PUBLISHER"),
        (FormerEmployer, "FORMER_EMPLOYER"),
        (Collaborator, "COLLABORATOR"),
        (Family, "FAMILY"),
        (PastCollaboration, "PAST_COLLABORATION"),
        (Other, "OTHER"),
    ]
    .into_iter()
    .find(|(_, name)| *name == text)
    .map(|(t, _)| t)
}

pub fn conflict_type_name(kind: ConflictType) -> &'static str {
    use ConflictType::*;
    match kind {
        SameOrganization => "SAME_ORGANIZATION",
        Partner => "PARTNER",
        Publisher => "PUBLISHER",
        FormerEmployer => "FORMER_EMPLOYER",
        Collaborator => "COLLABORATOR",
        Family => "FAMILY",
        PastCollaboration => "PAST_COLLABORATION",
        Other => "OTHER",
    }
}
