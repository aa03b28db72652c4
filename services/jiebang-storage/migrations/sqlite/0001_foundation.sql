-- The foundation: identity, challenges, and the trust tables (audit chain, event outbox,
-- idempotency). Instants are microseconds since the Unix epoch (UTC); money is integer fen.

CREATE TABLE server_secrets (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE organizations (
    id                         TEXT PRIMARY KEY,
    display_name               TEXT NOT NULL,
    org_type                   TEXT NOT NULL,
    region                     TEXT NOT NULL,
    unified_social_credit_code TEXT NOT NULL CONSTRAINT organizations_credit_code_key UNIQUE,
    created_at                 INTEGER NOT NULL,
    updated_at                 INTEGER NOT NULL,
    version                    INTEGER NOT NULL
);

CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    username        TEXT NOT NULL CONSTRAINT users_username_key UNIQUE,
    display_name    TEXT NOT NULL,
    role            TEXT NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    email           TEXT NOT NULL,
    phone           TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    version         INTEGER NOT NULL
);
CREATE INDEX users_organization_idx ON users (organization_id, id);

CREATE TABLE challenges (
    id                  TEXT PRIMARY KEY,
    publisher_id        TEXT NOT NULL REFERENCES organizations (id),
    state               TEXT NOT NULL,
    title               TEXT NOT NULL,
    industry_field      TEXT NOT NULL,
    round               TEXT NOT NULL,
    spec                TEXT NOT NULL,
    open_at             INTEGER,
    close_at            INTEGER,
    rejection_reason    TEXT,
    cancellation_reason TEXT,
    cancellation_note   TEXT,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    version             INTEGER NOT NULL
);
CREATE INDEX challenges_state_close_idx ON challenges (state, close_at);
CREATE INDEX challenges_publisher_idx ON challenges (publisher_id, id);

-- One row per audit chain: its last position and hash, so deleting a chain's newest record is
-- detected too.
CREATE TABLE audit_chains (
    chain     TEXT PRIMARY KEY,
    last_seq  INTEGER NOT NULL,
    last_hash TEXT NOT NULL
);

CREATE TABLE audit_records (
    sequence       INTEGER PRIMARY KEY AUTOINCREMENT,
    chain          TEXT NOT NULL,
    chain_seq      INTEGER NOT NULL,
    recorded_at    INTEGER NOT NULL,
    actor          TEXT NOT NULL,
    action         TEXT NOT NULL,
    resource       TEXT NOT NULL,
    request_digest TEXT NOT NULL,
    prev_hash      TEXT NOT NULL,
    hash           TEXT NOT NULL,
    CONSTRAINT audit_records_chain_seq_key UNIQUE (chain, chain_seq)
);
CREATE INDEX audit_records_actor_idx ON audit_records (actor, sequence);

CREATE TABLE events (
    sequence    INTEGER PRIMARY KEY AUTOINCREMENT,
    recorded_at INTEGER NOT NULL,
    event_type  INTEGER NOT NULL,
    resource    TEXT NOT NULL,
    audience    TEXT NOT NULL,
    payload     BLOB NOT NULL
);

CREATE TABLE idempotency_keys (
    caller         TEXT NOT NULL,
    request_id     TEXT NOT NULL,
    method         TEXT NOT NULL,
    request_digest TEXT NOT NULL,
    response       BLOB NOT NULL,
    created_at     INTEGER NOT NULL,
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (caller, request_id)
);
