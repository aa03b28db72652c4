-- Score sheets (sealed on submit; a rescoring supersedes, never edits) and the chair's
-- dispersion resolutions.

CREATE TABLE score_sheets (
    id               TEXT PRIMARY KEY,
    assignment_id    TEXT NOT NULL REFERENCES assignments (id),
    challenge_id     TEXT NOT NULL REFERENCES challenges (id),
    application_id   TEXT NOT NULL REFERENCES applications (id),
    expert_id        TEXT NOT NULL REFERENCES experts (id),
    state            TEXT NOT NULL,
    content          TEXT NOT NULL,
    revision         BIGINT NOT NULL,
    supersedes       TEXT,
    rescoring_reason TEXT,
    seal_sha256      TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    submitted_at     BIGINT,
    version          BIGINT NOT NULL
);
-- One current (draft or sealed) sheet per assignment.
CREATE UNIQUE INDEX score_sheets_current_key ON score_sheets (assignment_id) WHERE state <> 'SUPERSEDED';
CREATE INDEX score_sheets_application_idx ON score_sheets (application_id, state);

CREATE TABLE dispersion_resolutions (
    application_id TEXT PRIMARY KEY REFERENCES applications (id),
    challenge_id   TEXT NOT NULL REFERENCES challenges (id),
    reason         TEXT NOT NULL,
    resolver_id    TEXT NOT NULL,
    resolved_at    BIGINT NOT NULL
);
