//! Score sheets (DOMAIN.md, "Review": scoring): every criterion scored within its range with a
//! comment, an overall comment and a recommendation; sealed when submitted.

use crate::challenge::Criterion;
use crate::{DomainError, Violations, decimal};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A comment of real length, not a token "ok" (DOMAIN.md: each expert writes a comment).
pub const MIN_CRITERION_COMMENT_CHARS: usize = 15;
pub const MIN_OVERALL_COMMENT_CHARS: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CriterionScore {
    pub criterion: String,
    /// Exact decimal text; empty while the draft leaves it open.
    pub score: String,
    pub comment: String,
}

/// What an expert writes on a sheet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SheetContent {
    pub scores: Vec<CriterionScore>,
    pub overall_comment: String,
    /// `STRONGLY_RECOMMEND`, `RECOMMEND`, `RECOMMEND_WITH_CHANGES` or `NOT_RECOMMEND`.
    pub recommendation: String,
}

const RECOMMENDATIONS: [&str; 4] = [
    "STRONGLY_RECOMMEND",
    "RECOMMEND",
    "RECOMMEND_WITH_CHANGES",
    "NOT_RECOMMEND",
];

fn non_blank_chars(text: &str) -> usize {
    text.chars().filter(|c| !c.is_whitespace()).count()
}

impl SheetContent {
    /// A draft may be incomplete, but what it holds must be well-formed.
    pub fn validate_draft(&self, criteria: &[Criterion]) -> Result<(), DomainError> {
        let mut v = Violations::new();
        let mut seen = std::collections::HashSet::new();
        for (i, s) in self.scores.iter().enumerate() {
            let at = |f: &str| format!("score_sheet.criterion_scores[{i}].{f}");
            let criterion = criteria.iter().find(|c| c.name == s.criterion);
            v.require(
                criterion.is_some(),
                at("criterion"),
                "is not a criterion of this challenge",
            );
            v.require(
                seen.insert(s.criterion.as_str()),
                at("criterion"),
                "is scored twice",
            );
            if !s.score.is_empty() {
                match (decimal::parse_exact(&s.score), criterion) {
                    (Some(value), Some(c)) => v.require(
                        value >= Decimal::ZERO
                            && value <= Decimal::from(c.weight)
                            && value.scale() <= 2,
                        at("score"),
                        format!("must be 0–{} with at most 2 decimals", c.weight),
                    ),
                    (None, _) => v.add(at("score"), "must be an exact decimal like 32.5"),
                    _ => {}
                }
            }
            v.require(
                s.comment.chars().count() <= 5_000,
                at("comment"),
                "at most 5,000 characters",
            );
        }
        v.require(
            self.overall_comment.chars().count() <= 10_000,
            "score_sheet.overall_comment",
            "at most 10,000 characters",
        );
        v.require(
            self.recommendation.is_empty()
                || RECOMMENDATIONS.contains(&self.recommendation.as_str()),
            "score_sheet.recommendation",
            "is not a known recommendation",
        );
        v.into_result()
    }

    /// What sealing requires: every criterion scored once, comments of real length, an overall
    /// comment and a recommendation.
    pub fn validate_submission(&self, criteria: &[Criterion]) -> Result<(), DomainError> {
        self.validate_draft(criteria)?;
        let mut v = Violations::new();
        for c in criteria {
            match self.scores.iter().position(|s| s.criterion == c.name) {
                None => v.add(
                    "score_sheet.criterion_scores",
                    format!("`{}` is not scored", c.name),
                ),
                Some(i) => {
                    let s = &self.scores[i];
                    v.require(
                        !s.score.is_empty(),
                        format!("score_sheet.criterion_scores[{i}].score"),
                        "must be given",
                    );
                    v.require(
                        non_blank_chars(&s.comment) >= MIN_CRITERION_COMMENT_CHARS,
                        format!("score_sheet.criterion_scores[{i}].comment"),
                        format!("needs at least {MIN_CRITERION_COMMENT_CHARS} characters explaining the score"),
                    );
                }
            }
        }
        v.require(
            non_blank_chars(&self.overall_comment) >= MIN_OVERALL_COMMENT_CHARS,
            "score_sheet.overall_comment",
            format!("needs at least {MIN_OVERALL_COMMENT_CHARS} characters"),
        );
        v.require(
            !self.recommendation.is_empty(),
            "score_sheet.recommendation",
            "must be given",
        );
        v.into_result()
    }

