//! A challenge goes from draft to published through the CLI, and the audit chain verifies.

use crate::on_both_backends;
use jiebang_e2e::{Backend, Cli, Database, ServerProcess};

const ADMIN_PASSWORD: &str = "bureau-admin-password";

async fn the_bureau_and_a_publisher_publish_a_challenge_with_the_cli(backend: Backend) {
    let Some(db) = Database::fresh(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(
        dir.path(),
        db.url.as_deref(),
        &[
            ("JIEBANG_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD),
            ("JIEBANG_MIN_APPLICATION_WINDOW", "1h"),
            // The most talkative level: secrets must stay out of even the debug log.
            ("JIEBANG_LOG", "debug"),
        ],
    );
    let admin = Cli::new(&server.url, &dir.path().join("admin"));
    let publisher = Cli::new(&server.url, &dir.path().join("publisher"));

    admin.login("admin", ADMIN_PASSWORD);
    let org = admin.json(
        &[
            "org",
            "create",
            "--name",
            "华联电瓷股份有限公司",
            "--type",
            "enterprise",
            "--region",
            "330100",
            "--credit-code",
            "91350100M000100Y43",
        ],
        "",
    );
    let org_name = org["name"].as_str().unwrap().to_owned();
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
            &org_name,
            "--password-stdin",
        ],
        "publisher-password\n",
    );

    publisher.ok(
        &["login", "porcelain.pub", "--password-stdin"],
        "publisher-password\n",
    );
    let template = publisher.ok(&["challenge", "template"], "");
    let file = dir.path().join("challenge.toml");
    std::fs::write(&file, template).unwrap();
    let created = publisher.json(
        &["challenge", "create", "--file", file.to_str().unwrap()],
        "",
    );
    assert_eq!(created["state"], "DRAFT");
    assert_eq!(created["government_funding_fen"], 300_000_000);
    let name = created["name"].as_str().unwrap().to_owned();

    let submitted = publisher.json(&["challenge", "submit", &name], "");
    assert_eq!(submitted["state"], "PENDING_APPROVAL");
    let refused = publisher.fails(&["challenge", "approve", &name], "");
    assert!(
        refused.contains("not allowed: only the bureau may approve challenges"),
        "{refused}"
    );

    assert_eq!(
        admin.json(&["challenge", "approve", &name], "")["state"],
        "APPROVED"
    );
    let published = publisher.json(&["challenge", "publish", &name, "--window", "30d"], "");
    assert_eq!(published["state"], "PUBLISHED");

    let listed = publisher.json(&["challenge", "list", "--state", "published"], "");
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let table = publisher.ok(&["challenge", "list"], "");
    assert!(
        table.contains("特高压瓷绝缘子关键制备技术") && table.contains("4,000,000.00 元"),
        "{table}"
    );

    let verdict = admin.json(&["audit", "verify"], "");
    assert_eq!(verdict["intact"], true);
    assert!(verdict["records_checked"].as_i64().unwrap() >= 7);
    let trail = admin.json(&["audit", "list", "--chain", &name], "");
    let actions: Vec<&str> = trail
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "challenge.created",
            "challenge.submitted",
            "challenge.approved",
            "challenge.published"
        ]
    );

    let token = std::fs::read_to_string(dir.path().join("publisher/credentials.json")).unwrap();
    let token: serde_json::Value = serde_json::from_str(&token).unwrap();
    let token = token["tokens"][&server.url].as_str().unwrap().to_owned();
    let log: Vec<String> = server.stdout.try_iter().collect();
    assert!(
        log.len() > 20,
        "the debug log was captured: {} lines",
        log.len()
    );
    for secret in [ADMIN_PASSWORD, "publisher-password", token.as_str()] {
        assert!(
            log.iter().all(|line| !line.contains(secret)),
            "a secret reached the server log"
        );
    }

    assert!(server.terminate(), "the server exits cleanly on SIGTERM");
    db.drop_database().await;
}

async fn the_cli_explains_refusals_so_a_person_can_act(backend: Backend) {
    let Some(db) = Database::fresh(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(
        dir.path(),
        db.url.as_deref(),
        &[("JIEBANG_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)],
    );
    let cli = Cli::new(&server.url, &dir.path().join("cfg"));

    let not_logged_in = cli.fails(&["whoami"], "");
    assert!(not_logged_in.contains("jiebang login"), "{not_logged_in}");

    let wrong = cli.fails(&["login", "admin", "--password-stdin"], "wrong-password\n");
    assert!(
        wrong.contains("the username or password is wrong"),
        "{wrong}"
    );

    cli.login("admin", ADMIN_PASSWORD);
    let bad_code = cli.fails(
        &[
            "org",
            "create",
            "--name",
            "某公司",
            "--type",
            "enterprise",
            "--region",
            "33",
            "--credit-code",
            "91350100M000100Y44",
        ],
        "",
    );
    assert!(bad_code.contains("organization.region"), "{bad_code}");
    assert!(
        bad_code.contains("organization.unified_social_credit_code"),
        "{bad_code}"
    );

    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "title = \"x\"\n[[criteria]]\nname = \"a\"\nkind = \"technical_feasibility\"\nweight = 90\n").unwrap();
    // The admin is not a publisher: the role is checked before the content.
    let denied = cli.fails(
        &["challenge", "create", "--file", file.to_str().unwrap()],
        "",
    );
    assert!(
        denied.contains("only publishers draft challenges"),
        "{denied}"
    );

    std::fs::write(&file, "titel = \"typo\"\n").unwrap();
    let typo = cli.fails(
        &["challenge", "create", "--file", file.to_str().unwrap()],
        "",
    );
    assert!(typo.contains("titel"), "{typo}");

    drop(server);
    let down = cli.fails(&["whoami"], "");
    assert!(down.contains("cannot reach the jiebang server"), "{down}");
    db.drop_database().await;
}

on_both_backends!(
    the_bureau_and_a_publisher_publish_a_challenge_with_the_cli,
    the_cli_explains_refusals_so_a_person_can_act,
);
