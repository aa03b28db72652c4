//! `jiebang-bench --smoke`: the load generator works end to end against the real server on
//! both backends. It checks that every scenario ran, that the deadline burst's books balance
//! and that the aggregation ranked every seeded application; the figures of a smoke run are
//! too small to mean anything and are not judged.

use crate::on_both_backends;
use jiebang_e2e::{Backend, Database, binary};
use std::process::Command;

async fn the_load_generator_runs_every_scenario_and_the_burst_books_balance(backend: Backend) {
    // The bench makes its own database; this only learns whether PostgreSQL is there.
    let Some(probe) = Database::fresh(backend).await else {
        return;
    };
    probe.drop_database().await;
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("bench.json");
    let mut command = Command::new(binary("jiebang-bench"));
    command
        .arg("--smoke")
        .arg("--server-bin")
        .arg(binary("jiebang-server"))
        .arg("--json")
        .arg(&json)
        .arg("--backend")
        .arg(match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        });
    let output = command.output().expect("run jiebang-bench");
    assert!(
        output.status.success(),
        "jiebang-bench --smoke failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let rows = results["rows"].as_array().unwrap();
    assert_eq!(
        rows.len(),
        11,
        "two ceilings, four reads, two writes and their database floors, the burst"
    );
    for row in rows {
        assert!(row["calls"].as_u64().unwrap() > 0, "{row}");
        let failures = row["failures"].as_object().unwrap();
        let name = row["name"].as_str().unwrap();
        if !name.starts_with("burst") {
            assert!(failures.is_empty(), "{name}: {failures:?}");
        }
        // Present, not positive: a smoke scenario of a few milliseconds can fall between two
        // of the kernel's ticks.
        let cpu = &row["cpu_us_per_call"];
        assert!(
            cpu["all"].is_number() && cpu["server"].is_number(),
            "{name}: {cpu}"
        );
        if name.starts_with("write") || name.starts_with("floor") {
            assert!(row["ratio_to_ceiling"].as_f64().unwrap() > 0.0, "{row}");
        }
    }
    let burst = &results["burst"];
    assert_eq!(burst["lost"], 0, "{burst}");
    assert_eq!(burst["half_written"], 0, "{burst}");
    assert_eq!(burst["accepted_after_deadline"], 0, "{burst}");
    assert!(
        burst["unexpected"].as_object().unwrap().is_empty(),
        "{burst}"
    );
    assert!(burst["accepted"].as_u64().unwrap() > 0, "{burst}");
    assert!(
        burst["refused_late"].as_u64().unwrap() > 0,
        "the deadline passed mid-burst: {burst}"
    );
    // --smoke also ranks 200 applications × 7 sheets × 5 criteria seeded into a fresh database.
    let aggregation = &results["aggregation"];
    assert_eq!(aggregation["entries"], 200, "{aggregation}");
    assert_eq!(aggregation["complete"], true, "{aggregation}");
    assert_eq!(aggregation["runs_seconds"].as_array().unwrap().len(), 3);
}

on_both_backends!(the_load_generator_runs_every_scenario_and_the_burst_books_balance);
