//! Challenges read by id, kept in this process: GetChallenge is the busiest read (every team
//! opening the board in the hours before a deadline), and a challenge changes a handful of
//! times in its life.
//!
//! Coherent with this process's own writes: a transaction that writes a challenge moves the
//! cache to a new generation when it commits, and an entry filled under an older generation is
//! never served. The generation is taken before the database read, so a read that raced a
//! commit is discarded rather than kept. Writes by other processes (replicas sharing one
//! PostgreSQL) are seen when the entry expires, so `ttl` bounds how stale such a read can be;
//! a zero `ttl` turns the cache off. Decisions never read from here: every write re-reads the
//! challenge inside its transaction.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

/// More entries than this and the cache starts over (a bound on memory, not a working set:
/// a city publishes hundreds of challenges a year).
const MAX_ENTRIES: usize = 10_000;

/// Rows of one kind (challenges) by id.
#[derive(Debug)]
pub struct ReadCache<T> {
    ttl: Duration,
    generation: AtomicU64,
    entries: RwLock<HashMap<String, Entry<T>>>,
}

#[derive(Debug)]
struct Entry<T> {
    generation: u64,
    filled: Instant,
    value: Arc<T>,
}

impl<T> ReadCache<T> {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            generation: AtomicU64::new(0),
            entries: RwLock::new(HashMap::new()),
        }
    }

    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// The generation to pass to [`Self::put`]: take it before reading the database.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The row, if it was read under the current generation within `ttl`.
    pub fn get(&self, id: &str) -> Option<Arc<T>> {
        if !self.enabled() {
            return None;
        }
        let current = self.generation();
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(id)
            .filter(|e| e.generation == current && e.filled.elapsed() < self.ttl)
            .map(|e| e.value.clone())
    }

    /// Keeps `value` (the row `id`), read from the database after [`Self::generation`]
    /// returned `generation`; dropped if a write committed since.
    pub fn put(&self, generation: u64, id: &str, value: Arc<T>) {
        if !self.enabled() || generation != self.generation() {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        // Checked again under the lock: `invalidate` bumps, then clears under this lock.
        if generation != self.generation() {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            id.to_owned(),
            Entry {
                generation,
                filled: Instant::now(),
                value,
            },
        );
    }

    /// A row was written and committed: nothing read before now is served again.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_is_served_until_a_write_commits() {
        let cache = ReadCache::<i64>::new(Duration::from_secs(60));
        let generation = cache.generation();
        cache.put(generation, "c1", Arc::new(1));
        assert_eq!(cache.get("c1").as_deref(), Some(&1));
        cache.invalidate();
        assert!(cache.get("c1").is_none());
    }

    #[test]
    fn a_read_that_raced_a_commit_is_not_kept() {
        let cache = ReadCache::<i64>::new(Duration::from_secs(60));
        let before = cache.generation();
        cache.invalidate(); // the write commits while the read is in flight
        cache.put(before, "c1", Arc::new(1));
        assert!(cache.get("c1").is_none());
    }

    #[test]
    fn entries_expire_and_a_zero_ttl_keeps_nothing() {
        let cache = ReadCache::<i64>::new(Duration::from_millis(20));
        cache.put(cache.generation(), "c1", Arc::new(1));
        assert!(cache.get("c1").is_some());
        std::thread::sleep(Duration::from_millis(30));
        assert!(cache.get("c1").is_none());
        let off = ReadCache::<i64>::new(Duration::ZERO);
        off.put(off.generation(), "c1", Arc::new(1));
        assert!(off.get("c1").is_none());
    }
}
