//! What every handler needs, and the one write path all state changes take.

use crate::ApiError;
use crate::auth::TokenKeys;
use crate::idempotency::Idempotency;
use jiebang_domain::audience::{self, Audience};
use jiebang_domain::challenge::PublicationLimits;
use jiebang_domain::{Clock, Timestamp};
use jiebang_proto::v1 as pb;
use jiebang_storage::{Change, NewEvent, Store};
use prost::Message;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Deployment settings the services read.
#[derive(Debug, Clone)]
pub struct Settings {
    pub publication: PublicationLimits,
    /// How often event subscribers look for events committed by other processes.
    pub event_poll_interval: Duration,
    /// Where document content is kept (content-addressed files).
    pub document_dir: std::path::PathBuf,
    /// The largest document accepted, in bytes.
    pub max_document_bytes: i64,
    /// Length of the public notice (公示) in working days.
    pub notice_working_days: u32,
    /// The acceptance bands and time limits of milestones (DOMAIN.md defaults).
    pub acceptance: jiebang_domain::milestone::decision::AcceptanceRules,
    /// Holidays and make-up working weekends of the notice calendar.
    pub calendar: jiebang_domain::review::notice::Calendar,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            publication: PublicationLimits::default(),
            event_poll_interval: Duration::from_millis(200),
            document_dir: std::path::PathBuf::from("documents"),
            max_document_bytes: 50 * 1024 * 1024,
            notice_working_days: 5,
            acceptance: jiebang_domain::milestone::decision::AcceptanceRules::default(),
            calendar: jiebang_domain::review::notice::Calendar::default(),
        }
    }
}

/// Shared state of the services of one server process. Holds no request state: replicas
/// sharing one database are interchangeable.
#[derive(Clone)]
pub struct Platform {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub tokens: Arc<TokenKeys>,
    pub settings: Arc<Settings>,
    /// Woken after every local commit, so local subscribers see events at once; events from
    /// other processes arrive on the next poll.
    pub events_committed: Arc<Notify>,
}

/// Attempts of one write before giving up with ABORTED.
pub const MAX_ATTEMPTS: u32 = 8;

/// How long to wait before attempt `tries + 1` of a write that lost a race: jittered, so
/// racing writers do not collide again in lockstep.
pub fn retry_backoff(tries: u32) -> Duration {
    Duration::from_millis(rand::random::<u64>() % (2 << tries.min(6)))
}

impl Platform {
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Runs one state change: runs `attempt` (read, decide in the domain, write through
    /// [`Platform::commit`]), repeats it when a concurrent writer got there first, and answers
    /// a retried `request_id` with the stored first answer. Each attempt re-reads, so the
    /// domain decides on the latest state: two racing approvals give one success and one
    /// FAILED_PRECONDITION.
    ///
    /// The stored answer is looked for only once an attempt fails. A first call — nearly
    /// every call — has none, so looking first cost each write a query; and a retry of a
    /// change that was made either fails the domain's checks (the sheet is already sealed) or
    /// collides with the stored key when it commits, and then finds the answer.
    pub async fn mutate<R, F, Fut>(
        &self,
        idempotency: &Idempotency,
        mut attempt: F,
    ) -> Result<R, ApiError>
    where
        R: Message + Default,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<R, ApiError>>,
    {
        let mut tries = 0;
        loop {
            let failed = match attempt().await {
                Ok(done) => return Ok(done),
                Err(e) => e,
            };
            if let Some(stored) = idempotency.replay::<R>(&self.store).await? {
                return Ok(stored);
            }
            if !(failed.is_retryable() && tries + 1 < MAX_ATTEMPTS) {
                return Err(failed);
            }
            tries += 1;
            tokio::time::sleep(retry_backoff(tries)).await;
        }
    }

    /// Writes the audit record, the event and the idempotency record of a change, commits,
    /// and wakes local event subscribers.
    pub async fn commit(&self, tx: jiebang_storage::Tx, change: &Change) -> Result<(), ApiError> {
        tx.finish(change).await?;
        self.events_committed.notify_waiters();
        Ok(())
    }
}

/// The description of one change, from which [`ChangeBuilder::build`] makes the audit record,
/// the event and the idempotency record.
pub struct ChangeBuilder<'a> {
    pub at: Timestamp,
    pub actor: String,
    pub action: &'static str,
    pub event_type: pb::EventType,
    /// The resource changed; also the audit chain unless `chain` is set.
    pub resource: String,
    pub chain: Option<String>,
    /// The resource's lifecycle state after the change (its proto enum name), if it has one.
    pub state: String,
    pub summary: String,
    pub audience: &'a [Audience],
    pub idempotency: &'a Idempotency,
}

impl ChangeBuilder<'_> {
    pub fn build(self, response: &impl Message) -> Change {
        let event = pb::Event {
            sequence: 0,
            time: Some(crate::convert::to_proto_time(self.at)),
            r#type: self.event_type as i32,
            resource: self.resource.clone(),
            actor: self.actor.clone(),
            state: self.state,
            summary: self.summary,
        };
        Change {
            at: self.at,
            actor: self.actor,
            action: self.action,
            chain: self.chain.unwrap_or_else(|| self.resource.clone()),
            resource: self.resource.clone(),
            request_digest: self.idempotency.request_digest.clone(),
            event: NewEvent {
                event_type: self.event_type as i32,
                resource: self.resource,
                audience: audience::to_tags(self.audience),
                payload: event.encode_to_vec(),
            },
            idempotency: self.idempotency.record(response),
        }
    }
}
