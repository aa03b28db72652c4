//! A monotone priority queue for Dijkstra with small non-negative integer keys: one bucket per
//! key below [`BUCKETS`], a binary heap for the rare larger keys.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Keys below this go to buckets.
const BUCKETS: usize = 4096;

pub(super) struct BucketQueue {
    buckets: Vec<Vec<u32>>,
    /// The smallest key whose bucket may be non-empty.
    current: usize,
    /// Entries in buckets.
    queued: usize,
    overflow: BinaryHeap<Reverse<(i64, u32)>>,
}

impl BucketQueue {
    pub(super) fn new() -> Self {
        Self {
            buckets: vec![Vec::new(); BUCKETS],
            current: 0,
            queued: 0,
            overflow: BinaryHeap::new(),
        }
    }

    pub(super) fn clear(&mut self) {
        if self.queued > 0 {
            for bucket in &mut self.buckets[self.current..] {
                bucket.clear();
            }
        }
        self.current = 0;
        self.queued = 0;
        self.overflow.clear();
    }

    /// Queues `node` with `key`, which must be no smaller than the last key popped.
    pub(super) fn push(&mut self, key: i64, node: u32) {
        debug_assert!(key >= self.current as i64, "keys are monotone");
        match usize::try_from(key) {
            Ok(k) if k < BUCKETS => {
                self.buckets[k].push(node);
                self.queued += 1;
            }
            _ => self.overflow.push(Reverse((key, node))),
        }
    }

    /// Removes an entry with the smallest key (among equal keys, the last pushed).
    pub(super) fn pop(&mut self) -> Option<(i64, u32)> {
        while self.queued > 0 {
            if let Some(node) = self.buckets[self.current].pop() {
                self.queued -= 1;
                return Some((self.current as i64, node));
            }
            self.current += 1;
        }
        let Reverse(entry) = self.overflow.pop()?;
        Some(entry)
    }
}
