-- PostgreSQL translation of migrations/sqlite/0014_facts_list_columns.sql.
ALTER TABLE session_facts ADD COLUMN sid TEXT;
ALTER TABLE session_facts ADD COLUMN media_name TEXT;
UPDATE session_facts f SET sid = s.sid, media_name = f.dims ->> 'media.name'
  FROM sessions s WHERE s.id = f.session_id;
