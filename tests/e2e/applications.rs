//! A team applies through the CLI: uploads its plan, drafts, attaches, submits with the
//! pledge; after the deadline the bureau records the formal check.

use crate::on_both_backends;
use jiebang_e2e::{Backend, Cli, Database, ServerProcess};
use std::time::Duration;

const ADMIN_PASSWORD: &str = "bureau-admin-password";

async fn a_team_applies_with_a_document_and_the_bureau_checks_it(backend: Backend) {
    let Some(db) = Database::fresh(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(
        dir.path(),
        db.url.as_deref(),
        &[
            ("JIEBANG_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD),
            ("JIEBANG_MIN_APPLICATION_WINDOW", "1s"),
        ],
    );
    let admin = Cli::new(&server.url, &dir.path().join("admin"));
    let publisher = Cli::new(&server.url, &dir.path().join("publisher"));
    let team = Cli::new(&server.url, &dir.path().join("team"));
    admin.login("admin", ADMIN_PASSWORD);

    let porcelain = admin.json(
        &[
            "org",
            "create",
            "--name",
            "华联电瓷",
            "--type",
            "enterprise",
            "--region",
            "330100",
            "--credit-code",
            "91350100M000100Y43",
        ],
        "",
    );
    let zjut = admin.json(
        &[
            "org",
            "create",
            "--name",
            "浙江工业大学",
            "--type",
            "university",
            "--region",
            "330100",
            "--credit-code",
            "12330000470003281H",
        ],
        "",
    );
    admin.ok(
        &[
            "user",
            "create",
            "--username",
            "porcelain.pub",
            "--display-name",
            "王工",
            "--role",
            "publisher",
            "--org",
            porcelain["name"].as_str().unwrap(),
            "--password-stdin",
        ],
        "publisher-password\n",
    );
    admin.ok(
        &[
            "user",
            "create",
            "--username",
            "li.lead",
            "--display-name",
            "李工",
            "--role",
            "team_member",
            "--org",
            zjut["name"].as_str().unwrap(),
            "--password-stdin",
        ],
        "team-lead-password\n",
    );
    publisher.ok(
        &["login", "porcelain.pub", "--password-stdin"],
        "publisher-password\n",
    );
    team.ok(
        &["login", "li.lead", "--password-stdin"],
        "team-lead-password\n",
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
    publisher.ok(&["challenge", "publish", &challenge, "--window", "6s"], "");

    // The team uploads its technical plan and drafts an application from the template.
    let plan = dir.path().join("技术方案.pdf");
    let mut body = b"%PDF-1.7\n".to_vec();
    body.extend((0..2_000_000u32).map(|i| (i % 251) as u8));
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
    );
    let document_name = document["name"].as_str().unwrap().to_owned();
    assert_eq!(document["size_bytes"], body.len() as i64);

    let application_file = dir.path().join("application.toml");
    std::fs::write(&application_file, team.ok(&["application", "template"], "")).unwrap();
    let draft = team.json(
        &[
            "application",
            "create",
            "--challenge",
            &challenge,
            "--file",
            application_file.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(draft["state"], "DRAFT");
    let name = draft["name"].as_str().unwrap().to_owned();

    let attach = dir.path().join("attach.toml");
    std::fs::write(&attach, format!("documents = [\"{document_name}\"]\n")).unwrap();
    let edited = team.json(
        &[
            "application",
            "edit",
            &name,
            "--file",
            attach.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(edited["documents"][0], document_name.as_str());

    team.json(&["application", "submit", &name, "--validate-only"], "");
    let submitted = team.json(&["application", "submit", &name], "");
    assert_eq!(submitted["state"], "SUBMITTED");
    let again = team.fails(&["application", "submit", &name], "");
    assert!(again.contains("not possible now"), "{again}");

    let blind = team.json(&["application", "blind", &name], "");
    assert_eq!(blind["label"], "申报书 01");

    // Before the deadline the publisher does not see it, and the bureau cannot check it.
    let hidden = publisher.json(&["application", "list", "--challenge", &challenge], "");
    assert_eq!(hidden.as_array().unwrap().len(), 0);
    let early = admin.fails(&["application", "check", &name, "--eligible"], "");
    assert!(early.contains("after the application deadline"), "{early}");

    std::thread::sleep(Duration::from_secs(6));
    let checked = admin.json(&["application", "check", &name, "--eligible"], "");
    assert_eq!(checked["formal_check"], "ELIGIBLE");
    let visible = publisher.json(&["application", "list", "--challenge", &challenge], "");
    assert_eq!(visible.as_array().unwrap().len(), 1);

    // The publisher may now read the attached plan; the download is checked by digest.
    let saved = dir.path().join("downloaded.pdf");
    publisher.ok(
        &[
            "document",
            "download",
            &document_name,
            "-o",
            saved.to_str().unwrap(),
        ],
        "",
    );
    assert!(std::fs::read(&saved).unwrap() == body);

    assert_eq!(admin.json(&["audit", "verify"], "")["intact"], true);
    assert!(server.terminate());
    db.drop_database().await;
}

on_both_backends!(a_team_applies_with_a_document_and_the_bureau_checks_it);
