//! What an acceptance decision may be (DOMAIN.md: ACCEPTED; ACCEPTED_AFTER_FIXES;
//! REWORK_REQUIRED once within 3 months; FAILED when a mandatory indicator is missed, data are
//! false, or it is over 6 months late; bands: below 90% of indicators met → re-examine, below
//! 80% → fail). The bands and limits are settings, not constants.

use super::check::{IndicatorCheck, percent_met};
use rust_decimal::Decimal;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Accepted,
    AcceptedAfterFixes,
    ReworkRequired,
    Failed,
}

/// The configurable rules of one deployment (DOMAIN.md gives one city's template).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcceptanceRules {
    /// Below this share of indicators met, the milestone is re-examined (no plain acceptance).
    pub reexamine_below_percent: u32,
    /// Below this share, it fails.
    pub fail_below_percent: u32,
    /// More than this many months late without a report fails the milestone.
    pub max_months_late: u32,
    /// A rework is due within this many months.
    pub rework_months: u32,
}

impl Default for AcceptanceRules {
    fn default() -> Self {
        Self {
            reexamine_below_percent: 90,
            fail_below_percent: 80,
            max_months_late: 6,
            rework_months: 3,
        }
    }
}

/// Where a share of indicators met falls among the rules' bands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Band {
    Pass,
    ReExamine,
    Fail,
}

impl AcceptanceRules {
    /// The band of `percent` (of indicators met) under these rules.
    pub fn band(&self, percent: Decimal) -> Band {
        if percent < Decimal::from(self.fail_below_percent) {
            Band::Fail
        } else if percent < Decimal::from(self.reexamine_below_percent) {
            Band::ReExamine
        } else {
            Band::Pass
        }
    }
}

/// Why the rules force or forbid an outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The most favourable outcome the rules allow.
    pub best_allowed: Outcome,
    /// Why it is not ACCEPTED, if it is not.
    pub reasons: Vec<String>,
}

/// The best outcome the rules allow for a report with these checks.
pub fn verdict(
    checks: &[IndicatorCheck],
    rules: AcceptanceRules,
    rework_used: bool,
    false_data: bool,
) -> Verdict {
    let mut reasons = Vec::new();
    let percent = percent_met(checks);
    let missed_mandatory: Vec<&str> = checks
        .iter()
        .filter(|c| c.mandatory && !c.met)
        .map(|c| c.indicator.as_str())
        .collect();
    let fail = |reasons: Vec<String>| Verdict {
        best_allowed: Outcome::Failed,
        reasons,
    };
    if false_data {
        reasons.push("the data were found to be false".into());
        return fail(reasons);
    }
    if !missed_mandatory.is_empty() {
        reasons.push(format!(
            "mandatory indicator(s) missed: {}",
            missed_mandatory.join(", ")
        ));
    }
    let band = rules.band(percent);
    if band == Band::Fail {
        reasons.push(format!(
            "{percent}% of the indicators met, below the fail band of {}%",
            rules.fail_below_percent
        ));
    }
    let failing = !reasons.is_empty();
    if failing {
        // One rework chance may still be given instead of failing outright.
        return if rework_used {
            reasons.push("the one rework chance was already used".into());
            fail(reasons)
        } else {
            Verdict {
                best_allowed: Outcome::ReworkRequired,
                reasons,
            }
        };
    }
    if band == Band::ReExamine {
        reasons.push(format!(
            "{percent}% of the indicators met, below the re-examination band of {}%",
            rules.reexamine_below_percent
        ));
        return Verdict {
            best_allowed: Outcome::AcceptedAfterFixes,
            reasons,
        };
    }
    Verdict {
        best_allowed: Outcome::Accepted,
        reasons,
    }
}

/// Whether a decided outcome is consistent with the verdict: no better than allowed, and no
/// second rework.
pub fn permits(verdict: &Verdict, decided: Outcome, rework_used: bool) -> Result<(), String> {
    if decided < verdict.best_allowed {
        return Err(format!(
            "the rules allow at best {:?}: {}",
            verdict.best_allowed,
            verdict.reasons.join("; ")
        ));
    }
    if decided == Outcome::ReworkRequired && rework_used {
        return Err("a milestone gets one rework chance only".into());
    }
    Ok(())
}

