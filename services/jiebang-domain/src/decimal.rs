//! Exact decimal values (indicator targets, measured values): never floating point.

use rust_decimal::Decimal;
use std::str::FromStr;

/// Parses a plain decimal like `1200`, `-3.5` or `99.95`; no exponents, no separators.
pub fn parse_exact(text: &str) -> Option<Decimal> {
    let trimmed = text.trim();
    if trimmed.is_empty()
        || trimmed != text
        || !trimmed
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return None;
    }
    Decimal::from_str(trimmed).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_decimals_only() {
        assert!(parse_exact("1200").is_some());
        assert!(parse_exact("99.95").is_some());
        assert!(parse_exact("-3.5").is_some());
        for bad in ["", " 1", "1e3", "1,000", "abc", "1.2.3", "--1"] {
            assert!(parse_exact(bad).is_none(), "{bad}");
        }
    }
}
