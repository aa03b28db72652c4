//! Protobuf ↔ domain for challenges.
//!
//! proto3 cannot tell "unset" from zero, so zero means "the default" wherever DOMAIN.md has
//! one (review settings, per-organisation limit); unset enums in lists are field violations.

use jiebang_domain::challenge::{
    AggregationMethod, CancellationReason, Challenge, ChallengeSpec, ChallengeState, Comparison,
    Contact, Criterion, CriterionKind, Eligibility, Indicator, ReviewSettings, Tranche,
    TrancheTrigger,
};
use jiebang_domain::identity::OrganizationType;
use jiebang_domain::ids::Collection;
use jiebang_domain::{DomainError, FieldViolation, Timestamp, Violations};
use jiebang_grpc::convert::to_proto_time;
use jiebang_proto::v1 as pb;

pub fn state_to_proto(state: ChallengeState) -> pb::ChallengeState {
    match state {
        ChallengeState::Draft => pb::ChallengeState::Draft,
        ChallengeState::PendingApproval => pb::ChallengeState::PendingApproval,
        ChallengeState::Approved => pb::ChallengeState::Approved,
        ChallengeState::Published => pb::ChallengeState::Published,
        ChallengeState::ApplicationsClosed => pb::ChallengeState::ApplicationsClosed,
        ChallengeState::UnderReview => pb::ChallengeState::UnderReview,
        ChallengeState::PublicNotice => pb::ChallengeState::PublicNotice,
        ChallengeState::Awarded => pb::ChallengeState::Awarded,
        ChallengeState::InProgress => pb::ChallengeState::InProgress,
        ChallengeState::Completed => pb::ChallengeState::Completed,
        ChallengeState::Failed => pb::ChallengeState::Failed,
        ChallengeState::Cancelled => pb::ChallengeState::Cancelled,
    }
}

pub fn state_from_proto(value: i32) -> Option<ChallengeState> {
    let state = pb::ChallengeState::try_from(value).ok()?;
    ChallengeState::ALL
        .into_iter()
        .find(|s| state_to_proto(*s) == state)
}

pub fn cancellation_from_proto(value: i32) -> Option<CancellationReason> {
    match pb::CancellationReason::try_from(value).ok()? {
        pb::CancellationReason::NoEligibleApplications => {
            Some(CancellationReason::NoEligibleApplications)
        }
        pb::CancellationReason::NoneAboveThreshold => Some(CancellationReason::NoneAboveThreshold),
        pb::CancellationReason::WithdrawnByPublisher => {
            Some(CancellationReason::WithdrawnByPublisher)
        }
        pb::CancellationReason::PolicyChange => Some(CancellationReason::PolicyChange),
        pb::CancellationReason::Other => Some(CancellationReason::Other),
        pb::CancellationReason::Unspecified => None,
    }
}

fn cancellation_to_proto(reason: CancellationReason) -> pb::CancellationReason {
    match reason {
        CancellationReason::NoEligibleApplications => {
            pb::CancellationReason::NoEligibleApplications
        }
        CancellationReason::NoneAboveThreshold => pb::CancellationReason::NoneAboveThreshold,
        CancellationReason::WithdrawnByPublisher => pb::CancellationReason::WithdrawnByPublisher,
        CancellationReason::PolicyChange => pb::CancellationReason::PolicyChange,
        CancellationReason::Other => pb::CancellationReason::Other,
    }
}

fn comparison_from_proto(value: i32) -> Option<Comparison> {
    match pb::Comparison::try_from(value).ok()? {
        pb::Comparison::AtLeast => Some(Comparison::AtLeast),
        pb::Comparison::AtMost => Some(Comparison::AtMost),
        pb::Comparison::Equal => Some(Comparison::Equal),
        pb::Comparison::Unspecified => None,
    }
}

fn comparison_to_proto(c: Comparison) -> pb::Comparison {
    match c {
        Comparison::AtLeast => pb::Comparison::AtLeast,
        Comparison::AtMost => pb::Comparison::AtMost,
        Comparison::Equal => pb::Comparison::Equal,
    }
}

