-- The errors report (GET /reports/errors) reads each session's error ids from its row of facts
-- rather than from the report document: error_ids is JSON [[SOURCE, ID], ...], SOURCE "player"
-- for the report's qoeDataDetails.playerSdkErrors and "external" for its externalErrors, NULL
-- for a session that listed none. Sessions summarized before this migration get theirs from
-- their stored report here, once.
ALTER TABLE session_facts ADD COLUMN error_ids TEXT;
UPDATE session_facts SET error_ids = (
    SELECT json_group_array(json_array(
        CASE q.key WHEN 'playerSdkErrors' THEN 'player' ELSE 'external' END, j.value))
    FROM session_summaries sm
    CROSS JOIN json_each(CAST(sm.report AS TEXT), '$.qoeDataDetails') q
    CROSS JOIN json_each(q.value) j
    WHERE sm.session_id = session_facts.session_id
    AND q.key IN ('playerSdkErrors', 'externalErrors')
) WHERE error_count > 0;
UPDATE session_facts SET error_ids = NULL WHERE error_ids = '[]'
