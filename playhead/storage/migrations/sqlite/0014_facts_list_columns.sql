-- The sessions list and the exports read every column they show from the session's row of
-- facts: its public id (sid, as in sessions) and media.name (as in its dims), so a page or an
-- export of millions of rows no longer joins sessions or parses dims for each row.
ALTER TABLE session_facts ADD COLUMN sid TEXT;
ALTER TABLE session_facts ADD COLUMN media_name TEXT;
UPDATE session_facts SET
  sid = (SELECT s.sid FROM sessions s WHERE s.id = session_facts.session_id),
  media_name = json_extract(dims, '$."media.name"')
