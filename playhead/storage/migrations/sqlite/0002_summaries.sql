-- Session reports, refreshed while a session is open and written once more when it closes.
CREATE TABLE session_summaries (
    session_id INTEGER PRIMARY KEY REFERENCES sessions (id),
    final      INTEGER NOT NULL,              -- 1 once the session is closed
    updated_ms INTEGER NOT NULL,
    report     BLOB NOT NULL                  -- the session report JSON (reports.md)
);
