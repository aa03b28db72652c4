//! A rolling restart under load: two replicas on one PostgreSQL database are replaced one by
//! one (SIGTERM, drain, a new process on the same database) while clients keep writing. No
//! acknowledged call is lost, and the only error clients see is UNAVAILABLE, which they retry
//! with the same `request_id` on another replica.

use crate::replica_races::{
    ADMIN_PASSWORD, authed, credit_code, lazy_channel, login, start_replicas_one_by_one,
};
use jiebang_e2e::{Backend, Database, ServerProcess};
use jiebang_proto::v1 as pb;
use jiebang_proto::v1::identity_service_client::IdentityServiceClient;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tonic::Code;
use tonic::transport::Channel;

const CLIENTS: usize = 8;
/// How long one call may keep being retried before the client reports it failed.
const GIVE_UP_AFTER: Duration = Duration::from_secs(20);

/// The replicas clients may call: URL and a lazily connecting channel to it. Updated as
/// replicas are replaced, as a load balancer's endpoint list would be.
type Pool = Arc<RwLock<Vec<(String, Channel)>>>;

#[derive(Default)]
struct Tally {
    made: u64,
    /// Credit codes of the organisations whose creation was acknowledged.
    acked: Vec<String>,
    retried: u64,
    /// Calls given up on (never acknowledged), with their last error.
    reported: Vec<String>,
    /// Calls that failed with a connection error although the server had committed them
    /// (found in the database before the retry): the answer was lost, not the write.
    committed_but_unanswered: Vec<String>,
    /// Every error code seen, with one example message.
    codes: BTreeMap<String, (u64, String)>,
}

/// A failure of the connection rather than an answer of the server: tonic reports a call
/// caught on a connection the server closed after draining (its HTTP/2 GOAWAY racing the
/// call) as CANCELLED "connection closed", with the transport error as its source. Such a call
/// was never answered, so it counts as UNAVAILABLE, as gRPC's own transparent retry treats it.
fn is_connection_error(status: &tonic::Status) -> bool {
    use std::error::Error;
    status
        .source()
        .is_some_and(|e| e.downcast_ref::<tonic::transport::Error>().is_some())
}

/// The code a client acts on: UNAVAILABLE for connection errors, the server's code otherwise.
fn effective_code(status: &tonic::Status) -> Code {
    if is_connection_error(status) {
        Code::Unavailable
    } else {
        status.code()
    }
}

