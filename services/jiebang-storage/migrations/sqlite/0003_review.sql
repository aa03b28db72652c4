-- Expert review: the pool, pins and forbids, assignments, recorded conflicts, panels.

CREATE TABLE experts (
    id                TEXT PRIMARY KEY,
    user_id           TEXT NOT NULL CONSTRAINT experts_user_key UNIQUE REFERENCES users (id),
    affiliation_id    TEXT NOT NULL REFERENCES organizations (id),
    fields            TEXT NOT NULL,
    keywords          TEXT NOT NULL,
    declared          TEXT NOT NULL,
    max_load          INTEGER NOT NULL,
    availability      TEXT NOT NULL,
    unavailable_until INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    version           INTEGER NOT NULL
);

CREATE TABLE assignment_constraints (
    application_id TEXT NOT NULL REFERENCES applications (id),
    expert_id      TEXT NOT NULL REFERENCES experts (id),
    challenge_id   TEXT NOT NULL REFERENCES challenges (id),
    kind           TEXT NOT NULL,
    reason         TEXT NOT NULL,
    author_id      TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (application_id, expert_id)
);
CREATE INDEX assignment_constraints_challenge_idx ON assignment_constraints (challenge_id);

CREATE TABLE assignments (
    id             TEXT PRIMARY KEY,
    challenge_id   TEXT NOT NULL REFERENCES challenges (id),
    application_id TEXT NOT NULL REFERENCES applications (id),
    expert_id      TEXT NOT NULL REFERENCES experts (id),
    state          TEXT NOT NULL,
    origin         TEXT NOT NULL,
    affinity       INTEGER NOT NULL,
    replaces       TEXT,
    created_at     INTEGER NOT NULL,
    opened_at      INTEGER,
    withdrawn_at   INTEGER,
    version        INTEGER NOT NULL
);
-- An expert holds at most one live assignment per application, even under racing solves.
CREATE UNIQUE INDEX assignments_live_pair_key ON assignments (application_id, expert_id)
    WHERE state <> 'WITHDRAWN';
CREATE INDEX assignments_expert_idx ON assignments (expert_id, id);
CREATE INDEX assignments_challenge_idx ON assignments (challenge_id, id);

CREATE TABLE conflict_records (
    challenge_id   TEXT NOT NULL REFERENCES challenges (id),
    expert_id      TEXT NOT NULL REFERENCES experts (id),
    application_id TEXT NOT NULL REFERENCES applications (id),
    kind           TEXT NOT NULL,
    source         TEXT NOT NULL,
    detail         TEXT NOT NULL,
    recorded_at    INTEGER NOT NULL,
    PRIMARY KEY (expert_id, application_id, kind, source)
);
CREATE INDEX conflict_records_challenge_idx ON conflict_records (challenge_id);

CREATE TABLE review_panels (
    challenge_id            TEXT PRIMARY KEY REFERENCES challenges (id),
    experts_per_application INTEGER NOT NULL,
    chair_expert_id         TEXT REFERENCES experts (id),
    version                 INTEGER NOT NULL
);
