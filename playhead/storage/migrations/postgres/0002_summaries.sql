-- Session reports in normalized tables, for reports over many sessions. Open sessions' rows are
-- refreshed periodically (final = 0); a closed session's rows are written once more (final = 1).
-- PostgreSQL translation of migrations/sqlite/0002_summaries.sql.
CREATE TABLE session_summaries (
    session_id          BIGINT PRIMARY KEY REFERENCES sessions (id),
    final               INTEGER NOT NULL,
    updated_ms          BIGINT NOT NULL,
    first_event_ts      BIGINT NOT NULL,
    last_event_ts       BIGINT NOT NULL,
    media_id            TEXT,
    content_type        TEXT,
    is_played           INTEGER NOT NULL,
    is_completed        INTEGER NOT NULL,
    is_downloaded       INTEGER NOT NULL,
    has_resume          INTEGER NOT NULL,
    time_played         DOUBLE PRECISION NOT NULL,
    total_time_played   DOUBLE PRECISION NOT NULL,
    unique_time_played  DOUBLE PRECISION NOT NULL,
    pause_count         BIGINT NOT NULL,
    pause_time          DOUBLE PRECISION NOT NULL,
    ad_count            BIGINT NOT NULL,
    chapter_count       BIGINT NOT NULL,
    time_to_start       DOUBLE PRECISION,
    bitrate_average     DOUBLE PRECISION,
    buffer_count        BIGINT NOT NULL,
    buffer_time         DOUBLE PRECISION NOT NULL,
    stall_count         BIGINT NOT NULL,
    stall_time          DOUBLE PRECISION NOT NULL,
    error_count         BIGINT NOT NULL,
    dropped_frames      BIGINT NOT NULL,
    is_dropped_before_start INTEGER NOT NULL,
    refused             INTEGER NOT NULL,         -- sessions.refused when the report was made
    report              BYTEA NOT NULL            -- the whole session report JSON (reports.md)
);
CREATE INDEX session_summaries_media ON session_summaries (media_id);
CREATE INDEX session_summaries_first_ts ON session_summaries (first_event_ts);

CREATE TABLE ad_summaries (
    session_id   BIGINT NOT NULL REFERENCES sessions (id),
    position     INTEGER NOT NULL,                -- order started in the session
    pod_index    BIGINT,
    pod_position BIGINT,
    ad_id        TEXT,
    name         TEXT,
    length       DOUBLE PRECISION,
    time_played  DOUBLE PRECISION NOT NULL,
    is_completed INTEGER NOT NULL,
    is_skipped   INTEGER NOT NULL,
    PRIMARY KEY (session_id, position)
);

CREATE TABLE chapter_summaries (
    session_id    BIGINT NOT NULL REFERENCES sessions (id),
    position      INTEGER NOT NULL,
    chapter_index BIGINT,
    "offset"      DOUBLE PRECISION,
    length        DOUBLE PRECISION,
    friendly_name TEXT,
    time_played   DOUBLE PRECISION NOT NULL,
    is_completed  INTEGER NOT NULL,
    is_skipped    INTEGER NOT NULL,
    PRIMARY KEY (session_id, position)
);

CREATE TABLE state_summaries (
    session_id BIGINT NOT NULL REFERENCES sessions (id),
    name       TEXT NOT NULL,
    count      BIGINT NOT NULL,
    time       DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (session_id, name)
);
