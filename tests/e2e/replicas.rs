//! Two server processes on one database: what is written through one is seen through the
//! other, events included.

use crate::on_both_backends;
use jiebang_e2e::{Backend, Cli, Database, ServerProcess, finish};
use std::time::Duration;

const ADMIN_PASSWORD: &str = "bureau-admin-password";

async fn an_event_written_through_one_process_reaches_a_watcher_on_another(backend: Backend) {
    let Some(db) = Database::fresh(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let env = [("JIEBANG_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)];
    // Both processes use the same database: the same PostgreSQL database, or the same SQLite
    // file in the shared data directory.
    let writer = ServerProcess::start(dir.path(), db.url.as_deref(), &env);
    let reader = ServerProcess::start(dir.path(), db.url.as_deref(), &env);
    assert_ne!(writer.url, reader.url);

    let on_writer = Cli::new(&writer.url, &dir.path().join("w"));
    let on_reader = Cli::new(&reader.url, &dir.path().join("r"));
    on_writer.login("admin", ADMIN_PASSWORD);
    on_reader.login("admin", ADMIN_PASSWORD);

    let watcher = on_reader.spawn(&[
        "--output",
        "json",
        "events",
        "watch",
        "--prefix",
        "organizations/",
        "--count",
        "1",
    ]);
    // Give the watcher time to subscribe; it would also catch up from the start anyway.
    std::thread::sleep(Duration::from_millis(300));
    let org = on_writer.json(
        &[
            "org",
            "create",
            "--name",
            "开山压缩机有限公司",
            "--type",
            "enterprise",
            "--region",
            "330100",
            "--credit-code",
            "91350100M000100Y43",
        ],
        "",
    );
    let (output, finished) = finish(watcher, Duration::from_secs(20));
    assert!(
        finished,
        "the watcher on the other process saw no event: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let event: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(event["type"], "ORGANIZATION_CREATED");
    assert_eq!(event["resource"], org["name"]);

    // And a plain read through the other process sees the write at once.
    let seen = on_reader.json(&["org", "show", org["name"].as_str().unwrap()], "");
    assert_eq!(seen["display_name"], "开山压缩机有限公司");

    assert!(writer.terminate());
    assert!(reader.terminate());
    db.drop_database().await;
}

on_both_backends!(an_event_written_through_one_process_reaches_a_watcher_on_another);
