//! What every state change carries besides its own rows: who did it, the audit record, the
//! outbox event and the idempotency record. [`crate::Tx::finish`] writes them atomically.

use jiebang_domain::Timestamp;

/// One state change, described for the audit chain, the outbox and idempotency.
#[derive(Debug, Clone)]
pub struct Change {
    pub at: Timestamp,
    /// `users/{id}` or `system`.
    pub actor: String,
    /// What happened, e.g. `challenge.approved`.
    pub action: &'static str,
    /// The resource changed, e.g. `challenges/{id}`.
    pub resource: String,
    /// The audit chain: the resource name of the aggregate the change belongs to.
    pub chain: String,
    /// Hex SHA-256 of the request (secrets removed) that caused the change.
    pub request_digest: String,
    pub event: NewEvent,
    pub idempotency: Option<IdempotencyRecord>,
}

/// An outbox event, encoded by the transport (storage does not know the protobuf types).
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event_type: i32,
    pub resource: String,
    /// Audience tags, see `jiebang_domain::audience`.
    pub audience: String,
    pub payload: Vec<u8>,
}

/// The first answer to a request with a `request_id`, kept so a retry returns it again.
#[derive(Debug, Clone)]
pub struct IdempotencyRecord {
    /// `users/{id}`: keys are per caller, so two users can never collide.
    pub caller: String,
    pub request_id: String,
    /// The full RPC method; the same key on another method is refused.
    pub method: &'static str,
    pub request_digest: String,
    /// The encoded response message.
    pub response: Vec<u8>,
}

/// A response stored under an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub method: String,
    pub request_digest: String,
    pub response: Vec<u8>,
}
