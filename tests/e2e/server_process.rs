//! The server binary's own promises: the first-start password, restarts, signals.

use jiebang_e2e::{Cli, ServerProcess};
use std::time::Duration;

#[tokio::test]
async fn a_generated_admin_password_is_printed_once_and_works() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), None, &[]);
    let mut password = None;
    for _ in 0..50 {
        match server.stdout.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                if let Some(p) = line.trim().strip_prefix("password: ") {
                    password = Some(p.to_owned());
                    break;
                }
            }
            Err(_) => continue,
        }
    }
    let password = password.expect("the first start prints the generated password");
    assert!(
        dir.path().join("jiebang.db").exists(),
        "the SQLite file is created in the data directory"
    );
    let cli = Cli::new(&server.url, &dir.path().join("cfg"));
    cli.ok(
        &["login", "admin", "--password-stdin"],
        &format!("{password}\n"),
    );
    assert!(server.terminate());

    // A restart on the same database keeps the account and prints no password.
    let again = ServerProcess::start(dir.path(), None, &[]);
    std::thread::sleep(Duration::from_millis(500));
    let printed: Vec<String> = again.stdout.try_iter().collect();
    assert!(
        printed.iter().all(|l| !l.contains("password: ")),
        "{printed:?}"
    );
    let cli = Cli::new(&again.url, &dir.path().join("cfg2"));
    cli.ok(
        &["login", "admin", "--password-stdin"],
        &format!("{password}\n"),
    );
    assert!(again.terminate());
}

#[tokio::test]
async fn help_documents_every_setting() {
    let output = std::process::Command::new(jiebang_e2e::binary("jiebang-server"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    for setting in [
        "JIEBANG_LISTEN_ADDR",
        "JIEBANG_DATABASE_URL",
        "JIEBANG_DATA_DIR",
        "JIEBANG_DRAIN_TIMEOUT",
        "JIEBANG_SQLITE_SYNCHRONOUS",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ] {
        assert!(help.contains(setting), "--help does not mention {setting}");
    }
}
