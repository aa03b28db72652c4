//! A real server for each test: bound to a free port on loopback, on its own SQLite file or its
//! own PostgreSQL database, driven through generated gRPC clients over a real socket.

use jiebang_domain::ManualClock;
use jiebang_proto::v1 as pb;
use jiebang_proto::v1::audit_service_client::AuditServiceClient;
use jiebang_proto::v1::challenge_service_client::ChallengeServiceClient;
use jiebang_proto::v1::event_service_client::EventServiceClient;
use jiebang_proto::v1::identity_service_client::IdentityServiceClient;
use jiebang_server::config::Secret;
use jiebang_server::{Config, RunningServer};
use sqlx::Connection;
use std::sync::Arc;
use std::time::Duration;
use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

pub const ADMIN_PASSWORD: &str = "bureau-admin-password";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the PostgreSQL used by tests lives. CI has it at 127.0.0.1:5432 with trust auth.
pub fn postgres_admin_url() -> String {
    std::env::var("JIEBANG_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn postgres_required() -> bool {
    std::env::var("JIEBANG_REQUIRE_POSTGRES").is_ok_and(|v| v == "1" || v == "true")
}

/// Adds `authorization: Bearer <token>` to every call.
#[derive(Clone)]
pub struct Bearer(Option<String>);

impl Bearer {
    pub fn token(token: &str) -> Self {
        Self(Some(token.to_owned()))
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(token) = &self.0 {
            let value: MetadataValue<_> = format!("Bearer {token}")
                .parse()
                .map_err(|_| Status::internal("bad token"))?;
            request.metadata_mut().insert("authorization", value);
        }
        Ok(request)
    }
}

pub type Authed = InterceptedService<Channel, Bearer>;

/// The database a test server uses, kept so a second server can share it.
#[derive(Clone)]
pub struct Database {
    pub url: String,
    /// The PostgreSQL database to drop at the end.
    pg_name: Option<String>,
    dir: Arc<tempfile::TempDir>,
}

impl Database {
    /// A fresh, empty database; `None` when PostgreSQL is asked for, is not reachable and is
    /// not required (the test then reports itself skipped).
    pub async fn fresh(backend: Backend) -> Option<Self> {
        let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        match backend {
            Backend::Sqlite => Some(Self {
                url: format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("jiebang.db").display()
                ),
                pg_name: None,
                dir,
            }),
            Backend::Postgres => {
                sqlx::any::install_default_drivers();
                let admin_url = postgres_admin_url();
                let mut conn = match sqlx::AnyConnection::connect(&admin_url).await {
                    Ok(conn) => conn,
                    Err(e) if !postgres_required() => {
                        eprintln!(
                            "SKIPPED: PostgreSQL not reachable at {admin_url} ({e}); \
                             set JIEBANG_REQUIRE_POSTGRES=1 to make this a failure"
                        );
                        return None;
                    }
                    Err(e) => panic!(
                        "PostgreSQL is required (JIEBANG_REQUIRE_POSTGRES) but not reachable at {admin_url}: {e}"
                    ),
                };
                let name = format!("jiebang_test_{}", uuid::Uuid::new_v4().simple());
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let base = admin_url
                    .rsplit_once('/')
                    .map_or(admin_url.as_str(), |(b, _)| b);
                Some(Self {
                    url: format!("{base}/{name}"),
                    pg_name: Some(name),
                    dir,
                })
            }
        }
    }

    pub async fn drop_database(&self) {
        if let Some(name) = &self.pg_name
            && let Ok(mut conn) = sqlx::AnyConnection::connect(&postgres_admin_url()).await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await;
        }
    }

    /// The test's own directory (documents are kept under it).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// A direct connection, for tests that tamper with stored rows as an attacker would.
    pub async fn connect(&self) -> sqlx::AnyConnection {
        sqlx::any::install_default_drivers();
        sqlx::AnyConnection::connect(&self.url)
            .await
            .expect("direct connection")
    }
}

