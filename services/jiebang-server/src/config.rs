//! Server configuration: defaults, then an optional TOML file, then `JIEBANG_*` environment
//! variables (each overriding the one before). Durations are written like `30s`, `12h`, `7d`.

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A secret that never prints: `Debug` shows `***`, so configuration dumps and logs cannot
/// leak it.
#[derive(Clone, Deserialize, Default)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SqliteSynchronous {
    #[default]
    Full,
    Normal,
}

/// Every setting, with its environment variable in the comment.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Config {
    /// `JIEBANG_LISTEN_ADDR`: where gRPC, gRPC-Web, health and reflection are served.
    pub listen_addr: SocketAddr,
    /// `JIEBANG_DATABASE_URL`: `postgres://…` for PostgreSQL; unset means the SQLite file
    /// `jiebang.db` in the data directory.
    pub database_url: Option<String>,
    /// `JIEBANG_DATA_DIR`: the SQLite database (and, later, documents) live here.
    pub data_dir: PathBuf,
    /// `JIEBANG_DOCUMENT_DIR`: where uploaded documents are kept; unset means `documents/` in
    /// the data directory. Replicas must share it.
    pub document_dir: Option<PathBuf>,
    /// `JIEBANG_MAX_DOCUMENT_BYTES`: the largest document accepted.
    pub max_document_bytes: i64,
    /// `JIEBANG_NOTICE_WORKING_DAYS`: length of the public notice (公示) in working days.
    pub notice_working_days: u32,
    /// `JIEBANG_ACCEPTANCE_REEXAMINE_BELOW_PERCENT`: below this share of indicators met, a
    /// milestone cannot be plainly accepted (DOMAIN.md: 90).
    pub acceptance_reexamine_below_percent: u32,
    /// `JIEBANG_ACCEPTANCE_FAIL_BELOW_PERCENT`: below this share, it fails (DOMAIN.md: 80).
    pub acceptance_fail_below_percent: u32,
    /// `JIEBANG_ACCEPTANCE_MAX_MONTHS_LATE`: months past due without a report before a
    /// milestone may fail on lateness (DOMAIN.md: 6).
    pub acceptance_max_months_late: u32,
    /// `JIEBANG_ACCEPTANCE_REWORK_MONTHS`: the one rework is due within this many months (3).
    pub acceptance_rework_months: u32,
    /// `JIEBANG_HOLIDAYS`: public holidays excluded from working days, `YYYY-MM-DD,…`.
    pub holidays: String,
    /// `JIEBANG_WORKING_WEEKENDS`: weekend days that are working days (调休), `YYYY-MM-DD,…`.
    pub working_weekends: String,
    /// `JIEBANG_SQLITE_SYNCHRONOUS`: `full` (default; survives power loss) or `normal`.
    pub sqlite_synchronous: SqliteSynchronous,
    /// `JIEBANG_DB_MAX_CONNECTIONS`: size of the connection pool.
    pub db_max_connections: u32,
    /// `JIEBANG_BOOTSTRAP_ADMIN_PASSWORD`: the first `admin` password; unset means generate one
    /// and print it once.
    pub bootstrap_admin_password: Option<Secret>,
    /// `JIEBANG_TOKEN_TTL`: how long an access token stays valid.
    #[serde(with = "humantime_serde")]
    pub token_ttl: Duration,
    /// `JIEBANG_DRAIN_TIMEOUT`: on SIGTERM/ctrl-c, how long in-flight calls may finish.
    #[serde(with = "humantime_serde")]
    pub drain_timeout: Duration,
    /// `JIEBANG_REQUEST_TIMEOUT`: the longest a unary call may take.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// `JIEBANG_MAX_MESSAGE_BYTES`: the largest message accepted or sent.
    pub max_message_bytes: usize,
    /// `JIEBANG_MIN_APPLICATION_WINDOW`: the shortest application window a challenge may be
    /// published with.
    #[serde(with = "humantime_serde")]
    pub min_application_window: Duration,
    /// `JIEBANG_DEADLINE_CHECK_INTERVAL`: how often passed deadlines are recorded as closed.
    #[serde(with = "humantime_serde")]
    pub deadline_check_interval: Duration,
    /// `JIEBANG_EVENT_POLL_INTERVAL`: how often event streams look for events of other replicas.
    #[serde(with = "humantime_serde")]
    pub event_poll_interval: Duration,
    /// `JIEBANG_CHALLENGE_CACHE_TTL`: how long GetChallenge and ListChallenges (pages that do
    /// not filter on the deadline) may serve challenges from this process's memory. The
    /// process's own writes are seen at once; on PostgreSQL another replica's as soon as its
    /// commit's notice arrives (each replica listens for them), and this (twice it at worst)
    /// only bounds how stale a read can be should the notices stop unnoticed. `0s` turns it
    /// off. Unset: `1s`.
    #[serde(with = "humantime_serde")]
    pub challenge_cache_ttl: Option<Duration>,
    /// `JIEBANG_LOG_FORMAT`: `human` or `json`.
    pub log_format: LogFormat,
    /// `JIEBANG_LOG`: a tracing filter such as `info` or `jiebang=debug,sqlx=warn`.
    pub log: String,
    /// `JIEBANG_METRICS_ADDR`: where Prometheus scrapes `/metrics`; unset means no metrics
    /// endpoint.
    pub metrics_addr: Option<SocketAddr>,
    /// `JIEBANG_DEMO_CLOCK`: run on a clock the bureau can move forward (`ClockService`), for
    /// demos and end-to-end tests. Never in production.
    pub demo_clock: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 50051)),
            database_url: None,
            data_dir: PathBuf::from("."),
            document_dir: None,
            max_document_bytes: 50 * 1024 * 1024,
            notice_working_days: 5,
            acceptance_reexamine_below_percent: 90,
            acceptance_fail_below_percent: 80,
            acceptance_max_months_late: 6,
            acceptance_rework_months: 3,
            holidays: String::new(),
            working_weekends: String::new(),
            sqlite_synchronous: SqliteSynchronous::Full,
            db_max_connections: 16,
            bootstrap_admin_password: None,
            token_ttl: Duration::from_secs(12 * 3600),
            drain_timeout: Duration::from_secs(20),
            request_timeout: Duration::from_secs(30),
            max_message_bytes: 4 * 1024 * 1024,
            min_application_window: Duration::from_secs(24 * 3600),
            deadline_check_interval: Duration::from_secs(1),
            event_poll_interval: Duration::from_millis(200),
            challenge_cache_ttl: None,
            log_format: LogFormat::Human,
            log: "info".into(),
            metrics_addr: None,
            demo_clock: false,
        }
    }
}

