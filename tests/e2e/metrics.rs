//! The Prometheus endpoint of the real server: per-RPC counts by final gRPC status, latency
//! histograms, the database pool and the event streams, on a port of their own.

use jiebang_e2e::{Cli, ServerProcess};
use std::io::{Read, Write};
use std::time::Duration;

const ADMIN_PASSWORD: &str = "bureau-admin-password";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn scrape(addr: &str) -> String {
    let mut stream = std::net::TcpStream::connect(addr).expect("metrics endpoint");
    stream
        .write_all(
            format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text
}

/// The value of the sample line that starts with `series` (name and labels), if any.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_are_counted_by_method_and_status_and_timed() {
    let dir = tempfile::tempdir().unwrap();
    let metrics = format!("127.0.0.1:{}", free_port());
    let server = ServerProcess::start(
        dir.path(),
        None,
        &[
            ("JIEBANG_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD),
            ("JIEBANG_METRICS_ADDR", &metrics),
        ],
    );
    let cli = Cli::new(&server.url, &dir.path().join("cli"));
    cli.fails(&["whoami"], "");
    cli.fails(
        &["login", "admin", "--password-stdin"],
        "not-the-password\n",
    );
    cli.login("admin", ADMIN_PASSWORD);
    cli.fails(&["challenge", "show", "challenges/does-not-exist"], "");
    cli.ok(&["challenge", "list"], "");
    let mut watcher = cli.spawn(&["events", "watch"]);

    // The gauges are sampled every five seconds; the counters are immediate.
    let mut text = scrape(&metrics);
    for _ in 0..60 {
        if sample(&text, "jiebang_event_streams_open") == Some(1.0) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        text = scrape(&metrics);
    }
    let _ = watcher.kill();
    let _ = watcher.wait();
    assert_eq!(
        sample(&text, "jiebang_event_streams_open"),
        Some(1.0),
        "the open stream is counted: {text}"
    );
    assert!(
        sample(&text, "jiebang_events_backlog").is_some_and(|b| b >= 0.0),
        "{text}"
    );
    let count = |method: &str, code: &str| {
        sample(
            &text,
            &format!(
                "jiebang_rpc_requests_total{{method=\"/jiebang.v1.{method}\",code=\"{code}\"}}"
            ),
        )
    };
    assert_eq!(
        count("IdentityService/WhoAmI", "Unauthenticated"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        count("IdentityService/Login", "Unauthenticated"),
        Some(1.0),
        "{text}"
    );
    assert!(
        count("IdentityService/Login", "Ok").is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert_eq!(
        count("ChallengeService/GetChallenge", "NotFound"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        count("ChallengeService/ListChallenges", "Ok"),
        Some(1.0),
        "{text}"
    );
    assert!(
        text.contains("jiebang_rpc_duration_seconds_bucket{method=\"/jiebang.v1.ChallengeService/ListChallenges\""),
        "latency is a histogram: {text}"
    );
    assert!(
        text.contains("jiebang_db_pool_connections{state=\"idle\"}"),
        "{text}"
    );
    assert!(text.contains("jiebang_events_latest_sequence"), "{text}");
    assert!(server.terminate());
}
