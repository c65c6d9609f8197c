-- PostgreSQL translation of migrations/sqlite/0013_error_ids.sql.
ALTER TABLE session_facts ADD COLUMN error_ids TEXT;
UPDATE session_facts f SET error_ids = r.ids
    FROM (SELECT sm.session_id, json_agg(json_build_array(e.source, e.error_id))::text AS ids
          FROM session_summaries sm
          CROSS JOIN LATERAL (SELECT convert_from(sm.report, 'UTF8')::json -> 'qoeDataDetails'
                              AS q) d
          CROSS JOIN LATERAL (
              SELECT 'player' AS source, x AS error_id
              FROM json_array_elements_text(COALESCE(d.q -> 'playerSdkErrors', '[]'::json)) x
              UNION ALL SELECT 'external', x
              FROM json_array_elements_text(COALESCE(d.q -> 'externalErrors', '[]'::json)) x) e
          WHERE sm.session_id IN (SELECT session_id FROM session_facts WHERE error_count > 0)
          GROUP BY sm.session_id) r
    WHERE r.session_id = f.session_id;
