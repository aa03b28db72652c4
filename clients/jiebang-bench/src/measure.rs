//! Driving load: closed loops for a duration, a fixed list of work, or an open loop at a set
//! rate; every call's latency goes into an HDR histogram, every failure is counted by kind.

use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub ok: u64,
    /// Failure kind (a gRPC code, or a reason) → count.
    pub failures: BTreeMap<String, u64>,
    /// Latency of every call, successful or not, in microseconds.
    pub latency: Histogram<u64>,
    pub elapsed: Duration,
}

impl Outcome {
    fn new() -> Self {
        Self {
            ok: 0,
            failures: BTreeMap::new(),
            latency: histogram(),
            elapsed: Duration::ZERO,
        }
    }

    fn record(&mut self, took: Duration, result: Result<(), String>) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let _ = self.latency.record(micros.max(1));
        match result {
            Ok(()) => self.ok += 1,
            Err(kind) => *self.failures.entry(kind).or_default() += 1,
        }
    }

    fn merge(&mut self, other: Outcome) {
        self.ok += other.ok;
        for (k, v) in other.failures {
            *self.failures.entry(k).or_default() += v;
        }
        let _ = self.latency.add(&other.latency);
    }

    pub fn calls(&self) -> u64 {
        self.ok + self.failures.values().sum::<u64>()
    }

    /// Calls answered per second (successful or refused).
    pub fn throughput(&self) -> f64 {
        self.calls() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// A latency quantile in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        self.latency.value_at_quantile(q) as f64 / 1000.0
    }
}

fn histogram() -> Histogram<u64> {
    // 1 µs to 60 s at three significant figures.
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

/// `concurrency` workers each calling `op` back to back until `duration` has passed.
pub async fn for_duration<F, Fut>(concurrency: usize, duration: Duration, op: F) -> Outcome
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let op = Arc::new(op);
    let started = Instant::now();
    let deadline = started + duration;
    let mut workers = Vec::with_capacity(concurrency);
    for worker in 0..concurrency {
        let op = op.clone();
        workers.push(tokio::spawn(async move {
            let mut outcome = Outcome::new();
            let mut i = 0u64;
            while Instant::now() < deadline {
                let t = Instant::now();
                let result = op(worker, i).await;
                outcome.record(t.elapsed(), result);
                i += 1;
            }
            outcome
        }));
    }
    collect(workers, started).await
}

/// `concurrency` workers sharing `items`, each item done once.
pub async fn each<T, F, Fut>(concurrency: usize, items: Vec<T>, op: F) -> Outcome
where
    T: Send + Sync + 'static,
    F: Fn(usize, &T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let items = Arc::new(items);
    let next = Arc::new(AtomicUsize::new(0));
    let op = Arc::new(op);
    let started = Instant::now();
    let mut workers = Vec::with_capacity(concurrency);
    for worker in 0..concurrency {
        let (items, next, op) = (items.clone(), next.clone(), op.clone());
        workers.push(tokio::spawn(async move {
            let mut outcome = Outcome::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let t = Instant::now();
                let result = op(worker, item).await;
                outcome.record(t.elapsed(), result);
            }
            outcome
        }));
    }
    collect(workers, started).await
}

/// Calls started at a steady `rate` per second for `duration`, whatever the answers' pace
/// (an open loop: latency includes any queueing the server builds up).
pub async fn at_rate<F, Fut>(rate: f64, duration: Duration, op: F) -> Outcome
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let op = Arc::new(op);
    let interval = Duration::from_secs_f64(1.0 / rate.max(1.0));
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut calls = Vec::new();
    let mut i = 0u64;
    while started.elapsed() < duration {
        ticker.tick().await;
        let op = op.clone();
        calls.push(tokio::spawn(async move {
            let t = Instant::now();
            let result = op(i).await;
            (t.elapsed(), result)
        }));
        i += 1;
    }
    let mut outcome = Outcome::new();
    for call in calls {
        if let Ok((took, result)) = call.await {
            outcome.record(took, result);
        }
    }
    outcome.elapsed = started.elapsed();
    outcome
}

async fn collect(workers: Vec<tokio::task::JoinHandle<Outcome>>, started: Instant) -> Outcome {
    let mut total = Outcome::new();
    for worker in workers {
        if let Ok(outcome) = worker.await {
            total.merge(outcome);
        }
    }
    total.elapsed = started.elapsed();
    total
}

/// A failed call's kind: the ErrorInfo reason when there is one, else the gRPC code.
pub fn kind_of(status: &tonic::Status) -> String {
    use tonic_types::StatusExt;
    match status.get_details_error_info() {
        Some(info) if !info.reason.is_empty() => info.reason,
        _ => format!("{:?}", status.code()),
    }
}
