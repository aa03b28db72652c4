//! Protobuf ↔ domain for applications.

use jiebang_domain::application::{
    Application, ApplicationContent, ApplicationState, Contact, EligibilityRule, IndicatorTarget,
    IneligibilityReason, Member, ProposedMilestone, TeamRole,
};
use jiebang_domain::ids::{Collection, parse_document_name};
use jiebang_domain::{FieldViolation, Violations};
use jiebang_grpc::convert::to_proto_time;
use jiebang_proto::v1 as pb;

pub fn state_to_proto(state: ApplicationState) -> pb::ApplicationState {
    match state {
        ApplicationState::Draft => pb::ApplicationState::Draft,
        ApplicationState::Submitted => pb::ApplicationState::Submitted,
        ApplicationState::Eligible => pb::ApplicationState::Eligible,
        ApplicationState::Ineligible => pb::ApplicationState::Ineligible,
        ApplicationState::UnderReview => pb::ApplicationState::UnderReview,
        ApplicationState::Shortlisted => pb::ApplicationState::Shortlisted,
        ApplicationState::NotSelected => pb::ApplicationState::NotSelected,
        ApplicationState::ProposedWinner => pb::ApplicationState::ProposedWinner,
        ApplicationState::Appointed => pb::ApplicationState::Appointed,
        ApplicationState::Withdrawn => pb::ApplicationState::Withdrawn,
    }
}

pub fn state_from_proto(value: i32) -> Option<ApplicationState> {
    let wanted = pb::ApplicationState::try_from(value).ok()?;
    ApplicationState::ALL
        .into_iter()
        .find(|s| state_to_proto(*s) == wanted)
}

fn role_to_proto(role: TeamRole) -> pb::TeamRole {
    match role {
        TeamRole::Lead => pb::TeamRole::Lead,
        TeamRole::CoreMember => pb::TeamRole::CoreMember,
        TeamRole::Member => pb::TeamRole::Member,
    }
}

fn role_from_proto(value: i32) -> Option<TeamRole> {
    match pb::TeamRole::try_from(value).ok()? {
        pb::TeamRole::Lead => Some(TeamRole::Lead),
        pb::TeamRole::CoreMember => Some(TeamRole::CoreMember),
        pb::TeamRole::Member => Some(TeamRole::Member),
        pb::TeamRole::Unspecified => None,
    }
}

pub fn rule_to_proto(rule: EligibilityRule) -> pb::EligibilityRule {
    pb::EligibilityRule::from_str_name(&format!("ELIGIBILITY_RULE_{}", rule.as_str()))
        .unwrap_or(pb::EligibilityRule::Other)
}

pub fn rule_from_proto(value: i32) -> Option<EligibilityRule> {
    let name = pb::EligibilityRule::try_from(value).ok()?.as_str_name();
    EligibilityRule::parse(name.strip_prefix("ELIGIBILITY_RULE_")?)
}

pub fn reasons_from_proto(
    reasons: &[pb::IneligibilityReason],
) -> Result<Vec<IneligibilityReason>, Vec<FieldViolation>> {
    let mut v = Violations::new();
    let parsed = reasons
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let rule = rule_from_proto(r.rule);
            v.require(rule.is_some(), format!("reasons[{i}].rule"), "must be set");
            rule.map(|rule| IneligibilityReason {
                rule,
                detail: r.detail.clone(),
            })
        })
        .collect();
    match v.into_result() {
        Ok(()) => Ok(parsed),
        Err(jiebang_domain::DomainError::InvalidArgument(violations)) => Err(violations),
        Err(_) => Ok(parsed),
    }
}

