-- Session reports in normalized tables, for reports over many sessions. Open sessions' rows are
-- refreshed periodically (final = 0); a closed session's rows are written once more (final = 1).
CREATE TABLE session_summaries (
    session_id          INTEGER PRIMARY KEY REFERENCES sessions (id),
    final               INTEGER NOT NULL,
    updated_ms          INTEGER NOT NULL,
    first_event_ts      INTEGER NOT NULL,
    last_event_ts       INTEGER NOT NULL,
    media_id            TEXT,
    content_type        TEXT,
    is_played           INTEGER NOT NULL,
    is_completed        INTEGER NOT NULL,
    is_downloaded       INTEGER NOT NULL,
    has_resume          INTEGER NOT NULL,
    time_played         REAL NOT NULL,
    total_time_played   REAL NOT NULL,
    unique_time_played  REAL NOT NULL,
    pause_count         INTEGER NOT NULL,
    pause_time          REAL NOT NULL,
    ad_count            INTEGER NOT NULL,
    chapter_count       INTEGER NOT NULL,
    time_to_start       REAL,
    bitrate_average     REAL,
    buffer_count        INTEGER NOT NULL,
    buffer_time         REAL NOT NULL,
    stall_count         INTEGER NOT NULL,
    stall_time          REAL NOT NULL,
    error_count         INTEGER NOT NULL,
    dropped_frames      INTEGER NOT NULL,
    is_dropped_before_start INTEGER NOT NULL,
    refused             INTEGER NOT NULL,         -- sessions.refused when the report was made
    report              BLOB NOT NULL             -- the whole session report JSON (reports.md)
);
CREATE INDEX session_summaries_media ON session_summaries (media_id);
CREATE INDEX session_summaries_first_ts ON session_summaries (first_event_ts);

CREATE TABLE ad_summaries (
    session_id   INTEGER NOT NULL REFERENCES sessions (id),
    position     INTEGER NOT NULL,                -- order started in the session
    pod_index    INTEGER,
    pod_position INTEGER,
    ad_id        TEXT,
    name         TEXT,
    length       REAL,
    time_played  REAL NOT NULL,
    is_completed INTEGER NOT NULL,
    is_skipped   INTEGER NOT NULL,
    PRIMARY KEY (session_id, position)
);

CREATE TABLE chapter_summaries (
    session_id    INTEGER NOT NULL REFERENCES sessions (id),
    position      INTEGER NOT NULL,
    chapter_index INTEGER,
    "offset"      REAL,
    length        REAL,
    friendly_name TEXT,
    time_played   REAL NOT NULL,
    is_completed  INTEGER NOT NULL,
    is_skipped    INTEGER NOT NULL,
    PRIMARY KEY (session_id, position)
);

CREATE TABLE state_summaries (
    session_id INTEGER NOT NULL REFERENCES sessions (id),
    name       TEXT NOT NULL,
    count      INTEGER NOT NULL,
    time       REAL NOT NULL,
    PRIMARY KEY (session_id, name)
);
