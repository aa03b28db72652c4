//! Several `jiebang-server` replicas on one PostgreSQL database: replicas that start at once
//! migrate the schema once, and racing state changes sent through different replicas have
//! exactly one effect (one success, one precise refusal, one audit record).
//!
//! PostgreSQL only: SQLite is one writer on one machine, so the question does not arise there.

use jiebang_e2e::{Backend, Database, ServerProcess};
use jiebang_proto::v1 as pb;
use jiebang_proto::v1::application_service_client::ApplicationServiceClient;
use jiebang_proto::v1::audit_service_client::AuditServiceClient;
use jiebang_proto::v1::challenge_service_client::ChallengeServiceClient;
use jiebang_proto::v1::identity_service_client::IdentityServiceClient;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

pub(crate) const ADMIN_PASSWORD: &str = "bureau-admin-password";
const PLEDGE: &str = "本团队承诺按期完成全部考核指标，如未达到，愿承担相应责任。";

/// Adds `authorization: Bearer …` to every call.
#[derive(Clone)]
pub(crate) struct Bearer(Option<MetadataValue<Ascii>>);

impl Interceptor for Bearer {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

pub(crate) type Authed = InterceptedService<Channel, Bearer>;

/// A channel that connects on first use and reconnects by itself.
pub(crate) fn lazy_channel(url: &str) -> Channel {
    Endpoint::from_shared(url.to_owned())
        .expect("server url")
        .tcp_nodelay(true)
        .connect_timeout(std::time::Duration::from_secs(2))
        .connect_lazy()
}

pub(crate) fn authed(channel: Channel, token: Option<&str>) -> Authed {
    let value = token.map(|t| format!("Bearer {t}").parse().expect("tokens are ASCII"));
    InterceptedService::new(channel, Bearer(value))
}

pub(crate) fn identity(url: &str, token: Option<&str>) -> IdentityServiceClient<Authed> {
    IdentityServiceClient::new(authed(lazy_channel(url), token))
}

fn challenges(url: &str, token: &str) -> ChallengeServiceClient<Authed> {
    ChallengeServiceClient::new(authed(lazy_channel(url), Some(token)))
}

fn applications(url: &str, token: &str) -> ApplicationServiceClient<Authed> {
    ApplicationServiceClient::new(authed(lazy_channel(url), Some(token)))
}

pub(crate) async fn login(url: &str, username: &str, password: &str) -> String {
    identity(url, None)
        .login(pb::LoginRequest {
            username: username.into(),
            password: password.into(),
        })
        .await
        .unwrap_or_else(|e| panic!("login {username} through {url}: {e}"))
        .into_inner()
        .access_token
}

/// A valid unified social credit code (GB 32100-2015) made from `seed`, for test
/// organisations: `91` + 15 digits + the check character.
pub(crate) fn credit_code(seed: u64) -> String {
    const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const WEIGHTS: [u32; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let first17 = format!("91{:015}", seed % 1_000_000_000_000_000);
    let sum: u32 = first17
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let check = (31 - sum % 31) % 31;
    format!("{first17}{}", char::from(CHARSET[check as usize]))
}

/// Starts `count` replicas on one database at the same instant (one thread each, released
/// together) and waits until every one serves.
pub(crate) fn start_replicas_at_once(
    dir: &Path,
    database_url: &str,
    env: &[(&str, &str)],
    count: usize,
) -> Vec<ServerProcess> {
    let barrier = Arc::new(Barrier::new(count));
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let threads: Vec<_> = (0..count)
        .map(|_| {
            let barrier = barrier.clone();
            let dir: PathBuf = dir.to_owned();
            let url = database_url.to_owned();
            let env = env.clone();
            std::thread::spawn(move || {
                let env: Vec<(&str, &str)> =
                    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                barrier.wait();
                ServerProcess::start(&dir, Some(&url), &env)
            })
        })
        .collect();
    threads
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            t.join().unwrap_or_else(|panic| {
                let why = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                panic!(
                    "replica {i} of {count} started at once did not reach \"serving\" \
                     (its error is on standard error above): {why}"
                )
            })
        })
        .collect()
}

