//! Opening the database, migrating it, and transactions.

use crate::StoreError;
use crate::audit;
use crate::batch::{Batch, Expect, Queue};
use crate::cache_sync;
use crate::change::Change;
use crate::group_commit::{Member, Writer};
use crate::read_cache::ChallengeCaches;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Any, AnyPool, Executor, SqlSafeStr};
use std::borrow::Cow;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// Which SQL dialect the pool speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The dialect of a connection taken from one of the store's pools.
    pub fn of(conn: &sqlx::AnyConnection) -> Self {
        if conn.backend_name() == <sqlx::Postgres as sqlx::Database>::NAME {
            Self::Postgres
        } else {
            Self::Sqlite
        }
    }
}

/// SQLite's durability setting (`PRAGMA synchronous`). FULL survives power loss; NORMAL in WAL
/// mode may lose the last commits on power loss (never on a process crash) and commits faster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    #[default]
    Full,
    Normal,
}

#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// `sqlite://path/to/file.db` or `postgres://user@host/db`.
    pub url: String,
    pub max_connections: u32,
    pub sqlite_synchronous: Synchronous,
    /// How long SQLite waits for the write lock before giving up (`busy_timeout`).
    pub sqlite_busy_timeout: Duration,
    pub acquire_timeout: Duration,
    /// How long challenge reads (GetChallenge, and ListChallenges pages not filtered on the
    /// deadline) may be served from this process's cache without asking the database
    /// ([`crate::read_cache`]); zero never. This process's own writes are seen at
    /// once; on PostgreSQL other processes' as soon as their notice arrives
    /// ([`crate::cache_sync`]), on SQLite once the entry expires.
    pub challenge_cache_ttl: Duration,
}

impl StoreOptions {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 16,
            sqlite_synchronous: Synchronous::Full,
            sqlite_busy_timeout: Duration::from_secs(10),
            acquire_timeout: Duration::from_secs(10),
            challenge_cache_ttl: Duration::ZERO,
        }
    }
}

/// Settings every new connection gets.
fn prepare(
    conn: &mut sqlx::AnyConnection,
    dialect: Dialect,
    synchronous: Synchronous,
    busy_ms: u128,
) -> futures::future::BoxFuture<'_, Result<(), sqlx::Error>> {
    Box::pin(async move {
        if dialect == Dialect::Sqlite {
            // WAL lets readers run beside the one writer and commits far faster than the
            // rollback journal sqlx would otherwise leave in place.
            conn.execute("PRAGMA journal_mode = WAL").await?;
            conn.execute(match synchronous {
                Synchronous::Full => "PRAGMA synchronous = FULL",
                Synchronous::Normal => "PRAGMA synchronous = NORMAL",
            })
            .await?;
            conn.execute("PRAGMA foreign_keys = ON").await?;
            conn.execute(sqlx::AssertSqlSafe(format!(
                "PRAGMA busy_timeout = {busy_ms}"
            )))
            .await?;
        }
        Ok(())
    })
}

/// The SQLite writer's page cache (`cache_size`, in KiB when negative): 32 MiB rather than
/// SQLite's 2. perf while applications were submitted: the writer re-read pages of the
/// applications and their indexes through `pread` (8% of the server's samples) because the
/// working set of a round's drafts outgrew 2 MiB. The readers keep the default: a challenge
/// read is mostly served from the challenge cache.
const WRITER_CACHE: &str = "PRAGMA cache_size = -32768";

/// A handle to the database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
    /// SQLite admits one writer at a time. Writers of this process queue here, in order,
    /// instead of in SQLite's busy handler, which sleeps and polls (1, 2, 5 … 100 ms) and
    /// turned a burst of writes into seconds of latency and a fraction of the throughput;
    /// and those queued together commit together ([`crate::group_commit`]).
    sqlite_writer: Option<Arc<Writer>>,
    challenge_cache: Arc<ChallengeCaches>,
    /// PostgreSQL with a cache: the task hearing of other replicas' challenge writes.
    cache_sync: Option<Arc<cache_sync::Listening>>,
    chain_heads: Arc<audit::ChainHeads>,
}