impl Config {
    /// Defaults, then `file` if given, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, Box<figment::Error>> {
        let mut figment = Figment::new();
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment
            .merge(Env::prefixed("JIEBANG_"))
            .extract()
            .map_err(Box::new)
    }

    /// The document directory in effect.
    pub fn document_dir(&self) -> PathBuf {
        self.document_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("documents"))
    }

    /// The notice calendar, or which date could not be read.
    pub fn calendar(&self) -> Result<jiebang_domain::review::notice::Calendar, String> {
        let days = |text: &str, setting: &str| -> Result<Vec<i64>, String> {
            text.split(',')
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(|d| {
                    jiebang_domain::review::notice::parse_day(d)
                        .ok_or_else(|| format!("{setting}: `{d}` is not a date like 2026-10-01"))
                })
                .collect()
        };
        Ok(jiebang_domain::review::notice::Calendar {
            holidays: days(&self.holidays, "JIEBANG_HOLIDAYS")?,
            working_weekends: days(&self.working_weekends, "JIEBANG_WORKING_WEEKENDS")?,
        })
    }

    /// The acceptance rules in effect, or which setting is out of range.
    pub fn acceptance_rules(
        &self,
    ) -> Result<jiebang_domain::milestone::decision::AcceptanceRules, String> {
        let (reexamine, fail) = (
            self.acceptance_reexamine_below_percent,
            self.acceptance_fail_below_percent,
        );
        if !(1..=100).contains(&reexamine) || fail > reexamine {
            return Err(format!(
                "JIEBANG_ACCEPTANCE_FAIL_BELOW_PERCENT ({fail}) must not exceed \
                 JIEBANG_ACCEPTANCE_REEXAMINE_BELOW_PERCENT ({reexamine}), which must be 1–100"
            ));
        }
        if !(1..=24).contains(&self.acceptance_max_months_late)
            || !(1..=12).contains(&self.acceptance_rework_months)
        {
            return Err("JIEBANG_ACCEPTANCE_MAX_MONTHS_LATE must be 1–24 and \
                 JIEBANG_ACCEPTANCE_REWORK_MONTHS 1–12"
                .into());
        }
        Ok(jiebang_domain::milestone::decision::AcceptanceRules {
            reexamine_below_percent: reexamine,
            fail_below_percent: fail,
            max_months_late: self.acceptance_max_months_late,
            rework_months: self.acceptance_rework_months,
        })
    }

    /// The challenge cache's lifetime in effect (see `challenge_cache_ttl`).
    pub fn challenge_cache_ttl(&self) -> Duration {
        self.challenge_cache_ttl.unwrap_or(Duration::from_secs(1))
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) if !url.is_empty() => url.clone(),
            _ => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("jiebang.db").display()
            ),
        }
    }
}

