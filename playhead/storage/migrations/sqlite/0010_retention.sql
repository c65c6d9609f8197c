-- Retention (operations): a closed session whose raw events were deleted keeps its row and its
-- summaries, and says so (events_purged = 1; its stored final report stands for its log).
-- Retention passes find the closed sessions still holding events by close time.
ALTER TABLE sessions ADD COLUMN events_purged INTEGER NOT NULL DEFAULT 0;
CREATE INDEX sessions_unpurged ON sessions (closed_ms) WHERE state = 'closed' AND events_purged = 0
