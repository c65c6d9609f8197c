-- PostgreSQL translation of migrations/sqlite/0006_aggregate_columns.sql (dims is JSONB).
-- What reports over many sessions select, group and sum by, one column per figure so a report
-- never reads the report JSON: the lifecycle, the viewer key, the dimension values (dims: a
-- JSON object of every sessionStart param as text and every custom-metadata key as meta.KEY),
-- the flags and figures the summary columns lacked, per-session ad and chapter totals and the
-- experience score. Rows stored before this migration are filled from their report at the next
-- start (playhead.collector.restore); until then their dims is NULL.
ALTER TABLE session_summaries ADD COLUMN state TEXT NOT NULL DEFAULT 'open';
ALTER TABLE session_summaries ADD COLUMN close_reason TEXT;
ALTER TABLE session_summaries ADD COLUMN viewer_key TEXT;
ALTER TABLE session_summaries ADD COLUMN dims JSONB;
ALTER TABLE session_summaries ADD COLUMN bitrate_bucket TEXT;
ALTER TABLE session_summaries ADD COLUMN media_length DOUBLE PRECISION;
ALTER TABLE session_summaries ADD COLUMN has_progress10 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN has_progress25 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN has_progress50 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN has_progress75 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN has_progress95 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN average_minute_audience DOUBLE PRECISION;
ALTER TABLE session_summaries ADD COLUMN estimated_streams BIGINT NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN bitrate_change_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN buffer_impacted BIGINT NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN stall_impacted BIGINT NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN error_impacted BIGINT NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN pause_impacted BIGINT NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN bitrate_change_impacted BIGINT NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN dropped_frame_impacted BIGINT NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN ad_breaks BIGINT NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN ad_starts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN ad_completes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN ad_skips BIGINT NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN ad_time_played DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN chapter_starts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN chapter_completes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN chapter_skips BIGINT NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN chapter_time_played DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE session_summaries ADD COLUMN experience DOUBLE PRECISION;
ALTER TABLE session_summaries ADD COLUMN playback_success DOUBLE PRECISION;
ALTER TABLE session_summaries ADD COLUMN startup DOUBLE PRECISION;
ALTER TABLE session_summaries ADD COLUMN smoothness DOUBLE PRECISION;
-- the sessions list pages by (firstEventTs, id)
CREATE INDEX session_summaries_first_ts_id ON session_summaries (first_event_ts, session_id);
CREATE INDEX session_summaries_undimmed ON session_summaries (session_id) WHERE dims IS NULL
;
