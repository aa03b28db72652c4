//! `jiebang-bench`: measures the platform against the machine's own ceilings, in one run.
//!
//! 1. The gRPC ceiling: `grpc.health.v1.Health/Check` on the same server process — the same
//!    tonic stack, layers (auth interceptor included: the bench sends its token) and client,
//!    with no database work: the best any RPC can do here.
//! 2. The database ceiling: one-row INSERT transactions through sqlx, at the same concurrency,
//!    on the server's own database with the server's connection settings.
//! 3. The platform's scenarios against the real `jiebang-server` binary: reads, writes (with
//!    the audit chain, events and idempotency all on) and the deadline burst.
//! 4. With `--aggregate N`: aggregation and ranking of N applications × 7 sheets × 5 criteria
//!    from a freshly seeded database, through the server's own ranking code (no server process).
//!
//! It prints a table and writes the same figures as JSON (`--json`).

mod aggregate;
mod floor;
mod measure;
mod report;
mod scenarios;
mod server;
mod world;

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Measure jiebang-server against this machine's gRPC and database ceilings.
#[derive(Parser, Debug, Clone, serde::Serialize)]
#[command(version)]
pub struct Args {
    /// The database the server runs on (a fresh one, dropped at the end).
    #[arg(long, value_enum, default_value = "sqlite")]
    pub backend: Backend,
    /// Where PostgreSQL is, for --backend postgres: a database is created there and dropped.
    #[arg(
        long,
        env = "JIEBANG_TEST_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub postgres_url: String,
    /// Concurrent calls of the ceilings, reads and writes.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// How long each timed scenario runs.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    #[serde(with = "humantime_secs")]
    pub duration: Duration,
    /// Score sheets sealed by the score-sheet scenario.
    #[arg(long, default_value_t = 3000)]
    pub sheets: usize,
    /// Applications submitted by the submission scenario.
    #[arg(long, default_value_t = 3000)]
    pub submissions: usize,
    /// Submissions of the deadline burst.
    #[arg(long, default_value_t = 10_000)]
    pub burst: usize,
    /// Concurrent clients (and teams) of the deadline burst.
    #[arg(long, default_value_t = 200)]
    pub burst_clients: usize,
    /// HTTP/2 connections the calls are spread over.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Also write the results here as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// The server binary; default: `jiebang-server` beside this one.
    #[arg(long)]
    pub server_bin: Option<PathBuf>,
    /// Extra settings for the server, `JIEBANG_NAME=value`; repeatable. The database ceiling
    /// follows JIEBANG_DB_MAX_CONNECTIONS when it is given here.
    #[arg(long = "server-env", value_parser = parse_env)]
    pub server_env: Vec<(String, String)>,
    /// A few seconds with tiny sizes: checks that everything works, measures nothing useful.
    /// Also runs the aggregation with 200 applications (unless --aggregate is smaller).
    #[arg(long)]
    pub smoke: bool,
    /// Also measure aggregation and ranking of this many applications × 7 sheets × 5 criteria,
    /// seeded into a fresh database of the same backend (e.g. 100000). Off by default.
    #[arg(long)]
    pub aggregate: Option<usize>,
    /// Run only the aggregation measurement (no server, no other scenario); needs --aggregate
    /// or --smoke.
    #[arg(long)]
    pub aggregate_only: bool,
}

fn parse_env(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if key.starts_with("JIEBANG_") => Ok((key.into(), value.into())),
        _ => Err(format!("`{text}` is not JIEBANG_NAME=value")),
    }
}

mod humantime_secs {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
}

impl Args {
    fn shrunk_for_smoke(mut self) -> Self {
        if self.smoke {
            self.concurrency = self.concurrency.min(8);
            self.duration = Duration::from_millis(500);
            self.sheets = 30;
            self.submissions = 30;
            self.burst = 100;
            self.burst_clients = 10;
            self.connections = 2;
            self.aggregate = Some(self.aggregate.map_or(200, |n| n.min(200)));
        }
        self
    }
}

fn main() -> Result<()> {
    let args = Args::parse().shrunk_for_smoke();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    runtime.block_on(async move {
        if args.aggregate_only {
            let n = args
                .aggregate
                .context("--aggregate-only needs --aggregate N (or --smoke)")?;
            let aggregation = aggregate::run(&args, n).await?;
            println!("{}", report::aggregation_table(&aggregation));
            write_json(&args, &report::AggregationOnly::new(&args, aggregation))?;
            return Ok(());
        }
        let mut results = scenarios::run(&args).await?;
        if let Some(n) = args.aggregate {
            results.add_aggregation(aggregate::run(&args, n).await?);
        }
        println!("{}", report::table(&results));
        write_json(&args, &results)
    })
}

fn write_json(args: &Args, value: &impl serde::Serialize) -> Result<()> {
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(value)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("JSON written to {}", path.display());
    }
    Ok(())
}