/// Whether the organisation with `code` is stored.
async fn stored(database_url: &str, code: &str) -> bool {
    use sqlx::Connection;
    let mut conn = sqlx::AnyConnection::connect(database_url).await.unwrap();
    let (count,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM organizations WHERE unified_social_credit_code = $1")
            .bind(code)
            .fetch_one(&mut conn)
            .await
            .unwrap();
    conn.close().await.unwrap();
    count > 0
}

async fn client(
    database_url: String,
    pool: Pool,
    token: String,
    stop: Arc<AtomicBool>,
    next: Arc<AtomicU64>,
    tally: Arc<Mutex<Tally>>,
) {
    let mut pick = next.load(Ordering::Relaxed) as usize;
    while !stop.load(Ordering::Relaxed) {
        let seq = next.fetch_add(1, Ordering::Relaxed);
        let code = credit_code(7_000_000 + seq);
        let request = pb::CreateOrganizationRequest {
            organization: Some(pb::Organization {
                display_name: format!("滚动重启测试单位 {seq}"),
                r#type: pb::OrganizationType::Enterprise as i32,
                region: "330100".into(),
                unified_social_credit_code: code.clone(),
                ..Default::default()
            }),
            request_id: format!("rolling-{seq}-{}", uuid::Uuid::new_v4().simple()),
        };
        tally.lock().unwrap().made += 1;
        let started = Instant::now();
        let mut failed_on: Option<String> = None;
        loop {
            pick += 1;
            let (url, channel) = {
                let pool = pool.read().unwrap();
                let mut choice = &pool[pick % pool.len()];
                if pool.len() > 1 && failed_on.as_deref() == Some(choice.0.as_str()) {
                    pick += 1;
                    choice = &pool[pick % pool.len()];
                }
                choice.clone()
            };
            let mut identity = IdentityServiceClient::new(authed(channel, Some(&token)));
            let result = identity.create_organization(request.clone()).await;
            let committed = match &result {
                Err(status)
                    if status.code() != Code::Unavailable && is_connection_error(status) =>
                {
                    stored(&database_url, &code).await
                }
                _ => false,
            };
            let done = {
                let mut tally = tally.lock().unwrap();
                match result {
                    Ok(_) => {
                        tally.acked.push(code.clone());
                        true
                    }
                    Err(status) => {
                        let key = if status.code() == effective_code(&status) {
                            format!("{:?}", status.code())
                        } else {
                            format!(
                                "{:?} (connection error, mapped to Unavailable)",
                                status.code()
                            )
                        };
                        let seen = tally
                            .codes
                            .entry(key)
                            .or_insert_with(|| (0, status.message().to_owned()));
                        seen.0 += 1;
                        if effective_code(&status) != Code::Unavailable
                            || started.elapsed() > GIVE_UP_AFTER
                        {
                            tally.reported.push(format!("{code} via {url}: {status:?}"));
                            true
                        } else {
                            tally.retried += 1;
                            if committed {
                                tally.committed_but_unanswered.push(code.clone());
                            }
                            failed_on = Some(url);
                            false
                        }
                    }
                }
            };
            if done {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn acked_so_far(tally: &Mutex<Tally>) -> usize {
    tally.lock().unwrap().acked.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_under_load_loses_no_acknowledged_call() {
    let Some(db) = Database::fresh(Backend::Postgres).await else {
        return;
    };
    let url = db.url.clone().expect("postgres url");
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("JIEBANG_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ("JIEBANG_DRAIN_TIMEOUT", "5s"),
    ];
    let (path, starting_url) = (dir.path().to_owned(), url.clone());
    let replicas = tokio::task::spawn_blocking(move || {
        start_replicas_one_by_one(&path, &starting_url, &env, 2)
    })
    .await
    .unwrap();
    let mut replicas: Vec<Option<ServerProcess>> = replicas.into_iter().map(Some).collect();
    let pool: Pool = Arc::new(RwLock::new(
        replicas
            .iter()
            .flatten()
            .map(|r| (r.url.clone(), lazy_channel(&r.url)))
            .collect(),
    ));
    let first_url = pool.read().unwrap()[0].0.clone();
    let token = login(&first_url, "admin", ADMIN_PASSWORD).await;
    let before = organization_codes(&url).await;

    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicU64::new(0));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            tokio::spawn(client(
                url.clone(),
                pool.clone(),
                token.clone(),
                stop.clone(),
                next.clone(),
                tally.clone(),
            ))
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(acked_so_far(&tally) > 0, "the load is not running");
    let began = Instant::now();
    for slot in &mut replicas {
        let before = acked_so_far(&tally);
        let old = slot.take().expect("replica");
        let old_url = old.url.clone();
        let clean = tokio::task::spawn_blocking(move || old.terminate())
            .await
            .unwrap();
        assert!(clean, "{old_url} did not drain and exit cleanly on SIGTERM");
        pool.write().unwrap().retain(|(u, _)| *u != old_url);
        let dir = dir.path().to_owned();
        let database_url = url.clone();
        let new = tokio::task::spawn_blocking(move || {
            ServerProcess::start(&dir, Some(&database_url), &env)
        })
        .await
        .unwrap();
        eprintln!(
            "replaced {old_url} by {} ({} calls acknowledged meanwhile)",
            new.url,
            acked_so_far(&tally) - before
        );
        pool.write()
            .unwrap()
            .push((new.url.clone(), lazy_channel(&new.url)));
        *slot = Some(new);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(
            acked_so_far(&tally) > before,
            "no call was acknowledged across the replacement of {old_url}"
        );
    }
    let restart_took = began.elapsed();
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.expect("client task");
    }

    // Every acknowledged write is in the database, and nothing else was written.
    let stored = organization_codes(&url).await;
    let tally = std::mem::take(&mut *tally.lock().unwrap());
    let acked = tally.acked.len();
    let lost: Vec<&String> = tally
        .acked
        .iter()
        .filter(|c| !stored.contains(*c))
        .collect();
    let acked_codes: HashSet<&String> = tally.acked.iter().collect();
    let unacknowledged: Vec<&String> = stored
        .difference(&before)
        .filter(|c| !acked_codes.contains(c))
        .collect();
    eprintln!(
        "rolling restart: {} calls made, {acked} acknowledged, {} lost, {} retried after UNAVAILABLE \
         ({} reported failed; {} committed but unanswered; restart took {restart_took:?}; errors seen: {:?})",
        tally.made,
        lost.len(),
        tally.retried,
        tally.reported.len(),
        tally.committed_but_unanswered.len(),
        tally.codes
    );
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
    assert!(
        unacknowledged.is_empty(),
        "stored but never acknowledged: {unacknowledged:?}"
    );
    assert_eq!(
        stored.len(),
        before.len() + acked,
        "each acknowledged call stored exactly one organisation"
    );
    assert!(
        tally.reported.is_empty(),
        "calls not acknowledged: {:?}",
        tally.reported
    );
    assert!(
        tally.committed_but_unanswered.is_empty(),
        "the drain cut the answer of committed calls: {:?}",
        tally.committed_but_unanswered
    );
    let other: Vec<_> = tally
        .codes
        .iter()
        .filter(|(code, _)| *code != "Unavailable" && !code.ends_with("mapped to Unavailable)"))
        .collect();
    assert!(
        other.is_empty(),
        "clients must see only UNAVAILABLE, got {other:?}"
    );

    tokio::task::spawn_blocking(move || {
        for replica in replicas.into_iter().flatten() {
            assert!(replica.terminate(), "a replica did not stop cleanly");
        }
    })
    .await
    .unwrap();
    db.drop_database().await;
}

/// The credit codes of every organisation stored.
async fn organization_codes(url: &str) -> HashSet<String> {
    use sqlx::Connection;
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let stored: Vec<(String,)> =
        sqlx::query_as("SELECT unified_social_credit_code FROM organizations")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    conn.close().await.unwrap();
    stored.into_iter().map(|(c,)| c).collect()
}
