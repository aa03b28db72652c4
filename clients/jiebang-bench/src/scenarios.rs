//! The run: start the server, build the world, measure the ceilings and each scenario in
//! turn while watching the server process, then check the deadline burst's books.

use crate::floor;
use crate::measure::{self, Outcome};
use crate::report::{Burst, Results, Row};
use crate::server::{self, ServerProcess};
use crate::world::{self, Connections, Sizes, World};
use crate::{Args, Backend};
use anyhow::{Context, Result};
use jiebang_proto::v1 as pb;
use jiebang_proto::v1::application_service_client::ApplicationServiceClient;
use jiebang_proto::v1::challenge_service_client::ChallengeServiceClient;
use jiebang_proto::v1::review_service_client::ReviewServiceClient;
use sqlx::{Connection, Row as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// The rows of the database floors ([`floor`]).
pub const FLOOR_SHEET_ROW: &str = "floor: a score sheet's storage calls";
pub const FLOOR_APPLICATION_ROW: &str = "floor: an application's storage calls";

/// The server's pool size (JIEBANG_DB_MAX_CONNECTIONS, default 16): the database ceiling
/// gets the same.
fn server_pool(args: &Args) -> u32 {
    args.server_env
        .iter()
        .find(|(k, _)| k == "JIEBANG_DB_MAX_CONNECTIONS")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(16)
}

pub async fn run(args: &Args) -> Result<Results> {
    let dir = std::env::temp_dir().join(format!("jiebang-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let database = Database::create(args, &dir).await?;
    let binary = match &args.server_bin {
        Some(path) => path.clone(),
        None => server::default_binary()?,
    };
    eprintln!(
        "bench: {} on {:?}, data in {}",
        binary.display(),
        args.backend,
        dir.display()
    );
    let server = ServerProcess::start(&binary, &dir, &database.url, &args.server_env)?;
    let outcome = measure_all(args, &server, &database).await;
    server.stop();
    database.drop().await;
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

async fn measure_all(args: &Args, server: &ServerProcess, database: &Database) -> Result<Results> {
    let conns = Connections::open(&server.url, args.connections).await?;
    let setup_started = Instant::now();
    let world = world::build(
        &conns,
        Sizes {
            teams: args.burst_clients,
            sheets: args.sheets,
            submissions: args.submissions,
            burst: args.burst,
        },
        |what| eprintln!("bench: setting up {what}…"),
    )
    .await?;
    settle(database).await;
    let setup_seconds = setup_started.elapsed().as_secs_f64();
    let world = Arc::new(world);
    let watch = Watch {
        server: server.pid(),
        database: database.local_process(),
    };
    let c = args.concurrency;
    let mut rows = Vec::new();

    eprintln!("bench: gRPC ceiling (health check)…");
    let (token, cn) = (world.reader.clone(), conns.clone());
    let echo = observe(
        watch,
        measure::for_duration(c, args.duration, move |w, _| {
            let mut client = HealthClient::new(cn.authed(w, &token));
            async move {
                client
                    .check(HealthCheckRequest {
                        service: String::new(),
                    })
                    .await
                    .map(|_| ())
                    .map_err(|s| measure::kind_of(&s))
            }
        }),
    )
    .await;
    rows.push(Row::new(
        "ceiling: gRPC echo (health check)",
        c,
        &echo,
        None,
    ));

    eprintln!("bench: database ceiling (one-row INSERT transactions)…");
    let ceiling = InsertCeiling::open(&database.url, server_pool(args)).await?;
    let insert = observe(watch, ceiling.run(c, args.duration)).await;
    ceiling.close().await?;
    rows.push(Row::new(
        "ceiling: one-row INSERT transaction",
        c,
        &insert,
        None,
    ));
    // The ceiling just inserted tens of thousands of rows: on PostgreSQL autovacuum would
    // otherwise get to them during the reads.
    settle(database).await;

    eprintln!("bench: reads…");
    let get = observe(
        watch,
        measure::for_duration(c, args.duration, read(&conns, &world, Read::Get)),
    )
    .await;
    rows.push(Row::new(
        "read: get a challenge",
        c,
        &get,
        Some((&echo, "gRPC echo")),
    ));
    let list = observe(
        watch,
        measure::for_duration(c, args.duration, read(&conns, &world, Read::List)),
    )
    .await;
    rows.push(Row::new(
        "read: list a page of 20",
        c,
        &list,
        Some((&echo, "gRPC echo")),
    ));

    eprintln!("bench: reads at half the saturating rate…");
    let get_rate = get.0.throughput() / 2.0;
    let get_call = read(&conns, &world, Read::Get);
    let get_half = observe(
        watch,
        measure::at_rate(get_rate, args.duration, move |i| {
            get_call(usize::try_from(i).unwrap_or(0), i)
        }),
    )
    .await;
    rows.push(Row::at_rate(
        "read: get, at half that rate",
        get_rate,
        &get_half,
    ));
    let list_rate = list.0.throughput() / 2.0;
    let list_call = read(&conns, &world, Read::List);
    let list_half = observe(
        watch,
        measure::at_rate(list_rate, args.duration, move |i| {
            list_call(usize::try_from(i).unwrap_or(0), i)
        }),
    )
    .await;
    rows.push(Row::at_rate(
        "read: list, at half that rate",
        list_rate,
        &list_half,
    ));

    eprintln!("bench: writes: sealing score sheets…");
    let (w5, cn) = (world.clone(), conns.clone());
    let sheets = observe(
        watch,
        measure::each(c, (0..world.sheets.len()).collect(), move |w, &i| {
            let sheet = &w5.sheets[i];
            let mut client =
                ReviewServiceClient::new(cn.authed(w, &w5.expert_tokens[sheet.expert]));
            let request = pb::SubmitScoreSheetRequest {
                name: sheet.name.clone(),
                etag: sheet.etag.clone(),
                request_id: uuid::Uuid::new_v4().to_string(),
            };
            async move {
                client
                    .submit_score_sheet(request)
                    .await
                    .map(|_| ())
                    .map_err(|s| measure::kind_of(&s))
            }
        }),
    )
    .await;
    rows.push(Row::new(
        "write: submit a score sheet",
        c,
        &sheets,
        Some((&insert, "INSERT")),
    ));

    eprintln!("bench: writes: submitting applications…");
    let (w6, cn) = (world.clone(), conns.clone());
    let apps = observe(
        watch,
        measure::each(c, (0..world.submissions.len()).collect(), move |w, &i| {
            let draft = &w6.submissions[i];
            let team = &w6.teams[draft.team];
            let mut client = ApplicationServiceClient::new(cn.authed(w, &team.token));
            let request = world::submission(&team.user, &draft.name, w6.clock_offset);
            async move {
                client
                    .submit_application(request)
                    .await
                    .map(|_| ())
                    .map_err(|s| measure::kind_of(&s))
            }
        }),
    )
    .await;
    rows.push(Row::new(
        "write: submit an application",
        c,
        &apps,
        Some((&insert, "INSERT")),
    ));

    eprintln!("bench: the deadline burst…");
    let burst = deadline_burst(args, &conns, &world, watch).await?;
    rows.push(Row::new(
        "burst: submissions across the deadline",
        args.burst_clients,
        &burst,
        None,
    ));
    let books = burst_books(database, &world, &burst.0).await?;

    // The floors write from this process: on SQLite that makes the server's writer drop its
    // page cache, so they come after every scenario of the server. Their rows go beside the
    // scenarios they bound.
    eprintln!("bench: the database floor of a score sheet…");
    let floor = floor::Floor::sheets(
        &database.url,
        server_pool(args),
        c,
        &world.floor_sheets,
        &world.expert_users,
    );
    let sheet_floor = measure_floor(FLOOR_SHEET_ROW, floor.await?, c, watch, &insert).await;
    eprintln!("bench: the database floor of an application…");
    let floor = floor::Floor::applications(
        &database.url,
        server_pool(args),
        c,
        &world.floor_submissions,
        &world.teams,
    );
    let application_floor =
        measure_floor(FLOOR_APPLICATION_ROW, floor.await?, c, watch, &insert).await;
    for (floor, after) in [
        (sheet_floor, "write: submit a score sheet"),
        (application_floor, "write: submit an application"),
    ] {
        let at = rows
            .iter()
            .position(|r| r.name == after)
            .map_or(rows.len(), |i| i + 1);
        rows.insert(at, floor);
    }

    Ok(Results::new(args, setup_seconds, rows, books))
}

#[derive(Clone, Copy)]
enum Read {
    /// GetChallenge of a published challenge.
    Get,
    /// ListChallenges, a page of 20.
    List,
}

/// One read call as the world's reader, on connection `worker` (spread over the connections).
fn read(
    conns: &Connections,
    world: &Arc<World>,
    kind: Read,
) -> impl Fn(
    usize,
    u64,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send>>
+ Send
+ Sync
+ 'static {
    let (conns, world) = (conns.clone(), world.clone());
    move |worker, _| {
        let mut client = ChallengeServiceClient::new(conns.authed(worker, &world.reader));
        let name = world.read_target.clone();
        Box::pin(async move {
            let answer = match kind {
                Read::Get => client
                    .get_challenge(pb::GetChallengeRequest { name })
                    .await
                    .map(|_| ()),
                Read::List => client
                    .list_challenges(pb::ListChallengesRequest {
                        page_size: 20,
                        ..Default::default()
                    })
                    .await
                    .map(|_| ()),
            };
            answer.map_err(|s| measure::kind_of(&s))
        })
    }
}

/// Runs a prepared floor and closes it: its row, compared with the insert ceiling.
async fn measure_floor(
    name: &str,
    floor: floor::Floor,
    concurrency: usize,
    watch: Watch,
    insert: &(Outcome, Observed),
) -> Row {
    let outcome = observe(watch, floor.run(concurrency)).await;
    floor.close().await;
    Row::new(name, concurrency, &outcome, Some((insert, "INSERT")))
}

/// The processes a scenario is watched in.
#[derive(Debug, Clone, Copy)]
struct Watch {
    server: u32,
    /// The name of the database's processes, when it runs on this machine in its own.
    database: Option<&'static str>,
}

/// What the server process did during `work` (CPU share and peak RSS), and the CPU time every
/// part of the machine spent on it.
pub struct Observed {
    pub cpu_percent: Option<f64>,
    pub peak_rss_mib: Option<f64>,
    pub cpu: Option<server::CpuSpent>,
}

async fn observe<T>(watch: Watch, work: impl std::future::Future<Output = T>) -> (T, Observed) {
    let pid = watch.server;
    let reset = server::reset_peak_rss(pid);
    let before = server::CpuTimes::now(pid, watch.database);
    let started = Instant::now();
    let value = work.await;
    let wall = started.elapsed().as_secs_f64();
    let after = server::CpuTimes::now(pid, watch.database);
    let cpu = before.zip(after).map(|(b, a)| a.since(&b));
    let peak_rss_mib = if reset {
        server::peak_rss_mib(pid)
    } else {
        None
    };
    (
        value,
        Observed {
            cpu_percent: cpu.map(|c| 100.0 * c.server / wall.max(1e-9)),
            peak_rss_mib,
            cpu,
        },
    )
}

/// The database ceiling's store and table. Opening and dropping them is outside what is
/// timed and watched: a pool's connections closing hand their backends' CPU time to the
/// postmaster, where it can no longer be told apart.
struct InsertCeiling {
    store: jiebang_storage::Store,
}

impl InsertCeiling {
    async fn open(url: &str, pool: u32) -> Result<Self> {
        let mut options = jiebang_storage::StoreOptions::new(url);
        options.max_connections = pool;
        let store = jiebang_storage::Store::open(&options)
            .await
            .context("open the server's database for the insert ceiling")?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS bench_ceiling (id TEXT PRIMARY KEY, body TEXT NOT NULL)",
        )
        .execute(store.pool())
        .await?;
        Ok(Self { store })
    }

    /// One-row INSERT transactions, `concurrency` at a time, for `duration`.
    async fn run(&self, concurrency: usize, duration: Duration) -> Outcome {
        let body: Arc<str> = "x".repeat(200).into();
        let s = self.store.clone();
        measure::for_duration(concurrency, duration, move |_, _| {
            let (store, body) = (s.clone(), body.clone());
            async move {
                let mut tx = store.begin().await.map_err(|e| e.to_string())?;
                sqlx::query("INSERT INTO bench_ceiling (id, body) VALUES ($1, $2)")
                    .bind(uuid::Uuid::new_v4().to_string())
                    .bind(body.to_string())
                    .execute(tx.conn())
                    .await
                    .map_err(|e| e.to_string())?;
                tx.commit().await.map_err(|e| e.to_string())
            }
        })
        .await
    }

    async fn close(self) -> Result<()> {
        sqlx::query("DROP TABLE bench_ceiling")
            .execute(self.store.pool())
            .await?;
        self.store.close().await;
        Ok(())
    }
}

/// Every burst client submits as fast as it is answered; when half the submissions have
/// been answered, the deadline passes (the demo clock jumps past it).
async fn deadline_burst(
    args: &Args,
    conns: &Connections,
    world: &Arc<World>,
    watch: Watch,
) -> Result<(Outcome, Observed)> {
    let answered = Arc::new(AtomicUsize::new(0));
    let half = world.burst.len() / 2;
    let (w, cn) = (world.clone(), conns.clone());
    Ok(observe(
        watch,
        measure::each(
            args.burst_clients,
            (0..world.burst.len()).collect(),
            move |worker, &i| {
                let draft = &w.burst[i];
                let team = &w.teams[draft.team];
                let mut client = ApplicationServiceClient::new(cn.authed(worker, &team.token));
                let request = world::submission(&team.user, &draft.name, w.clock_offset);
                let (answered, cn, admin) = (answered.clone(), cn.clone(), w.admin.clone());
                async move {
                    let result = client.submit_application(request).await;
                    if answered.fetch_add(1, Ordering::SeqCst) + 1 == half {
                        // Not awaited: this call's latency is the submission's alone.
                        tokio::spawn(async move { world::advance(&cn, &admin, 2 * 86_400).await });
                    }
                    result.map(|_| ()).map_err(|s| measure::kind_of(&s))
                }
            },
        ),
    )
    .await)
}

/// What the database holds after the burst, against what the clients were told.
async fn burst_books(database: &Database, world: &World, outcome: &Outcome) -> Result<Burst> {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&database.url).await?;
    let (mut submitted, mut drafts, mut audited, mut evented, mut late) =
        (0i64, 0i64, 0i64, 0i64, 0i64);
    for challenge in &world.burst_challenges {
        let id = challenge.trim_start_matches("challenges/");
        let count = |sql: &'static str| sqlx::query(sql).bind(id.to_owned());
        submitted +=
            count("SELECT COUNT(*) FROM applications WHERE challenge_id = $1 AND state <> 'DRAFT'")
                .fetch_one(&mut conn)
                .await?
                .try_get::<i64, _>(0)?;
        drafts +=
            count("SELECT COUNT(*) FROM applications WHERE challenge_id = $1 AND state = 'DRAFT'")
                .fetch_one(&mut conn)
                .await?
                .try_get::<i64, _>(0)?;
        late += count(
            "SELECT COUNT(*) FROM applications a JOIN challenges c ON c.id = a.challenge_id \
             WHERE a.challenge_id = $1 AND a.state <> 'DRAFT' AND a.submitted_at > c.close_at",
        )
        .fetch_one(&mut conn)
        .await?
        .try_get::<i64, _>(0)?;
        let prefix = format!("{challenge}/applications/%");
        audited += sqlx::query(
            "SELECT COUNT(*) FROM audit_records WHERE action = 'application.submitted' AND resource LIKE $1",
        )
        .bind(prefix.clone())
        .fetch_one(&mut conn)
        .await?
        .try_get::<i64, _>(0)?;
        evented +=
            sqlx::query("SELECT COUNT(*) FROM events WHERE event_type = $1 AND resource LIKE $2")
                .bind(pb::EventType::ApplicationSubmitted as i32)
                .bind(prefix)
                .fetch_one(&mut conn)
                .await?
                .try_get::<i64, _>(0)?;
    }
    Ok(Burst::new(
        outcome, submitted, drafts, audited, evented, late,
    ))
}

/// Lets the database finish what bulk writes left it to do (PostgreSQL's checkpoint and
/// autovacuum of a table that just grew by thousands of rows, SQLite's WAL checkpoint), so it
/// does not do it on the shared cores in the middle of a measurement.
/// Best effort: a failure only means the measurement may be noisier.
async fn settle(database: &Database) {
    let statements: &[&str] = if database.postgres.is_some() {
        &["CHECKPOINT", "VACUUM ANALYZE"]
    } else {
        &["PRAGMA wal_checkpoint(TRUNCATE)"]
    };
    sqlx::any::install_default_drivers();
    let Ok(mut conn) = sqlx::AnyConnection::connect(&database.url).await else {
        return;
    };
    for sql in statements {
        if let Err(e) = sqlx::raw_sql(sqlx::AssertSqlSafe(*sql))
            .execute(&mut conn)
            .await
        {
            eprintln!("bench: {sql} before measuring failed (measuring anyway): {e}");
        }
    }
    let _ = conn.close().await;
}

/// The fresh database the server runs on.
pub struct Database {
    pub url: String,
    /// The PostgreSQL database to drop at the end.
    postgres: Option<(String, String)>,
}

impl Database {
    pub async fn create(args: &Args, dir: &std::path::Path) -> Result<Self> {
        match args.backend {
            Backend::Sqlite => Ok(Self {
                url: format!("sqlite://{}?mode=rwc", dir.join("jiebang.db").display()),
                postgres: None,
            }),
            Backend::Postgres => {
                sqlx::any::install_default_drivers();
                let mut conn = sqlx::AnyConnection::connect(&args.postgres_url)
                    .await
                    .with_context(|| format!("cannot reach PostgreSQL at {}", args.postgres_url))?;
                let name = format!("jiebang_bench_{}", uuid::Uuid::new_v4().simple());
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await?;
                let base = args
                    .postgres_url
                    .rsplit_once('/')
                    .map_or(args.postgres_url.as_str(), |(b, _)| b);
                Ok(Self {
                    url: format!("{base}/{name}"),
                    postgres: Some((args.postgres_url.clone(), name)),
                })
            }
        }
    }

    /// PostgreSQL's processes are counted when it runs on this machine.
    fn local_process(&self) -> Option<&'static str> {
        let (admin, _) = self.postgres.as_ref()?;
        let host = admin.split_once("://")?.1.split(['/', '?']).next()?;
        let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
        let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
        matches!(host, "127.0.0.1" | "localhost" | "[::1]" | "").then_some("postgres")
    }

    pub async fn drop(&self) {
        if let Some((admin, name)) = &self.postgres
            && let Ok(mut conn) = sqlx::AnyConnection::connect(admin).await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await;
        }
    }
}
