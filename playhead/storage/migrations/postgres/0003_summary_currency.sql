-- PostgreSQL translation of migrations/sqlite/0003_summary_currency.sql.
ALTER TABLE session_summaries ADD COLUMN last_seq BIGINT NOT NULL DEFAULT -1;
ALTER TABLE session_summaries DROP COLUMN refused;
CREATE INDEX sessions_closed_ms ON sessions (closed_ms) WHERE closed_ms IS NOT NULL;
