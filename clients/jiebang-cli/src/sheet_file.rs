//! The score-sheet file an expert fills in for `jiebang review score`.

use anyhow::{Context, Result};
use jiebang_proto::v1 as pb;
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SheetFile {
    /// strongly_recommend | recommend | recommend_with_changes | not_recommend
    recommendation: String,
    overall_comment: String,
    scores: Vec<ScoreLine>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScoreLine {
    criterion: String,
    score: String,
    comment: String,
}

/// A template listing the criteria of an opened assignment.
pub fn template(criteria: &[pb::Criterion]) -> String {
    let mut out = String::from(
        "# Score sheet. Each criterion from 0 to its weight (at most 2 decimals), with a comment of\n\
         # at least 15 characters; an overall comment of at least 50 characters.\n\
         recommendation = \"recommend\"   # strongly_recommend | recommend | recommend_with_changes | not_recommend\n\
         overall_comment = \"\"\"\n\"\"\"\n",
    );
    for c in criteria {
        out.push_str(&format!(
            "\n[[scores]]\ncriterion = \"{}\"   # 0–{}\nscore = \"\"\ncomment = \"\"\n",
            c.name, c.weight
        ));
    }
    out
}

pub fn read(path: &Path) -> Result<pb::ScoreSheet> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let file: SheetFile = toml::from_str(&text)
        .with_context(|| format!("{} is not a valid score sheet", path.display()))?;
    let recommendation = pb::Recommendation::from_str_name(&format!(
        "RECOMMENDATION_{}",
        file.recommendation.to_uppercase()
    ))
    .with_context(|| format!("`{}` is not a recommendation", file.recommendation))?;
    Ok(pb::ScoreSheet {
        criterion_scores: file
            .scores
            .into_iter()
            .map(|s| pb::CriterionScore {
                criterion: s.criterion,
                score: s.score,
                comment: s.comment,
            })
            .collect(),
        overall_comment: file.overall_comment.trim().to_owned(),
        recommendation: recommendation as i32,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_lists_every_criterion_and_reads_back() {
        let criteria = vec![pb::Criterion {
            name: "技术路线与可行性".into(),
            weight: 40,
            ..Default::default()
        }];
        let text = template(&criteria).replace("score = \"\"", "score = \"36\"");
        let dir = std::env::temp_dir().join(format!("sheet-{}.toml", std::process::id()));
        std::fs::write(&dir, text).unwrap();
        let sheet = read(&dir).unwrap();
        assert_eq!(sheet.criterion_scores[0].score, "36");
        assert_eq!(sheet.recommendation, pb::Recommendation::Recommend as i32);
        let _ = std::fs::remove_file(dir);
    }
}
