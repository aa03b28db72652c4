//! `EventService`: streams the outbox to subscribers from a cursor.
//!
//! A subscription polls the shared `events` table (so events written by any replica arrive),
//! and is woken at once by commits in its own process. Each subscriber sees only events whose
//! audience admits them.
//!
//! Sequence numbers come from the database and, on PostgreSQL, are taken at insert but become
//! visible at commit, possibly out of order: event 8 may be visible before event 7 commits. A
//! reader that jumped to 8 would never deliver 7. So the stream delivers only contiguous runs
//! and waits at a gap; a gap still open after [`GAP_TIMEOUT`] is a rolled-back transaction
//! (its number is never used) and is passed over.

mod gaps;

use gaps::GapTracker;
use jiebang_domain::audience;
use jiebang_domain::{Caller, DomainError};
use jiebang_grpc::{ApiError, Platform, caller};
use jiebang_proto::v1 as pb;
use jiebang_proto::v1::event_service_server::EventService;
use jiebang_storage::events::{self, StoredEvent};
use prost::Message;
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

/// How long a hole in the sequence may stay open before it is taken for a rollback.
pub const GAP_TIMEOUT: Duration = Duration::from_secs(3);
const BATCH: i64 = 256;

pub struct EventsApi {
    platform: Platform,
    shutdown: watch::Receiver<bool>,
    streams: OpenStreams,
}

impl EventsApi {
    /// `shutdown` turning true ends every open stream, so a draining server is not held open
    /// by subscribers that would otherwise stream forever.
    pub fn new(platform: Platform, shutdown: watch::Receiver<bool>) -> Self {
        Self {
            platform,
            shutdown,
            streams: OpenStreams::default(),
        }
    }

    /// The streams this process is serving, for metrics.
    pub fn streams(&self) -> OpenStreams {
        self.streams.clone()
    }
}

/// The cursor of every open stream of this process: how far behind the outbox they are is the
/// events backlog.
#[derive(Clone, Default)]
pub struct OpenStreams(Arc<Mutex<HashMap<u64, i64>>>);

impl OpenStreams {
    /// How many streams are open, and the smallest cursor among them.
    pub fn snapshot(&self) -> (usize, Option<i64>) {
        let cursors = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (cursors.len(), cursors.values().min().copied())
    }

    fn open(&self, cursor: i64) -> StreamEntry {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        self.set(id, cursor);
        StreamEntry {
            streams: self.clone(),
            id,
        }
    }

    fn set(&self, id: u64, cursor: i64) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id, cursor);
    }
}

/// One stream's place in [`OpenStreams`], removed when the stream ends however it ends.
struct StreamEntry {
    streams: OpenStreams,
    id: u64,
}

impl StreamEntry {
    fn advance(&self, cursor: i64) {
        self.streams.set(self.id, cursor);
    }
}

impl Drop for StreamEntry {
    fn drop(&mut self) {
        self.streams
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.id);
    }
}

/// What one subscriber asked for.
struct Subscription {
    caller: Caller,
    types: Vec<i32>,
    resource_prefix: String,
}

impl Subscription {
    fn wants(&self, event: &StoredEvent) -> bool {
        audience::admits(&event.audience, &self.caller)
            && (self.types.is_empty() || self.types.contains(&event.event_type))
            && event.resource.starts_with(&self.resource_prefix)
    }
}

/// Who acted is for the bureau (the audit trail names everyone) and for the actor: anyone
/// else sees the clock's own transitions as `system` and no person at all, so no event ever
/// names, say, the panel chair who proposed the winners to the teams that were scored.
fn redact_actor(event: &mut pb::Event, caller: &Caller) {
    let own = event
        .actor
        .strip_prefix("users/")
        .is_some_and(|id| id == caller.user_id);
    if !(caller.is_admin() || own || event.actor == "system") {
        event.actor.clear();
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<pb::WatchEventsResponse, Status>> + Send>>;

async fn pump(
    platform: Platform,
    subscription: Subscription,
    mut cursor: i64,
    out: mpsc::Sender<Result<pb::WatchEventsResponse, Status>>,
    mut shutdown: watch::Receiver<bool>,
    entry: StreamEntry,
) {
    let mut gaps = GapTracker::new(GAP_TIMEOUT);
    loop {
        entry.advance(cursor);
        // Register for the wake-up before reading, so a commit between the read and the wait
        // is not missed.
        let committed = platform.events_committed.notified();
        tokio::pin!(committed);
        committed.as_mut().enable();

        let batch = match events::read_after(&platform.store, cursor, BATCH).await {
            Ok(batch) => batch,
            Err(e) => {
                let _ = out.send(Err(Status::from(ApiError::from(e)))).await;
                return;
            }
        };
        let full = i64::try_from(batch.len()).unwrap_or(0) == BATCH;
        for event in batch {
            if event.sequence != cursor + 1
                && !gaps.may_pass(cursor + 1, event.recorded_at, platform.now())
            {
                break;
            }
            cursor = event.sequence;
            if !subscription.wants(&event) {
                continue;
            }
            let Ok(mut decoded) = pb::Event::decode(event.payload.as_slice()) else {
                tracing::error!(
                    sequence = event.sequence,
                    "undecodable event payload skipped"
                );
                continue;
            };
            decoded.sequence = event.sequence;
            redact_actor(&mut decoded, &subscription.caller);
            if out
                .send(Ok(pb::WatchEventsResponse {
                    event: Some(decoded),
                }))
                .await
                .is_err()
            {
                return; // The client went away.
            }
        }
        if full && !gaps.waiting() {
            continue;
        }
        tokio::select! {
            () = &mut committed => {}
            () = tokio::time::sleep(platform.settings.event_poll_interval) => {}
            _ = shutdown.changed() => return,
            () = out.closed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

#[tonic::async_trait]
impl EventService for EventsApi {
    type WatchEventsStream = EventStream;

    #[tracing::instrument(skip_all, fields(rpc = "WatchEvents"))]
    async fn watch_events(
        &self,
        request: Request<pb::WatchEventsRequest>,
    ) -> Result<Response<Self::WatchEventsStream>, Status> {
        let caller = caller(&request).map_err(ApiError::from)?;
        let req = request.into_inner();
        if req.after_sequence < 0 {
            return Err(ApiError::from(DomainError::invalid(
                "after_sequence",
                "must not be negative",
            ))
            .into());
        }
        let subscription = Subscription {
            caller,
            types: req.types,
            resource_prefix: req.resource_prefix,
        };
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(pump(
            self.platform.clone(),
            subscription,
            req.after_sequence,
            tx,
            self.shutdown.clone(),
            self.streams.open(req.after_sequence),
        ));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}