impl Store {
    /// Connects, creating the SQLite file if needed, and runs pending migrations.
    #[tracing::instrument(skip_all, fields(dialect))]
    pub async fn open(options: &StoreOptions) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let dialect =
            if options.url.starts_with("postgres:") || options.url.starts_with("postgresql:") {
                Dialect::Postgres
            } else if options.url.starts_with("sqlite:") {
                Dialect::Sqlite
            } else {
                return Err(StoreError::Database(sqlx::Error::Configuration(
                    "database URL must start with sqlite: or postgres:".into(),
                )));
            };
        tracing::Span::current().record("dialect", tracing::field::debug(dialect));
        let connect = AnyConnectOptions::from_str(&options.url)?;
        let synchronous = options.sqlite_synchronous;
        let busy_ms = options.sqlite_busy_timeout.as_millis();
        let pool = AnyPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            // An embedded database has no connection to lose; pinging it before each use is
            // one more hand-off to its thread.
            .test_before_acquire(dialect == Dialect::Postgres)
            .after_connect(move |conn, _meta| prepare(conn, dialect, synchronous, busy_ms))
            .connect_with(connect.clone())
            .await?;
        // SQLite: every write of this process goes through one connection. A connection's
        // page cache is dropped whenever another connection has written since it last ran, so
        // writes spread over the pool re-read every page they touch (perf: pread and
        // pcache1TruncateUnsafe took a quarter of the server's time sealing score sheets);
        // one writer keeps its pages. It is kept open for the life of the store.
        let chain_heads = Arc::<audit::ChainHeads>::default();
        let sqlite_writer = match dialect {
            Dialect::Sqlite => Some(Writer::new(
                AnyPoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .acquire_timeout(options.acquire_timeout)
                    .test_before_acquire(false)
                    .after_connect(move |conn, _meta| {
                        Box::pin(async move {
                            prepare(conn, dialect, synchronous, busy_ms).await?;
                            conn.execute(WRITER_CACHE).await?;
                            Ok(())
                        })
                    })
                    .connect_with(connect)
                    .await?,
                chain_heads.clone(),
            )),
            Dialect::Postgres => None,
        };
        // SQLite is one process's database: its own writes are all there are to hear of.
        // PostgreSQL's replicas hear of each other's once listening (crate::cache_sync).
        let challenge_cache = Arc::new(ChallengeCaches::new(
            options.challenge_cache_ttl,
            dialect == Dialect::Sqlite,
        ));
        let cache_sync = (dialect == Dialect::Postgres && !options.challenge_cache_ttl.is_zero())
            .then(|| {
                Arc::new(cache_sync::spawn(
                    options.url.clone(),
                    challenge_cache.clone(),
                ))
            });
        let store = Self {
            pool,
            dialect,
            sqlite_writer,
            challenge_cache,
            cache_sync,
            chain_heads,
        };
        store.migrate().await?;
        Ok(store)
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Challenges read by id ([`crate::challenges::get_cached`]) and listing pages.
    pub fn challenge_cache(&self) -> &ChallengeCaches {
        &self.challenge_cache
    }

    /// Applies the migrations of this dialect that have not run yet. On PostgreSQL sqlx takes
    /// an advisory lock, so replicas starting together do not race.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        migrator(self.dialect).run(&self.pool).await?;
        Ok(())
    }

    /// Starts a write transaction. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`): a deferred transaction that reads and then writes can fail with
    /// SQLITE_BUSY instead of waiting.
    #[tracing::instrument(name = "db begin", skip_all, level = "info")]
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        let inner = match &self.sqlite_writer {
            Some(writer) => TxConn::Sqlite(writer.begin().await?),
            None => TxConn::Postgres(self.pool.begin().await?),
        };
        Ok(Tx {
            inner,
            dialect: self.dialect,
            challenge_cache: self.challenge_cache.clone(),
            wrote_challenges: false,
            chain_heads: self.chain_heads.clone(),
            appended: Vec::new(),
            hinted: Vec::new(),
            batch: Batch::default(),
        })
    }

    /// Closes every connection, waiting for those in use to be returned.
    pub async fn close(&self) {
        if let Some(listening) = &self.cache_sync {
            listening.stop();
        }
        if let Some(writer) = &self.sqlite_writer {
            writer.close().await;
        }
        self.pool.close().await;
    }
}