    /// The scores aligned with the challenge's criteria (missing ones as zero).
    pub fn aligned(&self, criteria: &[Criterion]) -> Vec<Decimal> {
        align(
            self.scores
                .iter()
                .map(|s| (s.criterion.as_str(), s.score.as_str())),
            criteria,
        )
    }

    pub fn total(&self) -> Decimal {
        self.scores
            .iter()
            .filter_map(|s| decimal::parse_exact(&s.score))
            .sum()
    }
}

/// Scores given as (criterion, exact decimal text) pairs, aligned with `criteria`: for each
/// criterion the first pair naming it, parsed exactly; a missing or unreadable score is zero.
/// [`SheetContent::aligned`] and the ranking's lean read of sealed sheets both use it.
pub fn align<'a, I>(scores: I, criteria: &[Criterion]) -> Vec<Decimal>
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
    I::IntoIter: Clone,
{
    let scores = scores.into_iter();
    criteria
        .iter()
        .map(|c| {
            scores
                .clone()
                .find(|(criterion, _)| *criterion == c.name)
                .and_then(|(_, score)| decimal::parse_exact(score))
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::challenge::CriterionKind;

    fn criteria() -> Vec<Criterion> {
        vec![
            Criterion {
                name: "技术".into(),
                kind: CriterionKind::TechnicalFeasibility,
                weight: 60,
                guidance: String::new(),
            },
            Criterion {
                name: "团队".into(),
                kind: CriterionKind::TeamCapability,
                weight: 40,
                guidance: String::new(),
            },
        ]
    }

    fn complete() -> SheetContent {
        SheetContent {
            scores: vec![
                CriterionScore { criterion: "技术".into(), score: "52.5".into(), comment: "技术路线清晰，关键工艺有中试数据支撑。".into() },
                CriterionScore { criterion: "团队".into(), score: "30".into(), comment: "团队有相关产品研制经历，分工明确合理。".into() },
            ],
            overall_comment: "方案整体可行，指标承诺与技术路线匹配，建议在中期评估时重点核查烧成工艺的一致性数据，并补充第三方检测计划。".into(),
            recommendation: "RECOMMEND".into(),
        }
    }

    #[test]
    fn a_complete_sheet_can_be_sealed_and_totals_exactly() {
        assert_eq!(complete().validate_submission(&criteria()), Ok(()));
        assert_eq!(complete().total(), Decimal::new(825, 1));
    }

    #[test]
    fn scores_stay_within_the_criterion_range() {
        let mut sheet = complete();
        sheet.scores[1].score = "40.01".into();
        assert!(sheet.validate_draft(&criteria()).is_err());
        sheet.scores[1].score = "39.999".into();
        assert!(
            sheet.validate_draft(&criteria()).is_err(),
            "at most 2 decimals"
        );
        sheet.scores[1].score = "-1".into();
        assert!(sheet.validate_draft(&criteria()).is_err());
    }

    #[test]
    fn a_draft_may_be_incomplete_but_sealing_needs_everything() {
        let mut sheet = complete();
        sheet.scores.pop();
        sheet.overall_comment = "好".into();
        assert_eq!(sheet.validate_draft(&criteria()), Ok(()));
        let Err(DomainError::InvalidArgument(v)) = sheet.validate_submission(&criteria()) else {
            panic!("expected violations");
        };
        let fields: Vec<&str> = v.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "score_sheet.criterion_scores",
                "score_sheet.overall_comment"
            ]
        );
    }

    #[test]
    fn a_token_comment_is_not_enough() {
        let mut sheet = complete();
        sheet.scores[0].comment = "很好 很好".into();
        assert!(sheet.validate_submission(&criteria()).is_err());
    }
}