fn criterion_kind_from_proto(value: i32) -> Option<CriterionKind> {
    match pb::CriterionKind::try_from(value).ok()? {
        pb::CriterionKind::TechnicalFeasibility => Some(CriterionKind::TechnicalFeasibility),
        pb::CriterionKind::TeamCapability => Some(CriterionKind::TeamCapability),
        pb::CriterionKind::Budget => Some(CriterionKind::Budget),
        pb::CriterionKind::Industrialisation => Some(CriterionKind::Industrialisation),
        pb::CriterionKind::Other => Some(CriterionKind::Other),
        pb::CriterionKind::Unspecified => None,
    }
}

fn criterion_kind_to_proto(k: CriterionKind) -> pb::CriterionKind {
    match k {
        CriterionKind::TechnicalFeasibility => pb::CriterionKind::TechnicalFeasibility,
        CriterionKind::TeamCapability => pb::CriterionKind::TeamCapability,
        CriterionKind::Budget => pb::CriterionKind::Budget,
        CriterionKind::Industrialisation => pb::CriterionKind::Industrialisation,
        CriterionKind::Other => pb::CriterionKind::Other,
    }
}

fn trigger_from_proto(value: i32) -> Option<TrancheTrigger> {
    match pb::TrancheTrigger::try_from(value).ok()? {
        pb::TrancheTrigger::OnSigning => Some(TrancheTrigger::OnSigning),
        pb::TrancheTrigger::MidTerm => Some(TrancheTrigger::MidTerm),
        pb::TrancheTrigger::Final => Some(TrancheTrigger::Final),
        pb::TrancheTrigger::Milestone => Some(TrancheTrigger::Milestone),
        pb::TrancheTrigger::Unspecified => None,
    }
}

fn trigger_to_proto(t: TrancheTrigger) -> pb::TrancheTrigger {
    match t {
        TrancheTrigger::OnSigning => pb::TrancheTrigger::OnSigning,
        TrancheTrigger::MidTerm => pb::TrancheTrigger::MidTerm,
        TrancheTrigger::Final => pb::TrancheTrigger::Final,
        TrancheTrigger::Milestone => pb::TrancheTrigger::Milestone,
    }
}

fn aggregation_from_proto(value: i32) -> Option<AggregationMethod> {
    match pb::AggregationMethod::try_from(value).ok()? {
        pb::AggregationMethod::TrimmedMean | pb::AggregationMethod::Unspecified => {
            Some(AggregationMethod::TrimmedMean)
        }
        pb::AggregationMethod::Mean => Some(AggregationMethod::Mean),
        pb::AggregationMethod::Median => Some(AggregationMethod::Median),
    }
}

fn aggregation_to_proto(a: AggregationMethod) -> pb::AggregationMethod {
    match a {
        AggregationMethod::TrimmedMean => pb::AggregationMethod::TrimmedMean,
        AggregationMethod::Mean => pb::AggregationMethod::Mean,
        AggregationMethod::Median => pb::AggregationMethod::Median,
    }
}

fn org_type_from_proto(value: i32) -> Option<OrganizationType> {
    match pb::OrganizationType::try_from(value).ok()? {
        pb::OrganizationType::Enterprise => Some(OrganizationType::Enterprise),
        pb::OrganizationType::University => Some(OrganizationType::University),
        pb::OrganizationType::Institute => Some(OrganizationType::Institute),
        pb::OrganizationType::Government => Some(OrganizationType::Government),
        pb::OrganizationType::IndustryBody => Some(OrganizationType::IndustryBody),
        pb::OrganizationType::Unspecified => None,
    }
}

fn org_type_to_proto(t: OrganizationType) -> pb::OrganizationType {
    match t {
        OrganizationType::Enterprise => pb::OrganizationType::Enterprise,
        OrganizationType::University => pb::OrganizationType::University,
        OrganizationType::Institute => pb::OrganizationType::Institute,
        OrganizationType::Government => pb::OrganizationType::Government,
        OrganizationType::IndustryBody => pb::OrganizationType::IndustryBody,
    }
}

