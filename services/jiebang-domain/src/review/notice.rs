//! The public notice period (公示, DOMAIN.md "Public notice and objections"): a number of
//! working days, weekends and configured holidays excluded, counted in China Standard Time
//! (UTC+8), ending at midnight after the last working day.

use crate::Timestamp;

const DAY_MICROS: i64 = 86_400_000_000;
const CST_OFFSET_MICROS: i64 = 8 * 3_600_000_000;

/// A civil day in China Standard Time, as days since 1970-01-01.
pub type Day = i64;

pub fn day_of(at: Timestamp) -> Day {
    (at.micros() + CST_OFFSET_MICROS).div_euclid(DAY_MICROS)
}

/// Midnight (CST) at the start of `day`.
pub fn start_of(day: Day) -> Timestamp {
    Timestamp(day * DAY_MICROS - CST_OFFSET_MICROS)
}

/// Monday = 0 … Sunday = 6. 1970-01-01 was a Thursday.
pub fn weekday(day: Day) -> i64 {
    (day + 3).rem_euclid(7)
}

/// The working calendar: weekends off, plus public holidays, minus make-up working weekends
/// (调休).
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    pub holidays: Vec<Day>,
    pub working_weekends: Vec<Day>,
}

impl Calendar {
    pub fn is_working_day(&self, day: Day) -> bool {
        if self.working_weekends.contains(&day) {
            return true;
        }
        weekday(day) < 5 && !self.holidays.contains(&day)
    }

    /// When a notice opened at `opened` for `working_days` ends: the notice runs through the
    /// following `working_days` working days (the opening day does not count) and ends at the
    /// midnight after the last of them.
    pub fn notice_end(&self, opened: Timestamp, working_days: u32) -> Timestamp {
        let mut day = day_of(opened);
        let mut counted = 0;
        while counted < working_days {
            day += 1;
            if self.is_working_day(day) {
                counted += 1;
            }
        }
        start_of(day + 1)
    }
}

/// Parses `YYYY-MM-DD` into a day.
pub fn parse_day(text: &str) -> Option<Day> {
    let mut parts = text.split('-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: &str, hour: i64) -> Timestamp {
        Timestamp(start_of(parse_day(day).unwrap()).micros() + hour * 3_600_000_000)
    }

    #[test]
    fn calendar_days_are_right() {
        assert_eq!(weekday(parse_day("2026-11-27").unwrap()), 4, "a Friday");
        assert_eq!(
            day_of(at("2026-11-27", 23)),
            parse_day("2026-11-27").unwrap()
        );
        assert!(parse_day("2026-13-01").is_none());
    }

    #[test]
    fn five_working_days_from_a_friday_end_the_next_friday_at_midnight() {
        let calendar = Calendar::default();
        let end = calendar.notice_end(at("2026-11-27", 10), 5);
        assert_eq!(end, start_of(parse_day("2026-12-05").unwrap()));
    }

    #[test]
    fn holidays_are_skipped_and_make_up_weekends_count() {
        let calendar = Calendar {
            holidays: vec![
                parse_day("2026-10-01").unwrap(),
                parse_day("2026-10-02").unwrap(),
            ],
            working_weekends: vec![parse_day("2026-10-10").unwrap()],
        };
        // Opened Wednesday 2026-09-30; Oct 1–2 are holidays, Oct 3–4 a weekend; then Mon–Fri
        // Oct 5–9 are the five working days.
        assert_eq!(
            calendar.notice_end(at("2026-09-30", 9), 5),
            start_of(parse_day("2026-10-10").unwrap())
        );
        // Opened Thursday Oct 8: Fri 9, Sat 10 (make-up day), Mon 12, Tue 13, Wed 14.
        assert_eq!(
            calendar.notice_end(at("2026-10-08", 9), 5),
            start_of(parse_day("2026-10-15").unwrap())
        );
    }
}
