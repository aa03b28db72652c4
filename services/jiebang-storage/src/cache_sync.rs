//! Keeping replicas' challenge caches in step on PostgreSQL.
//!
//! A transaction that writes a challenge sends `NOTIFY jiebang_challenges` ([`notify`]);
//! PostgreSQL delivers it to every listening connection when, and only if, the transaction
//! commits. Each store with a cache keeps one connection listening ([`spawn`]) and moves its
//! cache on at each notice, so another replica's write is seen as soon as the notice arrives
//! (well under a millisecond on one network) instead of when the entry expires.
//!
//! Why this is enough: a read that saw the row before the write began before the commit, so
//! the notice, sent at the commit, arrives either before that read is kept (the read's
//! generation is then old and it is dropped, [`crate::read_cache`]) or after (and moves it on).
//! Notices sent while the listening connection is down are lost, so while it is down the cache
//! serves nothing, and once it listens again nothing read before is served. The cache's ttl
//! stays as a bound for a connection that is dead but not yet known to be.

use crate::read_cache::ChallengeCaches;
use sqlx::postgres::PgListener;
use std::sync::Arc;
use std::time::Duration;

/// The channel challenge writes notify on.
pub(crate) const CHANNEL: &str = "jiebang_challenges";

/// The statement a challenge-writing transaction runs (once) before it commits.
pub(crate) const NOTIFY: &str = "NOTIFY jiebang_challenges";

/// Aborts the listening task when the last handle to the store goes.
#[derive(Debug)]
pub(crate) struct Listening(tokio::task::JoinHandle<()>);

impl Drop for Listening {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Listening {
    pub(crate) fn stop(&self) {
        self.0.abort();
    }
}

/// Listens on `url` for challenge writes and moves `caches` on at each; `caches` is served
/// only while the listening connection is up.
pub(crate) fn spawn(url: String, caches: Arc<ChallengeCaches>) -> Listening {
    Listening(tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        loop {
            caches.set_in_sync(false);
            match listen(&url, &caches).await {
                Ok(never) => match never {},
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?backoff,
                        "not listening for other replicas' challenge writes; \
                         challenge reads go to the database meanwhile");
                }
            }
            caches.set_in_sync(false);
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }))
}

/// Listens until an error; returns only with it.
async fn listen(
    url: &str,
    caches: &ChallengeCaches,
) -> Result<std::convert::Infallible, sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    // Listening from here on: whatever was written before is no longer served.
    caches.set_in_sync(true);
    tracing::debug!("listening for other replicas' challenge writes");
    loop {
        match listener.try_recv().await? {
            Some(_) => caches.invalidate(),
            // The connection was lost and has been made again (notices in between are lost).
            None => {
                tracing::info!("listening again for other replicas' challenge writes");
                caches.set_in_sync(true);
            }
        }
    }
}
