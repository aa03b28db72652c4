-- Milestone reports: the measured values a team submits, and the automatic check of each
-- against its target, kept per submission (a rework adds a report, never edits one).

CREATE TABLE milestone_reports (
    id           TEXT PRIMARY KEY,
    milestone_id TEXT NOT NULL REFERENCES milestones (id),
    project_id   TEXT NOT NULL REFERENCES projects (id),
    content      TEXT NOT NULL,
    submitter_id TEXT NOT NULL,
    submitted_at BIGINT NOT NULL,
    days_late    BIGINT NOT NULL
);
CREATE INDEX milestone_reports_milestone_idx ON milestone_reports (milestone_id, submitted_at);
