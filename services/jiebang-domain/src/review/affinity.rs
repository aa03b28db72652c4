//! How well an expert suits an application: shared fields and keywords, plus the expert's bid.
//! An integer from 0 to 1000, so the assignment solver works in exact integers.

use std::collections::BTreeSet;

/// An expert's stated interest in reviewing an application (optional bidding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bid {
    Eager,
    Willing,
    Reluctant,
}

fn normalise(words: &[String]) -> BTreeSet<String> {
    words
        .iter()
        .map(|w| w.trim().to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

/// 600 for the challenge's industry field among the expert's fields, up to 300 for keyword
/// overlap (Jaccard), and ±100 for a bid.
pub fn affinity(
    expert_fields: &[String],
    expert_keywords: &[String],
    industry_field: &str,
    application_keywords: &[String],
    bid: Option<Bid>,
) -> i64 {
    let field = if normalise(expert_fields).contains(&industry_field.to_lowercase()) {
        600
    } else {
        0
    };
    let mine = normalise(expert_keywords);
    let theirs = normalise(application_keywords);
    let union = mine.union(&theirs).count();
    let keywords = (300 * mine.intersection(&theirs).count())
        .checked_div(union)
        .and_then(|k| i64::try_from(k).ok())
        .unwrap_or(0);
    let bid = match bid {
        Some(Bid::Eager) => 100,
        Some(Bid::Willing) | None => 0,
        Some(Bid::Reluctant) => -100,
    };
    (field + keywords + bid).clamp(0, 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn field_and_keywords_add_up() {
        let fields = words(&["electric_porcelain"]);
        let keywords = words(&["烧成", "釉料", "绝缘"]);
        let full = affinity(
            &fields,
            &keywords,
            "electric_porcelain",
            &words(&["烧成", "釉料", "绝缘"]),
            None,
        );
        assert_eq!(full, 900);
        let half = affinity(
            &fields,
            &keywords,
            "electric_porcelain",
            &words(&["烧成", "窑炉"]),
            None,
        );
        assert_eq!(half, 600 + 300 / 4);
        assert_eq!(
            affinity(&fields, &keywords, "air_compressors", &[], None),
            0
        );
    }

    #[test]
    fn bids_move_the_affinity_within_its_range() {
        let fields = words(&["electric_porcelain"]);
        assert_eq!(
            affinity(&fields, &[], "electric_porcelain", &[], Some(Bid::Eager)),
            700
        );
        assert_eq!(
            affinity(&[], &[], "electric_porcelain", &[], Some(Bid::Reluctant)),
            0
        );
    }
}
