//! Idempotent retries (AIP-155): a mutating call retried with the same `request_id` returns
//! the first answer and changes nothing more. The first answer is stored, encoded, in the same
//! transaction as the change it describes.

use crate::ApiError;
use jiebang_domain::{Caller, DomainError};
use jiebang_storage::{IdempotencyRecord, Store};
use prost::Message;
use sha2::{Digest, Sha256};
use sqlx::Row;

/// Hex SHA-256 of an encoded message: the request digest of audit records and of idempotency
/// keys. Callers strip secrets (passwords) from the message first.
pub fn digest(message: &impl Message) -> String {
    hex::encode(Sha256::digest(message.encode_to_vec()))
}

/// The idempotency context of one call.
#[derive(Debug, Clone)]
pub struct Idempotency {
    caller: String,
    request_id: Option<String>,
    method: &'static str,
    /// Digest of the request without its `request_id`.
    pub request_digest: String,
}

impl Idempotency {
    /// `request_id` may be empty (no idempotency); otherwise 1–64 of `[A-Za-z0-9_-]`
    /// (a UUID fits).
    pub fn new(
        caller: &Caller,
        request_id: &str,
        method: &'static str,
        request_digest: String,
    ) -> Result<Self, DomainError> {
        let valid = request_id.len() <= 64
            && request_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(DomainError::invalid(
                "request_id",
                "must be at most 64 of A-Z, a-z, 0-9, '-' or '_' (a UUID fits)",
            ));
        }
        Ok(Self {
            caller: caller.actor(),
            request_id: (!request_id.is_empty()).then(|| request_id.to_owned()),
            method,
            request_digest,
        })
    }

    /// For changes nobody requested (the clock's own transitions): no key, only the digest
    /// for the audit record.
    pub fn none(request_digest: String) -> Self {
        Self {
            caller: jiebang_domain::caller::SYSTEM_ACTOR.to_owned(),
            request_id: None,
            method: "",
            request_digest,
        }
    }

    /// The stored first answer, if this request was already served.
    pub async fn replay<R: Message + Default>(&self, store: &Store) -> Result<Option<R>, ApiError> {
        let Some(request_id) = &self.request_id else {
            return Ok(None);
        };
        let row = sqlx::query(
            "SELECT method, request_digest, response FROM idempotency_keys \
             WHERE caller = $1 AND request_id = $2",
        )
        .bind(&self.caller)
        .bind(request_id)
        .fetch_optional(store.pool())
        .await
        .map_err(jiebang_storage::StoreError::from)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let method: String = row.try_get(0).map_err(jiebang_storage::StoreError::from)?;
        let digest: String = row.try_get(1).map_err(jiebang_storage::StoreError::from)?;
        if method != self.method || digest != self.request_digest {
            return Err(DomainError::precondition(
                "REQUEST_ID_REUSED",
                format!(
                    "request_id {request_id} was already used for a different request; use a new one"
                ),
            )
            .into());
        }
        let bytes: Vec<u8> = row.try_get(2).map_err(jiebang_storage::StoreError::from)?;
        let response = R::decode(bytes.as_slice())
            .map_err(|e| jiebang_storage::StoreError::Corrupt(format!("stored response: {e}")))?;
        Ok(Some(response))
    }

    /// The record to store with the change, if the call carries a `request_id`.
    pub fn record(&self, response: &impl Message) -> Option<IdempotencyRecord> {
        self.request_id
            .as_ref()
            .map(|request_id| IdempotencyRecord {
                caller: self.caller.clone(),
                request_id: request_id.clone(),
                method: self.method,
                request_digest: self.request_digest.clone(),
                response: response.encode_to_vec(),
            })
    }
}
