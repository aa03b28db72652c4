//! The funding ledger (拨付): every fen released is tied to a tranche, the sum never exceeds the
//! award, and integer shares leave no fen behind (the final tranche takes the remainder).

/// The amounts of tranches with these shares (basis points summing to 10,000) of `award_fen`:
/// each floor(award × share / 10,000), the remainder added to the last, so the amounts sum to
/// the award exactly.
pub fn amounts(award_fen: i64, shares: &[i32]) -> Vec<i64> {
    let mut out: Vec<i64> = shares
        .iter()
        .map(|s| i64::try_from(i128::from(award_fen) * i128::from(*s) / 10_000).unwrap_or(0))
        .collect();
    let released: i64 = out.iter().sum();
    if let Some(last) = out.last_mut() {
        *last += award_fen - released;
    }
    out
}

/// Whether releasing `amount` keeps the ledger within the award.
pub fn within_award(released_fen: i64, amount_fen: i64, award_fen: i64) -> bool {
    amount_fen >= 0
        && released_fen
            .checked_add(amount_fen)
            .is_some_and(|total| total <= award_fen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tranches_sum_to_the_award_to_the_fen() {
        let a = amounts(333_333_333, &[5_000, 3_000, 2_000]);
        assert_eq!(a.iter().sum::<i64>(), 333_333_333);
        assert_eq!(a[0], 166_666_666);
        assert_eq!(a[1], 99_999_999);
        assert_eq!(a[2], 66_666_668, "the final tranche takes the remainder");
    }

    #[test]
    fn the_ledger_never_exceeds_the_award() {
        assert!(within_award(0, 100, 100));
        assert!(!within_award(1, 100, 100));
        assert!(!within_award(i64::MAX, 1, i64::MAX));
        assert!(!within_award(0, -1, 100));
    }
}
