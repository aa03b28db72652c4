//! The challenge file: how a publisher writes a challenge for `jiebang challenge create` and
//! `update`, in TOML (or JSON, by the `.json` extension). Money is written in yuan as an exact
//! decimal string and converted to integer fen; unknown keys are refused so typos do not pass
//! silently.

use anyhow::{Context, Result, bail};
use jiebang_proto::v1 as pb;
use serde::Deserialize;
use std::path::Path;

/// A complete example; `jiebang challenge template` prints it.
pub const TEMPLATE: &str = r#"# A challenge (榜单). Money in yuan as exact decimals; shares in basis points (10,000 = 100%).
title = "特高压瓷绝缘子关键制备技术"
problem = "国产特高压瓷绝缘子机电性能离散度大，批次一致性差，依赖进口。"
goals = "研制机电破坏负荷不低于 550 kN、批次离散度不高于 5% 的瓷绝缘子并实现小批量试产。"
end_user = "本市电瓷龙头企业生产线"
government_funding_yuan = "3000000.00"
co_funding_yuan = "1000000.00"
duration_months = 24
industry_field = "electric_porcelain"
round = "2026-1"
winners_count = 1            # 2–3 makes it a horse race (赛马制)
blind_review = true
responsible_department = "市科技局高新技术处"

[contact]
person = "王工"
phone = "0571-88888888"
email = "wang@example.cn"

[eligibility]
organization_types = ["enterprise", "university", "institute"]
region_prefixes = []         # e.g. ["3301"]; empty means any region
max_partners = 4             # a consortium is one lead plus at most 4 partners
max_applications_per_organization = 3
bar_past_winners = false

[review]
experts_per_application = 7  # odd, at least 3
aggregation = "trimmed_mean" # trimmed_mean | mean | median
dispersion_gap = 20
total_threshold = 70
criterion_threshold_percent = 60
shortlist_size = 5

[[indicators]]
name = "机电破坏负荷"
comparison = ">="            # >=, <= or =
target = "550"
unit = "kN"
test_method = "GB/T 1001.1 型式试验，第三方检测报告"
mandatory = true

[[indicators]]
name = "批次离散度"
comparison = "<="
target = "5"
unit = "%"
test_method = "连续三批抽样检测"
mandatory = false

[[criteria]]
name = "技术路线与可行性"
kind = "technical_feasibility" # technical_feasibility | team_capability | budget | industrialisation | other
weight = 40

[[criteria]]
name = "团队能力"
kind = "team_capability"
weight = 25

[[criteria]]
name = "预算合理性"
kind = "budget"
weight = 15

[[criteria]]
name = "产业化与用户价值"
kind = "industrialisation"
weight = 20

[[tranches]]
trigger = "on_signing"       # on_signing | mid_term | final | milestone
share_basis_points = 5000

[[tranches]]
trigger = "mid_term"
share_basis_points = 3000

