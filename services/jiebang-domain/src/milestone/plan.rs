//! The milestone plan, fixed when the project starts: due dates counted in calendar months
//! from the start, in China Standard Time.

use crate::Timestamp;
use crate::review::notice::{day_of, start_of};

/// Civil date of a day number (Howard Hinnant's algorithm).
fn civil(day: i64) -> (i64, i64, i64) {
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// `start` moved by `months` calendar months, same time of day (CST); the day is clamped to
/// the month's length (31 January + 1 month = 28/29 February).
pub fn add_months(start: Timestamp, months: i32) -> Timestamp {
    let day = day_of(start);
    let within_day = start.micros() - start_of(day).micros();
    let (y, m, d) = civil(day);
    let total = y * 12 + (m - 1) + i64::from(months);
    let (ny, nm) = (total.div_euclid(12), total.rem_euclid(12) + 1);
    let nd = d.min(days_in_month(ny, nm));
    let target =
        crate::review::notice::parse_day(&format!("{ny:04}-{nm:02}-{nd:02}")).unwrap_or(day);
    Timestamp(start_of(target).micros() + within_day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::notice::parse_day;

    fn at(date: &str) -> Timestamp {
        Timestamp(start_of(parse_day(date).unwrap()).micros() + 9 * 3_600_000_000)
    }

    #[test]
    fn months_are_calendar_months() {
        assert_eq!(add_months(at("2026-11-27"), 12), at("2027-11-27"));
        assert_eq!(add_months(at("2026-11-27"), 3), at("2027-02-27"));
        assert_eq!(add_months(at("2027-01-31"), 1), at("2027-02-28"));
        assert_eq!(
            add_months(at("2028-01-31"), 1),
            at("2028-02-29"),
            "leap year"
        );
        assert_eq!(add_months(at("2026-11-27"), -2), at("2026-09-27"));
    }
}
