//! Deciding when a hole in the event sequence is a rollback rather than a commit in flight.

use jiebang_domain::Timestamp;
use std::time::{Duration, Instant};

pub struct GapTracker {
    timeout: Duration,
    /// The missing sequence we are waiting for, and since when.
    open: Option<(i64, Instant)>,
}

impl GapTracker {
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            open: None,
        }
    }

    /// Whether the reader may skip `missing`, given that the next visible event was recorded
    /// at `next_recorded_at`. A gap behind an event older than the timeout can no longer fill
    /// (transactions do not run that long); otherwise we wait up to the timeout from when the
    /// gap was first seen.
    pub fn may_pass(&mut self, missing: i64, next_recorded_at: Timestamp, now: Timestamp) -> bool {
        if now.since(next_recorded_at) > self.timeout {
            self.open = None;
            return true;
        }
        match self.open {
            Some((seq, since)) if seq == missing => {
                if since.elapsed() > self.timeout {
                    self.open = None;
                    true
                } else {
                    false
                }
            }
            _ => {
                self.open = Some((missing, Instant::now()));
                false
            }
        }
    }

    /// Whether a gap is being waited on (the reader should not spin).
    pub fn waiting(&self) -> bool {
        self.open.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_gap_is_waited_on_and_an_old_one_passed() {
        let mut gaps = GapTracker::new(Duration::from_secs(3));
        let now = Timestamp(10_000_000_000);
        assert!(!gaps.may_pass(7, now, now));
        assert!(gaps.waiting());
        let long_ago = Timestamp(now.micros() - 60_000_000);
        assert!(gaps.may_pass(7, long_ago, now));
        assert!(!gaps.waiting());
    }

    #[test]
    fn a_gap_is_passed_after_the_timeout() {
        let mut gaps = GapTracker::new(Duration::from_millis(20));
        let now = Timestamp(10_000_000_000);
        assert!(!gaps.may_pass(7, now, now));
        std::thread::sleep(Duration::from_millis(30));
        assert!(gaps.may_pass(7, now, now));
    }
}
