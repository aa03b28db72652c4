//! Conflicts of interest (回避, DOMAIN.md "Review"): which (expert, application) pairs may never
//! be assigned, with the type and source of each conflict, so the record shows why.

use std::collections::BTreeSet;

/// The kinds of conflict the rules name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConflictType {
    /// The expert belongs to the lead organisation.
    SameOrganization,
    /// The expert belongs to a partner organisation of the consortium.
    Partner,
    /// The expert belongs to the publisher (the end user judges its own challenge otherwise).
    Publisher,
    /// Declared by the expert: a former employer.
    FormerEmployer,
    /// Declared by the expert: a collaborator.
    Collaborator,
    /// Declared by the expert: family.
    Family,
    /// Recorded past collaboration with an organisation of the team.
    PastCollaboration,
    /// Declared for another reason.
    Other,
}

/// Where a conflict was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConflictSource {
    /// Found automatically from affiliations.
    Detected,
    /// Declared by the expert in their profile or on opening an assignment.
    Declared,
    /// From the record of past collaborations.
    History,
}

/// A declared conflict: with an organisation or with a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Party {
    Organization(String),
    Person(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    pub party: Party,
    pub kind: ConflictType,
}

/// What conflict detection needs to know about an expert.
#[derive(Debug, Clone, Default)]
pub struct ExpertProfile {
    pub affiliation_id: String,
    pub declared: Vec<Declared>,
    /// Organisations the expert worked with recently.
    pub past_collaborations: Vec<String>,
}

/// What conflict detection needs to know about an application.
#[derive(Debug, Clone, Default)]
pub struct Parties {
    pub lead_organization_id: String,
    pub partner_organization_ids: Vec<String>,
    pub publisher_id: String,
    /// Platform users of the team.
    pub team_user_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Conflict {
    pub kind: ConflictType,
    pub source: ConflictSource,
    /// The organisation or person it concerns (`organizations/…`, `users/…`).
    pub concerning: String,
}

/// Every conflict between the expert and the application's parties; empty means free to assign.
pub fn detect(expert: &ExpertProfile, parties: &Parties) -> Vec<Conflict> {
    let mut found = BTreeSet::new();
    let org = |id: &str| format!("organizations/{id}");
    if expert.affiliation_id == parties.lead_organization_id {
        found.insert(Conflict {
            kind: ConflictType::SameOrganization,
            source: ConflictSource::Detected,
            concerning: org(&parties.lead_organization_id),
        });
    }
    if parties
        .partner_organization_ids
        .contains(&expert.affiliation_id)
    {
        found.insert(Conflict {
            kind: ConflictType::Partner,
            source: ConflictSource::Detected,
            concerning: org(&expert.affiliation_id),
        });
    }
    if expert.affiliation_id == parties.publisher_id {
        found.insert(Conflict {
            kind: ConflictType::Publisher,
            source: ConflictSource::Detected,
            concerning: org(&parties.publisher_id),
        });
    }
    let team_orgs: Vec<&String> = std::iter::once(&parties.lead_organization_id)
        .chain(&parties.partner_organization_ids)
        .chain(std::iter::once(&parties.publisher_id))
        .collect();
    for declared in &expert.declared {
        let hit = match &declared.party {
            Party::Organization(id) => team_orgs.contains(&id).then(|| org(id)),
            Party::Person(id) => parties
                .team_user_ids
                .contains(id)
                .then(|| format!("users/{id}")),
        };
        if let Some(concerning) = hit {
            found.insert(Conflict {
                kind: declared.kind,
                source: ConflictSource::Declared,
                concerning,
            });
        }
    }
    for past in &expert.past_collaborations {
        if team_orgs.contains(&past) {
            found.insert(Conflict {
                kind: ConflictType::PastCollaboration,
                source: ConflictSource::History,
                concerning: org(past),
            });
        }
    }
    found.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parties() -> Parties {
        Parties {
            lead_organization_id: "zjut".into(),
            partner_organization_ids: vec!["kaishan".into()],
            publisher_id: "porcelain".into(),
            team_user_ids: vec!["li".into()],
        }
    }

    fn expert(affiliation: &str) -> ExpertProfile {
        ExpertProfile {
            affiliation_id: affiliation.into(),
            ..Default::default()
        }
    }

    fn kinds(conflicts: &[Conflict]) -> Vec<ConflictType> {
        conflicts.iter().map(|c| c.kind).collect()
    }

    #[test]
    fn an_unrelated_expert_has_no_conflict() {
        assert!(detect(&expert("institute"), &parties()).is_empty());
    }

    #[test]
    fn affiliation_with_the_lead_a_partner_or_the_publisher_is_detected() {
        assert_eq!(
            kinds(&detect(&expert("zjut"), &parties())),
            vec![ConflictType::SameOrganization]
        );
        assert_eq!(
            kinds(&detect(&expert("kaishan"), &parties())),
            vec![ConflictType::Partner]
        );
        assert_eq!(
            kinds(&detect(&expert("porcelain"), &parties())),
            vec![ConflictType::Publisher]
        );
    }

    #[test]
    fn declared_conflicts_with_organisations_and_people_count() {
        let mut e = expert("institute");
        e.declared = vec![
            Declared {
                party: Party::Organization("kaishan".into()),
                kind: ConflictType::FormerEmployer,
            },
            Declared {
                party: Party::Person("li".into()),
                kind: ConflictType::Family,
            },
            Declared {
                party: Party::Person("someone-else".into()),
                kind: ConflictType::Collaborator,
            },
        ];
        let found = detect(&e, &parties());
        assert_eq!(
            kinds(&found),
            vec![ConflictType::FormerEmployer, ConflictType::Family]
        );
        assert!(found.iter().all(|c| c.source == ConflictSource::Declared));
        assert_eq!(found[1].concerning, "users/li");
    }

    #[test]
    fn past_collaborations_with_a_party_count() {
        let mut e = expert("institute");
        e.past_collaborations = vec!["zjut".into(), "elsewhere".into()];
        let found = detect(&e, &parties());
        assert_eq!(
            found,
            vec![Conflict {
                kind: ConflictType::PastCollaboration,
                source: ConflictSource::History,
                concerning: "organizations/zjut".into()
            }]
        );
    }
}
