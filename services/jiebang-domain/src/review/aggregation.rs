//! From sealed score sheets to a ranking (DOMAIN.md, "Review"), in exact decimal arithmetic.
//!
//! - An expert's total is the sum of their criterion scores (each criterion is scored from 0 to
//!   its weight, so totals run from 0 to 100).
//! - The final score is the challenge's aggregate of the totals: by default the trimmed mean
//!   (drop one highest and one lowest when there are 5 or more sheets, then the mean); or the
//!   mean, or the median. Rounded half up to 2 decimals.
//! - Per-criterion results use the same aggregate, for the per-criterion threshold and for the
//!   team's own result.
//! - Dispersion: max − min of the totals above the gap flags the application; the chair must
//!   resolve it before ranking.
//! - Eligible for award: every criterion at least its threshold percentage of its weight and a
//!   final score at least the total threshold.
//! - Ties, in order: higher score on the heaviest criterion, then on technical feasibility,
//!   then the lower requested budget (then the application id, so the order is total).

use crate::challenge::{AggregationMethod, Criterion, CriterionKind, ReviewSettings};
use rust_decimal::{Decimal, RoundingStrategy};
use std::cmp::Ordering;

/// Rounds half up to 2 decimals (scores are never negative, so "away from zero" is "up").
pub fn round2(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// The aggregate of `values` by `method`, unrounded. Empty input gives zero.
pub fn aggregate(values: &[Decimal], method: AggregationMethod) -> Decimal {
    if values.is_empty() {
        return Decimal::ZERO;
    }
    // A panel is a handful of experts: sort a copy on the stack (a ranking aggregates six
    // such lists per application, 600,000 at a national scale).
    let mut on_stack = [Decimal::ZERO; 16];
    let mut on_heap = Vec::new();
    let sorted: &mut [Decimal] = if values.len() <= on_stack.len() {
        let sorted = &mut on_stack[..values.len()];
        sorted.copy_from_slice(values);
        sorted
    } else {
        on_heap.extend_from_slice(values);
        &mut on_heap
    };
    sorted.sort_unstable();
    let sorted = &*sorted;
    match method {
        AggregationMethod::Mean => mean(sorted),
        AggregationMethod::TrimmedMean if sorted.len() >= 5 => mean(&sorted[1..sorted.len() - 1]),
        AggregationMethod::TrimmedMean => mean(sorted),
        AggregationMethod::Median => {
            let n = sorted.len();
            if n % 2 == 1 {
                sorted[n / 2]
            } else {
                (sorted[n / 2 - 1] + sorted[n / 2]) / Decimal::TWO
            }
        }
    }
}

fn mean(values: &[Decimal]) -> Decimal {
    values.iter().sum::<Decimal>() / Decimal::from(values.len())
}

/// The scores of one application: its sheets' criterion scores, aligned with the challenge's
/// criteria.
#[derive(Debug, Clone)]
pub struct Scored {
    pub application_id: String,
    pub requested_budget_fen: i64,
    pub sheets: Vec<Vec<Decimal>>,
}

/// One application's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub application_id: String,
    /// Each expert's total, in sheet order.
    pub totals: Vec<Decimal>,
    /// The final score, rounded half up to 2 decimals.
    pub final_score: Decimal,
    /// Per criterion, rounded half up to 2 decimals.
    pub criterion_scores: Vec<Decimal>,
    /// max − min of the totals, when it exceeds the dispersion gap.
    pub dispersion: Option<Decimal>,
    /// Why it may not be awarded, if it may not (thresholds).
    pub below_threshold: Vec<String>,
    /// Position among the applications above every threshold (1 = best); `None` otherwise.
    pub rank: Option<usize>,
}

impl Outcome {
    pub fn passes(&self) -> bool {
        self.below_threshold.is_empty()
    }
}

/// The fewest applications a scoring thread takes: the scoring is shared among the cores from
/// twice this on (below it, starting threads costs more than it saves).
const PER_THREAD: usize = 10_000;

