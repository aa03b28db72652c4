//! Challenges read by id, kept in this process: GetChallenge and ListChallenges are the busiest
//! reads (every team opening the board in the hours before a deadline), and a challenge
//! changes a handful of times in its life.
//!
//! Two ways to read it. [`ReadCache::get_version`] is exact everywhere: the caller has just
//! read the row's version from the database (a listing does), and a version names one
//! content. [`ReadCache::get`] skips the database altogether, and is coherent with this
//! process's own writes: a transaction that writes a challenge moves the cache to a new
//! generation when it commits, and `get` never serves an entry kept under an older one. The
//! generation is taken before the database read, so a read that raced a commit is not kept.
//! Writes by other processes (replicas sharing one PostgreSQL) are seen once the entry expires
//! and is re-read: within `ttl`, or twice `ttl` at worst (an expired entry is still served
//! while one caller re-reads it); a zero `ttl` keeps `get` from serving at all. On PostgreSQL
//! they are seen much sooner: every replica listens for the notice a challenge write sends when
//! it commits, and moves its cache on ([`crate::cache_sync`]); while it is not listening
//! `get` serves nothing. Decisions never read from here: every write re-reads the challenge
//! inside its transaction.

use jiebang_domain::challenge::Challenge;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

/// More entries than this and the cache starts over (a bound on memory, a few MiB of specs,
/// not a working set: a city publishes hundreds of challenges a year).
const MAX_ENTRIES: usize = 2_000;

/// Rows of one kind (challenges) by id.
#[derive(Debug)]
pub struct ReadCache<T> {
    ttl: Duration,
    generation: AtomicU64,
    /// Whether this process hears of other processes' writes (see [`ChallengeCaches::new`]);
    /// `get` serves nothing while it does not.
    in_sync: AtomicBool,
    entries: RwLock<HashMap<String, Entry<T>>>,
}

#[derive(Debug)]
struct Entry<T> {
    generation: u64,
    filled: Instant,
    version: i64,
    value: Arc<T>,
    /// When (ms after `filled`, plus one; 0 for never) a caller last took on re-reading
    /// this expired entry.
    refresh_claimed: AtomicU64,
}

impl<T> ReadCache<T> {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            generation: AtomicU64::new(0),
            in_sync: AtomicBool::new(true),
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// Whether [`Self::get`] may serve without the database (a non-zero `ttl`).
    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// The generation to pass to [`Self::put`]: take it before reading the database.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The row, if it was read under the current generation within `ttl`.
    ///
    /// Once it has expired, the first caller gets `None` and re-reads the database while the
    /// others are still served the entry, for up to another `ttl` (so a failed re-read is
    /// retried): a busy page expiring does not send every caller to the database at once.
    pub fn get(&self, id: &str) -> Option<Arc<T>> {
        if !self.enabled() || !self.in_sync.load(Ordering::Acquire) {
            return None;
        }
        let current = self.generation();
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        let entry = entries.get(id).filter(|e| e.generation == current)?;
        let age = entry.filled.elapsed();
        if age < self.ttl {
            return Some(entry.value.clone());
        }
        let now = u64::try_from(age.as_millis()).unwrap_or(u64::MAX - 1) + 1;
        let claimed = entry.refresh_claimed.load(Ordering::Acquire);
        let ttl = u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX);
        if claimed != 0 && now.saturating_sub(claimed) < ttl {
            return Some(entry.value.clone()); // someone is re-reading it
        }
        match entry.refresh_claimed.compare_exchange(
            claimed,
            now,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => None, // this caller re-reads it
            Err(_) => Some(entry.value.clone()),
        }
    }

    /// The row `id` at `version`, if it was kept at that version (however long ago).
    pub fn get_version(&self, id: &str, version: i64) -> Option<Arc<T>> {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(id)
            .filter(|e| e.version == version)
            .map(|e| e.value.clone())
    }

    /// Keeps `value` (the row `id` at `version`), read from the database after
    /// [`Self::generation`] returned `generation`; dropped if a write committed since.
    pub fn put(&self, generation: u64, id: &str, version: i64, value: Arc<T>) {
        if generation != self.generation() {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            id.to_owned(),
            Entry {
                generation,
                filled: Instant::now(),
                version,
                value,
                refresh_claimed: AtomicU64::new(0),
            },
        );
    }

    /// A row was written and committed: [`Self::get`] serves nothing read before now again
    /// (what [`Self::get_version`] serves is checked by version, and stays).
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}

