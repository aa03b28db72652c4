-- What the ranking reads of a sealed sheet, apart from its comments: `scores` holds the
-- criterion scores of `content` as [[criterion, score], ...] in the sheet's order (written with
-- every save of the content), so ranking 100,000 applications × 7 sheets reads a few dozen
-- bytes per sheet instead of every comment. A sheet whose `scores` is NULL is read from
-- `content`, as before. The index serves the ranking's one scan of a challenge's sealed sheets.

ALTER TABLE score_sheets ADD COLUMN scores TEXT;

UPDATE score_sheets SET scores = (
    SELECT CAST(COALESCE(json_agg(json_build_array(e ->> 'criterion', e ->> 'score') ORDER BY n), '[]') AS TEXT)
    FROM json_array_elements(CAST(content AS json) -> 'scores') WITH ORDINALITY AS x(e, n)
);

CREATE INDEX score_sheets_challenge_idx ON score_sheets (challenge_id, state);
