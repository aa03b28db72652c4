-- How projects end or bend: the one extension, the failure record (失败宽容), the reason a
-- horse-race project was stopped; bars after misconduct may lapse.

ALTER TABLE projects ADD COLUMN extension TEXT;
ALTER TABLE projects ADD COLUMN failure TEXT;
ALTER TABLE projects ADD COLUMN stop_reason TEXT;
ALTER TABLE organization_bars ADD COLUMN barred_until INTEGER;
