-- PostgreSQL translation of migrations/sqlite/0012_facts_changes.sql: ``changed`` comes from
-- a sequence (never given twice, so the floor stays 0); one deletion count per statement.
ALTER TABLE session_facts ADD COLUMN changed BIGINT NOT NULL DEFAULT 0;
CREATE SEQUENCE session_facts_changes;
CREATE INDEX session_facts_changed ON session_facts (changed);
CREATE TABLE facts_changes (deleted BIGINT NOT NULL, floor BIGINT NOT NULL);
INSERT INTO facts_changes (deleted, floor) VALUES (0, 0);
CREATE FUNCTION count_facts_deletions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE facts_changes SET deleted = deleted + 1;
  RETURN NULL;
END
$$;
CREATE TRIGGER session_facts_deleted AFTER DELETE ON session_facts
  FOR EACH STATEMENT EXECUTE FUNCTION count_facts_deletions();
