-- PostgreSQL translation of migrations/sqlite/0004_formats_context_ids.sql; session ids come
-- from a sequence, which every process shares.
ALTER TABLE events ADD COLUMN format TEXT NOT NULL DEFAULT 'collection';
ALTER TABLE sessions ADD COLUMN context TEXT NOT NULL DEFAULT '{}';
DROP INDEX events_session;
CREATE UNIQUE INDEX events_session_seq ON events (session_id, seq);
CREATE SEQUENCE session_ids;
SELECT setval('session_ids', COALESCE((SELECT MAX(id) FROM sessions), 0) + 1, false);