/// One running server and the clients to drive it.
pub struct TestApp {
    pub db: Database,
    pub clock: ManualClock,
    /// The running server, until `stop` or a test that shuts it down itself takes it.
    server: std::sync::Mutex<Option<RunningServer>>,
    pub addr: std::net::SocketAddr,
    pub admin_token: String,
}

pub fn test_config(db: &Database) -> Config {
    Config {
        listen_addr: "127.0.0.1:0".parse().expect("addr"),
        database_url: Some(db.url.clone()),
        document_dir: Some(db.dir().join("documents")),
        bootstrap_admin_password: Some(Secret::new(ADMIN_PASSWORD)),
        min_application_window: Duration::from_secs(3600),
        // Tests move the clock by days; tokens outlive that unless a test checks expiry.
        token_ttl: Duration::from_secs(400 * 86_400),
        deadline_check_interval: Duration::from_millis(50),
        event_poll_interval: Duration::from_millis(50),
        drain_timeout: Duration::from_secs(10),
        db_max_connections: 8,
        // On for both backends, and long: a write that failed to move the cache on would show
        // as a stale read in whichever test reads after it.
        challenge_cache_ttl: Some(Duration::from_secs(600)),
        ..Config::default()
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Option<Self> {
        let db = Database::fresh(backend).await?;
        Some(Self::spawn_on(db, ManualClock::now_real()).await)
    }

    /// A server on an existing database (e.g. a second replica).
    pub async fn spawn_on(db: Database, clock: ManualClock) -> Self {
        let config = test_config(&db);
        Self::spawn_with(db, clock, config).await
    }

    /// A server with a configuration the test adjusted from [`test_config`].
    pub async fn spawn_with(db: Database, clock: ManualClock, config: Config) -> Self {
        // JIEBANG_TEST_LOG=debug (or any filter) shows the servers' logs of a test run.
        static LOGS: std::sync::Once = std::sync::Once::new();
        LOGS.call_once(|| {
            if let Ok(filter) = std::env::var("JIEBANG_TEST_LOG") {
                let _ = tracing_subscriber::fmt()
                    .with_env_filter(filter)
                    .with_test_writer()
                    .try_init();
            }
        });
        let server = jiebang_server::start(&config, Arc::new(clock.clone()))
            .await
            .expect("server starts");
        let addr = server.local_addr;
        let mut app = Self {
            db,
            clock,
            server: std::sync::Mutex::new(Some(server)),
            addr,
            admin_token: String::new(),
        };
        app.admin_token = app.login("admin", ADMIN_PASSWORD).await;
        app
    }

    /// Takes the server out, for tests that shut it down themselves (and for replicas, whose
    /// database belongs to another test app).
    pub fn take_server(&self) -> RunningServer {
        self.server
            .lock()
            .expect("lock")
            .take()
            .expect("server running")
    }

    /// Shuts the server down (if still running) and drops the test database.
    pub async fn stop(self) {
        let server = self.server.lock().expect("lock").take();
        if let Some(server) = server {
            server.shutdown().await;
        }
        self.db.drop_database().await;
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .expect("uri")
            .connect()
            .await
            .expect("connect")
    }

    pub async fn identity(&self, token: Option<&str>) -> IdentityServiceClient<Authed> {
        IdentityServiceClient::with_interceptor(
            self.channel().await,
            Bearer(token.map(str::to_owned)),
        )
    }

    pub async fn challenges(&self, token: Option<&str>) -> ChallengeServiceClient<Authed> {
        ChallengeServiceClient::with_interceptor(
            self.channel().await,
            Bearer(token.map(str::to_owned)),
        )
    }

    pub async fn audit(&self, token: Option<&str>) -> AuditServiceClient<Authed> {
        AuditServiceClient::with_interceptor(self.channel().await, Bearer(token.map(str::to_owned)))
    }

    /// The audit records of `chain`, in chain order, as `token`'s holder lists them.
    pub async fn audit_records(&self, token: &str, chain: &str) -> Vec<pb::AuditRecord> {
        self.audit(Some(token))
            .await
            .list_audit_records(pb::ListAuditRecordsRequest {
                chain: chain.to_owned(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .records
    }

    pub async fn events(&self, token: Option<&str>) -> EventServiceClient<Authed> {
        EventServiceClient::with_interceptor(self.channel().await, Bearer(token.map(str::to_owned)))
    }

    pub async fn login(&self, username: &str, password: &str) -> String {
        self.identity(None)
            .await
            .login(pb::LoginRequest {
                username: username.into(),
                password: password.into(),
            })
            .await
            .expect("login")
            .into_inner()
            .access_token
    }

    /// Creates an organisation as the admin and returns its resource name.
    pub async fn organization(&self, display_name: &str, org_type: pb::OrganizationType) -> String {
        self.identity(Some(&self.admin_token))
            .await
            .create_organization(pb::CreateOrganizationRequest {
                organization: Some(pb::Organization {
                    display_name: display_name.into(),
                    r#type: org_type as i32,
                    region: "330100".into(),
                    unified_social_credit_code: credit_code(display_name),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .expect("create organisation")
            .into_inner()
            .organization
            .expect("organisation")
            .name
    }

    /// Creates a user as the admin and returns a token for them.
    pub async fn user(&self, username: &str, role: pb::Role, organization: &str) -> String {
        let password = format!("{username}-password");
        self.identity(Some(&self.admin_token))
            .await
            .create_user(pb::CreateUserRequest {
                user: Some(pb::User {
                    username: username.into(),
                    display_name: username.into(),
                    role: role as i32,
                    organization: organization.into(),
                    ..Default::default()
                }),
                initial_password: password.clone(),
                request_id: String::new(),
            })
            .await
            .expect("create user");
        self.login(username, &password).await
    }
}

/// A valid unified social credit code derived from a seed, so each test organisation has its
/// own.
pub fn credit_code(seed: &str) -> String {
    let hash = seed.bytes().fold(1_469_598_103_934_665_603u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(1_099_511_628_211)
    });
    let digits = format!("{:015}", hash % 1_000_000_000_000_000);
    jiebang_domain::identity::complete_credit_code(&format!("91{digits}")).expect("credit code")
}

/// The gRPC code of a failed call, failing the test if the call succeeded.
pub fn code_of<T: std::fmt::Debug>(result: Result<T, Status>) -> Code {
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(status) => status.code(),
    }
}

/// The `google.rpc.ErrorInfo` reason of a failed call.
pub fn reason_of(status: &Status) -> String {
    use tonic_types::StatusExt;
    status
        .get_details_error_info()
        .map(|info| info.reason)
        .unwrap_or_default()
}

/// The fields named by `google.rpc.BadRequest` of a failed call, in order.
pub fn violated_fields(status: &Status) -> Vec<String> {
    use tonic_types::StatusExt;
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

/// Generates, for each listed `async fn name(app: &TestApp)`, one test on SQLite and one on
/// PostgreSQL (skipped with a message when PostgreSQL is unavailable and not required).
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::support::TestApp::spawn($crate::support::Backend::Sqlite)
                        .await
                        .expect("sqlite is always available");
                    super::$name(&app).await;
                    app.stop().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(app) = $crate::support::TestApp::spawn($crate::support::Backend::Postgres).await else {
                        return;
                    };
                    super::$name(&app).await;
                    app.stop().await;
                }
            )*
        }
    };
}

/// The people of a test round, each with an access token.
pub struct Cast {
    pub admin: String,
    /// A publisher of the porcelain company, which owns the challenges tests create.
    pub publisher: String,
    pub publisher_org: String,
    /// A publisher of another company.
    pub rival_publisher: String,
    pub team_member: String,
    pub expert: String,
}

impl TestApp {
    pub async fn cast(&self) -> Cast {
        let porcelain = self
            .organization("华联电瓷股份有限公司", pb::OrganizationType::Enterprise)
            .await;
        let compressors = self
            .organization("开山压缩机有限公司", pb::OrganizationType::Enterprise)
            .await;
        let university = self
            .organization("浙江工业大学", pb::OrganizationType::University)
            .await;
        let institute = self
            .organization("市电子电路研究院", pb::OrganizationType::Institute)
            .await;
        Cast {
            admin: self.admin_token.clone(),
            publisher: self
                .user("porcelain.pub", pb::Role::Publisher, &porcelain)
                .await,
            publisher_org: porcelain,
            rival_publisher: self
                .user("compressor.pub", pb::Role::Publisher, &compressors)
                .await,
            team_member: self
                .user("zjut.team", pb::Role::TeamMember, &university)
                .await,
            expert: self.user("li.expert", pb::Role::Expert, &institute).await,
        }
    }

    /// A DRAFT challenge of the cast's publisher.
    pub async fn draft(&self, cast: &Cast, title: &str) -> pb::Challenge {
        self.draft_of(cast, crate::samples::porcelain_challenge(title))
            .await
    }

    /// A DRAFT of the given content.
    pub async fn draft_of(&self, cast: &Cast, challenge: pb::Challenge) -> pb::Challenge {
        self.challenges(Some(&cast.publisher))
            .await
            .create_challenge(pb::CreateChallengeRequest {
                challenge: Some(challenge),
                request_id: String::new(),
            })
            .await
            .expect("create challenge")
            .into_inner()
            .challenge
            .expect("challenge")
    }

    /// A challenge submitted by its publisher and approved by the bureau.
    pub async fn approved(&self, cast: &Cast, title: &str) -> pb::Challenge {
        self.approved_of(cast, crate::samples::porcelain_challenge(title))
            .await
    }

    /// The given content, submitted and approved.
    pub async fn approved_of(&self, cast: &Cast, challenge: pb::Challenge) -> pb::Challenge {
        let draft = self.draft_of(cast, challenge).await;
        self.challenges(Some(&cast.publisher))
            .await
            .submit_challenge(pb::SubmitChallengeRequest {
                name: draft.name.clone(),
                ..Default::default()
            })
            .await
            .expect("submit");
        self.challenges(Some(&cast.admin))
            .await
            .approve_challenge(pb::ApproveChallengeRequest {
                name: draft.name,
                ..Default::default()
            })
            .await
            .expect("approve")
            .into_inner()
            .challenge
            .expect("challenge")
    }

    /// A challenge published now with a window of `window`.
    pub async fn published(&self, cast: &Cast, title: &str, window: Duration) -> pb::Challenge {
        self.published_of(cast, crate::samples::porcelain_challenge(title), window)
            .await
    }

    /// The given content, approved and published now with a window of `window`.
    pub async fn published_of(
        &self,
        cast: &Cast,
        challenge: pb::Challenge,
        window: Duration,
    ) -> pb::Challenge {
        let approved = self.approved_of(cast, challenge).await;
        let close = self.clock.now().plus(window);
        self.challenges(Some(&cast.publisher))
            .await
            .publish_challenge(pb::PublishChallengeRequest {
                name: approved.name,
                application_close_time: Some(jiebang_grpc::convert::to_proto_time(close)),
                ..Default::default()
            })
            .await
            .expect("publish")
            .into_inner()
            .challenge
            .expect("challenge")
    }
}

/// A research team: its organisation and its lead person.
pub struct Team {
    pub org: String,
    pub lead: String,
    /// `users/{id}` of the lead person.
    pub lead_name: String,
}

impl TestApp {
    /// A new team: an organisation of `org_type` in `region` and its lead person.
    pub async fn team(&self, short: &str, org_type: pb::OrganizationType, region: &str) -> Team {
        let org = self
            .identity(Some(&self.admin_token))
            .await
            .create_organization(pb::CreateOrganizationRequest {
                organization: Some(pb::Organization {
                    display_name: format!("{short}研究团队单位"),
                    r#type: org_type as i32,
                    region: region.into(),
                    unified_social_credit_code: credit_code(short),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .expect("create team organisation")
            .into_inner()
            .organization
            .expect("organisation")
            .name;
        let lead = self
            .user(&format!("{short}.lead"), pb::Role::TeamMember, &org)
            .await;
        let lead_name = self
            .identity(Some(&lead))
            .await
            .who_am_i(pb::WhoAmIRequest {})
            .await
            .expect("whoami")
            .into_inner()
            .user
            .expect("user")
            .name;
        Team {
            org,
            lead,
            lead_name,
        }
    }

    pub async fn applications(
        &self,
        token: Option<&str>,
    ) -> jiebang_proto::v1::application_service_client::ApplicationServiceClient<Authed> {
        jiebang_proto::v1::application_service_client::ApplicationServiceClient::with_interceptor(
            self.channel().await,
            Bearer(token.map(str::to_owned)),
        )
    }

    /// A DRAFT application of `team` to `challenge` that follows the sample challenge's rules.
    pub async fn draft_application(&self, team: &Team, challenge: &str) -> pb::Application {
        self.applications(Some(&team.lead))
            .await
            .create_application(pb::CreateApplicationRequest {
                parent: challenge.into(),
                application: Some(crate::samples::application_for(team)),
                request_id: String::new(),
            })
            .await
            .expect("create application")
            .into_inner()
            .application
            .expect("application")
    }

    /// Submits with a pledge signed now by the lead person.
    pub async fn submit_application(
        &self,
        team: &Team,
        name: &str,
    ) -> Result<pb::Application, Status> {
        self.applications(Some(&team.lead))
            .await
            .submit_application(crate::samples::submission(team, name, self.clock.now()))
            .await
            .map(|r| r.into_inner().application.expect("application"))
    }
}

impl TestApp {
    pub async fn review(
        &self,
        token: Option<&str>,
    ) -> jiebang_proto::v1::review_service_client::ReviewServiceClient<Authed> {
        jiebang_proto::v1::review_service_client::ReviewServiceClient::with_interceptor(
            self.channel().await,
            Bearer(token.map(str::to_owned)),
        )
    }

    /// An expert of `organization` in the pool, with the given fields and keywords; returns the
    /// expert's name and token.
    pub async fn expert(
        &self,
        username: &str,
        organization: &str,
        fields: &[&str],
        keywords: &[&str],
    ) -> (String, String) {
        let token = self.user(username, pb::Role::Expert, organization).await;
        let user = self
            .identity(Some(&token))
            .await
            .who_am_i(pb::WhoAmIRequest {})
            .await
            .expect("whoami")
            .into_inner()
            .user
            .expect("user")
            .name;
        let expert = self
            .review(Some(&self.admin_token))
            .await
            .create_expert(pb::CreateExpertRequest {
                expert: Some(pb::Expert {
                    user,
                    fields_of_expertise: fields.iter().map(|f| (*f).to_owned()).collect(),
                    keywords: keywords.iter().map(|k| (*k).to_owned()).collect(),
                    affiliation: organization.into(),
                    max_load: 10,
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .expect("create expert")
            .into_inner()
            .expert
            .expect("expert")
            .name;
        (expert, token)
    }
}

impl TestApp {
    pub async fn milestones(
        &self,
        token: Option<&str>,
    ) -> jiebang_proto::v1::milestone_service_client::MilestoneServiceClient<Authed> {
        jiebang_proto::v1::milestone_service_client::MilestoneServiceClient::with_interceptor(
            self.channel().await,
            Bearer(token.map(str::to_owned)),
        )
    }
}