[[tranches]]
trigger = "final"
share_basis_points = 2000
"#;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChallengeFile {
    title: Option<String>,
    problem: Option<String>,
    goals: Option<String>,
    end_user: Option<String>,
    government_funding_yuan: Option<String>,
    co_funding_yuan: Option<String>,
    duration_months: Option<i32>,
    industry_field: Option<String>,
    round: Option<String>,
    winners_count: Option<i32>,
    blind_review: Option<bool>,
    responsible_department: Option<String>,
    contact: Option<ContactFile>,
    eligibility: Option<EligibilityFile>,
    review: Option<ReviewFile>,
    indicators: Option<Vec<IndicatorFile>>,
    criteria: Option<Vec<CriterionFile>>,
    tranches: Option<Vec<TrancheFile>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactFile {
    person: Option<String>,
    phone: Option<String>,
    email: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EligibilityFile {
    organization_types: Option<Vec<String>>,
    region_prefixes: Option<Vec<String>>,
    max_partners: Option<i32>,
    max_applications_per_organization: Option<i32>,
    bar_past_winners: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewFile {
    experts_per_application: Option<i32>,
    aggregation: Option<String>,
    dispersion_gap: Option<i32>,
    total_threshold: Option<i32>,
    criterion_threshold_percent: Option<i32>,
    shortlist_size: Option<i32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IndicatorFile {
    name: String,
    comparison: String,
    target: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    test_method: String,
    #[serde(default)]
    mandatory: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CriterionFile {
    name: String,
    kind: String,
    weight: i32,
    #[serde(default)]
    guidance: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrancheFile {
    trigger: String,
    share_basis_points: i32,
    #[serde(default)]
    description: String,
}

pub fn read(path: &Path) -> Result<ChallengeFile> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a valid challenge file", path.display()))
    } else {
        toml::from_str(&text)
            .with_context(|| format!("{} is not a valid challenge file", path.display()))
    }
}

/// Exact yuan text (at most 2 decimals) → fen.
pub fn yuan_to_fen(text: &str) -> Result<i64> {
    let text = text.trim().replace([',', '_'], "");
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || fraction.len() > 2
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        bail!("`{text}` is not an amount in yuan like 3000000 or 1234.56");
    }
    let whole: i64 = whole.parse().context("amount too large")?;
    let cents: i64 = format!("{fraction:0<2}").parse().unwrap_or(0);
    whole
        .checked_mul(100)
        .and_then(|f| f.checked_add(cents))
        .context("amount too large")
}

fn pick<T: Copy>(text: &str, what: &str, options: &[(&str, T)]) -> Result<T> {
    options
        .iter()
        .find(|(name, _)| *name == text)
        .map(|(_, v)| *v)
        .with_context(|| {
            let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
            format!("`{text}` is not a {what}; use one of: {}", names.join(", "))
        })
}

pub fn organization_type(text: &str) -> Result<pb::OrganizationType> {
    pick(
        text,
        "organisation type",
        &[
            ("enterprise", pb::OrganizationType::Enterprise),
            ("university", pb::OrganizationType::University),
            ("institute", pb::OrganizationType::Institute),
            ("government", pb::OrganizationType::Government),
            ("industry_body", pb::OrganizationType::IndustryBody),
        ],
    )
}

impl ChallengeFile {
    /// The top-level challenge fields this file sets: the update mask of `challenge update`.
    pub fn present_fields(&self) -> Vec<String> {
        let present = [
            ("title", self.title.is_some()),
            ("problem", self.problem.is_some()),
            ("goals", self.goals.is_some()),
            ("end_user", self.end_user.is_some()),
            (
                "government_funding_fen",
                self.government_funding_yuan.is_some(),
            ),
            ("co_funding_fen", self.co_funding_yuan.is_some()),
            ("duration_months", self.duration_months.is_some()),
            ("industry_field", self.industry_field.is_some()),
            ("round", self.round.is_some()),
            ("winners_count", self.winners_count.is_some()),
            ("blind_review", self.blind_review.is_some()),
            (
                "responsible_department",
                self.responsible_department.is_some(),
            ),
            ("contact", self.contact.is_some()),
            ("eligibility", self.eligibility.is_some()),
            ("review_settings", self.review.is_some()),
            ("indicators", self.indicators.is_some()),
            ("criteria", self.criteria.is_some()),
            ("tranches", self.tranches.is_some()),
        ];
        present
            .iter()
            .filter(|(_, p)| *p)
            .map(|(n, _)| (*n).to_owned())
            .collect()
    }

    pub fn to_proto(&self) -> Result<pb::Challenge> {
        let eligibility = self
            .eligibility
            .as_ref()
            .map(|e| -> Result<pb::Eligibility> {
                Ok(pb::Eligibility {
                    organization_types: e
                        .organization_types
                        .iter()
                        .flatten()
                        .map(|t| organization_type(t).map(|t| t as i32))
                        .collect::<Result<_>>()?,
                    region_prefixes: e.region_prefixes.clone().unwrap_or_default(),
                    max_partners: e.max_partners,
                    max_applications_per_organization: e
                        .max_applications_per_organization
                        .unwrap_or(0),
                    bar_past_winners: e.bar_past_winners.unwrap_or(false),
                })
            });
        let review = self.review.as_ref().map(|r| -> Result<pb::ReviewSettings> {
            Ok(pb::ReviewSettings {
                experts_per_application: r.experts_per_application.unwrap_or(0),
                aggregation_method: match &r.aggregation {
                    None => 0,
                    Some(a) => pick(
                        a,
                        "aggregation method",
                        &[
                            ("trimmed_mean", pb::AggregationMethod::TrimmedMean),
                            ("mean", pb::AggregationMethod::Mean),
                            ("median", pb::AggregationMethod::Median),
                        ],
                    )? as i32,
                },
                dispersion_gap: r.dispersion_gap.unwrap_or(0),
                total_threshold: r.total_threshold.unwrap_or(0),
                criterion_threshold_percent: r.criterion_threshold_percent.unwrap_or(0),
                shortlist_size: r.shortlist_size.unwrap_or(0),
            })
        });
        Ok(pb::Challenge {
            title: self.title.clone().unwrap_or_default(),
            problem: self.problem.clone().unwrap_or_default(),
            goals: self.goals.clone().unwrap_or_default(),
            end_user: self.end_user.clone().unwrap_or_default(),
            government_funding_fen: self
                .government_funding_yuan
                .as_deref()
                .map(yuan_to_fen)
                .transpose()
                .context("government_funding_yuan")?
                .unwrap_or(0),
            co_funding_fen: self
                .co_funding_yuan
                .as_deref()
                .map(yuan_to_fen)
                .transpose()
                .context("co_funding_yuan")?
                .unwrap_or(0),
            duration_months: self.duration_months.unwrap_or(0),
            industry_field: self.industry_field.clone().unwrap_or_default(),
            round: self.round.clone().unwrap_or_default(),
            winners_count: self.winners_count.unwrap_or(0),
            blind_review: self.blind_review.unwrap_or(false),
            responsible_department: self.responsible_department.clone().unwrap_or_default(),
            contact: self.contact.as_ref().map(|c| pb::Contact {
                person: c.person.clone().unwrap_or_default(),
                phone: c.phone.clone().unwrap_or_default(),
                email: c.email.clone().unwrap_or_default(),
            }),
            eligibility: eligibility.transpose()?,
            review_settings: review.transpose()?,
            indicators: self
                .indicators
                .iter()
                .flatten()
                .map(|i| -> Result<pb::Indicator> {
                    Ok(pb::Indicator {
                        name: i.name.clone(),
                        target_value: i.target.clone(),
                        unit: i.unit.clone(),
                        comparison: pick(
                            &i.comparison,
                            "comparison",
                            &[
                                (">=", pb::Comparison::AtLeast),
                                ("≥", pb::Comparison::AtLeast),
                                ("<=", pb::Comparison::AtMost),
                                ("≤", pb::Comparison::AtMost),
                                ("=", pb::Comparison::Equal),
                            ],
                        )? as i32,
                        test_method: i.test_method.clone(),
                        mandatory: i.mandatory,
                    })
                })
                .collect::<Result<_>>()?,
            criteria: self
                .criteria
                .iter()
                .flatten()
                .map(|c| -> Result<pb::Criterion> {
                    Ok(pb::Criterion {
                        name: c.name.clone(),
                        kind: pick(
                            &c.kind,
                            "criterion kind",
                            &[
                                (
                                    "technical_feasibility",
                                    pb::CriterionKind::TechnicalFeasibility,
                                ),
                                ("team_capability", pb::CriterionKind::TeamCapability),
                                ("budget", pb::CriterionKind::Budget),
                                ("industrialisation", pb::CriterionKind::Industrialisation),
                                ("other", pb::CriterionKind::Other),
                            ],
                        )? as i32,
                        weight: c.weight,
                        guidance: c.guidance.clone(),
                    })
                })
                .collect::<Result<_>>()?,
            tranches: self
                .tranches
                .iter()
                .flatten()
                .map(|t| -> Result<pb::Tranche> {
                    Ok(pb::Tranche {
                        trigger: pick(
                            &t.trigger,
                            "tranche trigger",
                            &[
                                ("on_signing", pb::TrancheTrigger::OnSigning),
                                ("mid_term", pb::TrancheTrigger::MidTerm),
                                ("final", pb::TrancheTrigger::Final),
                                ("milestone", pb::TrancheTrigger::Milestone),
                            ],
                        )? as i32,
                        share_basis_points: t.share_basis_points,
                        description: t.description.clone(),
                    })
                })
                .collect::<Result<_>>()?,
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_is_a_complete_challenge() {
        let file: ChallengeFile = toml::from_str(TEMPLATE).unwrap();
        let c = file.to_proto().unwrap();
        assert_eq!(c.government_funding_fen, 300_000_000);
        assert_eq!(c.indicators.len(), 2);
        assert_eq!(c.criteria.iter().map(|c| c.weight).sum::<i32>(), 100);
        assert_eq!(
            c.tranches.iter().map(|t| t.share_basis_points).sum::<i32>(),
            10_000
        );
        assert_eq!(file.present_fields().len(), 18);
    }

    #[test]
    fn yuan_are_converted_to_exact_fen() {
        assert_eq!(yuan_to_fen("3000000").unwrap(), 300_000_000);
        assert_eq!(yuan_to_fen("1,234.5").unwrap(), 123_450);
        assert_eq!(yuan_to_fen("0.07").unwrap(), 7);
        for bad in ["1.234", "-5", "abc", "", "1e6"] {
            assert!(yuan_to_fen(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn typos_and_unknown_values_are_refused() {
        assert!(toml::from_str::<ChallengeFile>("titel = \"x\"").is_err());
        let file: ChallengeFile =
            toml::from_str("[[criteria]]\nname = \"a\"\nkind = \"speed\"\nweight = 100").unwrap();
        let err = file.to_proto().unwrap_err().to_string();
        assert!(err.contains("technical_feasibility"), "{err}");
    }
}
