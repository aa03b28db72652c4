//! Keeping replicas' challenge caches in step on PostgreSQL.
//!
//! A transaction that writes a challenge sends `NOTIFY jiebang_challenges` ([`NOTIFY`]);
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
//!
//! The URL must reach PostgreSQL itself or a pooler in session mode: behind a pooler in
//! transaction mode `LISTEN` succeeds and no notice ever arrives.

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
        const FIRST_RETRY: Duration = Duration::from_millis(100);
        let mut backoff = FIRST_RETRY;
        loop {
            caches.set_in_sync(false);
            match listen(&url, &caches).await {
                // It listened, then lost the connection: listen again soon.
                Ok(()) => {
                    tracing::info!(
                        "lost the connection listening for challenge writes; reconnecting"
                    );
                    backoff = FIRST_RETRY;
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?backoff,
                        "not listening for other replicas' challenge writes; \
                         challenge reads go to the database meanwhile");
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }))
}

/// Listens until the connection is lost (`Ok`) or cannot be made or used (`Err`).
async fn listen(url: &str, caches: &ChallengeCaches) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    // A lost connection is reported at once rather than after sqlx has made a new one: notices
    // sent in between would be lost while the cache still served.
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    // Listening from here on: whatever was written before is no longer served.
    caches.set_in_sync(true);
    tracing::debug!("listening for other replicas' challenge writes");
    while listener.try_recv().await?.is_some() {
        caches.invalidate();
    }
    caches.set_in_sync(false);
    Ok(())
}
