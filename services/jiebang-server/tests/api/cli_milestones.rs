//! The `jiebang` binary drives milestone acceptance against a server whose clock the test
//! moves: the team reports with evidence, the panel votes, the bureau decides, releases,
//! extends and records a failure. It dates what it sends by the server's clock, never by its
//! own.

use crate::milestones::awarded;
use crate::on_both_backends;
use crate::support::{ADMIN_PASSWORD, TestApp};
use jiebang_e2e::Cli;
use jiebang_grpc::convert::from_proto_time;
use jiebang_proto::v1 as pb;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

const DAY: Duration = Duration::from_secs(86_400);

/// One person at their own terminal: a CLI configuration directory, logged in.
struct Terminal {
    server: String,
    dir: PathBuf,
}

impl Terminal {
    async fn login(app: &TestApp, root: &Path, username: &str, password: &str) -> Self {
        let terminal = Self {
            server: format!("http://{}", app.addr),
            dir: root.join(username),
        };
        terminal
            .run(
                &["login", username, "--password-stdin"],
                &format!("{password}\n"),
            )
            .await;
        terminal
    }

    /// The CLI blocks on its child process, so it runs off the server's runtime threads.
    async fn call(&self, args: &[&str], stdin: &str, succeed: bool) -> String {
        let (server, dir) = (self.server.clone(), self.dir.clone());
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let stdin = stdin.to_owned();
        tokio::task::spawn_blocking(move || {
            let cli = Cli::new(&server, &dir);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            if succeed {
                cli.ok(&args, &stdin)
            } else {
                cli.fails(&args, &stdin)
            }
        })
        .await
        .expect("cli thread")
    }

    async fn run(&self, args: &[&str], stdin: &str) -> String {
        self.call(args, stdin, true).await
    }

    async fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--output", "json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.call(&all, "", true).await).expect("json output")
    }

    async fn fails(&self, args: &[&str]) -> String {
        self.call(args, "", false).await
    }
}

