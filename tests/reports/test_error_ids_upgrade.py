"""Migration 0013 on every backend: sessions summarized before it get their ``error_ids`` from
their stored report, and the errors report counts them like sessions summarized after it."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from playhead.app import create_app
from playhead.config import load_settings
from tests.helpers import TS0, FakeClock, ev, start_body
from tests.reports.audience import summarize

ERRORS = [("E1", "player"), ("E2", "player"), ("X9", "external")]


def _run(db_url: str, sql: str) -> Any:
    """Run ``sql`` (statements separated by ``;``) on the database, return the last rows."""
    if not db_url.startswith("postgresql://"):
        conn = sqlite3.connect(db_url)
        try:
            rows: Any = None
            for statement in sql.split(";"):
                if statement.strip():
                    rows = conn.execute(statement).fetchall()
            conn.commit()
            return rows
        finally:
            conn.close()
    import asyncpg

    async def go() -> Any:
        conn = await asyncpg.connect(db_url)
        try:
            rows = None
            for statement in sql.split(";"):
                if statement.strip():
                    rows = [tuple(r) for r in await conn.fetch(statement)]
            return rows
        finally:
            await conn.close()

    return asyncio.run(go())


@pytest.fixture
def app_at(db_url: str) -> Iterator[Any]:
    """A factory of apps over ``db_url`` (each stopped before the next starts)."""
    clients: list[TestClient] = []

    def start() -> TestClient:
        for c in clients:
            c.__exit__(None, None, None)
        client = TestClient(create_app(load_settings({"db": db_url}), clock=FakeClock()))
        client.__enter__()
        clients.append(client)
        return client

    yield start
    clients[-1].__exit__(None, None, None)


def test_older_sessions_get_their_error_ids(db_url: str, app_at: Any) -> None:
    client = app_at()
    sid = client.post("/api/v1/sessions", json=start_body()).headers["location"].rsplit("/")[-1]
    for i, (eid, source) in enumerate(ERRORS + ERRORS[:1]):
        qoe = {"media.qoe.errorID": eid, "media.qoe.errorSource": source}
        body = ev("error", TS0 + 1000 * (i + 1), 0, qoeData=qoe)
        assert client.post(f"/api/v1/sessions/{sid}/events", content=json.dumps(body)).status_code
    quiet = client.post("/api/v1/sessions", json=start_body(ts=TS0 + 5)).status_code
    assert quiet == 201
    summarize(client)
    selection = {"from": TS0, "to": TS0 + 86_400_000}
    after = client.get("/reports/errors", params=selection).json()
    expected = [
        {"errorId": eid, "source": source, "sessions": 1, "share": 0.5}
        for eid, source in sorted(ERRORS, key=lambda e: (e[0], e[1]))
    ]
    assert (after["sessions"], after["errors"]) == (2, expected)
    # as a version before migration 0013 left the database: no error_ids column
    _run(
        db_url,
        "ALTER TABLE session_facts DROP COLUMN error_ids;"
        " DELETE FROM schema_migrations WHERE version = 13",
    )
    client = app_at()  # migrates again
    assert client.get("/reports/errors", params=selection).json() == after
    stored = _run(db_url, "SELECT error_ids FROM session_facts ORDER BY session_id")
    assert stored[1] == (None,)  # the session without an error keeps NULL
    assert sorted(json.loads(stored[0][0])) == [
        ["external", "X9"],
        ["player", "E1"],
        ["player", "E2"],
    ]
