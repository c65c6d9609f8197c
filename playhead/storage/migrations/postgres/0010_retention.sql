-- PostgreSQL translation of migrations/sqlite/0010_retention.sql.
ALTER TABLE sessions ADD COLUMN events_purged INTEGER NOT NULL DEFAULT 0;
CREATE INDEX sessions_unpurged ON sessions (closed_ms) WHERE state = 'closed' AND events_purged = 0;
