//! Whole rounds on the server's demo clock, told through the `jiebang` CLI as the people involved
//! would live them: an upheld objection that promotes the runner-up, an expert declaring a
//! conflict mid-review, a failed milestone forgiven as exempt (失败宽容), and a team following
//! its round on the event stream across a reconnect.

use crate::on_both_backends;
use jiebang_e2e::{Backend, Cli, Database, ServerProcess, finish, name_of, sheet};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::Child;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const ADMIN_PASSWORD: &str = "bureau-admin-password";

/// The teams that may take part: organisation, type, credit code, lead's username and name.
const TEAMS: [(&str, &str, &str, &str, &str); 2] = [
    (
        "浙江工业大学",
        "university",
        "12330000470003281H",
        "li.lead",
        "李工",
    ),
    (
        "杭州新瓷科技有限公司",
        "enterprise",
        "91330100MA0000001F",
        "zhao.lead",
        "赵工",
    ),
];
const EXPERTS: usize = 4;

/// Someone signed in to the server with their own CLI configuration.
struct Person {
    user: String,
    cli: Cli,
}

struct Team {
    org: String,
    lead: Person,
}

struct Expert {
    name: String,
    person: Person,
}

/// One challenge of the bureau's round, its people, and the server it runs on.
struct Round {
    server: ServerProcess,
    db: Database,
    dir: tempfile::TempDir,
    admin: Cli,
    publisher: Person,
    teams: Vec<Team>,
    experts: Vec<Expert>,
    challenge: String,
    applications: Vec<String>,
}

