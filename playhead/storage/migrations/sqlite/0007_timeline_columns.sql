-- Concurrency and retention read each session's watching spans (its timeline's spans in any
-- state but paused and ended, as JSON [[from_ts, to_ts], ...]) and its watched playhead ranges
-- (JSON [[from, to], ...]). Summaries stored before this migration have neither until their
-- session's summary is stored again (their reports carried no timeline).
ALTER TABLE session_summaries ADD COLUMN watching TEXT;
ALTER TABLE session_summaries ADD COLUMN watched TEXT;
CREATE INDEX session_summaries_last_ts ON session_summaries (last_event_ts)