async fn a_milestone_is_reported_accepted_and_paid_through_the_cli(app: &TestApp) {
    let (_, project, _) = awarded(app).await;
    let root = tempfile::tempdir().unwrap();
    let team = Terminal::login(app, root.path(), "na.lead", "na.lead-password").await;
    let admin = Terminal::login(app, root.path(), "admin", ADMIN_PASSWORD).await;
    let publisher =
        Terminal::login(app, root.path(), "porcelain.pub", "porcelain.pub-password").await;
    let mut experts = Vec::new();
    for name in ["notice0", "notice1", "notice2"] {
        experts.push(Terminal::login(app, root.path(), name, &format!("{name}-password")).await);
    }

    let shown = team.json(&["project", "show", &project]).await;
    assert_eq!(shown["state"], "ACTIVE");
    let plan = shown["plan"].as_array().unwrap();
    assert_eq!(plan.len(), 2);
    let mid = plan[0]["name"].as_str().unwrap().to_owned();
    let last = plan[1]["name"].as_str().unwrap().to_owned();

    // The team reports with an evidence file, uploaded and attached in one command.
    let evidence = root.path().join("型式试验报告.pdf");
    let mut body = b"%PDF-1.7\n".to_vec();
    body.extend((0..200_000u32).map(|i| (i % 251) as u8));
    std::fs::write(&evidence, &body).unwrap();
    let reported = team
        .json(&[
            "milestone",
            "report",
            &mid,
            "--value",
            "机电破坏负荷=520",
            "--evidence",
            evidence.to_str().unwrap(),
            "--narrative",
            "完成样品试制 20 只，型式试验全部通过。",
        ])
        .await;
    assert_eq!(reported["state"], "REPORT_SUBMITTED");
    assert_eq!(reported["reports"][0]["checks"][0]["met"], true);

    let refused = team.fails(&["milestone", "panel", &mid]).await;
    assert!(refused.contains("only the bureau"), "{refused}");
    let panel = admin
        .json(&["milestone", "panel", &mid, "--seats", "3"])
        .await;
    assert_eq!(panel["state"], "UNDER_ACCEPTANCE");
    assert_eq!(panel["panel"].as_array().unwrap().len(), 3);

    // Each expert lists the milestones they accept; the two drawn read the evidence and vote.
    let evidence_name = reported["reports"][0]["evidence_documents"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let mut voted = 0;
    for (i, expert) in experts.iter().enumerate() {
        let copy = root.path().join(format!("evidence-{i}.pdf"));
        let download = [
            "document",
            "download",
            &evidence_name,
            "--to",
            copy.to_str().unwrap(),
        ];
        let mine = expert.json(&["milestone", "list"]).await;
        let mine = mine.as_array().unwrap();
        if mine.is_empty() {
            let refused = expert.fails(&download).await;
            assert!(refused.contains("not found"), "not on the panel: {refused}");
            continue;
        }
        expert.run(&download, "").await;
        assert_eq!(
            std::fs::read(&copy).unwrap(),
            body,
            "a panel member reads the report's evidence"
        );
        assert_eq!(mine[0]["name"], mid.as_str());
        expert
            .run(
                &[
                    "milestone",
                    "vote",
                    &mid,
                    "--outcome",
                    "accepted",
                    "--comment",
                    "样品与检测报告相符，同意通过。",
                ],
                "",
            )
            .await;
        voted += 1;
    }
    assert_eq!(voted, 2);
    publisher
        .run(
            &[
                "milestone",
                "vote",
                &mid,
                "--outcome",
                "accepted",
                "--comment",
                "作为用户单位，性能满足要求。",
            ],
            "",
        )
        .await;
    let decided = admin
        .json(&[
            "milestone",
            "decide",
            &mid,
            "--outcome",
            "accepted",
            "--reason",
            "专家组一致同意通过验收。",
        ])
        .await;
    assert_eq!(decided["milestone"]["state"], "ACCEPTED");
    let votes = team.json(&["milestone", "votes", &mid]).await;
    assert_eq!(votes.as_array().unwrap().len(), 3);

    // The bureau releases the signing tranche and the 30% tranche, each once; the ledger
    // shows both payments.
    let signing = admin.json(&["project", "release", &project]).await;
    assert_eq!(signing["amount_fen"], 175_000_000);
    let released = admin
        .json(&["project", "release", &project, "--milestone", &mid])
        .await;
    assert_eq!(released["amount_fen"], 105_000_000);
    let again = admin
        .json(&["project", "release", &project, "--milestone", &mid])
        .await;
    assert_eq!(again["already_released"], true);
    let ledger = team.json(&["project", "ledger", &project]).await;
    let ledger = ledger.as_array().unwrap();
    assert_eq!(ledger.last().unwrap()["cumulative_fen"], 280_000_000);

    let moved = admin
        .json(&[
            "project",
            "extend",
            &project,
            "--milestone",
            &last,
            "--months",
            "6",
            "--reason",
            "关键设备到货延迟，同意延期。",
        ])
        .await;
    assert_eq!(moved.as_array().unwrap().len(), 1);
    let challenge = shown["challenge"].as_str().unwrap();
    let not_a_race = admin.fails(&["race", "rank", challenge]).await;
    assert!(not_a_race.contains("race"), "{not_a_race}");
    let failed = admin
        .json(&[
            "project",
            "fail",
            &project,
            "--kind",
            "exempt",
            "--reason",
            "技术路线论证不足，关键工艺无法突破。",
        ])
        .await;
    assert_eq!(failed["state"], "FAILED");
    assert_eq!(failed["failure"]["kind"], "EXEMPT");
}

/// Against a server whose clock is 200 days ahead of the CLI's machine (a demo clock moved
/// forward, or plain skew), `challenge publish --window 30d` opens a window of exactly 30 days
/// from the server's now, and `application submit` signs the pledge at the server's now.
async fn the_cli_counts_windows_and_dates_pledges_by_the_servers_clock(app: &TestApp) {
    let cast = app.cast().await;
    let approved = app.approved(&cast, "服务器时钟测试榜单").await;
    let team = app
        .team("clk", pb::OrganizationType::University, "330100")
        .await;
    app.clock.advance(200 * DAY);
    let server_now = app.clock.now();
    let root = tempfile::tempdir().unwrap();
    let publisher =
        Terminal::login(app, root.path(), "porcelain.pub", "porcelain.pub-password").await;
    let published = publisher
        .json(&["challenge", "publish", &approved.name, "--window", "30d"])
        .await;
    assert_eq!(published["state"], "PUBLISHED", "{published}");
    let challenge = app
        .challenges(Some(&cast.admin))
        .await
        .get_challenge(pb::GetChallengeRequest {
            name: approved.name.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .challenge
        .unwrap();
    let time = |t: Option<&prost_types::Timestamp>| from_proto_time(t.unwrap(), "t").unwrap();
    let opens = time(challenge.application_open_time.as_ref());
    let closes = time(challenge.application_close_time.as_ref());
    assert_eq!(opens, server_now, "opens at the server's now");
    assert_eq!(
        closes,
        server_now.plus(30 * DAY),
        "30 days by the server's clock"
    );

    let draft = app.draft_application(&team, &approved.name).await;
    let lead = Terminal::login(app, root.path(), "clk.lead", "clk.lead-password").await;
    let submitted = lead.json(&["application", "submit", &draft.name]).await;
    assert_eq!(submitted["state"], "SUBMITTED", "{submitted}");
    let stored = app
        .applications(Some(&team.lead))
        .await
        .get_application(pb::GetApplicationRequest { name: draft.name })
        .await
        .unwrap()
        .into_inner()
        .application
        .unwrap();
    let pledge = stored.pledge.unwrap();
    assert_eq!(
        time(pledge.sign_time.as_ref()),
        server_now,
        "signed at the server's now"
    );
}

on_both_backends!(
    a_milestone_is_reported_accepted_and_paid_through_the_cli,
    the_cli_counts_windows_and_dates_pledges_by_the_servers_clock,
);