/// A store's challenge caches: challenges by id, and listing pages by what they asked for.
/// One write moves both on.
#[derive(Debug)]
pub struct ChallengeCaches {
    pub by_id: ReadCache<Challenge>,
    pub pages: ReadCache<Vec<Arc<Challenge>>>,
}

impl ChallengeCaches {
    /// `in_sync`: whether other processes' writes are heard of from the start. A store that
    /// learns of them by listening starts out of sync, and serves from memory once it listens.
    pub fn new(ttl: Duration, in_sync: bool) -> Self {
        let caches = Self {
            by_id: ReadCache::new(ttl),
            pages: ReadCache::new(ttl),
        };
        caches.set_in_sync(in_sync);
        caches
    }

    pub fn invalidate(&self) {
        self.by_id.invalidate();
        self.pages.invalidate();
    }

    /// Out of sync, nothing is served; back in sync, nothing read before serves either (writes
    /// may have been missed in between): the generation moves on before the flags do, so
    /// whatever was read or kept meanwhile is of an older generation.
    pub fn set_in_sync(&self, in_sync: bool) {
        self.invalidate();
        for flag in [&self.by_id.in_sync, &self.pages.in_sync] {
            flag.store(in_sync, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_is_served_until_a_write_commits() {
        let cache = ReadCache::<i64>::new(Duration::from_secs(60));
        let generation = cache.generation();
        cache.put(generation, "c1", 1, Arc::new(1));
        assert_eq!(cache.get("c1").as_deref(), Some(&1));
        cache.invalidate();
        assert!(cache.get("c1").is_none());
    }

    #[test]
    fn a_read_that_raced_a_commit_is_not_kept() {
        let cache = ReadCache::<i64>::new(Duration::from_secs(60));
        let before = cache.generation();
        cache.invalidate(); // the write commits while the read is in flight
        cache.put(before, "c1", 1, Arc::new(1));
        assert!(cache.get("c1").is_none());
    }

    #[test]
    fn an_expired_entry_sends_one_caller_to_the_database_and_serves_the_rest_meanwhile() {
        let cache = ReadCache::<i64>::new(Duration::from_millis(40));
        cache.put(cache.generation(), "c1", 1, Arc::new(1));
        assert!(cache.get("c1").is_some());
        std::thread::sleep(Duration::from_millis(50));
        assert!(cache.get("c1").is_none(), "the first caller re-reads");
        assert_eq!(
            cache.get("c1").as_deref(),
            Some(&1),
            "the others are served"
        );
        std::thread::sleep(Duration::from_millis(50));
        assert!(
            cache.get("c1").is_none(),
            "a re-read that never came back is retried"
        );
        cache.put(cache.generation(), "c1", 2, Arc::new(2));
        assert_eq!(cache.get("c1").as_deref(), Some(&2));
        cache.invalidate();
        assert!(
            cache.get("c1").is_none(),
            "never past a write of this process"
        );
    }

    #[test]
    fn out_of_sync_nothing_is_served_and_back_in_sync_nothing_read_before() {
        let caches = ChallengeCaches::new(Duration::from_secs(60), true);
        let cached = |caches: &ChallengeCaches| caches.pages.get("page").is_some();
        caches
            .pages
            .put(caches.pages.generation(), "page", 0, Arc::new(Vec::new()));
        assert!(cached(&caches));
        caches.set_in_sync(false);
        assert!(!cached(&caches));
        let generation = caches.pages.generation();
        caches
            .pages
            .put(generation, "page", 0, Arc::new(Vec::new()));
        caches.set_in_sync(true);
        assert!(!cached(&caches), "kept while out of sync, not served after");
        caches
            .pages
            .put(generation, "page", 0, Arc::new(Vec::new()));
        assert!(
            !cached(&caches),
            "read while out of sync, kept after: not served"
        );
        caches
            .pages
            .put(caches.pages.generation(), "page", 0, Arc::new(Vec::new()));
        assert!(cached(&caches));
    }

    #[test]
    fn a_zero_ttl_keeps_nothing() {
        let off = ReadCache::<i64>::new(Duration::ZERO);
        off.put(off.generation(), "c1", 1, Arc::new(1));
        assert!(off.get("c1").is_none());
    }

    #[test]
    fn a_kept_version_is_served_only_for_that_version_whatever_its_age() {
        let cache = ReadCache::<i64>::new(Duration::ZERO);
        cache.put(cache.generation(), "c1", 3, Arc::new(30));
        cache.invalidate();
        assert_eq!(cache.get_version("c1", 3).as_deref(), Some(&30));
        assert!(cache.get_version("c1", 4).is_none());
        assert!(cache.get_version("c2", 3).is_none());
    }
}