impl Round {
    /// A server on the demo clock with the bureau, a publisher, `teams` teams and an expert
    /// pool of four; the publisher's challenge is published for 30 days. `None` when the
    /// backend is unavailable.
    async fn open(backend: Backend, teams: usize) -> Option<Self> {
        let db = Database::fresh(backend).await?;
        let dir = tempfile::tempdir().unwrap();
        let server = ServerProcess::start(
            dir.path(),
            db.url.as_deref(),
            &[
                ("JIEBANG_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD),
                ("JIEBANG_DEMO_CLOCK", "true"),
                // The round lasts two years of server time; sessions outlive it.
                ("JIEBANG_TOKEN_TTL", "100000h"),
            ],
        );
        let admin = Cli::new(&server.url, &dir.path().join("admin"));
        admin.login("admin", ADMIN_PASSWORD);
        let org = |name: &str, kind: &str, code: &str| admin.create_org(name, kind, code);
        let person = |username: &str, display: &str, role: &str, org: &str| {
            let user = admin.create_person(username, display, role, org);
            let cli = Cli::new(&server.url, &dir.path().join(username));
            cli.login(username, &format!("{username}-password"));
            Person { user, cli }
        };
        let porcelain = org("华联电瓷股份有限公司", "enterprise", "91350100M000100Y43");
        let publisher = person("porcelain.pub", "王工", "publisher", &porcelain);
        let institute = org("市材料研究院", "institute", "12330100000000001H");
        let experts = (0..EXPERTS)
            .map(|i| {
                let person = person(
                    &format!("expert{i}"),
                    &format!("专家{i}"),
                    "expert",
                    &institute,
                );
                let name = name_of(&admin.json(
                    &[
                        "expert",
                        "create",
                        "--user",
                        &person.user,
                        "--org",
                        &institute,
                        "--fields",
                        "electric_porcelain",
                        "--keywords",
                        "烧成,釉料",
                    ],
                    "",
                ));
                Expert { name, person }
            })
            .collect();
        let teams = TEAMS[..teams]
            .iter()
            .map(|(name, kind, code, username, display)| {
                let org = org(name, kind, code);
                let lead = person(username, display, "team_member", &org);
                Team { org, lead }
            })
            .collect();
        let mut round = Self {
            server,
            db,
            dir,
            admin,
            publisher,
            teams,
            experts,
            challenge: String::new(),
            applications: Vec::new(),
        };
        round.challenge = round.publish();
        Some(round)
    }

    /// The publisher drafts a challenge from the template; the bureau approves it; it is
    /// published with a 30-day window.
    fn publish(&self) -> String {
        let publisher = &self.publisher.cli;
        let file = self.dir.path().join("challenge.toml");
        std::fs::write(&file, publisher.ok(&["challenge", "template"], "")).unwrap();
        let challenge = name_of(&publisher.json(
            &["challenge", "create", "--file", file.to_str().unwrap()],
            "",
        ));
        publisher.ok(&["challenge", "submit", &challenge], "");
        self.admin.ok(&["challenge", "approve", &challenge], "");
        // The window counts from the server's (demo) clock, however far it has been moved.
        publisher.ok(&["challenge", "publish", &challenge, "--window", "30d"], "");
        challenge
    }

    /// Team `team` drafts an application to `challenge` with the template's plan.
    fn draft(&self, team: usize, challenge: &str) -> String {
        let lead = &self.teams[team].lead.cli;
        let file = self.dir.path().join(format!("application{team}.toml"));
        std::fs::write(&file, lead.ok(&["application", "template"], "")).unwrap();
        name_of(&lead.json(
            &[
                "application",
                "create",
                "--challenge",
                challenge,
                "--file",
                file.to_str().unwrap(),
            ],
            "",
        ))
    }

    /// Every team drafts its application, and its lead signs the pledge (军令状) and submits.
    fn apply(&mut self) {
        self.applications = (0..self.teams.len())
            .map(|team| {
                let draft = self.draft(team, &self.challenge);
                let lead = &self.teams[team].lead.cli;
                name_of(&lead.json(&["application", "submit", &draft], ""))
            })
            .collect();
    }

    fn advance(&self, by: &str) {
        self.admin.ok(&["clock", "advance", by], "");
    }

    /// The deadline passes, the bureau's formal check finds every application eligible, and
    /// each gets three unconflicted experts of the pool of four.
    fn close_and_assign(&self) {
        self.advance("31d");
        assert_eq!(self.challenge_state(), "APPLICATIONS_CLOSED");
        for application in &self.applications {
            self.admin
                .ok(&["application", "check", application, "--eligible"], "");
        }
        let assigned = self
            .admin
            .json(&["review", "assign", &self.challenge, "--k", "3"], "");
        assert_eq!(
            assigned.as_array().unwrap().len(),
            3 * self.applications.len()
        );
    }

    /// A round up to the review: the challenge published, every team's application submitted,
    /// the deadline passed, the formal check done and the experts assigned.
    async fn assigned(backend: Backend, teams: usize) -> Option<Self> {
        let mut round = Self::open(backend, teams).await?;
        round.apply();
        round.close_and_assign();
        Some(round)
    }

    /// The expert's live assignments.
    fn assignments_of(&self, expert: usize) -> Vec<Value> {
        let list = self.experts[expert]
            .person
            .cli
            .json(&["review", "assignments"], "");
        list.as_array()
            .unwrap()
            .iter()
            .filter(|a| a["state"] == "ASSIGNED")
            .cloned()
            .collect()
    }

    /// Every expert opens each of their assignments and seals a sheet scoring each criterion at
    /// `fractions[team]` of its weight.
    fn score(&self, fractions: &[f64]) {
        for (i, expert) in self.experts.iter().enumerate() {
            for assignment in self.assignments_of(i) {
                let name = name_of(&assignment);
                let team = self
                    .applications
                    .iter()
                    .position(|a| assignment["application"] == a.as_str())
                    .expect("an application of the round");
                let cli = &expert.person.cli;
                cli.ok(&["review", "open", &name], "");
                let file = self.dir.path().join(format!("sheet{i}.toml"));
                std::fs::write(&file, sheet(fractions[team])).unwrap();
                let sealed = cli.json(
                    &[
                        "review",
                        "score",
                        &name,
                        "--file",
                        file.to_str().unwrap(),
                        "--submit",
                    ],
                    "",
                );
                assert_eq!(sealed["state"], "SUBMITTED");
            }
        }
    }

    /// The bureau ranks the sealed sheets and proposes the winners: the public notice opens.
    fn propose(&self) -> Value {
        self.admin.json(&["review", "propose", &self.challenge], "")
    }

    /// The notice runs its five working days; the bureau appoints (挂帅) whoever it names.
    fn appoint(&self) -> Vec<Value> {
        self.advance("10d");
        let appointed = self.admin.json(&["review", "appoint", &self.challenge], "");
        appointed.as_array().unwrap().clone()
    }

    fn challenge_state(&self) -> String {
        self.admin.json(&["challenge", "show", &self.challenge], "")["state"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn application_state(&self, team: usize) -> String {
        self.teams[team]
            .lead
            .cli
            .json(&["application", "show", &self.applications[team]], "")["state"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The team's project, as its lead sees it.
    fn project_of(&self, team: usize) -> Value {
        let projects = self.teams[team].lead.cli.json(&["project", "list"], "");
        assert_eq!(projects.as_array().unwrap().len(), 1, "{projects}");
        projects[0].clone()
    }

    /// The milestones of the team's project, in plan order.
    fn milestones_of(&self, team: usize) -> Vec<String> {
        let project = name_of(&self.project_of(team));
        let list = self.teams[team]
            .lead
            .cli
            .json(&["milestone", "list", "--project", &project], "");
        list.as_array().unwrap().iter().map(name_of).collect()
    }

    /// The team's lead reports `value` kN of breaking load (机电破坏负荷) for the milestone.
    fn report(&self, team: usize, milestone: &str, value: &str) -> Value {
        self.teams[team].lead.cli.json(
            &[
                "milestone",
                "report",
                milestone,
                "--value",
                &format!("机电破坏负荷={value}"),
                "--narrative",
                "按计划完成样品试制与第三方型式试验，附检测数据与过程记录。",
            ],
            "",
        )
    }

    /// The bureau forms a panel of three (the publisher's end user and two experts), every
    /// member votes `vote`, and the bureau decides with `decision` (`--outcome …` and the rest).
    fn judge(&self, milestone: &str, vote: &str, decision: &[&str]) -> Value {
        self.admin
            .ok(&["milestone", "panel", milestone, "--seats", "3"], "");
        let shown = self.admin.json(&["milestone", "show", milestone], "");
        let seats = shown["panel"].as_array().expect("a panel");
        assert_eq!(seats.len(), 3);
        assert!(
            seats
                .iter()
                .any(|s| s["kind"] == "END_USER" && s["user"] == self.publisher.user.as_str()),
            "the end user has a seat: {shown}"
        );
        for seat in seats {
            let member = std::iter::once(&self.publisher)
                .chain(self.experts.iter().map(|e| &e.person))
                .find(|p| seat["user"] == p.user.as_str())
                .expect("a member of the round");
            member.cli.ok(
                &[
                    "milestone",
                    "vote",
                    milestone,
                    "--outcome",
                    vote,
                    "--comment",
                    "对照考核指标与第三方检测报告逐项核查，结论如下。",
                ],
                "",
            );
        }
        let mut args = vec!["milestone", "decide", milestone];
        args.extend_from_slice(decision);
        args.extend(["--reason", "依据验收专家组意见及考核指标核查结果作出决定。"]);
        self.admin.json(&args, "")
    }

    /// The bureau verifies the audit chain, and the server and its database go away.
    async fn end(self) {
        assert_eq!(self.admin.json(&["audit", "verify"], "")["intact"], true);
        assert!(self.server.terminate());
        self.db.drop_database().await;
    }
}

/// A score sheet giving each criterion `fraction` of its weight.
async fn an_upheld_objection_replaces_the_winner_with_the_runner_up(backend: Backend) {
    let started = Instant::now();
    let Some(round) = Round::assigned(backend, 2).await else {
        return;
    };
    let (winner, runner_up) = (&round.applications[0], &round.applications[1]);
    round.score(&[0.9, 0.8]);
    let notice = round.propose();
    assert_eq!(notice["round"], 1);
    assert_eq!(notice["winners"][0]["application"], winner.as_str());
    assert_eq!(round.application_state(1), "SHORTLISTED");

    // The runner-up objects in its own name; the bureau upholds it and replaces the winner.
    let objection = name_of(&round.teams[1].lead.cli.json(
        &[
            "review",
            "object",
            &round.challenge,
            "--application",
            winner,
            "--person",
            "赵工",
            "--phone",
            "13900000000",
            "--grounds",
            "中标团队申报的型式试验报告系委托方自测，并非第三方检测机构出具。",
        ],
        "",
    ));
    // The notice's five working days pass; the pending objection freezes the appointment.
    round.advance("10d");
    let frozen = round
        .admin
        .fails(&["review", "appoint", &round.challenge], "");
    assert!(frozen.contains("the appointment is frozen"), "{frozen}");
    let restarted = round.admin.json(
        &[
            "review",
            "rule",
            &objection,
            "--replace-winner",
            "--reason",
            "经核查，检测报告确非第三方出具，异议成立，由排名下一位的团队递补。",
        ],
        "",
    );
    assert_eq!(restarted["round"], 2, "the notice restarts: {restarted}");
    let winners = restarted["winners"].as_array().unwrap();
    assert_eq!(winners.len(), 1);
    assert_eq!(winners[0]["application"], runner_up.as_str());
    assert_eq!(round.application_state(0), "NOT_SELECTED");
    assert_eq!(round.application_state(1), "PROPOSED_WINNER");
    let ruled = round
        .admin
        .json(&["review", "objections", &round.challenge], "");
    assert_eq!(ruled[0]["state"], "UPHELD");

    // The restarted notice runs its own five working days before anyone is appointed.
    let early = round
        .admin
        .fails(&["review", "appoint", &round.challenge], "");
    assert!(early.contains("after the public notice ends"), "{early}");
    let appointed = round.appoint();
    assert_eq!(appointed.len(), 1);
    assert_eq!(appointed[0]["application"], runner_up.as_str());
    assert_eq!(round.application_state(1), "APPOINTED");
    let project = round.project_of(1);
    assert_eq!(project["name"], appointed[0]["project"]);
    assert_eq!(project["state"], "ACTIVE");
    assert_eq!(
        round.teams[0].lead.cli.json(&["project", "list"], ""),
        serde_json::json!([]),
        "the replaced winner has no project"
    );
    assert_eq!(round.application_state(0), "NOT_SELECTED");
    eprintln!("objection story: {:.1} s", started.elapsed().as_secs_f64());
    round.end().await;
}

async fn an_expert_declaring_a_conflict_mid_review_is_replaced(backend: Backend) {
    let started = Instant::now();
    let Some(round) = Round::assigned(backend, 2).await else {
        return;
    };
    let team = &round.applications[0];
    let on_team = |expert: usize| {
        round
            .assignments_of(expert)
            .into_iter()
            .find(|a| a["application"] == team.as_str())
    };
    // An expert reviewing both teams opens the first team's application, recognises a former
    // collaborator of its lead (回避) and declares it on the assignment.
    let (declaring, assignment) = (0..EXPERTS)
        .filter(|&e| round.assignments_of(e).len() == 2)
        .find_map(|e| on_team(e).map(|a| (e, name_of(&a))))
        .expect("three seats each for two teams from four experts: two review both");
    let spare = (0..EXPERTS)
        .find(|&e| on_team(e).is_none())
        .expect("one of the four experts is not on the team's panel");
    let expert = &round.experts[declaring];
    expert.person.cli.ok(&["review", "open", &assignment], "");
    let lead = &round.teams[0].lead.user;
    let declared = expert.person.cli.run(
        &[
            "review",
            "declare-conflict",
            "--expert",
            &expert.name,
            "--assignment",
            &assignment,
            "--type",
            "collaborator",
            "--user",
            lead,
            "--note",
            "曾与该团队负责人合作承担省级项目。",
        ],
        "",
    );
    assert!(declared.status.success(), "{declared:?}");
    let said = String::from_utf8_lossy(&declared.stderr);
    assert!(
        said.contains("1 assignment(s) withdrawn, 1 replaced"),
        "{said}"
    );

    // The seat passes to the spare expert; the declaring expert keeps the other team's.
    let all = round.admin.json(
        &["review", "assignments", "--challenge", &round.challenge],
        "",
    );
    let of = |expert: usize| -> Vec<&Value> {
        all.as_array()
            .unwrap()
            .iter()
            .filter(|a| {
                a["application"] == team.as_str()
                    && a["expert"] == round.experts[expert].name.as_str()
            })
            .collect()
    };
    assert_eq!(of(declaring).len(), 1);
    assert_eq!(of(declaring)[0]["name"], assignment.as_str());
    assert_eq!(of(declaring)[0]["state"], "WITHDRAWN");
    assert_eq!(of(spare).len(), 1);
    assert_eq!(of(spare)[0]["state"], "ASSIGNED");
    assert_eq!(of(spare)[0]["origin"], "REPLACEMENT");
    assert!(
        round
            .assignments_of(declaring)
            .iter()
            .all(|a| a["application"] != team.as_str())
    );
    assert_eq!(
        round.assignments_of(declaring).len(),
        1,
        "the other team's seat stays"
    );
    let conflicts = round
        .admin
        .json(&["review", "conflicts", &round.challenge], "");
    assert!(
        conflicts
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["expert"] == expert.name.as_str()
                && c["application"] == team.as_str()
                && c["type"] == "COLLABORATOR"),
        "{conflicts}"
    );
    let file = round.dir.path().join("withdrawn.toml");
    std::fs::write(&file, sheet(0.5)).unwrap();
    let refused = expert.person.cli.fails(
        &[
            "review",
            "score",
            &assignment,
            "--file",
            file.to_str().unwrap(),
            "--submit",
        ],
        "",
    );
    // Refused as withdrawn, not as a sealed sheet.
    assert!(
        refused.contains("this assignment was withdrawn") && !refused.contains("sealed"),
        "{refused}"
    );

    // The replacement scores with the others, and the ranking completes with three sheets each.
    round.score(&[0.85, 0.75]);
    let ranking = round
        .admin
        .json(&["review", "ranking", &round.challenge], "");
    let entries = ranking.as_array().unwrap();
    assert_eq!(entries.len(), 2);
    for entry in entries {
        assert_eq!(entry["sheets"], "3/3", "{entry}");
    }
    assert_eq!(entries[0]["application"], team.as_str());
    assert_eq!(entries[0]["final_score"], "85.00");
    let notice = round.propose();
    assert_eq!(notice["winners"][0]["application"], team.as_str());
    eprintln!("conflict story: {:.1} s", started.elapsed().as_secs_f64());
    round.end().await;
}

async fn a_failed_milestone_exempted_keeps_the_team_eligible(backend: Backend) {
    let started = Instant::now();
    let Some(round) = Round::assigned(backend, 1).await else {
        return;
    };
    round.score(&[0.9]);
    round.propose();
    let appointed = round.appoint();
    let project = appointed[0]["project"].as_str().unwrap().to_owned();

    // Eleven months on, the mid-term sample breaks at 300 kN against the 500 kN target.
    round.advance("330d");
    let mid_term = round.milestones_of(0)[0].clone();
    let reported = round.report(0, &mid_term, "300");
    let check = &reported["reports"][0]["checks"][0];
    assert_eq!(check["met"], false, "{reported}");
    assert_eq!(check["mandatory"], true);
    assert_eq!(reported["reports"][0]["band"], "FAIL");
    let decided = round.judge(
        &mid_term,
        "failed",
        &[
            "--outcome",
            "failed",
            "--ground",
            "mandatory_indicator_missed",
            "--ground",
            "below_fail_band",
        ],
    );
    assert_eq!(decided["milestone"]["state"], "FAILED", "{decided}");
    assert_eq!(decided["project_state"], "ACTIVE");

    // The route was wrong, the work diligent: the bureau records an exempt failure.
    let failed = round.admin.json(
        &[
            "project",
            "fail",
            &project,
            "--kind",
            "exempt",
            "--milestone",
            &mid_term,
            "--reason",
            "梯度烧成技术路线经充分试验证明不可行，团队勤勉尽责，无弄虚作假，予以免责。",
        ],
        "",
    );
    let shown = round.project_of(0);
    assert_eq!(shown["name"], project.as_str());
    assert_eq!(shown["state"], "FAILED", "{failed}\n{shown}");
    assert_eq!(shown["failure"]["kind"], "EXEMPT");
    assert_eq!(
        shown["failure"]["barred_organizations"],
        serde_json::json!([])
    );
    assert_eq!(round.challenge_state(), "FAILED");

    // The same organisation applies to the bureau's next challenge, and is accepted: the lead
    // signs the pledge, dated by the server's clock, more than a year after the first round.
    let next = round.publish();
    let draft = round.draft(0, &next);
    let applied = round.teams[0]
        .lead
        .cli
        .json(&["application", "submit", &draft], "");
    assert_eq!(applied["state"], "SUBMITTED", "{applied}");
    assert_eq!(applied["lead_organization"], round.teams[0].org.as_str());
    eprintln!("failure story: {:.1} s", started.elapsed().as_secs_f64());
    round.end().await;
}

/// Parses the JSON lines `events watch` printed.
fn events(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("an event as JSON"))
        .collect()
}

/// `jiebang --output json events watch …` running in the background, its events read as they
/// come.
struct Watch {
    child: Child,
    events: mpsc::Receiver<Value>,
}

impl Watch {
    fn start(cli: &Cli, args: &[&str]) -> Self {
        let mut all = vec!["--output", "json", "events", "watch"];
        all.extend_from_slice(args);
        let mut child = cli.spawn(&all);
        let stdout = child.stdout.take().expect("stdout");
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let event = serde_json::from_str(&line).expect("an event as JSON");
                if tx.send(event).is_err() {
                    break;
                }
            }
        });
        Self { child, events }
    }