/// Reads the spec part of a request's challenge, with the violations found while reading
/// (enums left unset inside lists). Field paths are relative to the challenge; the caller
/// prefixes them. Zero settings take DOMAIN.md's defaults; an empty round becomes the current
/// year. The spec's own rules are checked separately, so one response can name every bad field.
pub fn spec_from_proto(c: &pb::Challenge, now: Timestamp) -> (ChallengeSpec, Vec<FieldViolation>) {
    let mut v = Violations::new();
    let indicators = c
        .indicators
        .iter()
        .enumerate()
        .map(|(i, ind)| {
            let comparison = comparison_from_proto(ind.comparison);
            v.require(
                comparison.is_some(),
                format!("indicators[{i}].comparison"),
                "must be set",
            );
            Indicator {
                name: ind.name.clone(),
                target_value: ind.target_value.clone(),
                unit: ind.unit.clone(),
                comparison: comparison.unwrap_or(Comparison::AtLeast),
                test_method: ind.test_method.clone(),
                mandatory: ind.mandatory,
            }
        })
        .collect();
    let criteria = c
        .criteria
        .iter()
        .enumerate()
        .map(|(i, cr)| {
            let kind = criterion_kind_from_proto(cr.kind);
            v.require(kind.is_some(), format!("criteria[{i}].kind"), "must be set");
            Criterion {
                name: cr.name.clone(),
                kind: kind.unwrap_or(CriterionKind::Other),
                weight: cr.weight,
                guidance: cr.guidance.clone(),
            }
        })
        .collect();
    let tranches = c
        .tranches
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let trigger = trigger_from_proto(t.trigger);
            v.require(
                trigger.is_some(),
                format!("tranches[{i}].trigger"),
                "must be set",
            );
            Tranche {
                trigger: trigger.unwrap_or(TrancheTrigger::Milestone),
                share_basis_points: t.share_basis_points,
                description: t.description.clone(),
            }
        })
        .collect();
    let defaults = Eligibility::default();
    let eligibility = match &c.eligibility {
        None => defaults,
        Some(e) => Eligibility {
            organization_types: e
                .organization_types
                .iter()
                .enumerate()
                .filter_map(|(i, t)| {
                    let parsed = org_type_from_proto(*t);
                    v.require(
                        parsed.is_some(),
                        format!("eligibility.organization_types[{i}]"),
                        "must be a known organisation type",
                    );
                    parsed
                })
                .collect(),
            region_prefixes: e.region_prefixes.clone(),
            max_partners: e.max_partners.unwrap_or(defaults.max_partners),
            max_applications_per_organization: match e.max_applications_per_organization {
                0 => defaults.max_applications_per_organization,
                n => n,
            },
            bar_past_winners: e.bar_past_winners,
        },
    };
    let review_defaults = ReviewSettings::default();
    let or_default = |value: i32, default: i32| if value == 0 { default } else { value };
    let review = match &c.review_settings {
        None => review_defaults,
        Some(r) => {
            let method = aggregation_from_proto(r.aggregation_method);
            v.require(
                method.is_some(),
                "review_settings.aggregation_method",
                "must be a known method",
            );
            ReviewSettings {
                experts_per_application: or_default(
                    r.experts_per_application,
                    review_defaults.experts_per_application,
                ),
                aggregation_method: method.unwrap_or(review_defaults.aggregation_method),
                dispersion_gap: or_default(r.dispersion_gap, review_defaults.dispersion_gap),
                total_threshold: or_default(r.total_threshold, review_defaults.total_threshold),
                criterion_threshold_percent: or_default(
                    r.criterion_threshold_percent,
                    review_defaults.criterion_threshold_percent,
                ),
                shortlist_size: or_default(r.shortlist_size, review_defaults.shortlist_size),
            }
        }
    };
    let contact = c.contact.clone().unwrap_or_default();
    let spec = ChallengeSpec {
        title: c.title.clone(),
        problem: c.problem.clone(),
        goals: c.goals.clone(),
        indicators,
        end_user: c.end_user.clone(),
        government_funding_fen: c.government_funding_fen,
        co_funding_fen: c.co_funding_fen,
        duration_months: c.duration_months,
        industry_field: c.industry_field.clone(),
        eligibility,
        criteria,
        winners_count: c.winners_count,
        tranches,
        responsible_department: c.responsible_department.clone(),
        contact: Contact {
            person: contact.person,
            phone: contact.phone,
            email: contact.email,
        },
        blind_review: c.blind_review,
        review,
        round: if c.round.is_empty() {
            now.year().to_string()
        } else {
            c.round.clone()
        },
    };
    let violations = match v.into_result() {
        Ok(()) => Vec::new(),
        Err(DomainError::InvalidArgument(violations)) => violations,
        Err(_) => Vec::new(),
    };
    (spec, violations)
}

