//! `jiebang demo`, the README's main job: a whole round against the real server on its demo
//! clock, twice on the same server (a second run is a new round, not an error).

use crate::on_both_backends;
use jiebang_e2e::{Backend, Cli, Database, ServerProcess};
use std::time::Instant;

const ADMIN_PASSWORD: &str = "bureau-admin-password";

async fn the_demo_plays_a_whole_round_and_a_second_run_plays_another(backend: Backend) {
    let Some(db) = Database::fresh(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(
        dir.path(),
        db.url.as_deref(),
        &[
            ("JIEBANG_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD),
            ("JIEBANG_DEMO_CLOCK", "true"),
        ],
    );
    let cli = Cli::new(&server.url, &dir.path().join("demo"));
    let started = Instant::now();
    let first = cli.ok(&["demo", "--admin-password", ADMIN_PASSWORD], "");
    eprintln!("demo run took {:.1} s", started.elapsed().as_secs_f64());
    for stage in 1..=9 {
        assert!(
            first.contains(&format!("[{stage}/9]")),
            "stage {stage}:\n{first}"
        );
    }
    for outcome in [
        "ORGANIZATION_TYPE",
        "withdraws it before the deadline",
        "conflicts of interest kept apart",
        "records the panel's resolution",
        "dismisses the objection",
        "is appointed (挂帅)",
        "is stopped at mid-term",
        "rework (整改) due 20",
        "is COMPLETED",
        "intact:",
    ] {
        assert!(first.contains(outcome), "missing `{outcome}` in:\n{first}");
    }
    assert!(first.contains("13 registered now"), "{first}");

    let second = cli.ok(&["demo", "--admin-password", ADMIN_PASSWORD], "");
    assert!(
        second.contains("0 registered now, 13 found from an earlier run"),
        "{second}"
    );
    let round = |out: &str| {
        out.lines()
            .next()
            .and_then(|l| l.rsplit("round ").next())
            .map(str::to_owned)
            .unwrap()
    };
    assert_ne!(
        round(&first),
        round(&second),
        "each run is a round of its own"
    );

    // What the demo did is there for everyone else to see, through the CLI.
    let admin = Cli::new(&server.url, &dir.path().join("admin"));
    admin.login("admin", ADMIN_PASSWORD);
    let challenges = admin.json(&["challenge", "list", "--state", "completed"], "");
    assert_eq!(
        challenges.as_array().map(Vec::len),
        Some(4),
        "two completed challenges per run: {challenges}"
    );
    drop(server);
    db.drop_database().await;
}

on_both_backends!(the_demo_plays_a_whole_round_and_a_second_run_plays_another);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_refuses_a_wall_clock_server_and_says_how_to_start_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(
        dir.path(),
        None,
        &[("JIEBANG_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)],
    );
    let cli = Cli::new(&server.url, &dir.path().join("demo"));
    let refused = cli.fails(&["demo", "--admin-password", ADMIN_PASSWORD], "");
    assert!(refused.contains("JIEBANG_DEMO_CLOCK=true"), "{refused}");
    let wrong = cli.fails(&["demo", "--admin-password", "not-the-password"], "");
    assert!(wrong.contains("log in as admin"), "{wrong}");
}