/// A write transaction. Dropped without [`Tx::finish`] or [`Tx::commit`], it rolls back.
pub struct Tx {
    inner: TxConn,
    pub(crate) dialect: Dialect,
    challenge_cache: Arc<ChallengeCaches>,
    /// A challenge was written: the cache moves on when this commits.
    wrote_challenges: bool,
    chain_heads: Arc<audit::ChainHeads>,
    /// The audit chain heads this transaction moved, hints once it commits.
    appended: Vec<(String, i64, String)>,
    /// Chains whose head this transaction took from the process's hints: forgotten if a
    /// write fails, since the hint may be why.
    hinted: Vec<String>,
    /// Writes not yet sent ([`crate::batch`]).
    batch: Batch,
}

enum TxConn {
    /// A member of the writer's group (see [`crate::group_commit`]).
    Sqlite(Member),
    Postgres(sqlx::Transaction<'static, Any>),
}

impl TxConn {
    fn conn(&mut self) -> &mut sqlx::AnyConnection {
        match self {
            Self::Sqlite(member) => member.conn(),
            Self::Postgres(tx) => tx,
        }
    }
}

impl Tx {
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The connection, for reads and immediate writes. Writes queued with [`Tx::queue`] must
    /// be sent first ([`Tx::flush`]), or the read would not see them.
    pub fn conn(&mut self) -> &mut sqlx::AnyConnection {
        debug_assert!(
            self.batch.is_empty(),
            "a read or write ran while writes were queued; flush them first"
        );
        self.inner.conn()
    }

    /// The connection for a read that queued writes cannot affect (see `audit::read_head`).
    pub(crate) fn conn_beside_queued(&mut self) -> &mut sqlx::AnyConnection {
        self.inner.conn()
    }

