//! The results: one row per ceiling or scenario, the deadline burst's books, and each target
//! of docs/performance.md judged on this run's own figures. Printed as a table, saved as JSON.

use crate::aggregate::Aggregation;
use crate::measure::Outcome;
use crate::scenarios::Observed;
use crate::{Args, Backend};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize)]
pub struct Row {
    pub name: String,
    /// Concurrent calls, or the offered rate for an open loop.
    pub load: String,
    pub calls: u64,
    pub ok: u64,
    pub failures: BTreeMap<String, u64>,
    pub throughput_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub server_cpu_percent: Option<f64>,
    pub server_peak_rss_mib: Option<f64>,
    /// How busy all the machine's cores were (the kernel's count, every process).
    pub machine_busy_percent: Option<f64>,
    /// CPU time per call, by who spent it.
    pub cpu_us_per_call: Option<CpuPerCall>,
    /// The ceiling this row is compared with, and throughput as a share of it.
    pub ceiling: Option<String>,
    pub ratio_to_ceiling: Option<f64>,
}

impl Row {
    pub fn new(
        name: &str,
        concurrency: usize,
        (outcome, observed): &(Outcome, Observed),
        ceiling: Option<(&(Outcome, Observed), &str)>,
    ) -> Self {
        let mut row = Self::of(name, format!("{concurrency} concurrent"), outcome, observed);
        if let Some(((ceiling, _), label)) = ceiling {
            row.ceiling = Some(label.to_owned());
            row.ratio_to_ceiling = Some(outcome.throughput() / ceiling.throughput().max(1e-9));
        }
        row
    }

    pub fn at_rate(name: &str, rate: f64, (outcome, observed): &(Outcome, Observed)) -> Self {
        Self::of(name, format!("{rate:.0}/s offered"), outcome, observed)
    }

    fn of(name: &str, load: String, outcome: &Outcome, observed: &Observed) -> Self {
        let per_call = 1e6 / (outcome.calls().max(1) as f64);
        Self {
            name: name.to_owned(),
            load,
            calls: outcome.calls(),
            ok: outcome.ok,
            failures: outcome.failures.clone(),
            throughput_per_second: outcome.throughput(),
            p50_ms: outcome.quantile_ms(0.50),
            p99_ms: outcome.quantile_ms(0.99),
            p999_ms: outcome.quantile_ms(0.999),
            server_cpu_percent: observed.cpu_percent,
            server_peak_rss_mib: observed.peak_rss_mib,
            machine_busy_percent: observed
                .cpu
                .map(|c| 100.0 * c.machine / (c.wall.max(1e-9) * c.cpus.max(1) as f64)),
            cpu_us_per_call: observed.cpu.map(|c| CpuPerCall {
                all: c.machine * per_call,
                generator: c.generator * per_call,
                server: c.server * per_call,
                database: c.database.map(|d| d * per_call),
            }),
            ceiling: None,
            ratio_to_ceiling: None,
        }
    }
}

/// Microseconds of CPU per call: the whole machine's, and the parts of it spent by the load
/// generator, the server and the database's own processes (PostgreSQL on this machine; SQLite
/// runs inside the server, or inside the load generator for the insert ceiling and the
/// floors). The rest of `all` is the kernel's work not charged to a process, and anything else
/// running.
#[derive(Serialize, Debug, Clone, Copy)]
pub struct CpuPerCall {
    pub all: f64,
    pub generator: f64,
    pub server: f64,
    pub database: Option<f64>,
}

/// The deadline burst: what clients were told against what the database holds.
#[derive(Serialize)]
pub struct Burst {
    pub calls: u64,
    pub accepted: u64,
    pub refused_late: u64,
    /// Any other answer (there should be none), by kind.
    pub unexpected: BTreeMap<String, u64>,
    pub stored_submitted: i64,
    pub stored_drafts: i64,
    pub audit_records: i64,
    pub events: i64,
    pub accepted_after_deadline: i64,
    /// Accepted but not stored.
    pub lost: i64,
    /// Stored without its audit record or event, or stored differently from the answer.
    pub half_written: i64,
    pub p99_ms: f64,
}

