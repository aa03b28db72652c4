//! SQLite's one writer, with group commit.
//!
//! SQLite admits one writer at a time, so a write transaction's whole life — its reads, its
//! writes and its COMMIT — is time no other write can use. Measured while sealing score
//! sheets, a transaction held the writer for about 830 µs, of which 120 µs were `BEGIN` and
//! 355 µs `COMMIT` (writing the pages to the WAL and `fsync`). Group commit shares those
//! between the writes queued at the time:
//!
//! - Each write transaction is a *member*: a savepoint inside the group's one transaction,
//!   on this process's one writer connection. A member that fails rolls back to its
//!   savepoint and leaves the others untouched.
//! - A member that finishes while others wait for the writer leaves the transaction open for
//!   them and waits for the group's COMMIT; the member that finds nobody waiting (or the
//!   group full) commits it, for everyone. Nobody is answered before the COMMIT is done,
//!   and when it fails every member fails (and is retried, like any lost race).
//! - A member's savepoint is released in the same round trip as its last writes. A write that
//!   fails stops there and the member rolls back alone; but a write that ran and moved the
//!   wrong rows (a lost race, found when the batch is checked) was already released, so the
//!   group is rolled back and all its members are retried. Lost races are rare; round trips
//!   are not.
//! - A member waiting for a COMMIT that does not come (the writer it left the group to was
//!   cancelled) takes the writer back after [`GROUP_WAIT`] and commits the group itself.
//!
//! Members read what earlier members of their group wrote (it is the same transaction), as
//! they would have read it committed a moment later.

use crate::StoreError;
use crate::audit::ChainHeads;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, Executor};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard, watch};

/// The most members one COMMIT makes durable: bounds how long the first of them waits, and
/// how many must be retried if the COMMIT fails.
const MAX_GROUP: usize = 32;

/// How long a member waits for the group's COMMIT before taking the writer to commit it.
const GROUP_WAIT: Duration = Duration::from_millis(20);

/// The writer of one store on SQLite.
pub(crate) struct Writer {
    state: Arc<Mutex<State>>,
    /// Transactions waiting for the writer: when some are, a finished member leaves the
    /// group open for them.
    waiting: AtomicUsize,
    pool: AnyPool,
    chain_heads: Arc<ChainHeads>,
    next_group: AtomicU64,
}

#[derive(Default)]
struct State {
    /// Kept for the life of the store, so its page cache is kept too.
    conn: Option<PoolConnection<Any>>,
    group: Option<Group>,
}

struct Group {
    id: u64,
    members: usize,
    /// The audit chain heads the group's members moved (not committed yet).
    heads: HashMap<String, (i64, String)>,
    done: watch::Sender<Option<Outcome>>,
}

/// How a group's COMMIT went, for each of its members.
#[derive(Debug, Clone)]
enum Outcome {
    Committed,
    Conflict,
    Failed(String),
}

