-- PostgreSQL translation of migrations/sqlite/0007_timeline_columns.sql.
ALTER TABLE session_summaries ADD COLUMN watching TEXT;
ALTER TABLE session_summaries ADD COLUMN watched TEXT;
CREATE INDEX session_summaries_last_ts ON session_summaries (last_event_ts)
;
