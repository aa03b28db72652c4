-- Acceptance panels (验收专家组), their votes, and the decision on each milestone.

ALTER TABLE milestones ADD COLUMN rework_used INTEGER NOT NULL DEFAULT 0;
ALTER TABLE milestones ADD COLUMN rework_due_at INTEGER;
ALTER TABLE milestones ADD COLUMN decision TEXT;

CREATE TABLE acceptance_seats (
    milestone_id TEXT NOT NULL REFERENCES milestones (id),
    user_id      TEXT NOT NULL REFERENCES users (id),
    seat_kind    TEXT NOT NULL,
    expert_id    TEXT,
    PRIMARY KEY (milestone_id, user_id)
);

CREATE TABLE acceptance_votes (
    id           TEXT PRIMARY KEY,
    milestone_id TEXT NOT NULL REFERENCES milestones (id),
    report_id    TEXT NOT NULL,
    voter_id     TEXT NOT NULL,
    seat_kind    TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    comment      TEXT NOT NULL,
    supersedes   TEXT,
    is_current   INTEGER NOT NULL,
    cast_at      INTEGER NOT NULL
);
-- One current vote per voter and milestone.
CREATE UNIQUE INDEX acceptance_votes_current_key ON acceptance_votes (milestone_id, voter_id) WHERE is_current = 1;