impl Outcome {
    fn into_result(self) -> Result<(), StoreError> {
        match self {
            Self::Committed => Ok(()),
            Self::Conflict => Err(StoreError::Conflict),
            Self::Failed(why) => Err(StoreError::Database(sqlx::Error::Protocol(why))),
        }
    }
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("waiting", &self.waiting.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Writer {
    pub(crate) fn new(pool: AnyPool, chain_heads: Arc<ChainHeads>) -> Arc<Self> {
        Arc::new(Self {
            state: Arc::default(),
            waiting: AtomicUsize::new(0),
            pool,
            chain_heads,
            next_group: AtomicU64::new(1),
        })
    }

    /// Waits for the writer, counted among those waiting.
    async fn take(&self) -> OwnedMutexGuard<State> {
        struct Waiting<'a>(&'a AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let _waiting = Waiting(&self.waiting);
        self.state.clone().lock_owned().await
    }

    /// Starts a member: joins the open group, or opens one.
    pub(crate) async fn begin(self: &Arc<Self>) -> Result<Member, StoreError> {
        let mut state = self.take().await;
        if state.conn.is_none() {
            state.conn = Some(self.pool.acquire().await?);
        }
        let opening = state.group.is_none();
        let sql = if opening {
            "BEGIN IMMEDIATE; SAVEPOINT member"
        } else {
            "SAVEPOINT member"
        };
        let conn = state.conn.as_mut().expect("connected above");
        if let Err(e) = conn.execute(sql).await {
            if opening {
                let _ = conn.execute("ROLLBACK").await;
            }
            return Err(e.into());
        }
        if opening {
            let (done, _) = watch::channel(None);
            state.group = Some(Group {
                id: self.next_group.fetch_add(1, Ordering::Relaxed),
                members: 0,
                heads: HashMap::new(),
                done,
            });
        }
        Ok(Member {
            state: Some(state),
            writer: self.clone(),
            released: false,
        })
    }

    /// Commits what is open and closes the writer connection (SQLite then checkpoints the WAL
    /// if it was the last connection).
    pub(crate) async fn close(&self) {
        let mut state = self.take().await;
        if state.group.is_some() {
            let _ = self.commit_group(&mut state).await;
        }
        state.conn = None;
        self.pool.close().await;
    }

    /// COMMITs the open group and tells its members.
    async fn commit_group(&self, state: &mut State) -> Result<(), StoreError> {
        let Some(group) = state.group.take() else {
            return Ok(());
        };
        let conn = state.conn.as_mut().expect("a group has a connection");
        let outcome = match conn.execute("COMMIT").await {
            Ok(_) => {
                self.chain_heads.committed(
                    group
                        .heads
                        .into_iter()
                        .map(|(chain, (seq, hash))| (chain, seq, hash))
                        .collect(),
                );
                Outcome::Committed
            }
            Err(e) => {
                let _ = conn.execute("ROLLBACK").await;
                match StoreError::from(e) {
                    StoreError::Conflict => Outcome::Conflict,
                    other => Outcome::Failed(other.to_string()),
                }
            }
        };
        group.done.send_replace(Some(outcome.clone()));
        outcome.into_result()
    }

    /// Waits for group `id`'s COMMIT; commits it if it does not come in time.
    async fn await_group(
        &self,
        id: u64,
        mut done: watch::Receiver<Option<Outcome>>,
    ) -> Result<(), StoreError> {
        loop {
            match tokio::time::timeout(GROUP_WAIT, done.wait_for(Option::is_some)).await {
                Ok(Ok(outcome)) => return outcome.clone().expect("waited for Some").into_result(),
                // The group was dropped without a COMMIT: nothing of it was kept.
                Ok(Err(_)) => return Err(StoreError::Conflict),
                Err(_) => {}
            }
            let mut state = self.take().await;
            if state.group.as_ref().is_some_and(|g| g.id == id) {
                return self.commit_group(&mut state).await;
            }
            // Committed meanwhile: the outcome is there on the next look.
        }
    }

    /// Ends a member that did not commit: undoes its writes, then ends or passes on the
    /// group as a finished member would.
    async fn abandon(&self, mut state: OwnedMutexGuard<State>, released: bool) {
        let conn = state.conn.as_mut().expect("a member has a connection");
        let undone = if released {
            Err(sqlx::Error::Protocol("the savepoint is gone".into()))
        } else {
            conn.execute("ROLLBACK TO SAVEPOINT member; RELEASE SAVEPOINT member")
                .await
        };
        let members = state.group.as_ref().map_or(0, |g| g.members);
        if undone.is_err() || members == 0 {
            // Nothing of anyone's to keep (or the transaction is beyond repair): end it,
            // failing the members that wait, so the writer is not left holding the lock.
            let conn = state.conn.as_mut().expect("a member has a connection");
            let _ = conn.execute("ROLLBACK").await;
            if let Some(group) = state.group.take() {
                group.done.send_replace(Some(Outcome::Conflict));
            }
        } else if self.waiting.load(Ordering::SeqCst) == 0 {
            let _ = self.commit_group(&mut state).await;
        }
    }
}

/// One write transaction on SQLite: a savepoint in the open group, holding the writer until
/// it commits or is dropped.
pub(crate) struct Member {
    state: Option<OwnedMutexGuard<State>>,
    writer: Arc<Writer>,
    /// Its savepoint was released with its last writes ([`Member::released`]): its writes
    /// can no longer be undone alone.
    released: bool,
}

impl Member {
    pub(crate) fn conn(&mut self) -> &mut sqlx::AnyConnection {
        self.state
            .as_mut()
            .and_then(|s| s.conn.as_mut())
            .expect("a member holds the writer until it ends")
    }

    /// The head an earlier member of the open group moved `chain` to.
    pub(crate) fn group_head(&self, chain: &str) -> Option<(i64, String)> {
        let group = self.state.as_ref()?.group.as_ref()?;
        group.heads.get(chain).cloned()
    }

    /// The statement that ends the member's savepoint, keeping its writes in the group. Sent
    /// with its last writes (one round trip fewer); then [`Member::released`].
    pub(crate) const RELEASE: &'static str = "RELEASE SAVEPOINT member";

    /// Records that [`Member::RELEASE`] was sent with the member's writes, which ran or not
    /// together: a write that then fails its check can only be undone with the whole group.
    pub(crate) fn released(&mut self) {
        self.released = true;
    }

    /// Makes this member's writes part of the group and returns once the group is
    /// committed. `heads` are the audit chain heads it moved.
    pub(crate) async fn commit(
        mut self,
        heads: &[(String, i64, String)],
    ) -> Result<(), StoreError> {
        if !self.released {
            self.conn().execute(Self::RELEASE).await?;
        }
        let mut state = self
            .state
            .take()
            .expect("a member holds the writer until it ends");
        let group = state.group.as_mut().expect("a member is in a group");
        group.members += 1;
        for (chain, seq, hash) in heads {
            group.heads.insert(chain.clone(), (*seq, hash.clone()));
        }
        let writer = self.writer.clone();
        if writer.waiting.load(Ordering::SeqCst) > 0 && group.members < MAX_GROUP {
            let (id, done) = (group.id, group.done.subscribe());
            drop(state);
            writer.await_group(id, done).await
        } else {
            writer.commit_group(&mut state).await
        }
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        let Some(state) = self.state.take() else {
            return;
        };
        let (writer, released) = (self.writer.clone(), self.released);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move { writer.abandon(state, released).await });
            }
            // No runtime to finish on (never the case in the server): close the connection,
            // which rolls the group back, and fail the members that wait for it.
            Err(_) => {
                let mut state = state;
                if let Some(mut conn) = state.conn.take() {
                    conn.close_on_drop();
                }
                state.group = None;
            }
        }
    }
}
