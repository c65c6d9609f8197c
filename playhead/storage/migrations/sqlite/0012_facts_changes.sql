-- Reports keep the facts of every session in memory (reports/columnar.py) and follow what
-- changes: each write of a session's facts stamps it with the next value of ``changed``, so
-- "what changed since I last looked" is a range of this index; deletions (retention, erasure)
-- count up facts_changes.deleted, so a reader knows to find which sessions went, and raise
-- its floor past the stamps deleted, so a stamp is never given twice.
ALTER TABLE session_facts ADD COLUMN changed INTEGER NOT NULL DEFAULT 0;
CREATE INDEX session_facts_changed ON session_facts (changed);
CREATE TABLE facts_changes (deleted INTEGER NOT NULL, floor INTEGER NOT NULL);
INSERT INTO facts_changes (deleted, floor) VALUES (0, 0);
CREATE TRIGGER session_facts_deleted AFTER DELETE ON session_facts
  BEGIN UPDATE facts_changes SET deleted = deleted + 1, floor = MAX(floor, OLD.changed); END
