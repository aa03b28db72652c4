//! What a challenge holds (DOMAIN.md, "A challenge holds"), and its validation.
//!
//! The spec is the part the publisher writes; lifecycle fields (state, window, reasons) live in
//! [`super::Challenge`]. Every rule below names the field it checks, so one response reports
//! every bad field at once.

use crate::identity::OrganizationType;
use crate::{DomainError, Violations, decimal};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Basis points in a whole: shares of funding sum to this.
pub const BASIS_POINTS: i32 = 10_000;
/// Review criteria weights sum to this many points.
pub const CRITERIA_POINTS: i32 = 100;
/// A consortium is one lead plus at most this many partners.
pub const MAX_PARTNERS: i32 = 4;
/// Funding above 100 亿元 is certainly a typo, and keeps sums far from overflow.
pub const MAX_FUNDING_FEN: i64 = 1_000_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    AtLeast,
    AtMost,
    Equal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Indicator {
    pub name: String,
    /// Exact decimal text.
    pub target_value: String,
    pub unit: String,
    pub comparison: Comparison,
    pub test_method: String,
    pub mandatory: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CriterionKind {
    TechnicalFeasibility,
    TeamCapability,
    Budget,
    Industrialisation,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Criterion {
    pub name: String,
    pub kind: CriterionKind,
    pub weight: i32,
    pub guidance: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrancheTrigger {
    OnSigning,
    MidTerm,
    Final,
    Milestone,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tranche {
    pub trigger: TrancheTrigger,
    pub share_basis_points: i32,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Eligibility {
    /// Empty means enterprise, university or institute.
    pub organization_types: Vec<OrganizationType>,
    pub region_prefixes: Vec<String>,
    pub max_partners: i32,
    pub max_applications_per_organization: i32,
    pub bar_past_winners: bool,
}

impl Default for Eligibility {
    fn default() -> Self {
        Self {
            organization_types: Vec::new(),
            region_prefixes: Vec::new(),
            max_partners: MAX_PARTNERS,
            max_applications_per_organization: 3,
            bar_past_winners: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AggregationMethod {
    TrimmedMean,
    Mean,
    Median,
}

/// How the review runs; the defaults are DOMAIN.md's ("Review").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewSettings {
    pub experts_per_application: i32,
    pub aggregation_method: AggregationMethod,
    pub dispersion_gap: i32,
    pub total_threshold: i32,
    pub criterion_threshold_percent: i32,
    pub shortlist_size: i32,
}

impl Default for ReviewSettings {
    fn default() -> Self {
        Self {
            experts_per_application: 7,
            aggregation_method: AggregationMethod::TrimmedMean,
            dispersion_gap: 20,
            total_threshold: 70,
            criterion_threshold_percent: 60,
            shortlist_size: 5,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub person: String,
    pub phone: String,
    pub email: String,
}

/// Everything the publisher writes about a challenge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeSpec {
    pub title: String,
    pub problem: String,
    pub goals: String,
    pub indicators: Vec<Indicator>,
    pub end_user: String,
    pub government_funding_fen: i64,
    pub co_funding_fen: i64,
    pub duration_months: i32,
    pub industry_field: String,
    pub eligibility: Eligibility,
    pub criteria: Vec<Criterion>,
    pub winners_count: i32,
    pub tranches: Vec<Tranche>,
    pub responsible_department: String,
    pub contact: Contact,
    pub blind_review: bool,
    pub review: ReviewSettings,
    pub round: String,
}

impl ChallengeSpec {
    /// Total funding (government plus co-funding) in fen.
    pub fn total_funding_fen(&self) -> i64 {
        self.government_funding_fen
            .saturating_add(self.co_funding_fen)
    }

    /// Checks every rule of DOMAIN.md on the content; field paths are relative to the
    /// challenge (`criteria[1].weight`).
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut v = Violations::new();
        text(&mut v, "title", &self.title, 4, 200);
        text(&mut v, "problem", &self.problem, 1, 20_000);
        text(&mut v, "goals", &self.goals, 1, 20_000);
        text(&mut v, "end_user", &self.end_user, 1, 500);
        text(
            &mut v,
            "responsible_department",
            &self.responsible_department,
            1,
            200,
        );
        self.validate_indicators(&mut v);
        self.validate_funding(&mut v);
        v.require(
            (1..=60).contains(&self.duration_months),
            "duration_months",
            "must be 1–60 months",
        );
        v.require(
            is_code(&self.industry_field, 64),
            "industry_field",
            "must be a code of a-z, 0-9 and '_', e.g. electric_porcelain",
        );
        self.validate_eligibility(&mut v);
        self.validate_criteria(&mut v);
        v.require(
            (1..=3).contains(&self.winners_count),
            "winners_count",
            "must be 1, or 2–3 for a horse race",
        );
        self.validate_tranches(&mut v);
        self.validate_review(&mut v);
        text(&mut v, "contact.person", &self.contact.person, 1, 100);
        v.require(
            !self.contact.phone.is_empty() || !self.contact.email.is_empty(),
            "contact",
            "needs a phone number or an e-mail address",
        );
        crate::identity::check_phone(&mut v, "contact.phone", &self.contact.phone);
        crate::identity::check_email(&mut v, "contact.email", &self.contact.email);
        v.require(
            !self.round.is_empty()
                && self.round.len() <= 32
                && self
                    .round
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "round",
            "must be 1–32 of A-Z, a-z, 0-9, '-' or '_', e.g. 2026-1",
        );
        v.into_result()
    }

    fn validate_indicators(&self, v: &mut Violations) {
        v.require(
            (1..=50).contains(&self.indicators.len()),
            "indicators",
            "must list 1–50 acceptance indicators",
        );
        let mut names = HashSet::new();
        for (i, indicator) in self.indicators.iter().enumerate() {
            let at = |f: &str| format!("indicators[{i}].{f}");
            text(v, &at("name"), &indicator.name, 1, 200);
            v.require(
                names.insert(indicator.name.as_str()),
                at("name"),
                "must be unique within the challenge",
            );
            v.require(
                decimal::parse_exact(&indicator.target_value).is_some(),
                at("target_value"),
                "must be an exact decimal like 1200 or 99.5",
            );
            v.require(
                indicator.unit.chars().count() <= 32,
                at("unit"),
                "must be at most 32 characters",
            );
            text(v, &at("test_method"), &indicator.test_method, 1, 1000);
        }
    }

    fn validate_funding(&self, v: &mut Violations) {
        for (field, fen) in [
            ("government_funding_fen", self.government_funding_fen),
            ("co_funding_fen", self.co_funding_fen),
        ] {
            v.require(
                (0..=MAX_FUNDING_FEN).contains(&fen),
                field,
                "must be between 0 and 1,000,000,000,000 fen (100 亿元)",
            );
        }
        v.require(
            self.total_funding_fen() > 0,
            "government_funding_fen",
            "government funding plus co-funding must be positive",
        );
    }

    fn validate_eligibility(&self, v: &mut Violations) {
        let e = &self.eligibility;
        let mut seen = HashSet::new();
        for (i, t) in e.organization_types.iter().enumerate() {
            v.require(
                seen.insert(*t),
                format!("eligibility.organization_types[{i}]"),
                "is listed twice",
            );
        }
        for (i, prefix) in e.region_prefixes.iter().enumerate() {
            v.require(
                (2..=6).contains(&prefix.len()) && prefix.bytes().all(|b| b.is_ascii_digit()),
                format!("eligibility.region_prefixes[{i}]"),
                "must be 2–6 leading digits of a division code, e.g. 3301",
            );
        }
        v.require(
            (0..=MAX_PARTNERS).contains(&e.max_partners),
            "eligibility.max_partners",
            "a consortium is one lead plus at most 4 partners",
        );
        v.require(
            (1..=10).contains(&e.max_applications_per_organization),
            "eligibility.max_applications_per_organization",
            "must be 1–10",
        );
    }

    fn validate_criteria(&self, v: &mut Violations) {
        v.require(
            (1..=10).contains(&self.criteria.len()),
            "criteria",
            "must list 1–10 review criteria",
        );
        let mut names = HashSet::new();
        let mut sum: i64 = 0;
        for (i, c) in self.criteria.iter().enumerate() {
            text(v, &format!("criteria[{i}].name"), &c.name, 1, 100);
            v.require(
                names.insert(c.name.as_str()),
                format!("criteria[{i}].name"),
                "must be unique within the challenge",
            );
            v.require(
                (1..=CRITERIA_POINTS).contains(&c.weight),
                format!("criteria[{i}].weight"),
                "must be 1–100 points",
            );
            sum += i64::from(c.weight);
        }
        if !self.criteria.is_empty() && sum != i64::from(CRITERIA_POINTS) {
            v.add(
                "criteria",
                format!("weights must sum to 100 points, not {sum}"),
            );
        }
    }

    fn validate_tranches(&self, v: &mut Violations) {
        v.require(
            (1..=12).contains(&self.tranches.len()),
            "tranches",
            "must list 1–12 funding tranches",
        );
        let mut sum: i64 = 0;
        for (i, t) in self.tranches.iter().enumerate() {
            v.require(
                (1..=BASIS_POINTS).contains(&t.share_basis_points),
                format!("tranches[{i}].share_basis_points"),
                "must be 1–10,000 basis points",
            );
            sum += i64::from(t.share_basis_points);
        }
        if !self.tranches.is_empty() && sum != i64::from(BASIS_POINTS) {
            v.add(
                "tranches",
                format!("shares must sum to 10,000 basis points, not {sum}"),
            );
        }
        let signing = self
            .tranches
            .iter()
            .filter(|t| t.trigger == TrancheTrigger::OnSigning)
            .count();
        let finals = self
            .tranches
            .iter()
            .filter(|t| t.trigger == TrancheTrigger::Final)
            .count();
        v.require(
            signing <= 1,
            "tranches",
            "at most one tranche is paid on signing",
        );
        v.require(
            finals == 1,
            "tranches",
            "exactly one tranche is paid at final acceptance",
        );
    }

    fn validate_review(&self, v: &mut Violations) {
        let r = &self.review;
        v.require(
            (3..=15).contains(&r.experts_per_application) && r.experts_per_application % 2 == 1,
            "review_settings.experts_per_application",
            "must be odd and 3–15 (DOMAIN.md: never fewer than 3, odd numbers)",
        );
        v.require(
            (1..=100).contains(&r.dispersion_gap),
            "review_settings.dispersion_gap",
            "must be 1–100 points",
        );
        v.require(
            (0..=100).contains(&r.total_threshold),
            "review_settings.total_threshold",
            "must be 0–100 points",
        );
        v.require(
            (0..=100).contains(&r.criterion_threshold_percent),
            "review_settings.criterion_threshold_percent",
            "must be 0–100 percent",
        );
        v.require(
            (1..=5).contains(&r.shortlist_size) && r.shortlist_size >= self.winners_count,
            "review_settings.shortlist_size",
            "must be 1–5 (MIIT) and at least the number of winners",
        );
    }
}

fn text(v: &mut Violations, field: &str, value: &str, min: usize, max: usize) {
    let chars = value.chars().count();
    if value.trim().is_empty() && min > 0 {
        v.add(field, "must not be empty");
    } else {
        v.require(
            (min..=max).contains(&chars),
            field,
            format!("must be {min}–{max} characters"),
        );
    }
}

fn is_code(text: &str, max: usize) -> bool {
    (2..=max).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A complete, valid challenge of the city's electric porcelain industry.
    pub fn porcelain_insulator_spec() -> ChallengeSpec {
        ChallengeSpec {
            title: "特高压瓷绝缘子关键制备技术".into(),
            problem: "国产特高压瓷绝缘子机电性能离散度大。".into(),
            goals: "研制机电破坏负荷不低于 550 kN 的瓷绝缘子。".into(),
            indicators: vec![Indicator {
                name: "机电破坏负荷".into(),
                target_value: "550".into(),
                unit: "kN".into(),
                comparison: Comparison::AtLeast,
                test_method: "GB/T 1001.1 型式试验".into(),
                mandatory: true,
            }],
            end_user: "本市电瓷龙头企业".into(),
            government_funding_fen: 300_000_000,
            co_funding_fen: 100_000_000,
            duration_months: 24,
            industry_field: "electric_porcelain".into(),
            eligibility: Eligibility::default(),
            criteria: vec![
                Criterion {
                    name: "技术路线与可行性".into(),
                    kind: CriterionKind::TechnicalFeasibility,
                    weight: 40,
                    guidance: String::new(),
                },
                Criterion {
                    name: "团队能力".into(),
                    kind: CriterionKind::TeamCapability,
                    weight: 25,
                    guidance: String::new(),
                },
                Criterion {
                    name: "预算合理性".into(),
                    kind: CriterionKind::Budget,
                    weight: 15,
                    guidance: String::new(),
                },
                Criterion {
                    name: "产业化与用户价值".into(),
                    kind: CriterionKind::Industrialisation,
                    weight: 20,
                    guidance: String::new(),
                },
            ],
            winners_count: 1,
            tranches: vec![
                Tranche {
                    trigger: TrancheTrigger::OnSigning,
                    share_basis_points: 5_000,
                    description: String::new(),
                },
                Tranche {
                    trigger: TrancheTrigger::MidTerm,
                    share_basis_points: 3_000,
                    description: String::new(),
                },
                Tranche {
                    trigger: TrancheTrigger::Final,
                    share_basis_points: 2_000,
                    description: String::new(),
                },
            ],
            responsible_department: "市科技局高新技术处".into(),
            contact: Contact {
                person: "王工".into(),
                phone: "0571-88888888".into(),
                email: String::new(),
            },
            blind_review: true,
            review: ReviewSettings::default(),
            round: "2026-1".into(),
        }
    }

    fn violated_fields(spec: &ChallengeSpec) -> Vec<String> {
        match spec.validate() {
            Ok(()) => vec![],
            Err(DomainError::InvalidArgument(v)) => v.into_iter().map(|f| f.field).collect(),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_complete_challenge_is_valid() {
        assert_eq!(
            violated_fields(&porcelain_insulator_spec()),
            Vec::<String>::new()
        );
    }

    #[test]
    fn criteria_weights_must_sum_to_100() {
        let mut spec = porcelain_insulator_spec();
        spec.criteria[0].weight = 39;
        assert_eq!(violated_fields(&spec), vec!["criteria"]);
    }

    #[test]
    fn tranches_must_sum_to_10000_basis_points() {
        let mut spec = porcelain_insulator_spec();
        spec.tranches[2].share_basis_points = 1_999;
        assert_eq!(violated_fields(&spec), vec!["tranches"]);
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let mut spec = porcelain_insulator_spec();
        spec.title = String::new();
        spec.winners_count = 4;
        spec.indicators[0].target_value = "about 550".into();
        spec.eligibility.max_partners = 5;
        assert_eq!(
            violated_fields(&spec),
            vec![
                "title",
                "indicators[0].target_value",
                "eligibility.max_partners",
                "winners_count"
            ]
        );
    }

    #[test]
    fn a_horse_race_has_at_most_three_winners_and_a_shortlist_to_match() {
        let mut spec = porcelain_insulator_spec();
        spec.winners_count = 3;
        assert!(spec.validate().is_ok());
        spec.review.shortlist_size = 2;
        assert_eq!(
            violated_fields(&spec),
            vec!["review_settings.shortlist_size"]
        );
    }

    #[test]
    fn panels_are_odd_and_at_least_three() {
        let mut spec = porcelain_insulator_spec();
        for (size, ok) in [(1, false), (3, true), (4, false), (7, true), (17, false)] {
            spec.review.experts_per_application = size;
            assert_eq!(spec.validate().is_ok(), ok, "{size}");
        }
    }

    #[test]
    fn funding_must_be_positive_and_bounded() {
        let mut spec = porcelain_insulator_spec();
        spec.government_funding_fen = 0;
        spec.co_funding_fen = 0;
        assert_eq!(violated_fields(&spec), vec!["government_funding_fen"]);
        spec.government_funding_fen = -1;
        assert!(violated_fields(&spec).contains(&"government_funding_fen".to_string()));
    }
}
