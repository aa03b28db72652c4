-- The public notice (公示) of proposed winners, objections (异议) to it, and the projects the
-- appointed winners start.

CREATE TABLE public_notices (
    challenge_id TEXT NOT NULL REFERENCES challenges (id),
    round        INTEGER NOT NULL,
    state        TEXT NOT NULL,
    working_days INTEGER NOT NULL,
    winners      TEXT NOT NULL,
    start_at     INTEGER NOT NULL,
    end_at       INTEGER NOT NULL,
    PRIMARY KEY (challenge_id, round)
);

CREATE TABLE objections (
    id             TEXT PRIMARY KEY,
    challenge_id   TEXT NOT NULL REFERENCES challenges (id),
    application_id TEXT,
    objector_id    TEXT NOT NULL REFERENCES users (id),
    content        TEXT NOT NULL,
    state          TEXT NOT NULL,
    notice_round   INTEGER NOT NULL,
    ruling_reason  TEXT,
    remedy         TEXT,
    ruler_id       TEXT,
    filed_at       INTEGER NOT NULL,
    ruled_at       INTEGER,
    version        INTEGER NOT NULL
);
CREATE INDEX objections_challenge_idx ON objections (challenge_id, id);

CREATE TABLE projects (
    id             TEXT PRIMARY KEY,
    challenge_id   TEXT NOT NULL REFERENCES challenges (id),
    application_id TEXT NOT NULL CONSTRAINT projects_application_key UNIQUE REFERENCES applications (id),
    award_fen      INTEGER NOT NULL,
    state          TEXT NOT NULL,
    start_at       INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    version        INTEGER NOT NULL
);
