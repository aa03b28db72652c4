//! The contracts serve clients not written in Rust: a Python client (grpcio, stubs generated
//! from `proto/` by grpcio-tools in the test's own virtual environment) runs a team's journey
//! against the real server — sign in, find an open challenge, upload a plan, submit with the
//! pledge, watch its events.
//!
//! Needs `python3` and PyPI. Where `python3` is missing the test says SKIPPED, unless
//! `JIEBANG_REQUIRE_PYTHON=1` (set by `.ci/run`), which makes it fail instead.

use crate::on_both_backends;
use jiebang_e2e::{Backend, Cli, Database, ServerProcess};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

const ADMIN_PASSWORD: &str = "bureau-admin-password";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repository root")
        .to_owned()
}

fn run(command: &mut Command, what: &str) {
    let output = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The virtual environment with the pinned requirements, made once per requirements file and
/// kept under `target/` so later runs reuse it. `None` when there is no `python3`.
fn python() -> Option<PathBuf> {
    static VENV: OnceLock<Option<PathBuf>> = OnceLock::new();
    VENV.get_or_init(|| {
        let found = Command::new("python3")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            assert!(
                std::env::var("JIEBANG_REQUIRE_PYTHON").as_deref() != Ok("1"),
                "JIEBANG_REQUIRE_PYTHON=1 but python3 is not on PATH"
            );
            return None;
        }
        let requirements = repo_root().join("clients/python/requirements.txt");
        let text = std::fs::read_to_string(&requirements).expect("requirements.txt");
        let key = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        let target = jiebang_e2e::binary("jiebang")
            .parent()
            .and_then(Path::parent)
            .expect("target directory")
            .to_owned();
        let venv = target.join(format!("python-client-{key:016x}"));
        let interpreter = venv.join("bin/python");
        if !interpreter.exists() {
            let building = target.join(format!("python-client-{key:016x}.partial"));
            let _ = std::fs::remove_dir_all(&building);
            run(
                Command::new("python3").args(["-m", "venv"]).arg(&building),
                "python3 -m venv",
            );
            run(
                Command::new(building.join("bin/pip"))
                    .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
                    .arg(&requirements),
                "pip install -r clients/python/requirements.txt",
            );
            // A venv's scripts name their own directory, so it is built where it will live:
            // the rename only publishes a complete one.
            let _ = std::fs::remove_dir_all(&venv);
            std::fs::rename(&building, &venv).expect("publish the venv");
        }
        Some(venv.join("bin/python"))
    })
    .clone()
}

async fn a_python_team_applies_and_watches_its_events(backend: Backend) {
    let Some(db) = Database::fresh(backend).await else {
        return;
    };
    let Some(python) = tokio::task::spawn_blocking(python).await.unwrap() else {
        eprintln!("SKIPPED: the Python client test (no python3 on PATH)");
        db.drop_database().await;
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // Stubs generated from the contracts, as docs/clients.md describes.
    let generated = dir.path().join("gen");
    std::fs::create_dir_all(&generated).unwrap();
    let proto = repo_root().join("proto");
    let mut protoc = Command::new(&python);
    protoc
        .args(["-m", "grpc_tools.protoc", "-I"])
        .arg(&proto)
        .arg(format!("--python_out={}", generated.display()))
        .arg(format!("--grpc_python_out={}", generated.display()));
    for file in std::fs::read_dir(proto.join("jiebang/v1")).unwrap() {
        let path = file.unwrap().path();
        if path.extension().is_some_and(|e| e == "proto") {
            protoc.arg(path);
        }
    }
    run(&mut protoc, "grpc_tools.protoc");

    let server = ServerProcess::start(
        dir.path(),
        db.url.as_deref(),
        &[("JIEBANG_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)],
    );
    let cli = |who: &str| Cli::new(&server.url, &dir.path().join(who));
    let (admin, publisher) = (cli("admin"), cli("publisher"));
    admin.login("admin", ADMIN_PASSWORD);
    let org = |name: &str, kind: &str, code: &str| admin.create_org(name, kind, code);
    let porcelain = org("华联电瓷", "enterprise", "91350100M000100Y43");
    let zjut = org("浙江工业大学", "university", "12330000470003281H");
    for (username, role, org) in [
        ("porcelain.pub", "publisher", &porcelain),
        ("li.lead", "team_member", &zjut),
    ] {
        admin.create_user(username, role, org);
    }
    publisher.ok(
        &["login", "porcelain.pub", "--password-stdin"],
        "porcelain.pub-password\n",
    );
    let challenge_file = dir.path().join("challenge.toml");
    std::fs::write(
        &challenge_file,
        publisher.ok(&["challenge", "template"], ""),
    )
    .unwrap();
    let challenge = publisher.json(
        &[
            "challenge",
            "create",
            "--file",
            challenge_file.to_str().unwrap(),
        ],
        "",
    )["name"]
        .as_str()
        .unwrap()
        .to_owned();
    publisher.ok(&["challenge", "submit", &challenge], "");
    admin.ok(&["challenge", "approve", &challenge], "");
    publisher.ok(&["challenge", "publish", &challenge, "--window", "2d"], "");

    let plan = dir.path().join("技术方案.pdf");
    let mut body = b"%PDF-1.7\n".to_vec();
    body.extend((0..600_000u32).map(|i| (i % 251) as u8));
    std::fs::write(&plan, &body).unwrap();
    let address = server.url.trim_start_matches("http://").to_owned();
    let output = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = Command::new(&python)
            .arg(repo_root().join("clients/python/team_journey.py"))
            .args([
                "--server",
                &address,
                "--username",
                "li.lead",
                "--password-stdin",
            ])
            .arg("--plan")
            .arg(&plan)
            .env("JIEBANG_PY_GEN", &generated)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run the Python client");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"li.lead-password\n")
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "the Python client failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let steps: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let step = |name: &str| {
        steps
            .iter()
            .find(|s| s["step"] == name)
            .unwrap_or_else(|| panic!("no `{name}` step in {steps:?}"))
            .clone()
    };
    assert_eq!(step("challenges")["chosen"], challenge.as_str());
    let document = step("upload")["document"].as_str().unwrap().to_owned();
    assert!(document.starts_with("documents/"), "{document}");
    assert_eq!(step("upload")["size"], body.len());
    let submitted = step("submit");
    assert_eq!(submitted["state"], "APPLICATION_STATE_SUBMITTED");
    assert_eq!(step("resubmit_refused")["code"], "FAILED_PRECONDITION");
    let events = step("events")["types"].clone();
    assert_eq!(
        events,
        serde_json::json!([
            "EVENT_TYPE_APPLICATION_CREATED",
            "EVENT_TYPE_APPLICATION_SUBMITTED"
        ]),
        "the team sees its own application's events, in order"
    );

    // What Python did is what the Rust CLI sees.
    let team = cli("team");
    team.ok(
        &["login", "li.lead", "--password-stdin"],
        "li.lead-password\n",
    );
    let application = submitted["application"].as_str().unwrap();
    let shown = team.json(&["application", "show", application], "");
    assert_eq!(shown["documents"][0], document.as_str());
    assert!(server.terminate());
    db.drop_database().await;
}

on_both_backends!(a_python_team_applies_and_watches_its_events);
