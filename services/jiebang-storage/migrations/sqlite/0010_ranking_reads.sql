-- What the ranking reads of a sealed sheet, apart from its comments: `scores` holds the
-- criterion scores of `content` as [[criterion, score], ...] in the sheet's order (written with
-- every save of the content), so ranking 100,000 applications × 7 sheets reads a few dozen
-- bytes per sheet instead of every comment. A sheet whose `scores` is NULL is read from
-- `content`, as before. The index serves the ranking's one scan of a challenge's sealed sheets.

ALTER TABLE score_sheets ADD COLUMN scores TEXT;

UPDATE score_sheets SET scores = (
    SELECT json_group_array(json_array(json_extract(value, '$.criterion'), json_extract(value, '$.score')))
    FROM json_each(content, '$.scores')
);

CREATE INDEX score_sheets_challenge_idx ON score_sheets (challenge_id, state);