    /// Queues a write to be sent with the others at the next [`Tx::flush`], [`Tx::finish`] or
    /// [`Tx::commit`] (see [`crate::batch`]); bind its `$1…$n` on the returned handle.
    pub fn queue(&mut self, sql: &'static str, expect: Expect) -> Queue<'_> {
        self.batch.push(sql, expect)
    }

    /// Sends the queued writes, in one round trip.
    pub async fn flush(&mut self) -> Result<(), StoreError> {
        let batch = std::mem::take(&mut self.batch);
        let sent = batch
            .run(self.inner.conn(), self.dialect)
            .await
            .map_err(audit::conflict_on_chain);
        if sent.is_err() {
            self.chain_heads.forget(&self.hinted);
        }
        sent
    }

    /// Appends the audit record, the outbox event and the idempotency record of `change`,
    /// then commits: all of it, with the caller's row changes, or nothing. The queued writes
    /// and these go to the database together.
    #[tracing::instrument(name = "db commit", skip_all, level = "info", fields(action = change.action))]
    pub async fn finish(mut self, change: &Change) -> Result<(), StoreError> {
        self.queue_record(change).await?;
        self.commit().await
    }

    /// Writes what [`Tx::finish`] writes, without committing yet.
    pub async fn record(&mut self, change: &Change) -> Result<(), StoreError> {
        self.queue_record(change).await?;
        self.flush().await
    }

    async fn queue_record(&mut self, change: &Change) -> Result<(), StoreError> {
        audit::queue_append(self, change).await?;
        crate::events::queue_insert(self, change);
        if let Some(record) = &change.idempotency {
            self.queue(
                "INSERT INTO idempotency_keys \
                 (caller, request_id, method, request_digest, response, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                Expect::Any,
            )
            .bind(&record.caller)
            .bind(&record.request_id)
            .bind(record.method)
            .bind(&record.request_digest)
            .bind(record.response.clone())
            .bind(change.at.micros());
        }
        Ok(())
    }

    /// Sends any queued writes and commits. Without [`Tx::finish`] there is no audit record:
    /// for writes that are not state changes, e.g. bootstrap secrets.
    pub async fn commit(mut self) -> Result<(), StoreError> {
        // SQLite: the member's savepoint ends with its last writes, in the same round trip.
        let release = matches!(self.inner, TxConn::Sqlite(_)) && !self.batch.is_empty();
        if release {
            self.queue(Member::RELEASE, Expect::Any);
        }
        let sent = self.flush().await;
        // A statement that fails stops the script before the release; a write that ran but
        // moved the wrong rows does not.
        let ran_to_the_end = !matches!(
            sent,
            Err(StoreError::UniqueViolation { .. } | StoreError::Database(_))
        );
        if let TxConn::Sqlite(member) = &mut self.inner
            && release
            && ran_to_the_end
        {
            member.released();
        }
        sent?;
        match self.inner {
            // The group's COMMIT records the heads its members moved.
            TxConn::Sqlite(member) => member.commit(&self.appended).await?,
            TxConn::Postgres(tx) => {
                tx.commit().await?;
                self.chain_heads.committed(self.appended);
            }
        }
        if self.wrote_challenges {
            self.challenge_cache.invalidate();
        }
        Ok(())
    }

    pub(crate) fn chain_heads(&self) -> &audit::ChainHeads {
        &self.chain_heads
    }

    /// The head this transaction last moved `chain` to, if it did; on SQLite, else the head
    /// an earlier member of its group moved it to (the same transaction, uncommitted).
    pub(crate) fn appended_head(&self, chain: &str) -> Option<(i64, String)> {
        self.appended
            .iter()
            .rev()
            .find(|(c, _, _)| c == chain)
            .map(|(_, seq, hash)| (*seq, hash.clone()))
            .or_else(|| match &self.inner {
                TxConn::Sqlite(member) => member.group_head(chain),
                TxConn::Postgres(_) => None,
            })
    }

    /// Records that this transaction's append to `chain` starts from the process's hint.
    pub(crate) fn hinted(&mut self, chain: String) {
        self.hinted.push(chain);
    }

    /// Records that this transaction moved `chain`'s head (see [`audit::ChainHeads`]).
    pub(crate) fn appended(&mut self, chain: String, seq: i64, hash: String) {
        self.appended.push((chain, seq, hash));
    }

    /// Marks that this transaction writes a challenge (see [`crate::read_cache`]); on
    /// PostgreSQL, other replicas hear of it when it commits ([`crate::cache_sync`]).
    pub(crate) async fn wrote_challenges(&mut self) -> Result<(), StoreError> {
        if !self.wrote_challenges && self.dialect == Dialect::Postgres {
            self.conn().execute(cache_sync::NOTIFY).await?;
        }
        self.wrote_challenges = true;
        Ok(())
    }
}

/// `(version, description, SQL)` of each migration file of a dialect, embedded at build time.
macro_rules! migrations {
    ($dialect:literal: $($version:literal $file:literal),* $(,)?) => {
        &[$((
            $version,
            $file,
            include_str!(concat!("../migrations/", $dialect, "/", $file, ".sql")),
        )),*]
    };
}

const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = migrations!("sqlite":
    1 "0001_foundation",
    2 "0002_applications",
    3 "0003_review",
    4 "0004_scoring",
    5 "0005_notice",
    6 "0006_milestones",
    7 "0007_reports",
    8 "0008_acceptance",
    9 "0009_project_endings",
    10 "0010_ranking_reads",
    11 "0011_ranking_columns",
);

const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = migrations!("postgres":
    1 "0001_foundation",
    2 "0002_applications",
    3 "0003_review",
    4 "0004_scoring",
    5 "0005_notice",
    6 "0006_milestones",
    7 "0007_reports",
    8 "0008_acceptance",
    9 "0009_project_endings",
    10 "0010_ranking_reads",
    11 "0011_ranking_columns",
);

fn migrator(dialect: Dialect) -> Migrator {
    let sources: &[(i64, &str, &'static str)] = match dialect {
        Dialect::Sqlite => SQLITE_MIGRATIONS,
        Dialect::Postgres => POSTGRES_MIGRATIONS,
    };
    Migrator::with_migrations(
        sources
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    sqlx::AssertSqlSafe(*sql).into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}
