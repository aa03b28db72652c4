//! The real `jiebang-server` binary under test: started on a free port in a scratch
//! directory, watched through `/proc` for CPU time and peak memory, stopped at the end.

use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const ADMIN_PASSWORD: &str = "bench-admin-password";

pub struct ServerProcess {
    child: Child,
    pub url: String,
}

/// `jiebang-server` next to this executable (same cargo build), unless given.
pub fn default_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let path = exe
        .parent()
        .context("no directory for the bench executable")?
        .join("jiebang-server");
    if !path.exists() {
        bail!(
            "{} is missing: build it with the bench (cargo build --release -p jiebang-server \
             -p jiebang-bench), or pass --server-bin",
            path.display()
        );
    }
    Ok(path)
}

impl ServerProcess {
    pub fn start(
        binary: &Path,
        data_dir: &Path,
        database_url: &str,
        extra_env: &[(String, String)],
    ) -> Result<Self> {
        let mut command = Command::new(binary);
        command
            .current_dir(data_dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("JIEBANG_LISTEN_ADDR", "127.0.0.1:0")
            .env("JIEBANG_LOG_FORMAT", "json")
            .env("JIEBANG_LOG", "warn,jiebang_server=info")
            .env("JIEBANG_DATA_DIR", data_dir)
            .env("JIEBANG_DATABASE_URL", database_url)
            .env("JIEBANG_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("JIEBANG_MIN_APPLICATION_WINDOW", "1s")
            .env("JIEBANG_TOKEN_TTL", "1000h")
            // The deadline burst moves the clock across the deadline mid-burst.
            .env("JIEBANG_DEMO_CLOCK", "true")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (key, value) in extra_env {
            command.env(key, value);
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let stdout = child.stdout.take().context("server stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    // Keep draining so the server never blocks on a full pipe.
                    continue;
                }
            }
        });
        let addr = loop {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .context("the server did not report `serving` within 60 s")?;
            if let Ok(json) = serde_json::from_str::<serde_json::Value>(&line)
                && json["message"] == "serving"
            {
                break json["local_addr"]
                    .as_str()
                    .context("no local_addr in the serving line")?
                    .to_owned();
            }
        };
        Ok(Self {
            child,
            url: format!("http://{addr}"),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU time and peak memory of a process, from `/proc` (Linux). Elsewhere the figures are
/// reported as unavailable.
#[derive(Debug, Clone, Copy)]
pub struct ProcessSample {
    pub cpu_seconds: f64,
}

pub fn sample(pid: u32) -> Option<ProcessSample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    let ticks = clock_ticks_per_second();
    Some(ProcessSample {
        cpu_seconds: (utime + stime) / ticks,
    })
}

/// Resets the kernel's peak-RSS mark (VmHWM), so the next reading is this scenario's peak.
pub fn reset_peak_rss(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// Peak resident memory in MiB since the last reset.
pub fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    // USER_HZ is 100 on every Linux architecture in practice; getconf confirms when present.
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}
