-- What the ranking shows of an application besides its scores: its title and requested budget,
-- kept beside the content (written with every save of it) so ranking 100,000 applications reads
-- two short columns instead of parsing 100,000 contents of about 2 KB. A row where they are
-- NULL is read from `content`, as before.

ALTER TABLE applications ADD COLUMN title TEXT;
ALTER TABLE applications ADD COLUMN requested_budget_fen BIGINT;

UPDATE applications SET
    title = CAST(content AS json) ->> 'title',
    requested_budget_fen = CAST(CAST(content AS json) ->> 'requested_budget_fen' AS BIGINT);
