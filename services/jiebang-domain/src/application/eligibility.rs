//! The eligibility rules run when an application is submitted (DOMAIN.md, "A challenge holds":
//! eligibility; "Milestones, acceptance and funding"). Each failing rule becomes one reason a
//! person can act on; the submission is refused with all of them at once.
//!
//! The rules are pure: the service gathers the facts that need the database (the lead
//! organisation's type and region, how many applications each organisation already has in
//! the round, past winners, bars) into [`EligibilityFacts`].

use super::content::ApplicationContent;
use crate::challenge::{ChallengeSpec, Comparison, TrancheTrigger};
use crate::decimal;
use crate::identity::OrganizationType;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EligibilityRule {
    OrganizationType,
    Region,
    ConsortiumSize,
    ApplicationsPerOrganization,
    PastWinner,
    BarredForMisconduct,
    DuplicateApplication,
    Budget,
    MilestonePlan,
    Incomplete,
    Other,
}

impl EligibilityRule {
    pub const ALL: [Self; 11] = [
        Self::OrganizationType,
        Self::Region,
        Self::ConsortiumSize,
        Self::ApplicationsPerOrganization,
        Self::PastWinner,
        Self::BarredForMisconduct,
        Self::DuplicateApplication,
        Self::Budget,
        Self::MilestonePlan,
        Self::Incomplete,
        Self::Other,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::OrganizationType => "ORGANIZATION_TYPE",
            Self::Region => "REGION",
            Self::ConsortiumSize => "CONSORTIUM_SIZE",
            Self::ApplicationsPerOrganization => "APPLICATIONS_PER_ORGANIZATION",
            Self::PastWinner => "PAST_WINNER",
            Self::BarredForMisconduct => "BARRED_FOR_MISCONDUCT",
            Self::DuplicateApplication => "DUPLICATE_APPLICATION",
            Self::Budget => "BUDGET",
            Self::MilestonePlan => "MILESTONE_PLAN",
            Self::Incomplete => "INCOMPLETE",
            Self::Other => "OTHER",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IneligibilityReason {
    #[serde(with = "rule_text")]
    pub rule: EligibilityRule,
    pub detail: String,
}

mod rule_text {
    use super::EligibilityRule;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(rule: &EligibilityRule, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(rule.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<EligibilityRule, D::Error> {
        let text = String::deserialize(d)?;
        EligibilityRule::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown rule {text}")))
    }
}

/// What the rules need to know beyond the application and the challenge.
#[derive(Debug, Clone)]
pub struct EligibilityFacts {
    pub lead_organization_id: String,
    pub lead_type: OrganizationType,
    pub lead_region: String,
    /// For each organisation of the consortium: its other submitted applications in the round.
    pub applications_in_round: Vec<(String, i64)>,
    /// Organisations of the consortium that won a challenge of the same round.
    pub past_winners: Vec<String>,
    /// Organisations of the consortium barred after misconduct.
    pub barred: Vec<String>,
    /// The lead organisation already has a submitted application for this challenge.
    pub lead_already_applied: bool,
}

fn reason(rule: EligibilityRule, detail: impl Into<String>) -> IneligibilityReason {
    IneligibilityReason {
        rule,
        detail: detail.into(),
    }
}

/// Every rule that `content` fails for `challenge`; empty when eligible.
pub fn check(
    challenge: &ChallengeSpec,
    content: &ApplicationContent,
    facts: &EligibilityFacts,
) -> Vec<IneligibilityReason> {
    let mut reasons = Vec::new();
    let e = &challenge.eligibility;
    let allowed_types = if e.organization_types.is_empty() {
        vec![
            OrganizationType::Enterprise,
            OrganizationType::University,
            OrganizationType::Institute,
        ]
    } else {
        e.organization_types.clone()
    };
    if !allowed_types.contains(&facts.lead_type) {
        reasons.push(reason(
            EligibilityRule::OrganizationType,
            format!(
                "the lead organisation is of type {}; this challenge accepts {}",
                facts.lead_type.as_str(),
                allowed_types
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    if !e.region_prefixes.is_empty()
        && !e
            .region_prefixes
            .iter()
            .any(|p| facts.lead_region.starts_with(p.as_str()))
    {
        reasons.push(reason(
            EligibilityRule::Region,
            format!(
                "the lead organisation's region {} is outside {}",
                facts.lead_region,
                e.region_prefixes.join(", ")
            ),
        ));
    }
    let partners = content.partner_organization_ids.len();
    if partners > usize::try_from(e.max_partners).unwrap_or(0) {
        reasons.push(reason(
            EligibilityRule::ConsortiumSize,
            format!(
                "{partners} partner organisations; this challenge allows at most {}",
                e.max_partners
            ),
        ));
    }
    for (org, count) in &facts.applications_in_round {
        if *count >= i64::from(e.max_applications_per_organization) {
            reasons.push(reason(
                EligibilityRule::ApplicationsPerOrganization,
                format!(
                    "organizations/{org} already takes part in {count} applications of round {}; at most {} are allowed",
                    challenge.round, e.max_applications_per_organization
                ),
            ));
        }
    }
    if e.bar_past_winners {
        for org in &facts.past_winners {
            reasons.push(reason(
                EligibilityRule::PastWinner,
                format!("organizations/{org} won a challenge of round {}, and this challenge bars past winners", challenge.round),
            ));
        }
    }
    for org in &facts.barred {
        reasons.push(reason(
            EligibilityRule::BarredForMisconduct,
            format!("organizations/{org} is barred after a project failed for misconduct"),
        ));
    }
    if facts.lead_already_applied {
        reasons.push(reason(
            EligibilityRule::DuplicateApplication,
            format!(
                "organizations/{} already has a submitted application for this challenge",
                facts.lead_organization_id
            ),
        ));
    }
    let funding = challenge.total_funding_fen();
    if content.requested_budget_fen > funding {
        reasons.push(reason(
            EligibilityRule::Budget,
            format!(
                "the requested budget of {} fen exceeds the challenge's funding of {funding} fen",
                content.requested_budget_fen
            ),
        ));
    }
    for problem in milestone_plan_problems(challenge, content) {
        reasons.push(reason(EligibilityRule::MilestonePlan, problem));
    }
    reasons
}

/// How the milestone plan departs from the challenge: shares, tranches, dates, indicators.
fn milestone_plan_problems(challenge: &ChallengeSpec, content: &ApplicationContent) -> Vec<String> {
    let mut problems = Vec::new();
    let milestones = &content.milestones;
    let Some(last) = milestones.last() else {
        return vec!["the plan has no milestone".into()];
    };
    let total: i64 = i64::from(content.signing_share_basis_points)
        + milestones
            .iter()
            .map(|m| i64::from(m.share_basis_points))
            .sum::<i64>();
    if total != 10_000 {
        problems.push(format!(
            "the signing share and the milestone shares sum to {total} basis points, not 10,000"
        ));
    }
    let tranche_share = |trigger: TrancheTrigger| -> i32 {
        challenge
            .tranches
            .iter()
            .filter(|t| t.trigger == trigger)
            .map(|t| t.share_basis_points)
            .sum()
    };
    let signing = tranche_share(TrancheTrigger::OnSigning);
    if content.signing_share_basis_points != signing {
        problems.push(format!(
            "the signing share is {} basis points; the challenge pays {signing} on signing",
            content.signing_share_basis_points
        ));
    }
    let final_share = tranche_share(TrancheTrigger::Final);
    if last.share_basis_points != final_share {
        problems.push(format!(
            "the final milestone releases {} basis points; the challenge pays {final_share} at final acceptance",
            last.share_basis_points
        ));
    }
    let mid_terms: Vec<usize> = milestones
        .iter()
        .enumerate()
        .filter(|(_, m)| m.mid_term)
        .map(|(i, _)| i)
        .collect();
    let mid_share = tranche_share(TrancheTrigger::MidTerm);
    let horse_race = challenge.winners_count >= 2;
    if (mid_share > 0 || horse_race) && mid_terms.len() != 1 {
        problems.push(if horse_race {
            "a horse race (赛马制) needs exactly one mid-term milestone, where the teams are ranked".into()
        } else {
            "the challenge pays a mid-term tranche, so the plan needs exactly one mid-term milestone".into()
        });
    }
    if let Some(&i) = mid_terms.first() {
        if i + 1 == milestones.len() {
            problems.push("the mid-term milestone cannot be the final one".into());
        }
        if milestones[i].share_basis_points != mid_share {
            problems.push(format!(
                "the mid-term milestone releases {} basis points; the challenge pays {mid_share} at mid-term",
                milestones[i].share_basis_points
            ));
        }
    }
    let others: i32 = milestones[..milestones.len() - 1]
        .iter()
        .filter(|m| !m.mid_term)
        .map(|m| m.share_basis_points)
        .sum();
    let milestone_tranches = tranche_share(TrancheTrigger::Milestone);
    if others != milestone_tranches {
        problems.push(format!(
            "the other milestones release {others} basis points; the challenge's milestone tranches pay {milestone_tranches}"
        ));
    }
    for (i, m) in milestones.iter().enumerate() {
        if m.due_after_months > challenge.duration_months {
            problems.push(format!(
                "milestone {} is due after {} months, beyond the challenge's {} months",
                i + 1,
                m.due_after_months,
                challenge.duration_months
            ));
        }
        for t in &m.indicator_targets {
            if !challenge
                .indicators
                .iter()
                .any(|ind| ind.name == t.indicator)
            {
                problems.push(format!(
                    "milestone {} targets `{}`, which is not an indicator of the challenge",
                    i + 1,
                    t.indicator
                ));
            }
        }
    }
    for indicator in challenge.indicators.iter().filter(|i| i.mandatory) {
        let promised = last
            .indicator_targets
            .iter()
            .find(|t| t.indicator == indicator.name)
            .and_then(|t| decimal::parse_exact(&t.target_value));
        let required = decimal::parse_exact(&indicator.target_value);
        let strong_enough = match (promised, required) {
            (Some(p), Some(r)) => match indicator.comparison {
                Comparison::AtLeast => p >= r,
                Comparison::AtMost => p <= r,
                Comparison::Equal => p == r,
            },
            _ => false,
        };
        if !strong_enough {
            problems.push(format!(
                "the final milestone must target the mandatory indicator `{}` at {} {}{} or better",
                indicator.name,
                match indicator.comparison {
                    Comparison::AtLeast => "≥",
                    Comparison::AtMost => "≤",
                    Comparison::Equal => "=",
                },
                indicator.target_value,
                indicator.unit
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::application::content::{
        Contact, IndicatorTarget, Member, ProposedMilestone, TeamRole,
    };
    use crate::challenge::spec::tests::porcelain_insulator_spec;

    /// A plan that follows the porcelain challenge: 50% on signing, 30% mid-term, 20% final.
    pub fn plan() -> ApplicationContent {
        ApplicationContent {
            title: "高强度瓷绝缘子配方与烧成工艺".into(),
            partner_organization_ids: vec!["partner".into()],
            lead_person_id: "lead".into(),
            members: vec![Member {
                user_id: Some("lead".into()),
                display_name: "李工".into(),
                organization_id: "lead-org".into(),
                role: TeamRole::Lead,
                duty: "总体负责".into(),
            }],
            technical_plan: "采用高铝配方与梯度烧成。".into(),
            requested_budget_fen: 350_000_000,
            signing_share_basis_points: 5_000,
            milestones: vec![
                ProposedMilestone {
                    title: "中期：样品试制".into(),
                    deliverables: vec!["样品".into()],
                    due_after_months: 12,
                    indicator_targets: vec![IndicatorTarget {
                        indicator: "机电破坏负荷".into(),
                        target_value: "500".into(),
                    }],
                    share_basis_points: 3_000,
                    mid_term: true,
                },
                ProposedMilestone {
                    title: "结题：小批量试产".into(),
                    deliverables: vec!["检测报告".into()],
                    due_after_months: 24,
                    indicator_targets: vec![IndicatorTarget {
                        indicator: "机电破坏负荷".into(),
                        target_value: "560".into(),
                    }],
                    share_basis_points: 2_000,
                    mid_term: false,
                },
            ],
            contacts: vec![Contact {
                person: "李工".into(),
                phone: "13800000000".into(),
                email: String::new(),
            }],
            documents: vec![],
        }
    }

    fn facts() -> EligibilityFacts {
        EligibilityFacts {
            lead_organization_id: "lead-org".into(),
            lead_type: OrganizationType::University,
            lead_region: "330100".into(),
            applications_in_round: vec![("lead-org".into(), 0), ("partner".into(), 0)],
            past_winners: vec![],
            barred: vec![],
            lead_already_applied: false,
        }
    }

    fn rules(reasons: &[IneligibilityReason]) -> Vec<EligibilityRule> {
        reasons.iter().map(|r| r.rule).collect()
    }

    #[test]
    fn a_plan_that_follows_the_challenge_is_eligible() {
        assert_eq!(
            check(&porcelain_insulator_spec(), &plan(), &facts()),
            vec![]
        );
        assert!(plan().validate("lead-org").is_ok());
    }

    #[test]
    fn the_lead_organisation_type_and_region_must_be_allowed() {
        let mut spec = porcelain_insulator_spec();
        spec.eligibility.organization_types = vec![OrganizationType::Enterprise];
        spec.eligibility.region_prefixes = vec!["3302".into()];
        assert_eq!(
            rules(&check(&spec, &plan(), &facts())),
            vec![EligibilityRule::OrganizationType, EligibilityRule::Region]
        );
    }

    #[test]
    fn government_bodies_are_not_eligible_by_default() {
        let mut f = facts();
        f.lead_type = OrganizationType::Government;
        assert_eq!(
            rules(&check(&porcelain_insulator_spec(), &plan(), &f)),
            vec![EligibilityRule::OrganizationType]
        );
    }

    #[test]
    fn the_consortium_may_not_exceed_the_challenges_partner_limit() {
        let mut spec = porcelain_insulator_spec();
        spec.eligibility.max_partners = 0;
        assert_eq!(
            rules(&check(&spec, &plan(), &facts())),
            vec![EligibilityRule::ConsortiumSize]
        );
    }

    #[test]
    fn each_organisation_is_limited_to_n_applications_per_round() {
        let mut f = facts();
        f.applications_in_round = vec![("lead-org".into(), 2), ("partner".into(), 3)];
        let reasons = check(&porcelain_insulator_spec(), &plan(), &f);
        assert_eq!(
            rules(&reasons),
            vec![EligibilityRule::ApplicationsPerOrganization]
        );
        assert!(reasons[0].detail.contains("organizations/partner"));
    }

    #[test]
    fn past_winners_are_barred_only_where_the_challenge_says_so() {
        let mut f = facts();
        f.past_winners = vec!["partner".into()];
        assert_eq!(check(&porcelain_insulator_spec(), &plan(), &f), vec![]);
        let mut spec = porcelain_insulator_spec();
        spec.eligibility.bar_past_winners = true;
        assert_eq!(
            rules(&check(&spec, &plan(), &f)),
            vec![EligibilityRule::PastWinner]
        );
    }

    #[test]
    fn misconduct_bars_and_duplicates_are_refused() {
        let mut f = facts();
        f.barred = vec!["lead-org".into()];
        f.lead_already_applied = true;
        assert_eq!(
            rules(&check(&porcelain_insulator_spec(), &plan(), &f)),
            vec![
                EligibilityRule::BarredForMisconduct,
                EligibilityRule::DuplicateApplication
            ]
        );
    }

    #[test]
    fn the_budget_may_not_exceed_the_funding() {
        let mut p = plan();
        p.requested_budget_fen = 400_000_001;
        assert_eq!(
            rules(&check(&porcelain_insulator_spec(), &p, &facts())),
            vec![EligibilityRule::Budget]
        );
    }

    #[test]
    fn the_milestone_plan_must_follow_the_tranches() {
        let mut p = plan();
        p.signing_share_basis_points = 4_000;
        p.milestones[1].share_basis_points = 3_000;
        let reasons = check(&porcelain_insulator_spec(), &p, &facts());
        assert!(
            reasons
                .iter()
                .all(|r| r.rule == EligibilityRule::MilestonePlan)
        );
        assert_eq!(reasons.len(), 2, "{reasons:?}");
    }

    #[test]
    fn the_final_milestone_must_promise_every_mandatory_indicator() {
        let mut p = plan();
        p.milestones[1].indicator_targets[0].target_value = "540".into();
        let reasons = check(&porcelain_insulator_spec(), &p, &facts());
        assert_eq!(rules(&reasons), vec![EligibilityRule::MilestonePlan]);
        assert!(reasons[0].detail.contains("机电破坏负荷"));
    }

    #[test]
    fn a_horse_race_needs_a_mid_term_milestone() {
        let mut spec = porcelain_insulator_spec();
        spec.winners_count = 2;
        let mut p = plan();
        p.milestones[0].mid_term = false;
        let reasons = check(&spec, &p, &facts());
        assert!(
            reasons.iter().any(|r| r.detail.contains("horse race")),
            "{reasons:?}"
        );
    }

    #[test]
    fn milestones_must_fall_within_the_duration_and_target_known_indicators() {
        let mut p = plan();
        p.milestones[1].due_after_months = 30;
        p.milestones[0].indicator_targets[0].indicator = "耐污闪".into();
        let reasons = check(&porcelain_insulator_spec(), &p, &facts());
        assert_eq!(reasons.len(), 2, "{reasons:?}");
    }
}
