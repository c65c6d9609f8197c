-- What reports over many sessions select, group and sum by, one column per figure so a report
-- never reads the report JSON: the lifecycle, the viewer key, the dimension values (dims: a
-- JSON object of every sessionStart param as text and every custom-metadata key as meta.KEY),
-- the flags and figures the summary columns lacked, per-session ad and chapter totals and the
-- experience score. Rows stored before this migration are filled from their report at the next
-- start (playhead.collector.restore); until then their dims is NULL.
ALTER TABLE session_summaries ADD COLUMN state TEXT NOT NULL DEFAULT 'open';
ALTER TABLE session_summaries ADD COLUMN close_reason TEXT;
ALTER TABLE session_summaries ADD COLUMN viewer_key TEXT;
ALTER TABLE session_summaries ADD COLUMN dims TEXT;
ALTER TABLE session_summaries ADD COLUMN bitrate_bucket TEXT;
ALTER TABLE session_summaries ADD COLUMN media_length REAL;
ALTER TABLE session_summaries ADD COLUMN has_progress10 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN has_progress25 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN has_progress50 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN has_progress75 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN has_progress95 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN average_minute_audience REAL;
ALTER TABLE session_summaries ADD COLUMN estimated_streams INTEGER NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN bitrate_change_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN buffer_impacted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN stall_impacted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN error_impacted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN pause_impacted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN bitrate_change_impacted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN dropped_frame_impacted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN ad_breaks INTEGER NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN ad_starts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN ad_completes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN ad_skips INTEGER NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN ad_time_played REAL NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN chapter_starts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN chapter_completes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN chapter_skips INTEGER NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN chapter_time_played REAL NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN experience REAL;
ALTER TABLE session_summaries ADD COLUMN playback_success REAL;
ALTER TABLE session_summaries ADD COLUMN startup REAL;
ALTER TABLE session_summaries ADD COLUMN smoothness REAL;
-- the sessions list pages by (firstEventTs, id)
CREATE INDEX session_summaries_first_ts_id ON session_summaries (first_event_ts, session_id);
CREATE INDEX session_summaries_undimmed ON session_summaries (session_id) WHERE dims IS NULL
