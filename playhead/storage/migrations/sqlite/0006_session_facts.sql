-- One narrow row per session with every figure reports over many sessions select, group and sum
-- by, so a report never reads report documents: the lifecycle, the viewer key, the dimension
-- values (dims: a JSON object of every sessionStart param as text and every custom-metadata key
-- as meta.KEY), the flags and figures of the report, per-session ad and chapter totals, the
-- experience score, and for concurrency and retention the watching spans (JSON
-- [[from_ts, to_ts], ...]: the timeline in any state but paused and ended) and the watched
-- playhead ranges (JSON [[from, to], ...]). Written with every summary; sessions summarized
-- before this migration get theirs at the next start (playhead.collector.restore).
CREATE TABLE session_facts (
    session_id              INTEGER PRIMARY KEY REFERENCES sessions (id),
    final                   INTEGER NOT NULL,
    first_event_ts          INTEGER NOT NULL,
    last_event_ts           INTEGER NOT NULL,
    media_id                TEXT,
    is_played               INTEGER NOT NULL,
    is_completed            INTEGER NOT NULL,
    is_downloaded           INTEGER NOT NULL,
    has_resume              INTEGER NOT NULL,
    time_played             REAL NOT NULL,
    total_time_played       REAL NOT NULL,
    unique_time_played      REAL NOT NULL,
    pause_count             INTEGER NOT NULL,
    pause_time              REAL NOT NULL,
    time_to_start           REAL,
    bitrate_average         REAL,
    buffer_count            INTEGER NOT NULL,
    buffer_time             REAL NOT NULL,
    stall_count             INTEGER NOT NULL,
    stall_time              REAL NOT NULL,
    error_count             INTEGER NOT NULL,
    dropped_frames          INTEGER NOT NULL,
    is_dropped_before_start INTEGER NOT NULL,
    state                   TEXT NOT NULL,
    close_reason            TEXT,
    viewer_key              TEXT,
    dims                    TEXT NOT NULL,
    bitrate_bucket          TEXT,
    media_length            REAL,
    has_progress10          INTEGER NOT NULL,
    has_progress25          INTEGER NOT NULL,
    has_progress50          INTEGER NOT NULL,
    has_progress75          INTEGER NOT NULL,
    has_progress95          INTEGER NOT NULL,
    average_minute_audience REAL,
    estimated_streams       INTEGER NOT NULL,
    bitrate_change_count    INTEGER NOT NULL,
    buffer_impacted         INTEGER NOT NULL,
    stall_impacted          INTEGER NOT NULL,
    error_impacted          INTEGER NOT NULL,
    pause_impacted          INTEGER NOT NULL,
    bitrate_change_impacted INTEGER NOT NULL,
    dropped_frame_impacted  INTEGER NOT NULL,
    ad_breaks               INTEGER NOT NULL,
    ad_starts               INTEGER NOT NULL,
    ad_completes            INTEGER NOT NULL,
    ad_skips                INTEGER NOT NULL,
    ad_time_played          REAL NOT NULL,
    chapter_starts          INTEGER NOT NULL,
    chapter_completes       INTEGER NOT NULL,
    chapter_skips           INTEGER NOT NULL,
    chapter_time_played     REAL NOT NULL,
    experience              REAL,
    playback_success        REAL,
    startup                 REAL,
    smoothness              REAL,
    watching                TEXT NOT NULL,
    watched                 TEXT NOT NULL
);
CREATE INDEX session_facts_first_ts ON session_facts (first_event_ts, session_id);
CREATE INDEX session_facts_last_ts ON session_facts (last_event_ts);
CREATE INDEX session_facts_media ON session_facts (media_id, first_event_ts)
