//! Checking a report's measured values against the milestone's indicator targets, exactly.

use crate::challenge::Comparison;
use crate::decimal;
use rust_decimal::Decimal;

/// One indicator target of a milestone, with what the challenge says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub indicator: String,
    pub target: Decimal,
    pub comparison: Comparison,
    pub mandatory: bool,
}

/// The automatic check of one measured value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndicatorCheck {
    pub indicator: String,
    pub target: Decimal,
    /// `None` when the report gave no value for it.
    pub measured: Option<Decimal>,
    pub met: bool,
    pub mandatory: bool,
    /// How far beyond the target, relative to it (positive = better), for horse-race ranking;
    /// zero when the target is zero or the value is missing.
    pub relative_margin: Decimal,
}

/// Checks every target against the measured values (`indicator`, exact decimal text).
pub fn check(targets: &[Target], measured: &[(String, String)]) -> Vec<IndicatorCheck> {
    targets
        .iter()
        .map(|t| {
            let value = measured
                .iter()
                .find(|(name, _)| name == &t.indicator)
                .and_then(|(_, v)| decimal::parse_exact(v));
            let met = value.is_some_and(|v| match t.comparison {
                Comparison::AtLeast => v >= t.target,
                Comparison::AtMost => v <= t.target,
                Comparison::Equal => v == t.target,
            });
            let relative_margin = match value {
                Some(v) if !t.target.is_zero() => {
                    let raw = (v - t.target) / t.target.abs();
                    match t.comparison {
                        Comparison::AtLeast => raw,
                        Comparison::AtMost => -raw,
                        Comparison::Equal => -raw.abs(),
                    }
                }
                _ => Decimal::ZERO,
            };
            IndicatorCheck {
                indicator: t.indicator.clone(),
                target: t.target,
                measured: value,
                met,
                mandatory: t.mandatory,
                relative_margin: relative_margin.round_dp(4),
            }
        })
        .collect()
}

/// Share of targets met, in percent (exact); 100 when there is nothing to meet.
pub fn percent_met(checks: &[IndicatorCheck]) -> Decimal {
    if checks.is_empty() {
        return Decimal::ONE_HUNDRED;
    }
    Decimal::from(checks.iter().filter(|c| c.met).count()) * Decimal::ONE_HUNDRED
        / Decimal::from(checks.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(t: &str) -> Decimal {
        Decimal::from_str(t).unwrap()
    }

    fn targets() -> Vec<Target> {
        vec![
            Target {
                indicator: "机电破坏负荷".into(),
                target: d("550"),
                comparison: Comparison::AtLeast,
                mandatory: true,
            },
            Target {
                indicator: "批次离散度".into(),
                target: d("5"),
                comparison: Comparison::AtMost,
                mandatory: false,
            },
        ]
    }

    #[test]
    fn values_are_compared_exactly_by_each_comparison() {
        let checks = check(
            &targets(),
            &[
                ("机电破坏负荷".into(), "550".into()),
                ("批次离散度".into(), "5.01".into()),
            ],
        );
        assert!(checks[0].met, "at least: equal meets");
        assert!(!checks[1].met, "at most: 5.01 misses 5");
        assert_eq!(percent_met(&checks), d("50"));
    }

    #[test]
    fn a_missing_value_is_not_met() {
        let checks = check(&targets(), &[("机电破坏负荷".into(), "600".into())]);
        assert!(!checks[1].met);
        assert_eq!(checks[1].measured, None);
        assert_eq!(checks[0].relative_margin, d("0.0909"));
    }
}
