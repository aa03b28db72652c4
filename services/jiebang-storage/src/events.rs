//! The event outbox: written in the transaction of each change, read by subscribers from a
//! cursor. Readers on any process see the same rows, so an event written through one replica
//! reaches subscribers on another.

use crate::batch::Expect;
use crate::change::Change;
use crate::{Store, StoreError, Tx};
use sqlx::Row;

/// An event row as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub sequence: i64,
    pub recorded_at: jiebang_domain::Timestamp,
    pub event_type: i32,
    pub resource: String,
    pub audience: String,
    pub payload: Vec<u8>,
}

pub(crate) fn queue_insert(tx: &mut Tx, change: &Change) {
    tx.queue(
        "INSERT INTO events (recorded_at, event_type, resource, audience, payload) \
         VALUES ($1, $2, $3, $4, $5)",
        Expect::Any,
    )
    .bind(change.at.micros())
    .bind(i64::from(change.event.event_type))
    .bind(&change.event.resource)
    .bind(&change.event.audience)
    .bind(change.event.payload.clone());
}

/// Events after `after_sequence`, in sequence order, at most `limit`.
pub async fn read_after(
    store: &Store,
    after_sequence: i64,
    limit: i64,
) -> Result<Vec<StoredEvent>, StoreError> {
    let rows = sqlx::query(
        "SELECT sequence, event_type, resource, audience, payload, recorded_at FROM events \
         WHERE sequence > $1 ORDER BY sequence LIMIT $2",
    )
    .bind(after_sequence)
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(StoredEvent {
                sequence: row.try_get(0)?,
                event_type: i32::try_from(row.try_get::<i64, _>(1)?)
                    .map_err(|_| StoreError::Corrupt("event_type out of range".into()))?,
                resource: row.try_get(2)?,
                audience: row.try_get(3)?,
                payload: row.try_get(4)?,
                recorded_at: jiebang_domain::Timestamp(row.try_get(5)?),
            })
        })
        .collect()
}

/// The newest sequence, or 0 when there are no events.
pub async fn last_sequence(store: &Store) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT COALESCE(MAX(sequence), 0) FROM events")
        .fetch_one(store.pool())
        .await?;
    Ok(row.try_get::<i64, _>(0)?)
}