/// Reads the content of a request's application, with the violations found while reading
/// (malformed names, unset enums). Paths are relative to the application.
pub fn content_from_proto(a: &pb::Application) -> (ApplicationContent, Vec<FieldViolation>) {
    let mut v = Violations::new();
    let team = a.team.clone().unwrap_or_default();
    let org_id = |v: &mut Violations, name: &str, field: String| -> String {
        match Collection::Organizations.parse(name, &field) {
            Ok(id) => id.to_owned(),
            Err(_) => {
                v.add(
                    field,
                    "must be an organisation name like organizations/{id}",
                );
                String::new()
            }
        }
    };
    let partner_organization_ids = team
        .partner_organizations
        .iter()
        .enumerate()
        .map(|(i, p)| org_id(&mut v, p, format!("team.partner_organizations[{i}]")))
        .collect();
    let lead_person_id = if team.lead_person.is_empty() {
        String::new()
    } else {
        match Collection::Users.parse(&team.lead_person, "team.lead_person") {
            Ok(id) => id.to_owned(),
            Err(_) => {
                v.add("team.lead_person", "must be a user name like users/{id}");
                String::new()
            }
        }
    };
    let members = team
        .members
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let user_id = if m.user.is_empty() {
                None
            } else {
                match Collection::Users.parse(&m.user, "user") {
                    Ok(id) => Some(id.to_owned()),
                    Err(_) => {
                        v.add(
                            format!("team.members[{i}].user"),
                            "must be a user name like users/{id}",
                        );
                        None
                    }
                }
            };
            let role = role_from_proto(m.role);
            v.require(
                role.is_some(),
                format!("team.members[{i}].role"),
                "must be set",
            );
            Member {
                user_id,
                display_name: m.display_name.clone(),
                organization_id: org_id(
                    &mut v,
                    &m.organization,
                    format!("team.members[{i}].organization"),
                ),
                role: role.unwrap_or(TeamRole::Member),
                duty: m.duty.clone(),
            }
        })
        .collect();
    let milestones = a
        .proposed_milestones
        .iter()
        .map(|m| ProposedMilestone {
            title: m.title.clone(),
            deliverables: m.deliverables.clone(),
            due_after_months: m.due_after_months,
            indicator_targets: m
                .indicator_targets
                .iter()
                .map(|t| IndicatorTarget {
                    indicator: t.indicator.clone(),
                    target_value: t.target_value.clone(),
                })
                .collect(),
            share_basis_points: m.share_basis_points,
            mid_term: m.mid_term,
        })
        .collect();
    let documents = a
        .documents
        .iter()
        // A malformed name is kept as written; the content's own rules report it once.
        .map(|d| match parse_document_name(d, "documents") {
            Ok(sha) => sha.to_owned(),
            Err(_) => d.clone(),
        })
        .collect();
    let content = ApplicationContent {
        title: a.title.clone(),
        partner_organization_ids,
        lead_person_id,
        members,
        technical_plan: a.technical_plan.clone(),
        requested_budget_fen: a.requested_budget_fen,
        signing_share_basis_points: a.signing_share_basis_points,
        milestones,
        contacts: a
            .contacts
            .iter()
            .map(|c| Contact {
                person: c.person.clone(),
                phone: c.phone.clone(),
                email: c.email.clone(),
            })
            .collect(),
        documents,
    };
    let violations = match v.into_result() {
        Err(jiebang_domain::DomainError::InvalidArgument(violations)) => violations,
        _ => Vec::new(),
    };
    (content, violations)
}