impl Burst {
    pub fn new(
        outcome: &Outcome,
        submitted: i64,
        drafts: i64,
        audited: i64,
        evented: i64,
        late: i64,
    ) -> Self {
        let refused_late = outcome
            .failures
            .get("DEADLINE_PASSED")
            .copied()
            .unwrap_or(0);
        let unexpected: BTreeMap<String, u64> = outcome
            .failures
            .iter()
            .filter(|(k, _)| k.as_str() != "DEADLINE_PASSED")
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        let accepted = i64::try_from(outcome.ok).unwrap_or(i64::MAX);
        Self {
            calls: outcome.calls(),
            accepted: outcome.ok,
            refused_late,
            unexpected,
            stored_submitted: submitted,
            stored_drafts: drafts,
            audit_records: audited,
            events: evented,
            accepted_after_deadline: late,
            lost: (accepted - submitted).max(0),
            half_written: (submitted - accepted)
                .abs()
                .max((submitted - audited).abs())
                + (submitted - evented).abs(),
            p99_ms: outcome.quantile_ms(0.99),
        }
    }
}

#[derive(Serialize, Clone)]
pub struct Target {
    pub what: String,
    pub required: String,
    pub measured: String,
    pub met: bool,
}

#[derive(Serialize)]
pub struct Results {
    pub backend: Backend,
    pub cores: usize,
    pub args: Args,
    pub setup_seconds: f64,
    pub rows: Vec<Row>,
    pub burst: Burst,
    pub targets: Vec<Target>,
    /// With `--aggregate N`: aggregation and ranking from the database (its own section, not a
    /// row: it is one timed call, not a load).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aggregation: Option<Aggregation>,
}

impl Results {
    pub fn new(args: &Args, setup_seconds: f64, rows: Vec<Row>, burst: Burst) -> Self {
        let targets = targets(&rows, &burst);
        Self {
            backend: args.backend,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            args: args.clone(),
            setup_seconds,
            rows,
            burst,
            targets,
            aggregation: None,
        }
    }

    pub fn add_aggregation(&mut self, aggregation: Aggregation) {
        self.targets.push(aggregation.target.clone());
        self.aggregation = Some(aggregation);
    }
}

/// The JSON of `--aggregate-only`.
#[derive(Serialize)]
pub struct AggregationOnly {
    pub backend: Backend,
    pub cores: usize,
    pub args: Args,
    pub aggregation: Aggregation,
}

impl AggregationOnly {
    pub fn new(args: &Args, aggregation: Aggregation) -> Self {
        Self {
            backend: args.backend,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            args: args.clone(),
            aggregation,
        }
    }
}

pub fn aggregation_table(a: &Aggregation) -> String {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_header(["aggregation and ranking", "value"]);
    let runs: Vec<String> = a.runs_seconds.iter().map(|s| format!("{s:.3}")).collect();
    for (k, v) in [
        ("what".to_owned(), a.what.clone()),
        ("backend".to_owned(), format!("{:?}", a.backend)),
        (
            "seeding (not timed)".to_owned(),
            format!("{:.1} s", a.seed_seconds),
        ),
        ("runs".to_owned(), format!("{} s", runs.join(", "))),
        (
            "median of 3".to_owned(),
            format!("{:.3} s", a.median_seconds),
        ),
        (
            "rows read".to_owned(),
            format!(
                "{} ({} applications, {} sheets, {} assignments; {} criterion scores)",
                a.rows_read.total,
                a.rows_read.applications,
                a.rows_read.score_sheets,
                a.rows_read.assignments,
                a.rows_read.criterion_scores
            ),
        ),
        (
            "result".to_owned(),
            format!(
                "{} entries, {} eligible, {} dispersion flagged, complete: {}",
                a.entries, a.eligible, a.dispersion_flagged, a.complete
            ),
        ),
        ("result sha256".to_owned(), a.result_sha256.clone()),
        (
            format!("target: {}", a.target.what),
            format!(
                "{} — {} — {}",
                a.target.required,
                a.target.measured,
                if a.target.met { "met" } else { "NOT met" }
            ),
        ),
    ] {
        t.add_row([k, v]);
    }
    t.to_string()
}