/// A complete new spec: reading violations plus every rule of the spec, all at once.
pub fn new_spec_from_proto(
    c: &pb::Challenge,
    now: Timestamp,
) -> Result<ChallengeSpec, DomainError> {
    let (spec, mut violations) = spec_from_proto(c, now);
    if let Err(DomainError::InvalidArgument(more)) = spec.validate() {
        violations.extend(more);
    }
    if violations.is_empty() {
        Ok(spec)
    } else {
        Err(DomainError::InvalidArgument(violations))
    }
}

/// The top-level field a violation path names: `criteria` for `criteria[1].weight`.
fn top_level_field(path: &str) -> &str {
    path.split(['.', '[']).next().unwrap_or(path)
}

/// The challenge as a client sees it at `now` (a passed deadline shows as closed).
pub fn challenge_to_proto(c: &Challenge, now: Timestamp) -> pb::Challenge {
    let s = &c.spec;
    pb::Challenge {
        problem: s.problem.clone(),
        goals: s.goals.clone(),
        indicators: s
            .indicators
            .iter()
            .map(|i| pb::Indicator {
                name: i.name.clone(),
                target_value: i.target_value.clone(),
                unit: i.unit.clone(),
                comparison: comparison_to_proto(i.comparison) as i32,
                test_method: i.test_method.clone(),
                mandatory: i.mandatory,
            })
            .collect(),
        end_user: s.end_user.clone(),
        eligibility: Some(pb::Eligibility {
            organization_types: s
                .eligibility
                .organization_types
                .iter()
                .map(|t| org_type_to_proto(*t) as i32)
                .collect(),
            region_prefixes: s.eligibility.region_prefixes.clone(),
            max_partners: Some(s.eligibility.max_partners),
            max_applications_per_organization: s.eligibility.max_applications_per_organization,
            bar_past_winners: s.eligibility.bar_past_winners,
        }),
        criteria: s
            .criteria
            .iter()
            .map(|cr| pb::Criterion {
                name: cr.name.clone(),
                kind: criterion_kind_to_proto(cr.kind) as i32,
                weight: cr.weight,
                guidance: cr.guidance.clone(),
            })
            .collect(),
        tranches: s
            .tranches
            .iter()
            .map(|t| pb::Tranche {
                trigger: trigger_to_proto(t.trigger) as i32,
                share_basis_points: t.share_basis_points,
                description: t.description.clone(),
            })
            .collect(),
        responsible_department: s.responsible_department.clone(),
        contact: Some(pb::Contact {
            person: s.contact.person.clone(),
            phone: s.contact.phone.clone(),
            email: s.contact.email.clone(),
        }),
        review_settings: Some(pb::ReviewSettings {
            experts_per_application: s.review.experts_per_application,
            aggregation_method: aggregation_to_proto(s.review.aggregation_method) as i32,
            dispersion_gap: s.review.dispersion_gap,
            total_threshold: s.review.total_threshold,
            criterion_threshold_percent: s.review.criterion_threshold_percent,
            shortlist_size: s.review.shortlist_size,
        }),
        ..challenge_to_basic_proto(c, now)
    }
}

