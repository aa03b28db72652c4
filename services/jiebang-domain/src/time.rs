//! Instants as exact microseconds since the Unix epoch (UTC), and the clock that gives "now".
//!
//! Deadlines are compared to the microsecond ("the deadline is exact"), so instants are plain
//! integers rather than floating seconds. The clock is injected everywhere so tests can move
//! time forward instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Microseconds since 1970-01-01T00:00:00Z.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const fn from_micros(micros: i64) -> Self {
        Self(micros)
    }

    pub const fn micros(self) -> i64 {
        self.0
    }

    /// `self + duration`, saturating instead of overflowing on absurd inputs.
    pub fn plus(self, duration: Duration) -> Self {
        let micros = i64::try_from(duration.as_micros()).unwrap_or(i64::MAX);
        Self(self.0.saturating_add(micros))
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_micros(u64::try_from(self.0.saturating_sub(earlier.0)).unwrap_or(0))
    }

    /// The calendar year (UTC) of this instant, e.g. for the default round of a challenge.
    pub fn year(self) -> i32 {
        // Days since epoch → civil year (Howard Hinnant's algorithm).
        let days = self.0.div_euclid(86_400_000_000);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        i32::try_from(year).unwrap_or(i32::MAX)
    }
}

/// Where "now" comes from.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;

    /// Moves the clock forward and returns the new time, for clocks that can be moved (the
    /// tests' manual clock, the demo clock). The wall clock cannot: `None`.
    fn advance(&self, by: Duration) -> Option<Timestamp> {
        let _ = by;
        None
    }
}

/// The operating system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Timestamp(i64::try_from(since_epoch.as_micros()).unwrap_or(i64::MAX))
    }
}

/// A clock that only moves when told to: tests use it to cross deadlines without sleeping.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn starting_at(at: Timestamp) -> Self {
        Self(Arc::new(AtomicI64::new(at.0)))
    }

    /// Starts at the real current time.
    pub fn now_real() -> Self {
        Self::starting_at(SystemClock.now())
    }

    pub fn advance(&self, by: Duration) {
        let micros = i64::try_from(by.as_micros()).unwrap_or(i64::MAX);
        self.0.fetch_add(micros, Ordering::SeqCst);
    }

    /// The current (manual) time; the same as [`Clock::now`], without importing the trait.
    pub fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }

    pub fn set(&self, at: Timestamp) {
        self.0.store(at.0, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        ManualClock::now(self)
    }

    fn advance(&self, by: Duration) -> Option<Timestamp> {
        ManualClock::advance(self, by);
        Some(ManualClock::now(self))
    }
}

/// The wall clock plus an offset that only grows: a demo server's clock. Time runs as usual
/// between moves, so timeouts and token lifetimes behave, and the bureau can jump over an
/// application window or months of milestones. Per process: replicas would disagree, so a
/// demo runs one server.
#[derive(Debug, Clone, Default)]
pub struct DemoClock {
    offset_micros: Arc<AtomicI64>,
}

impl DemoClock {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Clock for DemoClock {
    fn now(&self) -> Timestamp {
        let wall = SystemClock.now();
        Timestamp(
            wall.0
                .saturating_add(self.offset_micros.load(Ordering::SeqCst)),
        )
    }

    fn advance(&self, by: Duration) -> Option<Timestamp> {
        let micros = i64::try_from(by.as_micros()).unwrap_or(i64::MAX);
        self.offset_micros.fetch_add(micros, Ordering::SeqCst);
        Some(self.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn year_of_known_instants() {
        assert_eq!(Timestamp(0).year(), 1970);
        // 2026-11-27T00:00:00Z
        assert_eq!(Timestamp(1_795_737_600_000_000).year(), 2026);
        // 2024-12-31T23:59:59Z and a second later.
        assert_eq!(Timestamp(1_735_689_599_000_000).year(), 2024);
        assert_eq!(Timestamp(1_735_689_600_000_000).year(), 2025);
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::starting_at(Timestamp(1_000));
        assert_eq!(clock.now(), Timestamp(1_000));
        clock.advance(Duration::from_millis(2));
        assert_eq!(clock.now(), Timestamp(3_000));
    }

    #[test]
    fn the_demo_clock_runs_with_the_wall_clock_and_jumps_forward() {
        let clock = DemoClock::new();
        let before = SystemClock.now();
        let moved = Clock::advance(&clock, Duration::from_secs(30 * 86_400)).expect("movable");
        assert!(moved.since(before) >= Duration::from_secs(30 * 86_400));
        assert!(clock.now() >= moved);
        assert_eq!(Clock::advance(&SystemClock, Duration::from_secs(1)), None);
    }
}
