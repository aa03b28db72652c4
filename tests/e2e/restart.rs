//! The server is killed (SIGKILL, no drain) in the middle of a round and started again on the
//! same data: nothing committed is lost, the audit chain still verifies, the stored document
//! is byte-identical, and the clock's work — closing the challenge at its deadline — carries on.

use crate::on_both_backends;
use jiebang_e2e::{Backend, Cli, Database, ServerProcess};
use std::path::Path;
use std::time::Duration;

const ADMIN_PASSWORD: &str = "bureau-admin-password";
const ENV: &[(&str, &str)] = &[
    ("JIEBANG_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD),
    ("JIEBANG_MIN_APPLICATION_WINDOW", "1s"),
];

/// The three people of this round, signed in to `server`.
fn sign_in(server: &ServerProcess, root: &Path) -> (Cli, Cli, Cli) {
    let cli = |who: &str, password: &str| {
        let c = Cli::new(&server.url, &root.join(who));
        c.ok(
            &["login", who, "--password-stdin"],
            &format!("{password}\n"),
        );
        c
    };
    (
        cli("admin", ADMIN_PASSWORD),
        cli("porcelain.pub", "porcelain.pub-password"),
        cli("li.lead", "li.lead-password"),
    )
}

async fn a_killed_server_restarts_with_nothing_lost(backend: Backend) {
    let Some(db) = Database::fresh(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server = ServerProcess::start(&data, db.url.as_deref(), ENV);
    let admin = Cli::new(&server.url, &dir.path().join("admin"));
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
    let (admin, publisher, team) = sign_in(&server, dir.path());
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
    publisher.ok(&["challenge", "publish", &challenge, "--window", "8s"], "");

    let plan = dir.path().join("技术方案.pdf");
    let mut body = b"%PDF-1.7\n".to_vec();
    body.extend((0..1_500_000u32).map(|i| (i % 251) as u8));
    std::fs::write(&plan, &body).unwrap();
    let document = team.json(
        &[
            "document",
            "upload",
            plan.to_str().unwrap(),
            "--purpose",
            "technical_plan",
        ],
        "",
    )["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let application_file = dir.path().join("application.toml");
    let template = team.ok(&["application", "template"], "");
    std::fs::write(
        &application_file,
        template.replace("documents = []", &format!("documents = [\"{document}\"]")),
    )
    .unwrap();
    let application = team.json(
        &[
            "application",
            "create",
            "--challenge",
            &challenge,
            "--file",
            application_file.to_str().unwrap(),
        ],
        "",
    )["name"]
        .as_str()
        .unwrap()
        .to_owned();
    team.json(&["application", "submit", &application], "");
    let before = admin.json(&["audit", "list", "--chain", &challenge], "");

    // A crash, not a drain: SIGKILL while the application window is still open.
    drop(server);
    let server = ServerProcess::start(&data, db.url.as_deref(), ENV);
    let (admin, publisher, team) = sign_in(&server, dir.path());

    let shown = team.json(&["application", "show", &application], "");
    assert_eq!(shown["state"], "SUBMITTED");
    assert_eq!(shown["documents"][0], document.as_str());
    assert_eq!(
        admin.json(&["audit", "list", "--chain", &challenge], ""),
        before,
        "the challenge's audit trail is as it was"
    );
    assert_eq!(admin.json(&["audit", "verify"], "")["intact"], true);

    // The restarted server's clock closes the challenge at its deadline, and the round goes on.
    let mut closed = false;
    for _ in 0..60 {
        let state = publisher.json(&["challenge", "show", &challenge], "")["state"].clone();
        if state == "APPLICATIONS_CLOSED" {
            closed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        closed,
        "the challenge closed at its deadline after the restart"
    );
    let checked = admin.json(&["application", "check", &application, "--eligible"], "");
    assert_eq!(checked["formal_check"], "ELIGIBLE");
    let saved = dir.path().join("downloaded.pdf");
    publisher.ok(
        &[
            "document",
            "download",
            &document,
            "-o",
            saved.to_str().unwrap(),
        ],
        "",
    );
    assert!(
        std::fs::read(&saved).unwrap() == body,
        "the document is byte-identical"
    );
    assert!(server.terminate());
    db.drop_database().await;
}

on_both_backends!(a_killed_server_restarts_with_nothing_lost);
