//! Server-wide secrets kept in the database, so every replica sharing it signs and verifies
//! access tokens with the same key without extra configuration.

use crate::{Store, StoreError};
use jiebang_domain::Timestamp;
use sqlx::Row;

/// Returns the secret `name`, creating it with `generate()` if absent. Replicas racing here
/// all end up with the value of whichever insert committed first.
pub async fn get_or_create(
    store: &Store,
    name: &str,
    now: Timestamp,
    generate: impl FnOnce() -> String,
) -> Result<String, StoreError> {
    if let Some(existing) = get(store, name).await? {
        return Ok(existing);
    }
    let inserted = sqlx::query(
        "INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(generate())
    .bind(now.micros())
    .execute(store.pool())
    .await?;
    let _ = inserted;
    get(store, name)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("secret {name} vanished after insert")))
}

async fn get(store: &Store, name: &str) -> Result<Option<String>, StoreError> {
    let row = sqlx::query("SELECT value FROM server_secrets WHERE name = $1")
        .bind(name)
        .fetch_optional(store.pool())
        .await?;
    row.map(|r| r.try_get::<String, _>(0))
        .transpose()
        .map_err(Into::into)
}
