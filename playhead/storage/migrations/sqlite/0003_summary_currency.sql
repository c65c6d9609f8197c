-- A stored report is current while no stored event has a higher arrival sequence number than
-- the last one folded into it (last_seq); refusals (410s) are no longer part of the stored
-- report (readers add them from sessions.refused), so the summary's refused column goes.
ALTER TABLE session_summaries ADD COLUMN last_seq INTEGER NOT NULL DEFAULT -1;
ALTER TABLE session_summaries DROP COLUMN refused;
-- sessions closed around a crash are re-checked at start-up by their close time
CREATE INDEX sessions_closed_ms ON sessions (closed_ms) WHERE closed_ms IS NOT NULL
