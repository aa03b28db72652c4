-- Projects run their milestone plan; accepted milestones release tranches into a ledger that
-- records each tranche exactly once.

ALTER TABLE projects ADD COLUMN signing_share_bp BIGINT NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN ended_at BIGINT;
ALTER TABLE projects ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;

CREATE TABLE milestones (
    id              TEXT PRIMARY KEY,
    project_id      TEXT NOT NULL REFERENCES projects (id),
    position        BIGINT NOT NULL,
    title           TEXT NOT NULL,
    plan            TEXT NOT NULL,
    share_bp        BIGINT NOT NULL,
    tranche_fen     BIGINT NOT NULL,
    state           TEXT NOT NULL,
    due_at          BIGINT NOT NULL,
    original_due_at BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    version         BIGINT NOT NULL,
    CONSTRAINT milestones_position_key UNIQUE (project_id, position)
);
CREATE INDEX milestones_due_idx ON milestones (state, due_at);

CREATE TABLE disbursements (
    id           TEXT PRIMARY KEY,
    project_id   TEXT NOT NULL REFERENCES projects (id),
    -- `signing` or the milestone id: the unique key makes each release happen once.
    tranche      TEXT NOT NULL,
    milestone_id TEXT,
    amount_fen   BIGINT NOT NULL,
    share_bp     BIGINT NOT NULL,
    approver_id  TEXT NOT NULL,
    disbursed_at BIGINT NOT NULL,
    CONSTRAINT disbursements_tranche_key UNIQUE (project_id, tranche)
);
