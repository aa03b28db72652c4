//! Harness for the end-to-end tests: runs the real `jiebang-server` binary and the real
//! `jiebang` CLI, as a user would, on SQLite or on a fresh PostgreSQL database.
//!
//! The binaries come from the same `cargo build` as the tests (`scripts/test` builds them
//! first); they are found next to the test executable's `deps/` directory.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// `target/<profile>/<name>`, built by the same cargo invocation.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile> directory");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build the binaries first with `cargo build --workspace --bins` (scripts/test does)",
        path.display()
    );
    path
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh database for one test, dropped at the end.
pub struct Database {
    pub url: Option<String>,
    pg_name: Option<String>,
}

fn postgres_admin_url() -> String {
    std::env::var("JIEBANG_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

impl Database {
    /// `None` when PostgreSQL is unreachable and not required; the test reports itself skipped.
    pub async fn fresh(backend: Backend) -> Option<Self> {
        use sqlx::Connection;
        match backend {
            Backend::Sqlite => Some(Self {
                url: None,
                pg_name: None,
            }),
            Backend::Postgres => {
                sqlx::any::install_default_drivers();
                let admin = postgres_admin_url();
                let mut conn = match sqlx::AnyConnection::connect(&admin).await {
                    Ok(c) => c,
                    Err(e) if std::env::var("JIEBANG_REQUIRE_POSTGRES").as_deref() != Ok("1") => {
                        eprintln!("SKIPPED: PostgreSQL not reachable at {admin} ({e})");
                        return None;
                    }
                    Err(e) => panic!("PostgreSQL is required but not reachable at {admin}: {e}"),
                };
                let name = format!("jiebang_e2e_{}", uuid::Uuid::new_v4().simple());
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .expect("create database");
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
                Some(Self {
                    url: Some(format!("{base}/{name}")),
                    pg_name: Some(name),
                })
            }
        }
    }

    pub async fn drop_database(&self) {
        use sqlx::Connection;
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
}

/// A running `jiebang-server` process.
pub struct ServerProcess {
    child: Child,
    pub url: String,
    /// Lines the server printed to standard output (logs and the one-time password notice).
    pub stdout: mpsc::Receiver<String>,
}

impl ServerProcess {
    /// Starts the server in `data_dir` with `env`, on a free port, and waits until it serves.
    pub fn start(data_dir: &Path, database_url: Option<&str>, env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(binary("jiebang-server"));
        command
            .current_dir(data_dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("JIEBANG_LISTEN_ADDR", "127.0.0.1:0")
            .env("JIEBANG_LOG_FORMAT", "json")
            .env("JIEBANG_DATA_DIR", data_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(url) = database_url {
            command.env("JIEBANG_DATABASE_URL", url);
        }
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("start jiebang-server");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut early = Vec::new();
        let addr = loop {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| {
                    panic!(
                        "the server did not start; it printed:\n{}",
                        early.join("\n")
                    )
                });
            if let Ok(json) = serde_json::from_str::<serde_json::Value>(&line)
                && json["message"] == "serving"
            {
                break json["local_addr"].as_str().expect("local_addr").to_owned();
            }
            early.push(line);
        };
        // Hand the lines seen before "serving" back to the test, in order.
        let (tx2, rx2) = mpsc::channel();
        for line in early {
            let _ = tx2.send(line);
        }
        std::thread::spawn(move || {
            for line in rx {
                if tx2.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            url: format!("http://{addr}"),
            stdout: rx2,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits for the process to exit; returns whether it exited cleanly.
    pub fn terminate(mut self) -> bool {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..300 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        false
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the `jiebang` CLI against one server with its own configuration directory.
pub struct Cli {
    pub server: String,
    pub config_dir: PathBuf,
}

impl Cli {
    pub fn new(server: &str, config_dir: &Path) -> Self {
        Self {
            server: server.to_owned(),
            config_dir: config_dir.to_owned(),
        }
    }

    /// Runs `jiebang <args>` with `stdin` as standard input.
    pub fn run(&self, args: &[&str], stdin: &str) -> Output {
        use std::io::Write;
        let mut child = Command::new(binary("jiebang"))
            .args(args)
            .env_clear()
            .env("JIEBANG_SERVER", &self.server)
            .env("JIEBANG_CONFIG_DIR", &self.config_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run jiebang");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("jiebang output")
    }

    /// Starts `jiebang <args>` in the background (e.g. `events watch`); see [`finish`].
    pub fn spawn(&self, args: &[&str]) -> Child {
        Command::new(binary("jiebang"))
            .args(args)
            .env_clear()
            .env("JIEBANG_SERVER", &self.server)
            .env("JIEBANG_CONFIG_DIR", &self.config_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run jiebang")
    }

    /// Runs a command that must succeed, and returns its standard output.
    pub fn ok(&self, args: &[&str], stdin: &str) -> String {
        let output = self.run(args, stdin);
        assert!(
            output.status.success(),
            "`jiebang {}` failed:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("utf-8")
    }

    /// Runs a command with `--output json` and parses what it prints.
    pub fn json(&self, args: &[&str], stdin: &str) -> serde_json::Value {
        let mut all = vec!["--output", "json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.ok(&all, stdin)).expect("json output")
    }

    /// Runs a command that must fail, and returns its standard error.
    pub fn fails(&self, args: &[&str], stdin: &str) -> String {
        let output = self.run(args, stdin);
        assert!(
            !output.status.success(),
            "`jiebang {}` should have failed",
            args.join(" ")
        );
        assert_eq!(output.status.code(), Some(1));
        String::from_utf8(output.stderr).expect("utf-8")
    }
}

/// Waits up to `timeout` for a background command, killing it if it runs over; returns its
/// output and whether it finished by itself.
pub fn finish(mut child: Child, timeout: Duration) -> (Output, bool) {
    let deadline = std::time::Instant::now() + timeout;
    let mut finished = false;
    while std::time::Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            finished = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if !finished {
        let _ = child.kill();
    }
    (child.wait_with_output().expect("output"), finished)
}

/// The steps every end-to-end story starts with, as the bureau does them through the CLI.
impl Cli {
    /// `jiebang login <username>`, the password on standard input.
    pub fn login(&self, username: &str, password: &str) {
        self.ok(
            &["login", username, "--password-stdin"],
            &format!("{password}\n"),
        );
    }

    /// Registers an organisation in region 330100 (as a signed-in admin); returns its name.
    pub fn create_org(&self, name: &str, kind: &str, credit_code: &str) -> String {
        self.json(
            &[
                "org",
                "create",
                "--name",
                name,
                "--type",
                kind,
                "--region",
                "330100",
                "--credit-code",
                credit_code,
            ],
            "",
        )["name"]
            .as_str()
            .expect("organisation name")
            .to_owned()
    }

    /// Creates a user of `org` whose password is `<username>-password` (as a signed-in
    /// admin); returns `users/{id}`.
    pub fn create_user(&self, username: &str, role: &str, org: &str) -> String {
        self.create_person(username, username, role, org)
    }

    /// [`Cli::create_user`] with a display name of its own.
    pub fn create_person(&self, username: &str, display: &str, role: &str, org: &str) -> String {
        self.json(
            &[
                "user",
                "create",
                "--username",
                username,
                "--display-name",
                display,
                "--role",
                role,
                "--org",
                org,
                "--password-stdin",
            ],
            &format!("{username}-password\n"),
        )["name"]
            .as_str()
            .expect("user name")
            .to_owned()
    }
}

/// The `name` of a resource printed as JSON by the CLI.
pub fn name_of(v: &serde_json::Value) -> String {
    v["name"].as_str().expect("a resource name").to_owned()
}

/// A score sheet file for the sample challenge's four criteria (40/25/15/20), every criterion
/// scored at `fraction` of its weight, with comments of real length.
pub fn sheet(fraction: f64) -> String {
    let line = |name: &str, weight: f64| {
        format!(
            "[[scores]]\ncriterion = \"{name}\"\nscore = \"{:.2}\"\ncomment = \"{name}：论证充分，依据明确，与考核指标对应。\"\n\n",
            weight * fraction
        )
    };
    format!(
        "recommendation = \"recommend\"\noverall_comment = \"\"\"\n总体评价：技术路线可行，团队具备相应能力，预算编制基本合理，产业化前景明确，建议在中期重点核查关键工艺数据。\n\"\"\"\n\n{}{}{}{}",
        line("技术路线与可行性", 40.0),
        line("团队能力", 25.0),
        line("预算合理性", 15.0),
        line("产业化与用户价值", 20.0)
    )
}