fn targets(rows: &[Row], burst: &Burst) -> Vec<Target> {
    let find = |prefix: &str| rows.iter().find(|r| r.name.starts_with(prefix));
    let mut out = Vec::new();
    let mut ratio = |what: &str, prefix: &str, at_least: f64, floor: Option<&str>| {
        if let Some(r) = find(prefix) {
            let value = r.ratio_to_ceiling.unwrap_or(0.0);
            let mut measured = format!("{:.0}%", value * 100.0);
            if let Some(floor) = floor.and_then(&find) {
                measured += &format!(
                    " (its storage calls alone, without the server: {:.0}%)",
                    floor.ratio_to_ceiling.unwrap_or(0.0) * 100.0
                );
            }
            out.push(Target {
                what: what.into(),
                required: format!(
                    "≥ {:.0}% of {}",
                    at_least * 100.0,
                    r.ceiling.clone().unwrap_or_default()
                ),
                measured,
                met: value >= at_least,
            });
        }
    };
    ratio("get a challenge", "read: get a challenge", 0.60, None);
    ratio("list a page of 20", "read: list a page", 0.40, None);
    ratio(
        "submit a score sheet",
        "write: submit a score sheet",
        0.50,
        Some(crate::scenarios::FLOOR_SHEET_ROW),
    );
    ratio(
        "submit an application",
        "write: submit an application",
        0.50,
        Some(crate::scenarios::FLOOR_APPLICATION_ROW),
    );
    for (what, prefix) in [
        ("get, p99 at half the saturating rate", "read: get, at half"),
        (
            "list, p99 at half the saturating rate",
            "read: list, at half",
        ),
    ] {
        if let Some(r) = find(prefix) {
            out.push(Target {
                what: what.into(),
                required: "≤ 5 ms".into(),
                measured: format!("{:.2} ms", r.p99_ms),
                met: r.p99_ms <= 5.0,
            });
        }
    }
    let writes_rss = rows
        .iter()
        .filter(|r| r.name.starts_with("write:") || r.name.starts_with("burst:"))
        .filter_map(|r| r.server_peak_rss_mib)
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    if let Some(rss) = writes_rss {
        out.push(Target {
            what: "server peak RSS under writes".into(),
            required: "< 150 MiB".into(),
            measured: format!("{rss:.0} MiB"),
            met: rss < 150.0,
        });
    }
    let internal = burst.unexpected.get("Internal").copied().unwrap_or(0);
    out.push(Target {
        what: "deadline burst: every call answered, none lost or half-written".into(),
        required: "0 unexpected, 0 lost, 0 half-written, 0 late accepted".into(),
        measured: format!(
            "{} accepted, {} refused late, {} unexpected ({} INTERNAL), {} lost, {} half-written, {} late accepted",
            burst.accepted,
            burst.refused_late,
            burst.unexpected.values().sum::<u64>(),
            internal,
            burst.lost,
            burst.half_written,
            burst.accepted_after_deadline
        ),
        met: burst.unexpected.is_empty()
            && burst.lost == 0
            && burst.half_written == 0
            && burst.accepted_after_deadline == 0
            && burst.calls == burst.accepted + burst.refused_late,
    });
    out
}

pub fn table(results: &Results) -> String {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_header([
        "scenario",
        "load",
        "calls",
        "failed",
        "per s",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "server CPU",
        "peak RSS",
        "machine busy",
        "CPU µs/call: all (load gen / server / db)",
        "vs ceiling",
    ]);
    for r in &results.rows {
        let failed: u64 = r.failures.values().sum();
        t.add_row([
            r.name.clone(),
            r.load.clone(),
            r.calls.to_string(),
            failed.to_string(),
            format!("{:.0}", r.throughput_per_second),
            format!("{:.2}", r.p50_ms),
            format!("{:.2}", r.p99_ms),
            format!("{:.2}", r.p999_ms),
            r.server_cpu_percent
                .map_or("—".into(), |c| format!("{c:.0}%")),
            r.server_peak_rss_mib
                .map_or("—".into(), |m| format!("{m:.0} MiB")),
            r.machine_busy_percent
                .map_or("—".into(), |b| format!("{b:.0}%")),
            r.cpu_us_per_call.map_or("—".into(), |c| {
                format!(
                    "{:.0} ({:.0} / {:.0} / {})",
                    c.all,
                    c.generator,
                    c.server,
                    c.database.map_or("—".into(), |d| format!("{d:.0}"))
                )
            }),
            match (&r.ceiling, r.ratio_to_ceiling) {
                (Some(c), Some(x)) => format!("{:.0}% of {c}", x * 100.0),
                _ => String::new(),
            },
        ]);
    }
    let mut targets = Table::new();
    targets
        .load_preset(UTF8_FULL_CONDENSED)
        .set_header(["target", "required", "measured", "met"]);
    for target in &results.targets {
        targets.add_row([
            target.what.clone(),
            target.required.clone(),
            target.measured.clone(),
            if target.met {
                "yes".into()
            } else {
                "NO".into()
            },
        ]);
    }
    let aggregation = results
        .aggregation
        .as_ref()
        .map_or(String::new(), |a| format!("\n{}", aggregation_table(a)));
    format!(
        "jiebang-bench on {:?}, {} cores (setup {:.1} s)\n{t}\n\nDeadline burst: {} calls from {} clients; the deadline passed after half were answered.\n{targets}{aggregation}",
        results.backend,
        results.cores,
        results.setup_seconds,
        results.burst.calls,
        results.args.burst_clients,
    )
}
