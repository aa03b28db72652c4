//! The real `jiebang-server` binary under test: started on a free port in a scratch
//! directory, watched through `/proc` for CPU time and peak memory, stopped at the end.

use anyhow::{Context, Result, bail};
use std::collections::HashMap;
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

/// CPU seconds spent so far, split by who spent them: the whole machine (every process and
/// the kernel), this load generator, the server, and the database's own processes when it
/// runs in them (PostgreSQL; SQLite works inside whichever process calls it).
#[derive(Debug, Clone)]
pub struct CpuTimes {
    at: std::time::Instant,
    idle: f64,
    cpus: usize,
    pub generator: f64,
    pub server: f64,
    /// By process id: the database's processes come and go.
    pub database: Option<HashMap<u32, f64>>,
}

impl CpuTimes {
    pub fn now(server_pid: u32, database_process: Option<&str>) -> Option<Self> {
        let (idle, cpus) = idle_seconds()?;
        Some(Self {
            at: std::time::Instant::now(),
            idle,
            cpus,
            generator: sample(std::process::id())?.cpu_seconds,
            server: sample(server_pid)?.cpu_seconds,
            // None, not zero, when the database's processes cannot be seen from here.
            database: database_process
                .map(processes_named)
                .filter(|p| !p.is_empty()),
        })
    }

    /// What was spent since `before`. A database process started since counts from zero;
    /// one that ended since takes its time with it (the pooled connections live through a
    /// scenario).
    pub fn since(&self, before: &Self) -> CpuSpent {
        let database = self
            .database
            .as_ref()
            .zip(before.database.as_ref())
            .map(|(now, then)| {
                now.iter()
                    .map(|(pid, s)| s - then.get(pid).copied().unwrap_or(0.0))
                    .sum()
            });
        let wall = self.at.duration_since(before.at).as_secs_f64();
        CpuSpent {
            wall,
            cpus: self.cpus,
            machine: (self.cpus as f64 * wall - (self.idle - before.idle)).max(0.0),
            generator: self.generator - before.generator,
            server: self.server - before.server,
            database,
        }
    }
}

/// CPU seconds spent during a scenario, by the whole machine and by each part of it.
#[derive(Debug, Clone, Copy)]
pub struct CpuSpent {
    /// The seconds between the two readings, and the CPUs they cover.
    pub wall: f64,
    pub cpus: usize,
    pub machine: f64,
    pub generator: f64,
    pub server: f64,
    pub database: Option<f64>,
}

/// The machine's CPUs and the seconds they have been idle (or waiting on I/O) since boot,
/// from `/proc/stat`. Busy time is what the rest of the wall time is: the kernel's busy
/// counters are sampled at ticks and miss much of the work of threads that run in short
/// bursts between sleeps (a database's, exactly), while its idle time is measured exactly.
fn idle_seconds() -> Option<(f64, usize)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cpus = stat
        .lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count();
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let ticks: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap_or(0.0))
        .collect();
    // user nice system idle iowait …
    let idle = ticks.get(3)? + ticks.get(4)?;
    Some((idle / clock_ticks_per_second(), cpus))
}

/// CPU seconds of every process called `name`, by process id.
fn processes_named(name: &str) -> HashMap<u32, f64> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return HashMap::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == name)
        })
        .filter_map(|pid| Some((pid, sample(pid)?.cpu_seconds)))
        .collect()
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
