"""Summaries stored before migration 0006 get their row of facts at the next start."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from starlette.testclient import TestClient

from playhead.app import create_app
from playhead.config import load_settings
from tests.helpers import TS0, ev, start_body


def test_a_start_fills_the_aggregate_columns_of_older_summaries(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with TestClient(create_app(load_settings({"db": str(db)}))) as client:
        body = start_body(**{"analytics.visitorId": "v9"})
        body["customMetadata"] = {"tier": "gold"}
        sid = client.post("/api/v1/sessions", json=body).headers["location"].rsplit("/", 1)[1]
        for event in (ev("play", TS0 + 2000, 0), ev("sessionEnd", TS0 + 12000, 10)):
            client.post(f"/api/v1/sessions/{sid}/events", content=json.dumps(event))
    conn = sqlite3.connect(db)
    with conn:  # as an older version left it: no aggregate columns, no scores in the report
        (report,) = conn.execute("SELECT report FROM session_summaries").fetchone()
        old = json.loads(report)
        del old["scores"]
        conn.execute("UPDATE session_summaries SET report = ?", (json.dumps(old).encode(),))
        conn.execute("DELETE FROM session_facts")
    conn.close()
    with TestClient(create_app(load_settings({"db": str(db)}))) as client:
        pass
    conn = sqlite3.connect(db)
    row = conn.execute(
        "SELECT state, viewer_key, json_extract(dims, '$.\"meta.tier\"'),"
        " json_extract(dims, '$.\"media.contentType\"'), experience, startup"
        " FROM session_facts"
    ).fetchone()
    conn.close()
    # 2 s to start: startup 80; smooth: 100; the experience their mean
    assert row == ("closed", "v9", "gold", "vod", 90.0, 80.0)
