//! Expert review through the CLI: the pool, assignment, sealed sheets, the chair's ranking,
//! the public notice and an objection.

use crate::on_both_backends;
use jiebang_e2e::{Backend, Cli, Database, ServerProcess, sheet};
use std::time::Duration;

const ADMIN_PASSWORD: &str = "bureau-admin-password";

async fn a_challenge_is_reviewed_and_noticed_through_the_cli(backend: Backend) {
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
    let cli = |who: &str| Cli::new(&server.url, &dir.path().join(who));
    let admin = cli("admin");
    admin.login("admin", ADMIN_PASSWORD);
    let org = |name: &str, kind: &str, code: &str| admin.create_org(name, kind, code);
    let porcelain = org("华联电瓷", "enterprise", "91350100M000100Y43");
    let zjut = org("浙江工业大学", "university", "12330000470003281H");
    let institute = org("市材料研究院", "institute", "12330100000000001H");
    let user = |username: &str, role: &str, org: &str| admin.create_user(username, role, org);
    user("porcelain.pub", "publisher", &porcelain);
    user("li.lead", "team_member", &zjut);
    let publisher = cli("publisher");
    publisher.ok(
        &["login", "porcelain.pub", "--password-stdin"],
        "porcelain.pub-password\n",
    );
    let team = cli("team");
    team.ok(
        &["login", "li.lead", "--password-stdin"],
        "li.lead-password\n",
    );
    let mut experts = Vec::new();
    for i in 0..3 {
        let name = format!("expert{i}");
        let account = user(&name, "expert", &institute);
        let expert = admin.json(
            &[
                "expert",
                "create",
                "--user",
                &account,
                "--org",
                &institute,
                "--fields",
                "electric_porcelain",
                "--keywords",
                "烧成,釉料",
            ],
            "",
        )["name"]
            .as_str()
            .unwrap()
            .to_owned();
        let session = cli(&name);
        session.ok(
            &["login", &name, "--password-stdin"],
            &format!("{name}-password\n"),
        );
        experts.push((expert, session));
    }

    let file = dir.path().join("challenge.toml");
    std::fs::write(&file, publisher.ok(&["challenge", "template"], "")).unwrap();
    let challenge = publisher.json(
        &["challenge", "create", "--file", file.to_str().unwrap()],
        "",
    )["name"]
        .as_str()
        .unwrap()
        .to_owned();
    publisher.ok(&["challenge", "submit", &challenge], "");
    admin.ok(&["challenge", "approve", &challenge], "");
    publisher.ok(&["challenge", "publish", &challenge, "--window", "3s"], "");
    let app_file = dir.path().join("application.toml");
    std::fs::write(&app_file, team.ok(&["application", "template"], "")).unwrap();
    let application = team.json(
        &[
            "application",
            "create",
            "--challenge",
            &challenge,
            "--file",
            app_file.to_str().unwrap(),
        ],
        "",
    )["name"]
        .as_str()
        .unwrap()
        .to_owned();
    team.ok(&["application", "submit", &application], "");
    std::thread::sleep(Duration::from_secs(3));
    admin.ok(&["application", "check", &application, "--eligible"], "");

    let assigned = admin.json(&["review", "assign", &challenge, "--k", "3"], "");
    assert_eq!(assigned.as_array().unwrap().len(), 3);
    admin.ok(
        &["review", "chair", &challenge, "--expert", &experts[0].0],
        "",
    );

    for ((_, session), fraction) in experts.iter().zip([0.9, 0.8, 0.85]) {
        let mine = session.json(&["review", "assignments"], "");
        let assignment = mine[0]["name"].as_str().unwrap().to_owned();
        let template = dir.path().join("template.toml");
        session.ok(
            &[
                "review",
                "open",
                &assignment,
                "--template",
                template.to_str().unwrap(),
            ],
            "",
        );
        assert!(
            std::fs::read_to_string(&template)
                .unwrap()
                .contains("技术路线与可行性")
        );
        let filled = dir.path().join("sheet.toml");
        std::fs::write(&filled, sheet(fraction)).unwrap();
        let sealed = session.json(
            &[
                "review",
                "score",
                &assignment,
                "--file",
                filled.to_str().unwrap(),
                "--submit",
            ],
            "",
        );
        assert_eq!(sealed["state"], "SUBMITTED");
    }

    let chair = &experts[0].1;
    let ranking = chair.json(&["review", "ranking", &challenge], "");
    assert_eq!(ranking[0]["final_score"], "85.00");
    let notice = chair.json(&["review", "propose", &challenge], "");
    assert_eq!(notice["winners"][0]["application"], application.as_str());

    let objection = team.json(
        &[
            "review",
            "object",
            &challenge,
            "--application",
            &application,
            "--person",
            "赵六",
            "--phone",
            "13900000000",
            "--grounds",
            "申报材料中的检测报告编号无法查验。",
        ],
        "",
    );
    let objection_name = objection["name"].as_str().unwrap().to_owned();
    admin.ok(
        &[
            "review",
            "rule",
            &objection_name,
            "--dismiss",
            "--reason",
            "检测报告编号经核实有效，异议不成立。",
        ],
        "",
    );
    let result = team.json(&["review", "result", &application], "");
    assert_eq!(result["final_score"], "85.00");
    assert_eq!(admin.json(&["audit", "verify"], "")["intact"], true);
    assert!(server.terminate());
    db.drop_database().await;
}

on_both_backends!(a_challenge_is_reviewed_and_noticed_through_the_cli);