/// The `--help` text that documents every setting.
pub const ENVIRONMENT_HELP: &str = "\
CONFIGURATION (a TOML file given with --config, then environment variables; keys are the
variable names without the JIEBANG_ prefix, in lower case):
  JIEBANG_LISTEN_ADDR              address to serve on [127.0.0.1:50051]
  JIEBANG_DATABASE_URL             postgres://user@host/db for PostgreSQL
                                   [sqlite file jiebang.db in the data directory]
  JIEBANG_DATA_DIR                 data directory [.]
  JIEBANG_DOCUMENT_DIR             uploaded documents; replicas must share it
                                   [documents/ in the data directory]
  JIEBANG_MAX_DOCUMENT_BYTES       largest document accepted [52428800]
  JIEBANG_NOTICE_WORKING_DAYS      length of the public notice in working days [5]
  JIEBANG_ACCEPTANCE_REEXAMINE_BELOW_PERCENT  no plain acceptance below this % of indicators met [90]
  JIEBANG_ACCEPTANCE_FAIL_BELOW_PERCENT       a milestone fails below this % [80]
  JIEBANG_ACCEPTANCE_MAX_MONTHS_LATE          months late without a report before failing [6]
  JIEBANG_ACCEPTANCE_REWORK_MONTHS            the one rework is due within [3] months
  JIEBANG_HOLIDAYS                 holidays excluded from working days: 2026-10-01,...
  JIEBANG_WORKING_WEEKENDS         weekend days worked instead (调休): 2026-10-10,...
  JIEBANG_SQLITE_SYNCHRONOUS       full | normal: SQLite durability [full]
  JIEBANG_DB_MAX_CONNECTIONS       connection pool size [16]
  JIEBANG_BOOTSTRAP_ADMIN_PASSWORD password of the first `admin` on an empty database
                                   [generated and printed once]
  JIEBANG_TOKEN_TTL                access token lifetime [12h]
  JIEBANG_DRAIN_TIMEOUT            time for in-flight calls at shutdown [20s]
  JIEBANG_REQUEST_TIMEOUT          longest unary call [30s]
  JIEBANG_MAX_MESSAGE_BYTES        largest gRPC message [4194304]
  JIEBANG_MIN_APPLICATION_WINDOW   shortest application window of a challenge [24h]
  JIEBANG_DEADLINE_CHECK_INTERVAL  how often passed deadlines are closed [1s]
  JIEBANG_EVENT_POLL_INTERVAL      how often event streams poll the database [200ms]
  JIEBANG_CHALLENGE_CACHE_TTL      how long challenge reads may be served from memory;
                                   replicas on PostgreSQL also hear of each other's
                                   writes at once; 0s is off [1s]
  JIEBANG_LOG_FORMAT               human | json [human]
  JIEBANG_LOG                      tracing filter, e.g. info or jiebang=debug [info]
  JIEBANG_METRICS_ADDR             serve Prometheus metrics here, e.g. 0.0.0.0:9464 [off]
  JIEBANG_DEMO_CLOCK               true: a clock the bureau can move forward, for demos
                                   and tests; never in production [false]
  OTEL_EXPORTER_OTLP_ENDPOINT      export traces by OTLP/gRPC to this endpoint when set
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail fixes the closure's error type.
    fn environment_overrides_the_file_and_durations_are_human() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "jiebang.toml",
                "listen_addr = '127.0.0.1:6000'\ntoken_ttl = '2h'",
            )?;
            jail.set_env("JIEBANG_LISTEN_ADDR", "127.0.0.1:7000");
            jail.set_env("JIEBANG_BOOTSTRAP_ADMIN_PASSWORD", "s3cret-password");
            let config = Config::load(Some(Path::new("jiebang.toml"))).map_err(|e| *e)?;
            assert_eq!(config.listen_addr.port(), 7000);
            assert_eq!(config.token_ttl, Duration::from_secs(7200));
            assert!(!format!("{config:?}").contains("s3cret"));
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail fixes the closure's error type.
    fn acceptance_bands_are_configurable_and_checked() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("JIEBANG_ACCEPTANCE_REEXAMINE_BELOW_PERCENT", "95");
            jail.set_env("JIEBANG_ACCEPTANCE_FAIL_BELOW_PERCENT", "70");
            let rules = Config::load(None)
                .map_err(|e| *e)?
                .acceptance_rules()
                .expect("valid");
            assert_eq!(
                (rules.reexamine_below_percent, rules.fail_below_percent),
                (95, 70)
            );
            assert_eq!((rules.max_months_late, rules.rework_months), (6, 3));
            jail.set_env("JIEBANG_ACCEPTANCE_FAIL_BELOW_PERCENT", "96");
            let inverted = Config::load(None).map_err(|e| *e)?.acceptance_rules();
            assert!(inverted.unwrap_err().contains("must not exceed"));
            Ok(())
        });
    }

    #[test]
    fn the_default_database_is_sqlite_in_the_data_directory() {
        let config = Config {
            data_dir: PathBuf::from("/var/lib/jiebang"),
            ..Config::default()
        };
        assert_eq!(
            config.database_url(),
            "sqlite:///var/lib/jiebang/jiebang.db?mode=rwc"
        );
    }
}