/// Starts `count` replicas on one database one after the other (the first bootstraps the
/// admin on a fresh database), each once the previous one serves.
pub(crate) fn start_replicas_one_by_one(
    dir: &Path,
    database_url: &str,
    env: &[(&str, &str)],
    count: usize,
) -> Vec<ServerProcess> {
    (0..count)
        .map(|_| ServerProcess::start(dir, Some(database_url), env))
        .collect()
}

fn migration_count() -> i64 {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../services/jiebang-storage/migrations/postgres");
    let count = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter(|f| {
            f.as_ref()
                .is_ok_and(|f| f.path().extension().is_some_and(|e| e == "sql"))
        })
        .count();
    i64::try_from(count).expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_run_by_replicas_starting_at_once_leave_one_schema() {
    use sqlx::Connection;
    let Some(db) = Database::fresh(Backend::Postgres).await else {
        return;
    };
    let url = db.url.clone().expect("postgres url");
    let dir = tempfile::tempdir().unwrap();
    let env = [("JIEBANG_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)];
    let (path, starting_url) = (dir.path().to_owned(), url.clone());
    let replicas =
        tokio::task::spawn_blocking(move || start_replicas_at_once(&path, &starting_url, &env, 3))
            .await
            .unwrap();

    // One schema: each migration recorded once, all of them, every one successful.
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    let rows: Vec<(i64, bool)> =
        sqlx::query_as("SELECT version, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let expected = migration_count();
    let versions: Vec<i64> = rows.iter().map(|(v, _)| *v).collect();
    assert_eq!(
        versions,
        (1..=expected).collect::<Vec<_>>(),
        "each migration exactly once"
    );
    assert!(
        rows.iter().all(|(_, ok)| *ok),
        "a migration is marked failed: {rows:?}"
    );
    // The bootstrap raced too: one admin account, one bootstrap record, one token key.
    let (admins,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users WHERE username = 'admin'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(admins, 1);
    let (bootstraps,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM audit_records WHERE action = 'user.bootstrapped'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(bootstraps, 1, "the admin is bootstrapped once");
    conn.close().await.unwrap();

    // Every replica works on that schema: a token from one is good on the others, and a
    // write through one is read through each of the others at once.
    let token = login(&replicas[0].url, "admin", ADMIN_PASSWORD).await;
    let created = identity(&replicas[1].url, Some(&token))
        .create_organization(pb::CreateOrganizationRequest {
            organization: Some(pb::Organization {
                display_name: "开山压缩机有限公司".into(),
                r#type: pb::OrganizationType::Enterprise as i32,
                region: "330100".into(),
                unified_social_credit_code: credit_code(4_242),
                ..Default::default()
            }),
            request_id: uuid::Uuid::new_v4().simple().to_string(),
        })
        .await
        .expect("create through replica 1")
        .into_inner()
        .organization
        .expect("organisation");
    for replica in [&replicas[0], &replicas[2]] {
        let seen = identity(&replica.url, Some(&token))
            .get_organization(pb::GetOrganizationRequest {
                name: created.name.clone(),
            })
            .await
            .unwrap_or_else(|e| panic!("read through {}: {e}", replica.url))
            .into_inner()
            .organization
            .expect("organisation");
        assert_eq!(seen.display_name, "开山压缩机有限公司");
    }

    tokio::task::spawn_blocking(move || {
        for replica in replicas {
            assert!(replica.terminate(), "a replica did not stop cleanly");
        }
    })
    .await
    .unwrap();
    db.drop_database().await;
}

fn challenge(title: &str) -> pb::Challenge {
    let criterion = |name: &str, kind: pb::CriterionKind, weight: i32| pb::Criterion {
        name: name.into(),
        kind: kind as i32,
        weight,
        guidance: String::new(),
    };
    let tranche = |trigger: pb::TrancheTrigger, share: i32| pb::Tranche {
        trigger: trigger as i32,
        share_basis_points: share,
        description: String::new(),
    };
    pb::Challenge {
        title: title.into(),
        problem: "国产特高压瓷绝缘子机电性能离散度大，批次一致性差。".into(),
        goals: "研制机电破坏负荷不低于 550 kN、批次离散度不高于 5% 的瓷绝缘子。".into(),
        indicators: vec![pb::Indicator {
            name: "机电破坏负荷".into(),
            target_value: "550".into(),
            unit: "kN".into(),
            comparison: pb::Comparison::AtLeast as i32,
            test_method: "GB/T 1001.1 型式试验，第三方检测报告".into(),
            mandatory: true,
        }],
        end_user: "本市电瓷龙头企业生产线".into(),
        government_funding_fen: 300_000_000,
        co_funding_fen: 100_000_000,
        duration_months: 24,
        industry_field: "electric_porcelain".into(),
        eligibility: Some(pb::Eligibility {
            organization_types: vec![
                pb::OrganizationType::Enterprise as i32,
                pb::OrganizationType::University as i32,
            ],
            region_prefixes: vec![],
            max_partners: Some(4),
            max_applications_per_organization: 3,
            bar_past_winners: false,
        }),
        criteria: vec![
            criterion(
                "技术路线与可行性",
                pb::CriterionKind::TechnicalFeasibility,
                40,
            ),
            criterion("团队能力", pb::CriterionKind::TeamCapability, 25),
            criterion("预算合理性", pb::CriterionKind::Budget, 15),
            criterion("产业化与用户价值", pb::CriterionKind::Industrialisation, 20),
        ],
        winners_count: 1,
        tranches: vec![
            tranche(pb::TrancheTrigger::OnSigning, 5_000),
            tranche(pb::TrancheTrigger::MidTerm, 3_000),
            tranche(pb::TrancheTrigger::Final, 2_000),
        ],
        responsible_department: "市科技局高新技术处".into(),
        contact: Some(pb::Contact {
            person: "王工".into(),
            phone: "0571-88888888".into(),
            email: "wang@example.cn".into(),
        }),
        blind_review: true,
        round: "2026-1".into(),
        ..Default::default()
    }
}

fn application(lead: &str, org: &str) -> pb::Application {
    let milestone = |title: &str, months: i32, target: &str, share: i32, mid_term: bool| {
        pb::ProposedMilestone {
            title: title.into(),
            deliverables: vec!["第三方检测报告".into()],
            due_after_months: months,
            indicator_targets: vec![pb::IndicatorTarget {
                indicator: "机电破坏负荷".into(),
                target_value: target.into(),
            }],
            share_basis_points: share,
            mid_term,
        }
    };
    pb::Application {
        title: "高强度瓷绝缘子配方与梯度烧成工艺".into(),
        team: Some(pb::Team {
            lead_organization: String::new(),
            partner_organizations: vec![],
            lead_person: lead.into(),
            members: vec![pb::TeamMember {
                user: lead.into(),
                display_name: "李工".into(),
                organization: org.into(),
                role: pb::TeamRole::Lead as i32,
                duty: "总体技术负责".into(),
            }],
        }),
        technical_plan: "采用高铝瓷配方，梯度烧成控制晶相，在线监测窑温。".into(),
        requested_budget_fen: 350_000_000,
        signing_share_basis_points: 5_000,
        proposed_milestones: vec![
            milestone("中期：样品试制与型式试验", 12, "500", 3_000, true),
            milestone("结题：小批量试产", 24, "560", 2_000, false),
        ],
        contacts: vec![pb::Contact {
            person: "李工".into(),
            phone: "13800000000".into(),
            email: String::new(),
        }],
        ..Default::default()
    }
}

fn unix_now() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(now.as_secs()).unwrap()
}

fn request_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// One success and one precise refusal; returns the refusal's code.
fn one_wins<T: std::fmt::Debug>(what: &str, a: Result<T, Status>, b: Result<T, Status>) -> Code {
    let refusal = match (a, b) {
        (Ok(_), Err(e)) | (Err(e), Ok(_)) => e,
        (a, b) => panic!("{what}: expected exactly one success, got {a:?} and {b:?}"),
    };
    assert!(
        matches!(refusal.code(), Code::FailedPrecondition | Code::Aborted),
        "{what}: the loser must get FAILED_PRECONDITION or ABORTED, got {refusal:?}"
    );
    refusal.code()
}

/// Audit records with `action` on `resource`, read through `url`.
async fn audit_records(url: &str, admin: &str, action: &str, resource: &str) -> usize {
    let mut audit = AuditServiceClient::new(authed(lazy_channel(url), Some(admin)));
    let mut page_token = String::new();
    let mut found = 0;
    loop {
        let page = audit
            .list_audit_records(pb::ListAuditRecordsRequest {
                page_size: 1000,
                page_token: page_token.clone(),
                ..Default::default()
            })
            .await
            .expect("list audit records")
            .into_inner();
        found += page
            .records
            .iter()
            .filter(|r| r.action == action && r.resource == resource)
            .count();
        if page.next_page_token.is_empty() {
            return found;
        }
        page_token = page.next_page_token;
    }
}

async fn org(url: &str, admin: &str, name: &str, kind: pb::OrganizationType, seed: u64) -> String {
    identity(url, Some(admin))
        .create_organization(pb::CreateOrganizationRequest {
            organization: Some(pb::Organization {
                display_name: name.into(),
                r#type: kind as i32,
                region: "330100".into(),
                unified_social_credit_code: credit_code(seed),
                ..Default::default()
            }),
            request_id: request_id(),
        })
        .await
        .expect("create organisation")
        .into_inner()
        .organization
        .expect("organisation")
        .name
}

async fn user(url: &str, admin: &str, username: &str, role: pb::Role, org: &str) -> String {
    let password = format!("{username}-password");
    identity(url, Some(admin))
        .create_user(pb::CreateUserRequest {
            user: Some(pb::User {
                username: username.into(),
                display_name: username.into(),
                role: role as i32,
                organization: org.into(),
                ..Default::default()
            }),
            initial_password: password.clone(),
            request_id: request_id(),
        })
        .await
        .expect("create user");
    login(url, username, &password).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_state_changes_through_different_replicas_have_one_effect() {
    let Some(db) = Database::fresh(Backend::Postgres).await else {
        return;
    };
    let url = db.url.clone().expect("postgres url");
    let dir = tempfile::tempdir().unwrap();
    let env = [("JIEBANG_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)];
    let (path, starting_url) = (dir.path().to_owned(), url.clone());
    let replicas = tokio::task::spawn_blocking(move || {
        start_replicas_one_by_one(&path, &starting_url, &env, 2)
    })
    .await
    .unwrap();
    let (a, b) = (replicas[0].url.clone(), replicas[1].url.clone());

    let admin = login(&a, "admin", ADMIN_PASSWORD).await;
    let porcelain = org(
        &a,
        &admin,
        "华联电瓷股份有限公司",
        pb::OrganizationType::Enterprise,
        1,
    )
    .await;
    let university = org(
        &b,
        &admin,
        "浙江工业大学",
        pb::OrganizationType::University,
        2,
    )
    .await;
    let publisher = user(&a, &admin, "porcelain.pub", pb::Role::Publisher, &porcelain).await;
    let lead = user(&b, &admin, "zjut.team", pb::Role::TeamMember, &university).await;
    let lead_name = identity(&a, Some(&lead))
        .who_am_i(pb::WhoAmIRequest {})
        .await
        .expect("whoami")
        .into_inner()
        .user
        .expect("user")
        .name;

    // Two approvals of one submitted challenge, one through each replica, in flight together.
    // Three rounds, so the race is really run rather than won by whoever is scheduled first.
    let mut open = None;
    for round in 0..3 {
        let draft = challenges(&a, &publisher)
            .create_challenge(pb::CreateChallengeRequest {
                challenge: Some(challenge(&format!("高强度瓷绝缘子研制 {round}"))),
                request_id: request_id(),
            })
            .await
            .expect("create challenge")
            .into_inner()
            .challenge
            .expect("challenge");
        challenges(&b, &publisher)
            .submit_challenge(pb::SubmitChallengeRequest {
                name: draft.name.clone(),
                request_id: request_id(),
                ..Default::default()
            })
            .await
            .expect("submit challenge");
        let (mut on_a, mut on_b) = (challenges(&a, &admin), challenges(&b, &admin));
        let approve = |name: &str| pb::ApproveChallengeRequest {
            name: name.into(),
            request_id: request_id(),
            ..Default::default()
        };
        let (first, second) = tokio::join!(
            on_a.approve_challenge(approve(&draft.name)),
            on_b.approve_challenge(approve(&draft.name)),
        );
        let code = one_wins("two approvals", first, second);
        eprintln!("racing approvals, round {round}: the loser got {code:?}");
        assert_eq!(
            audit_records(&b, &admin, "challenge.approved", &draft.name).await,
            1,
            "one approval on the audit trail of {}",
            draft.name
        );
        open.get_or_insert(draft.name);
    }
    let challenge_name = open.expect("a challenge");
    let mut publish = pb::PublishChallengeRequest {
        name: challenge_name.clone(),
        request_id: request_id(),
        ..Default::default()
    };
    let mut close = publish.application_close_time.take().unwrap_or_default();
    close.seconds = unix_now() + 30 * 86_400;
    publish.application_close_time = Some(close);
    challenges(&a, &publisher)
        .publish_challenge(publish)
        .await
        .expect("publish");

    // One application submitted twice at once, through each replica.
    let draft = applications(&b, &lead)
        .create_application(pb::CreateApplicationRequest {
            parent: challenge_name.clone(),
            application: Some(application(&lead_name, &university)),
            request_id: request_id(),
        })
        .await
        .expect("create application")
        .into_inner()
        .application
        .expect("application");
    let submission = |name: &str| {
        let mut pledge = pb::ResponsibilityPledge {
            signer: lead_name.clone(),
            text: PLEDGE.into(),
            ..Default::default()
        };
        let mut signed = pledge.sign_time.take().unwrap_or_default();
        signed.seconds = unix_now();
        pledge.sign_time = Some(signed);
        pb::SubmitApplicationRequest {
            name: name.into(),
            pledge: Some(pledge),
            request_id: request_id(),
            ..Default::default()
        }
    };
    let (mut on_a, mut on_b) = (applications(&a, &lead), applications(&b, &lead));
    // Connect both first, so the two submissions leave together.
    for client in [&mut on_a, &mut on_b] {
        client
            .get_application(pb::GetApplicationRequest {
                name: draft.name.clone(),
            })
            .await
            .expect("get application");
    }
    let (first, second) = tokio::join!(
        on_a.submit_application(submission(&draft.name)),
        on_b.submit_application(submission(&draft.name)),
    );
    let code = one_wins("two submissions", first, second);
    eprintln!("racing submissions: the loser got {code:?}");
    assert_eq!(
        audit_records(&a, &admin, "application.submitted", &draft.name).await,
        1,
        "one submission on the audit trail"
    );
    let state = applications(&b, &lead)
        .get_application(pb::GetApplicationRequest {
            name: draft.name.clone(),
        })
        .await
        .expect("get application")
        .into_inner()
        .application
        .expect("application")
        .state;
    assert_eq!(state, pb::ApplicationState::Submitted as i32);

    tokio::task::spawn_blocking(move || {
        for replica in replicas {
            assert!(replica.terminate(), "a replica did not stop cleanly");
        }
    })
    .await
    .unwrap();
    db.drop_database().await;
}

/// Two panel decisions on one milestone, sent through different replicas at once. The round
/// leading up to them runs through the CLI on the demo clock, which is each process's own:
/// every move of the clock is made on both replicas.
mod panel {
    use super::{ADMIN_PASSWORD, audit_records, authed, lazy_channel, login, one_wins, request_id};
    use jiebang_e2e::{Backend, Cli, Database, ServerProcess, name_of, sheet};
    use jiebang_proto::v1 as pb;
    use jiebang_proto::v1::milestone_service_client::MilestoneServiceClient;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_panel_decisions_on_one_milestone_through_different_replicas_have_one_effect() {
        let Some(db) = Database::fresh(Backend::Postgres).await else {
            return;
        };
        let url = db.url.clone().expect("postgres url");
        let dir = tempfile::tempdir().unwrap();
        let env = [
            ("JIEBANG_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD),
            ("JIEBANG_DEMO_CLOCK", "true"),
            ("JIEBANG_TOKEN_TTL", "100000h"),
        ];
        let (path, starting_url) = (dir.path().to_owned(), url.clone());
        let (a, b) = tokio::task::spawn_blocking(move || {
            let a = ServerProcess::start(&path, Some(&starting_url), &env);
            let b = ServerProcess::start(&path, Some(&starting_url), &env);
            (a, b)
        })
        .await
        .unwrap();
        let (url_a, url_b) = (a.url.clone(), b.url.clone());
        let root = dir.path().to_owned();
        let milestone =
            tokio::task::spawn_blocking(move || round_up_to_a_decision(&root, &url_a, &url_b))
                .await
                .unwrap();

        // The bureau decides twice at once, once through each replica.
        let admin_a = login(&a.url, "admin", ADMIN_PASSWORD).await;
        let admin_b = login(&b.url, "admin", ADMIN_PASSWORD).await;
        let mut on_a = MilestoneServiceClient::new(authed(lazy_channel(&a.url), Some(&admin_a)));
        let mut on_b = MilestoneServiceClient::new(authed(lazy_channel(&b.url), Some(&admin_b)));
        let decide = || pb::DecideMilestoneRequest {
            name: milestone.clone(),
            outcome: pb::AcceptanceOutcome::Accepted as i32,
            reason: "依据验收专家组意见及考核指标核查结果作出决定。".into(),
            request_id: request_id(),
            ..Default::default()
        };
        let (first, second) = tokio::join!(
            on_a.decide_milestone(decide()),
            on_b.decide_milestone(decide())
        );
        let code = one_wins("two panel decisions", first, second);
        eprintln!("racing panel decisions: the loser got {code:?}");
        assert_eq!(
            audit_records(&b.url, &admin_b, "milestone.decided", &milestone).await,
            1,
            "one decision on the audit trail of {milestone}"
        );

        tokio::task::spawn_blocking(move || {
            assert!(a.terminate());
            assert!(b.terminate());
        })
        .await
        .unwrap();
        db.drop_database().await;
    }

    /// A round through the CLI on replica A (the clock moved on both), up to a mid-term
    /// milestone whose panel has voted; returns the milestone's name.
    fn round_up_to_a_decision(dir: &std::path::Path, url_a: &str, url_b: &str) -> String {
        let admin = Cli::new(url_a, &dir.join("admin-a"));
        let admin_b = Cli::new(url_b, &dir.join("admin-b"));
        for cli in [&admin, &admin_b] {
            cli.login("admin", ADMIN_PASSWORD);
        }
        let advance = |by: &str| {
            for cli in [&admin, &admin_b] {
                cli.ok(&["clock", "advance", by], "");
            }
        };
        let org = |name: &str, kind: &str, code: &str| admin.create_org(name, kind, code);
        let person = |username: &str, display: &str, role: &str, org: &str| {
            let user = admin.create_person(username, display, role, org);
            let cli = Cli::new(url_a, &dir.join(username));
            cli.login(username, &format!("{username}-password"));
            (user, cli)
        };
        let porcelain = org("华联电瓷股份有限公司", "enterprise", "91350100M000100Y43");
        let (publisher_user, publisher) = person("porcelain.pub", "王工", "publisher", &porcelain);
        let institute = org("市材料研究院", "institute", "12330100000000001H");
        let experts: Vec<(String, Cli)> = (0..4)
            .map(|i| {
                let (user, cli) = person(
                    &format!("expert{i}"),
                    &format!("专家{i}"),
                    "expert",
                    &institute,
                );
                admin.ok(
                    &[
                        "expert",
                        "create",
                        "--user",
                        &user,
                        "--org",
                        &institute,
                        "--fields",
                        "electric_porcelain",
                        "--keywords",
                        "烧成,釉料",
                    ],
                    "",
                );
                (user, cli)
            })
            .collect();
        let university = org("浙江工业大学", "university", "12330000470003281H");
        let (_, lead) = person("li.lead", "李工", "team_member", &university);

        let file = dir.join("challenge.toml");
        std::fs::write(&file, publisher.ok(&["challenge", "template"], "")).unwrap();
        let challenge = name_of(&publisher.json(
            &["challenge", "create", "--file", file.to_str().unwrap()],
            "",
        ));
        publisher.ok(&["challenge", "submit", &challenge], "");
        admin.ok(&["challenge", "approve", &challenge], "");
        publisher.ok(&["challenge", "publish", &challenge, "--window", "30d"], "");

        let file = dir.join("application.toml");
        std::fs::write(&file, lead.ok(&["application", "template"], "")).unwrap();
        let draft = name_of(&lead.json(
            &[
                "application",
                "create",
                "--challenge",
                &challenge,
                "--file",
                file.to_str().unwrap(),
            ],
            "",
        ));
        let application = name_of(&lead.json(&["application", "submit", &draft], ""));

        advance("31d");
        admin.ok(&["application", "check", &application, "--eligible"], "");
        admin.ok(&["review", "assign", &challenge, "--k", "3"], "");
        for (i, (_, cli)) in experts.iter().enumerate() {
            let list = cli.json(&["review", "assignments"], "");
            for assignment in list.as_array().unwrap() {
                if assignment["state"] != "ASSIGNED" {
                    continue;
                }
                let name = name_of(assignment);
                cli.ok(&["review", "open", &name], "");
                let file = dir.join(format!("sheet{i}.toml"));
                std::fs::write(&file, sheet(0.9)).unwrap();
                cli.ok(
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
            }
        }
        admin.ok(&["review", "propose", &challenge], "");
        advance("10d");
        admin.ok(&["review", "appoint", &challenge], "");
        advance("330d");

        let projects = lead.json(&["project", "list"], "");
        let project = name_of(&projects[0]);
        let milestones = lead.json(&["milestone", "list", "--project", &project], "");
        let milestone = name_of(&milestones[0]);
        lead.ok(
            &[
                "milestone",
                "report",
                &milestone,
                "--value",
                "机电破坏负荷=520",
                "--narrative",
                "按计划完成样品试制与第三方型式试验，附检测数据与过程记录。",
            ],
            "",
        );
        admin.ok(&["milestone", "panel", &milestone, "--seats", "3"], "");
        let shown = admin.json(&["milestone", "show", &milestone], "");
        for seat in shown["panel"].as_array().expect("a panel") {
            let member = std::iter::once((&publisher_user, &publisher))
                .chain(experts.iter().map(|(u, c)| (u, c)))
                .find(|(user, _)| seat["user"] == user.as_str())
                .expect("a member of the round")
                .1;
            member.ok(
                &[
                    "milestone",
                    "vote",
                    &milestone,
                    "--outcome",
                    "accepted",
                    "--comment",
                    "对照考核指标与第三方检测报告逐项核查，结论如下。",
                ],
                "",
            );
        }
        milestone
    }
}