/// The panel's majority; a tie goes to the more cautious outcome.
pub fn majority(votes: &[Outcome]) -> Option<Outcome> {
    let mut counts: Vec<(Outcome, usize)> = Vec::new();
    for v in votes {
        match counts.iter_mut().find(|(o, _)| o == v) {
            Some((_, n)) => *n += 1,
            None => counts.push((*v, 1)),
        }
    }
    counts
        .into_iter()
        .max_by(|(oa, na), (ob, nb)| na.cmp(nb).then(oa.cmp(ob)))
        .map(|(o, _)| o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::milestone::check::IndicatorCheck;

    fn checks(met: &[bool], mandatory_missed: bool) -> Vec<IndicatorCheck> {
        met.iter()
            .enumerate()
            .map(|(i, m)| IndicatorCheck {
                indicator: format!("指标{i}"),
                target: Decimal::ONE,
                measured: Some(Decimal::ONE),
                met: *m,
                mandatory: i == 0 && mandatory_missed,
                relative_margin: Decimal::ZERO,
            })
            .collect()
    }

    #[test]
    fn every_indicator_met_may_be_accepted() {
        let v = verdict(
            &checks(&[true; 10], false),
            AcceptanceRules::default(),
            false,
            false,
        );
        assert_eq!(v.best_allowed, Outcome::Accepted);
    }

    #[test]
    fn below_ninety_percent_is_re_examined_and_below_eighty_fails_or_reworks() {
        let mut nine = vec![true; 9];
        nine.push(false);
        let mut eight_of_ten = vec![true; 8];
        eight_of_ten.extend([false, false]);
        let mut seven = vec![true; 7];
        seven.extend([false; 3]);
        let rules = AcceptanceRules::default();
        assert_eq!(
            verdict(&checks(&nine, false), rules, false, false).best_allowed,
            Outcome::Accepted,
            "90% is not below 90%"
        );
        assert_eq!(
            verdict(&checks(&eight_of_ten, false), rules, false, false).best_allowed,
            Outcome::AcceptedAfterFixes
        );
        assert_eq!(
            verdict(&checks(&seven, false), rules, false, false).best_allowed,
            Outcome::ReworkRequired
        );
        assert_eq!(
            verdict(&checks(&seven, false), rules, true, false).best_allowed,
            Outcome::Failed,
            "no second rework"
        );
    }

    #[test]
    fn a_missed_mandatory_indicator_or_false_data_cannot_be_accepted() {
        let rules = AcceptanceRules::default();
        let v = verdict(
            &checks(
                &[false, true, true, true, true, true, true, true, true, true],
                true,
            ),
            rules,
            false,
            false,
        );
        assert_eq!(v.best_allowed, Outcome::ReworkRequired);
        assert!(permits(&v, Outcome::Accepted, false).is_err());
        assert_eq!(
            verdict(&checks(&[true; 3], false), rules, false, true).best_allowed,
            Outcome::Failed
        );
    }

    #[test]
    fn the_bands_are_settings() {
        let strict = AcceptanceRules {
            reexamine_below_percent: 100,
            ..AcceptanceRules::default()
        };
        let mut nine = vec![true; 9];
        nine.push(false);
        assert_eq!(
            verdict(&checks(&nine, false), strict, false, false).best_allowed,
            Outcome::AcceptedAfterFixes
        );
    }

    #[test]
    fn the_majority_decides_and_a_tie_goes_to_caution() {
        use Outcome::*;
        assert_eq!(
            majority(&[Accepted, Accepted, ReworkRequired, Accepted, Failed]),
            Some(Accepted)
        );
        assert_eq!(majority(&[Accepted, ReworkRequired]), Some(ReworkRequired));
        assert_eq!(majority(&[]), None);
    }
}
