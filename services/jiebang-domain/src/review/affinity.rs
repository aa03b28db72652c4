//! How well an expert suits an application: the challenge's industry field among the expert's
//! fields, the expert's keywords found in the application's title and plan, and the expert's
//! bid. An integer from 0 to 1000, so the assignment solver works in exact integers.

/// An expert's stated interest in reviewing an application (optional bidding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bid {
    Eager,
    Willing,
    Reluctant,
}

/// 600 when the expert covers the challenge's field, 75 per keyword found in the application's
/// text (at most 300), and ±100 for a bid.
pub fn affinity(
    expert_fields: &[String],
    expert_keywords: &[String],
    industry_field: &str,
    application_text: &str,
    bid: Option<Bid>,
) -> i64 {
    let field = if expert_fields
        .iter()
        .any(|f| f.trim().eq_ignore_ascii_case(industry_field))
    {
        600
    } else {
        0
    };
    let text = application_text.to_lowercase();
    let found = expert_keywords
        .iter()
        .map(|k| k.trim().to_lowercase())
        .filter(|k| !k.is_empty() && text.contains(k.as_str()))
        .count();
    let keywords = i64::try_from(found)
        .unwrap_or(i64::MAX)
        .saturating_mul(75)
        .min(300);
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
    fn field_and_keywords_in_the_plan_add_up() {
        let fields = words(&["electric_porcelain"]);
        let keywords = words(&["烧成", "釉料", "绝缘子", "窑炉", "晶相"]);
        let plan = "采用高铝瓷配方与梯度烧成，控制晶相，改进釉料，提升绝缘子强度，改造窑炉";
        assert_eq!(
            affinity(&fields, &keywords, "electric_porcelain", plan, None),
            900,
            "keywords cap at 300"
        );
        assert_eq!(
            affinity(&fields, &keywords, "electric_porcelain", "只涉及烧成", None),
            675
        );
        assert_eq!(affinity(&fields, &keywords, "air_compressors", "", None), 0);
    }

    #[test]
    fn bids_move_the_affinity_within_its_range() {
        let fields = words(&["electric_porcelain"]);
        assert_eq!(
            affinity(&fields, &[], "electric_porcelain", "", Some(Bid::Eager)),
            700
        );
        assert_eq!(
            affinity(&[], &[], "electric_porcelain", "", Some(Bid::Reluctant)),
            0
        );
    }
}