    /// The events up to and including the first that `last` matches; then the watch stops.
    fn until(mut self, last: impl Fn(&Value) -> bool, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = self.events.recv_timeout(left).unwrap_or_else(|_| {
                let _ = self.child.kill();
                panic!("the awaited event did not come; seen: {seen:#?}")
            });
            let done = last(&event);
            seen.push(event);
            if done {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return seen;
            }
        }
    }
}

async fn a_team_follows_its_round_on_the_event_stream_across_a_reconnect(backend: Backend) {
    let started = Instant::now();
    let Some(mut round) = Round::open(backend, 2).await else {
        return;
    };
    // The team lead follows from the beginning, while both teams apply and the review starts;
    // the connection drops after eight events.
    let lead = &round.teams[0].lead.cli;
    let first = lead.spawn(&["--output", "json", "events", "watch", "--count", "8"]);
    round.apply();
    round.close_and_assign();
    let (output, by_itself) = finish(first, Duration::from_secs(20));
    assert!(by_itself, "the first connection stops after its count");
    let before = events(&output.stdout);
    assert_eq!(before.len(), 8);
    let last = before.last().unwrap()["sequence"].as_i64().unwrap();

    // It reconnects from its cursor while the round goes on to the final acceptance.
    let after = last.to_string();
    let second = Watch::start(&round.teams[0].lead.cli, &["--after", &after]);
    round.score(&[0.9, 0.8]);
    round.propose();
    round.appoint();
    round.advance("330d");
    let milestones = round.milestones_of(0);
    for (milestone, value) in milestones.iter().zip(["520", "565"]) {
        round.report(0, milestone, value);
        let decided = round.judge(milestone, "accepted", &["--outcome", "accepted"]);
        assert_eq!(decided["milestone"]["state"], "ACCEPTED", "{decided}");
    }
    let project = round.project_of(0);
    assert_eq!(project["state"], "COMPLETED");
    let project = name_of(&project);
    assert_eq!(round.challenge_state(), "COMPLETED");
    let final_milestone = milestones.last().unwrap().clone();
    let rest = second.until(
        |e| e["type"] == "CHALLENGE_COMPLETED" && e["resource"] == round.challenge.as_str(),
        Duration::from_secs(20),
    );

    let all: Vec<&Value> = before.iter().chain(&rest).collect();
    let sequences: Vec<i64> = all
        .iter()
        .map(|e| e["sequence"].as_i64().unwrap())
        .collect();
    assert!(
        sequences.windows(2).all(|w| w[0] < w[1]),
        "strictly increasing, none seen twice: {sequences:?}"
    );
    let own = &round.applications[0];
    assert!(
        before
            .iter()
            .any(|e| e["type"] == "APPLICATION_SUBMITTED" && e["resource"] == own.as_str()),
        "{before:#?}"
    );
    // The stream ends with the final acceptance, the project's end (结题) and, its only project
    // completed, the challenge's.
    let ending: Vec<(&str, &str, &str)> = rest[rest.len().saturating_sub(3)..]
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap(),
                e["resource"].as_str().unwrap(),
                e["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ending,
        vec![
            (
                "MILESTONE_DECIDED",
                final_milestone.as_str(),
                "MILESTONE_STATE_ACCEPTED"
            ),
            ("PROJECT_ENDED", project.as_str(), "PROJECT_STATE_COMPLETED"),
            (
                "CHALLENGE_COMPLETED",
                round.challenge.as_str(),
                "CHALLENGE_STATE_COMPLETED"
            ),
        ],
        "{rest:#?}"
    );
    assert!(
        rest.iter()
            .any(|e| e["type"] == "APPLICATION_APPOINTED" && e["resource"] == own.as_str()),
        "{rest:#?}"
    );
    let other = &round.applications[1];
    assert!(
        all.iter()
            .all(|e| !e["resource"].as_str().unwrap().starts_with(other.as_str())),
        "the team sees nothing of the other team's application: {all:#?}"
    );
    eprintln!(
        "event story: {} + {} events, {:.1} s",
        before.len(),
        rest.len(),
        started.elapsed().as_secs_f64()
    );
    round.end().await;
}

on_both_backends!(
    an_upheld_objection_replaces_the_winner_with_the_runner_up,
    an_expert_declaring_a_conflict_mid_review_is_replaced,
    a_failed_milestone_exempted_keeps_the_team_eligible,
    a_team_follows_its_round_on_the_event_stream_across_a_reconnect,
);