/// A challenge as a listing's BASIC view shows it (AIP-157, `ChallengeView` in
/// challenge.proto): every short field, none of the long texts or nested lists.
pub fn challenge_to_basic_proto(c: &Challenge, now: Timestamp) -> pb::Challenge {
    let s = &c.spec;
    pb::Challenge {
        name: c.name(),
        publisher: Collection::Organizations.name(&c.publisher_id),
        state: state_to_proto(c.state_at(now)) as i32,
        title: s.title.clone(),
        government_funding_fen: s.government_funding_fen,
        co_funding_fen: s.co_funding_fen,
        duration_months: s.duration_months,
        industry_field: s.industry_field.clone(),
        winners_count: s.winners_count,
        blind_review: s.blind_review,
        round: s.round.clone(),
        application_open_time: c.open_at.map(to_proto_time),
        application_close_time: c.close_at.map(to_proto_time),
        rejection_reason: c.rejection_reason.clone().unwrap_or_default(),
        cancellation_reason: c
            .cancellation
            .as_ref()
            .map(|(r, _)| cancellation_to_proto(*r) as i32)
            .unwrap_or_default(),
        cancellation_note: c
            .cancellation
            .as_ref()
            .map(|(_, n)| n.clone())
            .unwrap_or_default(),
        create_time: Some(to_proto_time(c.created_at)),
        update_time: Some(to_proto_time(c.updated_at)),
        etag: c.etag(),
        ..Default::default()
    }
}

/// Fields a publisher may change in a DRAFT; everything else is output only.
const UPDATABLE: &[&str] = &[
    "title",
    "problem",
    "goals",
    "indicators",
    "end_user",
    "government_funding_fen",
    "co_funding_fen",
    "duration_months",
    "industry_field",
    "eligibility",
    "criteria",
    "winners_count",
    "tranches",
    "responsible_department",
    "contact",
    "blind_review",
    "review_settings",
    "round",
];

/// Applies the update mask: the named fields of `incoming` replace those of `current`.
/// Reading violations of fields the mask does not name are ignored: those fields are not used.
pub fn merge_masked(
    current: &ChallengeSpec,
    (incoming, reading_violations): (ChallengeSpec, Vec<FieldViolation>),
    paths: &[String],
) -> Result<ChallengeSpec, DomainError> {
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
                format!("`{path}` is not an updatable field of a challenge (output-only, nested or unknown)"),
            );
        }
    }
    v.into_result()?;
    let relevant: Vec<FieldViolation> = reading_violations
        .into_iter()
        .filter(|violation| expanded.contains(&top_level_field(&violation.field)))
        .collect();
    if !relevant.is_empty() {
        return Err(DomainError::InvalidArgument(relevant).within("challenge"));
    }
    let mut next = current.clone();
    for path in expanded {
        match path {
            "title" => next.title = incoming.title.clone(),
            "problem" => next.problem = incoming.problem.clone(),
            "goals" => next.goals = incoming.goals.clone(),
            "indicators" => next.indicators = incoming.indicators.clone(),
            "end_user" => next.end_user = incoming.end_user.clone(),
            "government_funding_fen" => {
                next.government_funding_fen = incoming.government_funding_fen
            }
            "co_funding_fen" => next.co_funding_fen = incoming.co_funding_fen,
            "duration_months" => next.duration_months = incoming.duration_months,
            "industry_field" => next.industry_field = incoming.industry_field.clone(),
            "eligibility" => next.eligibility = incoming.eligibility.clone(),
            "criteria" => next.criteria = incoming.criteria.clone(),
            "winners_count" => next.winners_count = incoming.winners_count,
            "tranches" => next.tranches = incoming.tranches.clone(),
            "responsible_department" => {
                next.responsible_department = incoming.responsible_department.clone();
            }
            "contact" => next.contact = incoming.contact.clone(),
            "blind_review" => next.blind_review = incoming.blind_review,
            "review_settings" => next.review = incoming.review.clone(),
            "round" => next.round = incoming.round.clone(),
            _ => {}
        }
    }
    Ok(next)
}
