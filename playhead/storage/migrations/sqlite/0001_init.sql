-- Sessions and the raw event log: the source of truth (design/README.md, "The core idea").
CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY,          -- internal key, assigned by the server
    sid          TEXT NOT NULL UNIQUE,         -- the 64-hex id clients see
    started_ms   INTEGER NOT NULL,             -- server clock when the sessionStart arrived
    start_ts     INTEGER NOT NULL,             -- the sessionStart's playerTime.ts
    media_id     TEXT,
    params       TEXT NOT NULL DEFAULT '{}',   -- the sessionStart's params (JSON)
    downloaded   INTEGER NOT NULL DEFAULT 0,
    state        TEXT NOT NULL DEFAULT 'open', -- open | closed
    close_reason TEXT,
    closed_ms    INTEGER,
    refused      INTEGER NOT NULL DEFAULT 0    -- events refused with 410 after the close
);
CREATE INDEX sessions_open ON sessions (state) WHERE state = 'open';

CREATE TABLE events (
    id          INTEGER PRIMARY KEY,           -- global arrival order
    session_id  INTEGER NOT NULL REFERENCES sessions (id),
    seq         INTEGER NOT NULL,              -- arrival order within the session (0 = sessionStart)
    received_ms INTEGER NOT NULL,              -- server clock when the event arrived
    body        BLOB NOT NULL                  -- the event exactly as received (JSON)
);
CREATE INDEX events_session ON events (session_id, seq);