/// Scores every application and ranks those above the thresholds.
pub fn rank(criteria: &[Criterion], settings: &ReviewSettings, scored: &[Scored]) -> Vec<Outcome> {
    // Each application is scored on its own, so at a national scale (100,000 applications)
    // the cores share the scoring; only the ordering below needs them all.
    let threads = if scored.len() < 2 * PER_THREAD {
        1
    } else {
        std::thread::available_parallelism()
            .map_or(1, std::num::NonZeroUsize::get)
            .min(scored.len() / PER_THREAD)
    };
    let chunk = scored.len().div_ceil(threads).max(1);
    let outcomes: Vec<Outcome> = std::thread::scope(|scope| {
        let workers: Vec<_> = scored
            .chunks(chunk)
            .skip(1)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|s| score(criteria, settings, s))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut outcomes: Vec<Outcome> = scored
            .chunks(chunk)
            .next()
            .unwrap_or_default()
            .iter()
            .map(|s| score(criteria, settings, s))
            .collect();
        for worker in workers {
            match worker.join() {
                Ok(part) => outcomes.extend(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        outcomes
    });

    let heaviest = criteria
        .iter()
        .enumerate()
        .max_by(|(ia, a), (ib, b)| a.weight.cmp(&b.weight).then(ib.cmp(ia)))
        .map(|(i, _)| i);
    let technical = criteria
        .iter()
        .position(|c| c.kind == CriterionKind::TechnicalFeasibility);
    // Sorted by keys of whole cents (every score compared is rounded to 2 decimals, so this
    // is exact) rather than by the outcomes themselves: comparing decimals of different
    // scales and moving outcomes about was half the ranking's time at 100,000 applications.
    let cents_at = |o: &Outcome, i: Option<usize>| {
        cents(
            i.and_then(|i| o.criterion_scores.get(i).copied())
                .unwrap_or_default(),
        )
    };
    let mut order: Vec<(bool, i64, i64, i64, i64, usize)> = outcomes
        .iter()
        .zip(scored)
        .enumerate()
        .map(|(at, (o, s))| {
            (
                o.passes(),
                cents(o.final_score),
                cents_at(o, heaviest),
                cents_at(o, technical),
                s.requested_budget_fen,
                at,
            )
        })
        .collect();
    order.sort_unstable_by(|a, b| {
        b.0.cmp(&a.0)
            .then(b.1.cmp(&a.1))
            .then(b.2.cmp(&a.2))
            .then(b.3.cmp(&a.3))
            .then(a.4.cmp(&b.4))
            .then_with(|| {
                outcomes[a.5]
                    .application_id
                    .cmp(&outcomes[b.5].application_id)
            })
    });
    let mut slots: Vec<Option<Outcome>> = outcomes.into_iter().map(Some).collect();
    let mut position = 0;
    order
        .iter()
        .filter_map(|key| slots[key.5].take())
        .map(|mut o| {
            if o.passes() {
                position += 1;
                o.rank = Some(position);
            }
            o
        })
        .collect()
}

/// A score rounded to 2 decimals, in whole cents.
fn cents(score: Decimal) -> i64 {
    let mut score = score;
    score.rescale(2);
    i64::try_from(score.mantissa()).unwrap_or(i64::MAX)
}

/// One application's scores, thresholds and dispersion (its rank is set by [`rank`]).
fn score(criteria: &[Criterion], settings: &ReviewSettings, s: &Scored) -> Outcome {
    let method = settings.aggregation_method;
    let gap = Decimal::from(settings.dispersion_gap);
    let totals: Vec<Decimal> = s.sheets.iter().map(|sheet| sheet.iter().sum()).collect();
    let final_score = round2(aggregate(&totals, method));
    let mut column = Vec::with_capacity(s.sheets.len());
    let criterion_scores: Vec<Decimal> = (0..criteria.len())
        .map(|c| {
            column.clear();
            column.extend(
                s.sheets
                    .iter()
                    .map(|sheet| sheet.get(c).copied().unwrap_or_default()),
            );
            round2(aggregate(&column, method))
        })
        .collect();
    let spread = match (totals.iter().max(), totals.iter().min()) {
        (Some(max), Some(min)) => *max - *min,
        _ => Decimal::ZERO,
    };
    let mut below = Vec::new();
    for (criterion, score) in criteria.iter().zip(&criterion_scores) {
        let floor = Decimal::from(criterion.weight)
            * Decimal::from(settings.criterion_threshold_percent)
            / Decimal::ONE_HUNDRED;
        if *score < floor {
            below.push(format!(
                "{} scored {score}, below {} ({}% of {})",
                criterion.name,
                round2(floor),
                settings.criterion_threshold_percent,
                criterion.weight
            ));
        }
    }
    if final_score < Decimal::from(settings.total_threshold) {
        below.push(format!(
            "final score {final_score} is below {}",
            settings.total_threshold
        ));
    }
    if s.sheets.is_empty() {
        below.push("no submitted score sheet".into());
    }
    Outcome {
        application_id: s.application_id.clone(),
        totals,
        final_score,
        criterion_scores,
        dispersion: (spread > gap).then_some(spread),
        below_threshold: below,
        rank: None,
    }
}

/// The shortlist and the proposed winners: the best ranked, at most `shortlist_size` and
/// `winners_count` (which the challenge already bounds to 5 and 3).
pub fn shortlist(
    ranked: &[Outcome],
    shortlist_size: usize,
    winners: usize,
) -> (Vec<&Outcome>, Vec<&Outcome>) {
    let passing: Vec<&Outcome> = ranked.iter().filter(|o| o.rank.is_some()).collect();
    let short: Vec<&Outcome> = passing.iter().take(shortlist_size).copied().collect();
    let win = short.iter().take(winners).copied().collect();
    (short, win)
}

/// Orders outcomes by rank for display (ranked first, then the rest by final score).
pub fn by_rank(a: &Outcome, b: &Outcome) -> Ordering {
    match (a.rank, b.rank) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => b.final_score.cmp(&a.final_score),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn criteria() -> Vec<Criterion> {
        let c = |name: &str, kind, weight| Criterion {
            name: name.into(),
            kind,
            weight,
            guidance: String::new(),
        };
        vec![
            c("技术路线与可行性", CriterionKind::TechnicalFeasibility, 40),
            c("团队能力", CriterionKind::TeamCapability, 25),
            c("预算合理性", CriterionKind::Budget, 15),
            c("产业化与用户价值", CriterionKind::Industrialisation, 20),
        ]
    }

    /// A sheet whose criteria are scored at `fraction` of their weights.
    fn sheet(fraction: &str) -> Vec<Decimal> {
        [40, 25, 15, 20]
            .iter()
            .map(|w| Decimal::from(*w) * d(fraction))
            .collect()
    }

    #[test]
    fn the_trimmed_mean_drops_one_highest_and_one_lowest_from_five_or_more() {
        let totals = [d("90"), d("80"), d("85"), d("70"), d("100")];
        // Drop 100 and 70: (90 + 80 + 85) / 3 = 85.
        assert_eq!(aggregate(&totals, AggregationMethod::TrimmedMean), d("85"));
        // With four sheets nothing is dropped.
        assert_eq!(
            aggregate(&totals[..4], AggregationMethod::TrimmedMean),
            d("81.25")
        );
    }

    #[test]
    fn mean_and_median() {
        let totals = [d("90"), d("80"), d("85"), d("70")];
        assert_eq!(aggregate(&totals, AggregationMethod::Mean), d("81.25"));
        assert_eq!(aggregate(&totals, AggregationMethod::Median), d("82.5"));
        assert_eq!(aggregate(&totals[..3], AggregationMethod::Median), d("85"));
    }

    #[test]
    fn rounding_is_half_up_to_two_decimals() {
        assert_eq!(round2(d("84.125")), d("84.13"));
        assert_eq!(round2(d("84.1249")), d("84.12"));
        // (80 + 81 + 82.5) / 3 = 81.1666… → 81.17, exactly, with no binary float error.
        let totals = [d("80"), d("81"), d("82.5")];
        assert_eq!(
            round2(aggregate(&totals, AggregationMethod::Mean)),
            d("81.17")
        );
    }

    #[test]
    fn a_hand_computed_panel_of_seven() {
        let settings = ReviewSettings::default();
        let scored = Scored {
            application_id: "a".into(),
            requested_budget_fen: 1,
            sheets: vec![
                sheet("0.9"),
                sheet("0.8"),
                sheet("0.85"),
                sheet("0.7"),
                sheet("1"),
                sheet("0.75"),
                sheet("0.95"),
            ],
        };
        let outcome = &rank(&criteria(), &settings, &[scored])[0];
        assert_eq!(outcome.totals[0], d("90.0"));
        // Drop 100 and 70: (90 + 80 + 85 + 75 + 95) / 5 = 85.
        assert_eq!(outcome.final_score, d("85"));
        // Technical: drop 40 and 28 of (36, 32, 34, 28, 40, 30, 38): 170 / 5 = 34.
        assert_eq!(outcome.criterion_scores[0], d("34"));
        // 100 − 70 = 30 > 20: flagged.
        assert_eq!(outcome.dispersion, Some(d("30")));
        assert_eq!(outcome.rank, Some(1));
    }

    #[test]
    fn thresholds_apply_per_criterion_and_to_the_total() {
        let settings = ReviewSettings::default();
        let mut weak_budget = sheet("0.9");
        weak_budget[2] = d("8"); // 8 of 15 < 60% (9)
        let scored = vec![
            Scored {
                application_id: "low-total".into(),
                requested_budget_fen: 1,
                sheets: vec![sheet("0.65"); 3],
            },
            Scored {
                application_id: "weak-budget".into(),
                requested_budget_fen: 1,
                sheets: vec![weak_budget; 3],
            },
            Scored {
                application_id: "good".into(),
                requested_budget_fen: 1,
                sheets: vec![sheet("0.8"); 3],
            },
        ];
        let ranked = rank(&criteria(), &settings, &scored);
        assert_eq!(ranked[0].application_id, "good");
        assert_eq!(ranked[0].rank, Some(1));
        let low = ranked
            .iter()
            .find(|o| o.application_id == "low-total")
            .unwrap();
        assert_eq!(low.rank, None);
        assert!(low.below_threshold.iter().any(|r| r.contains("below 70")));
        let weak = ranked
            .iter()
            .find(|o| o.application_id == "weak-budget")
            .unwrap();
        assert_eq!(weak.rank, None);
        assert!(weak.below_threshold[0].contains("预算合理性"));
    }

    #[test]
    fn ties_go_to_the_heaviest_criterion_then_technical_then_the_lower_budget() {
        let settings = ReviewSettings::default();
        // Both total 85; A is stronger on the heaviest criterion (technical, 40).
        let a = vec![d("36"), d("20"), d("12"), d("17")];
        let b = vec![d("34"), d("22"), d("12"), d("17")];
        let ranked = rank(
            &criteria(),
            &settings,
            &[
                Scored {
                    application_id: "b".into(),
                    requested_budget_fen: 1,
                    sheets: vec![b; 3],
                },
                Scored {
                    application_id: "a".into(),
                    requested_budget_fen: 1,
                    sheets: vec![a.clone(); 3],
                },
            ],
        );
        assert_eq!(ranked[0].application_id, "a");
        // Identical scores: the lower requested budget wins.
        let ranked = rank(
            &criteria(),
            &settings,
            &[
                Scored {
                    application_id: "dear".into(),
                    requested_budget_fen: 300,
                    sheets: vec![a.clone(); 3],
                },
                Scored {
                    application_id: "cheap".into(),
                    requested_budget_fen: 200,
                    sheets: vec![a; 3],
                },
            ],
        );
        assert_eq!(ranked[0].application_id, "cheap");
        assert_eq!(ranked[1].rank, Some(2));
    }

    #[test]
    fn the_shortlist_and_winners_take_the_best_ranked() {
        let settings = ReviewSettings::default();
        let scored: Vec<Scored> = ["0.95", "0.9", "0.85", "0.8", "0.75", "0.72", "0.5"]
            .iter()
            .enumerate()
            .map(|(i, f)| Scored {
                application_id: format!("app{i}"),
                requested_budget_fen: 1,
                sheets: vec![sheet(f); 5],
            })
            .collect();
        let ranked = rank(&criteria(), &settings, &scored);
        let (short, winners) = shortlist(&ranked, 5, 1);
        assert_eq!(
            short
                .iter()
                .map(|o| o.application_id.as_str())
                .collect::<Vec<_>>(),
            vec!["app0", "app1", "app2", "app3", "app4"]
        );
        assert_eq!(winners[0].application_id, "app0");
        assert_eq!(
            ranked.last().unwrap().rank,
            None,
            "below the threshold is not ranked"
        );
    }

    #[test]
    fn a_national_round_is_scored_in_parts_and_ranked_as_one() {
        // Enough applications that the scoring is shared among threads (on a machine with
        // more than one core), with scores of mixed scales ("81.5", "81.50") and many ties.
        let settings = ReviewSettings::default();
        let criteria = criteria();
        let mut seed = 7_u64;
        let mut next = move |below: u64| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) % below
        };
        let scored: Vec<Scored> = (0..3 * PER_THREAD)
            .map(|i| Scored {
                application_id: format!("app{:06}", (i * 7_919) % (3 * PER_THREAD)),
                requested_budget_fen: i64::try_from(next(3)).unwrap(),
                sheets: (0..5)
                    .map(|_| {
                        [40, 25, 15, 20]
                            .iter()
                            .map(|w| {
                                let halves = next(2 * w + 1);
                                let mut score = Decimal::from(halves) / Decimal::TWO;
                                if next(2) == 0 {
                                    score.rescale(2);
                                }
                                score
                            })
                            .collect()
                    })
                    .collect(),
            })
            .collect();
        let ranked = rank(&criteria, &settings, &scored);

        assert_eq!(ranked.len(), scored.len());
        let by_id: std::collections::HashMap<&str, &Scored> = scored
            .iter()
            .map(|s| (s.application_id.as_str(), s))
            .collect();
        for outcome in &ranked {
            let alone = score(&criteria, &settings, by_id[outcome.application_id.as_str()]);
            assert_eq!(
                Outcome {
                    rank: outcome.rank,
                    ..alone
                },
                *outcome
            );
        }
        // In order by the rules, compared as decimals: passing first, then the final score,
        // the heaviest criterion, technical feasibility, the lower budget, the id.
        let (heaviest, technical) = (0, 0);
        let budget = |o: &Outcome| by_id[o.application_id.as_str()].requested_budget_fen;
        for pair in ranked.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            let order = b
                .passes()
                .cmp(&a.passes())
                .then(b.final_score.cmp(&a.final_score))
                .then(b.criterion_scores[heaviest].cmp(&a.criterion_scores[heaviest]))
                .then(b.criterion_scores[technical].cmp(&a.criterion_scores[technical]))
                .then(budget(a).cmp(&budget(b)))
                .then(a.application_id.cmp(&b.application_id));
            assert_eq!(order, Ordering::Less, "{a:?} before {b:?}");
        }
        let passing = ranked.iter().filter(|o| o.passes()).count();
        assert!(passing > 0 && passing < ranked.len());
        assert!(
            ranked
                .iter()
                .take(passing)
                .enumerate()
                .all(|(i, o)| o.rank == Some(i + 1))
        );
        assert!(ranked.iter().skip(passing).all(|o| o.rank.is_none()));
    }
}
