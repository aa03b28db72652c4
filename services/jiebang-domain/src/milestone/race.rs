//! The horse race (赛马制): racing projects ranked on their mid-term milestones — accepted
//! before not accepted, then the share of targets met, then the mean relative margin over the
//! targets.

use rust_decimal::Decimal;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runner {
    pub project_id: String,
    pub accepted: bool,
    pub percent_met: Decimal,
    pub mean_margin: Decimal,
}

/// Best first; ties broken by project id so the order is total.
pub fn rank(mut runners: Vec<Runner>) -> Vec<Runner> {
    runners.sort_by(|a, b| {
        b.accepted
            .cmp(&a.accepted)
            .then(b.percent_met.cmp(&a.percent_met))
            .then(b.mean_margin.cmp(&a.mean_margin))
            .then(a.project_id.cmp(&b.project_id))
    });
    runners
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runner(id: &str, accepted: bool, percent: i64, margin: &str) -> Runner {
        Runner {
            project_id: id.into(),
            accepted,
            percent_met: Decimal::from(percent),
            mean_margin: margin.parse().unwrap(),
        }
    }

    #[test]
    fn accepted_first_then_targets_met_then_margin() {
        let ranked = rank(vec![
            runner("c", false, 100, "0.5"),
            runner("b", true, 90, "0.9"),
            runner("a", true, 100, "0.1"),
            runner("d", true, 100, "0.2"),
        ]);
        let order: Vec<&str> = ranked.iter().map(|r| r.project_id.as_str()).collect();
        assert_eq!(order, vec!["d", "a", "b", "c"]);
    }
}
