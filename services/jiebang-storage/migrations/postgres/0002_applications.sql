-- Applications (揭榜申报): the team's content is a JSON document; the columns queries filter on
-- sit beside it. Who is on the team and which organisations take part are rows of their own,
-- so visibility and per-round limits are indexed lookups.

CREATE TABLE applications (
    id                   TEXT PRIMARY KEY,
    challenge_id         TEXT NOT NULL REFERENCES challenges (id),
    round                TEXT NOT NULL,
    state                TEXT NOT NULL,
    lead_organization_id TEXT NOT NULL REFERENCES organizations (id),
    creator_id           TEXT NOT NULL REFERENCES users (id),
    content              TEXT NOT NULL,
    pledge               TEXT,
    formal_check         TEXT,
    withdrawal_reason    TEXT,
    submitted_at         BIGINT,
    withdrawn_at         BIGINT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    version              BIGINT NOT NULL
);
CREATE INDEX applications_challenge_idx ON applications (challenge_id, id);
-- One submitted application per lead organisation per challenge, enforced by the database so
-- two racing submissions cannot both pass.
CREATE UNIQUE INDEX applications_one_per_lead_key ON applications (challenge_id, lead_organization_id)
    WHERE state NOT IN ('DRAFT', 'WITHDRAWN');

CREATE TABLE application_members (
    application_id TEXT NOT NULL REFERENCES applications (id),
    user_id        TEXT NOT NULL,
    PRIMARY KEY (application_id, user_id)
);
CREATE INDEX application_members_user_idx ON application_members (user_id, application_id);

CREATE TABLE application_organizations (
    application_id  TEXT NOT NULL REFERENCES applications (id),
    organization_id TEXT NOT NULL,
    PRIMARY KEY (application_id, organization_id)
);
CREATE INDEX application_organizations_org_idx ON application_organizations (organization_id, application_id);

CREATE TABLE application_documents (
    application_id TEXT NOT NULL REFERENCES applications (id),
    sha256         TEXT NOT NULL,
    PRIMARY KEY (application_id, sha256)
);
CREATE INDEX application_documents_sha_idx ON application_documents (sha256, application_id);

-- Organisations barred after a project failed for misconduct (失败宽容 does not apply).
CREATE TABLE organization_bars (
    organization_id TEXT PRIMARY KEY REFERENCES organizations (id),
    reason          TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);

-- Documents, addressed by the SHA-256 of their content (stored as files under the data
-- directory); each upload by a user is recorded, so access follows who uploaded what.
CREATE TABLE documents (
    sha256     TEXT PRIMARY KEY,
    size_bytes BIGINT NOT NULL,
    media_type TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE document_uploads (
    sha256      TEXT NOT NULL REFERENCES documents (sha256),
    uploader_id TEXT NOT NULL REFERENCES users (id),
    file_name   TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    uploaded_at BIGINT NOT NULL,
    PRIMARY KEY (sha256, uploader_id)
);
CREATE INDEX document_uploads_uploader_idx ON document_uploads (uploader_id);