pub fn application_to_proto(a: &Application) -> pb::Application {
    let c = &a.content;
    let org = |id: &str| Collection::Organizations.name(id);
    let user = |id: &str| Collection::Users.name(id);
    pb::Application {
        name: a.name(),
        challenge: Collection::Challenges.name(&a.challenge_id),
        state: state_to_proto(a.state) as i32,
        title: c.title.clone(),
        team: Some(pb::Team {
            lead_organization: org(&a.lead_organization_id),
            partner_organizations: c.partner_organization_ids.iter().map(|p| org(p)).collect(),
            lead_person: user(&c.lead_person_id),
            members: c
                .members
                .iter()
                .map(|m| pb::TeamMember {
                    user: m.user_id.as_deref().map(user).unwrap_or_default(),
                    display_name: m.display_name.clone(),
                    organization: org(&m.organization_id),
                    role: role_to_proto(m.role) as i32,
                    duty: m.duty.clone(),
                })
                .collect(),
        }),
        technical_plan: c.technical_plan.clone(),
        requested_budget_fen: c.requested_budget_fen,
        signing_share_basis_points: c.signing_share_basis_points,
        proposed_milestones: c
            .milestones
            .iter()
            .map(|m| pb::ProposedMilestone {
                title: m.title.clone(),
                deliverables: m.deliverables.clone(),
                due_after_months: m.due_after_months,
                indicator_targets: m
                    .indicator_targets
                    .iter()
                    .map(|t| pb::IndicatorTarget {
                        indicator: t.indicator.clone(),
                        target_value: t.target_value.clone(),
                    })
                    .collect(),
                share_basis_points: m.share_basis_points,
                mid_term: m.mid_term,
            })
            .collect(),
        contacts: c
            .contacts
            .iter()
            .map(|x| pb::Contact {
                person: x.person.clone(),
                phone: x.phone.clone(),
                email: x.email.clone(),
            })
            .collect(),
        documents: c
            .documents
            .iter()
            .map(|d| format!("documents/{d}"))
            .collect(),
        pledge: a.pledge.as_ref().map(|p| pb::ResponsibilityPledge {
            signer: user(&p.signer_id),
            sign_time: Some(to_proto_time(p.signed_at)),
            text: p.text.clone(),
            signed_document: p
                .signed_document
                .as_ref()
                .map(|d| format!("documents/{d}"))
                .unwrap_or_default(),
            text_sha256: p.text_sha256.clone(),
        }),
        formal_check: a.formal_check.as_ref().map(|f| pb::FormalCheck {
            outcome: if f.eligible {
                pb::FormalCheckOutcome::Eligible as i32
            } else {
                pb::FormalCheckOutcome::Ineligible as i32
            },
            reasons: f
                .reasons
                .iter()
                .map(|r| pb::IneligibilityReason {
                    rule: rule_to_proto(r.rule) as i32,
                    detail: r.detail.clone(),
                })
                .collect(),
            checker: user(&f.checker_id),
            check_time: Some(to_proto_time(f.checked_at)),
        }),
        withdrawal_reason: a.withdrawal_reason.clone().unwrap_or_default(),
        project: String::new(),
        creator: user(&a.creator_id),
        create_time: Some(to_proto_time(a.created_at)),
        update_time: Some(to_proto_time(a.updated_at)),
        submit_time: a.submitted_at.map(to_proto_time),
        withdraw_time: a.withdrawn_at.map(to_proto_time),
        etag: a.etag(),
    }
}

/// Fields a team may change in a DRAFT.
pub const UPDATABLE: &[&str] = &[
    "title",
    "team",
    "technical_plan",
    "requested_budget_fen",
    "signing_share_basis_points",
    "proposed_milestones",
    "contacts",
    "documents",
];

/// Applies the update mask; reading violations of fields the mask does not name are ignored.
pub fn merge_masked(
    current: &ApplicationContent,
    (incoming, reading): (ApplicationContent, Vec<FieldViolation>),
    paths: &[String],
) -> Result<ApplicationContent, jiebang_domain::DomainError> {
    let mut v = Violations::new();
    v.require(
        !paths.is_empty(),
        "update_mask",
        "must name the fields to update (or `*`)",
    );
    let expanded: Vec<&str> = if paths.iter().any(|p| p == "*") {
        UPDATABLE.to_vec()
    } else {
        paths.iter().map(String::as_str).collect()
    };
    for (i, path) in expanded.iter().enumerate() {
        if !UPDATABLE.contains(path) {
            v.add(
                format!("update_mask.paths[{i}]"),
                format!("`{path}` is not an updatable field of an application"),
            );
        }
    }
    v.into_result()?;
    let relevant: Vec<FieldViolation> = reading
        .into_iter()
        .filter(|f| {
            expanded.iter().any(|p| {
                f.field == *p
                    || f.field.starts_with(&format!("{p}."))
                    || f.field.starts_with(&format!("{p}["))
            })
        })
        .collect();
    if !relevant.is_empty() {
        return Err(jiebang_domain::DomainError::InvalidArgument(relevant).within("application"));
    }
    let mut next = current.clone();
    for path in expanded {
        match path {
            "title" => next.title = incoming.title.clone(),
            "team" => {
                next.partner_organization_ids = incoming.partner_organization_ids.clone();
                next.lead_person_id = incoming.lead_person_id.clone();
                next.members = incoming.members.clone();
            }
            "technical_plan" => next.technical_plan = incoming.technical_plan.clone(),
            "requested_budget_fen" => next.requested_budget_fen = incoming.requested_budget_fen,
            "signing_share_basis_points" => {
                next.signing_share_basis_points = incoming.signing_share_basis_points
            }
            "proposed_milestones" => next.milestones = incoming.milestones.clone(),
            "contacts" => next.contacts = incoming.contacts.clone(),
            "documents" => next.documents = incoming.documents.clone(),
            _ => {}
        }
    }
    Ok(next)
}
