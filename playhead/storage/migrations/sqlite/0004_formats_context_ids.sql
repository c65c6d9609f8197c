-- Each stored event keeps the wire format it came in (protocols.decode_stored reads it back),
-- each session the request context of its start (User-Agent and the like, for enrichment).
-- (session, seq) is unique, so a retried write can never store an event twice. Session ids
-- are handed out in reserved blocks (id_blocks), never from one process's memory alone.
ALTER TABLE events ADD COLUMN format TEXT NOT NULL DEFAULT 'collection';
ALTER TABLE sessions ADD COLUMN context TEXT NOT NULL DEFAULT '{}';
-- params were written as bytes before: text, as the JSON functions of SQL want it
UPDATE sessions SET params = CAST(params AS TEXT) WHERE typeof(params) = 'blob';
DROP INDEX events_session;
CREATE UNIQUE INDEX events_session_seq ON events (session_id, seq);
CREATE TABLE id_blocks (name TEXT PRIMARY KEY, next INTEGER NOT NULL);
INSERT INTO id_blocks SELECT 'sessions', COALESCE(MAX(id), 0) + 1 FROM sessions
