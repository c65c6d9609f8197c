"""Retention on both backends: raw events of old closed sessions go (their summaries and
reports stay), whole old sessions go with --summary-retention-days, in small batches; and
through the app and a real server."""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from playhead.ops.retention import DAY_MS, Retention
from playhead.storage import StoredEvent, queries
from playhead.storage.deletion import POSTGRES_SESSION_TABLES, SQLITE_SESSION_TABLES
from tests.helpers import TS0, FakeClock, ServerProcess, ev, open_session, services, sweep
from tests.storage.test_contract import Backend, new_session, report_summary, scenario

SESSION_TABLES = (
    "sessions", "events", "session_summaries", "ad_summaries", "chapter_summaries",
    "state_summaries",
)  # fmt: skip


def sid_of(n: int) -> str:
    return f"{n:064x}"


async def store_closed(storage: Any, n: int, closed_ms: int, *, summary: bool = True) -> None:
    """Session ``n`` with three events, closed at ``closed_ms``, with its final summary."""
    events = [StoredEvent(seq, 1000 + seq, b'{"e":%d}' % seq) for seq in range(3)]
    await storage.submit_session(new_session(n, sid_of(n)), events, close=("sessionEnd", closed_ms))
    if summary:
        storage.submit_summary(report_summary(n, final=True, last_seq=2))
    await storage.flush()


def session_tables(backend: Backend) -> list[str]:
    """``sessions`` and every table with a ``session_id`` column (other features' included)."""
    sql = SQLITE_SESSION_TABLES if backend.name == "sqlite" else POSTGRES_SESSION_TABLES
    return ["sessions", *(row[0] for row in backend.rows(sql))]


def counts(backend: Backend, n: int, tables: tuple[str, ...] = SESSION_TABLES) -> dict[str, int]:
    """Rows of session ``n`` in each session table."""
    out = {}
    for table in tables:
        column = "id" if table == "sessions" else "session_id"
        out[table] = backend.rows(f"SELECT COUNT(*) FROM {table} WHERE {column} = {n}")[0][0]
    return out


def test_raw_events_of_old_closed_sessions_go_and_their_reports_stay(backend: Backend) -> None:
    now = 100 * DAY_MS

    async def body(storage: Any) -> Any:
        await store_closed(storage, 1, now - 3 * DAY_MS)  # old, summarized: purged
        await store_closed(storage, 2, now - 3 * DAY_MS, summary=False)  # no final summary yet
        await store_closed(storage, 3, now - DAY_MS // 2)  # too recent
        new = new_session(4, sid_of(4))
        await storage.submit_session(new, [StoredEvent(0, 1000, b"{}")])  # open
        retention = Retention(storage, 2.0, 0.0, lambda: now)
        first = await retention.run()
        again = await retention.run()
        report = await storage.read(queries.final_report(sid_of(1)))
        return first, again, report

    first, again, report = scenario(backend, body)
    assert first == (1, 3, 0)
    assert again == (0, 0, 0)
    assert counts(backend, 1) == {
        "sessions": 1, "events": 0, "session_summaries": 1, "ad_summaries": 1,
        "chapter_summaries": 1, "state_summaries": 1,
    }  # fmt: skip
    assert backend.rows("SELECT events_purged FROM sessions WHERE id = 1") == [(1,)]
    assert [counts(backend, n)["events"] for n in (2, 3, 4)] == [3, 3, 1]
    row, stored = report
    assert row.state == "closed" and stored is not None  # the stored report stands
    assert json.loads(stored)["id"] == "ab" * 32  # report_summary's session id


def test_summary_retention_deletes_whole_sessions_in_batches(backend: Backend) -> None:
    now = 100 * DAY_MS

    async def body(storage: Any) -> Any:
        for n in range(1, 6):
            await store_closed(storage, n, now - 10 * DAY_MS + n)
        await store_closed(storage, 6, now - DAY_MS)
        retention = Retention(storage, 2.0, 5.0, lambda: now, batch=2)
        return await retention.run()

    purged, events, deleted = scenario(backend, body)
    assert deleted == 5
    assert (purged, events) == (0, 15)  # session 6 is within both limits
    every = tuple(session_tables(backend))
    assert set(SESSION_TABLES) < set(every)  # the summaries' other tables are found too
    for n in range(1, 6):
        assert set(counts(backend, n, every).values()) == {0}, n
    assert counts(backend, 6)["events"] == 3
    assert counts(backend, 6)["sessions"] == 1


def _retention_run(client: TestClient) -> Any:
    job = next(j for j in services(client).scheduler.jobs if j.name == "retention")
    return client.portal.call(job.run)


def test_a_closed_session_answers_its_report_after_its_events_are_deleted(
    make_client: Callable[..., TestClient],
) -> None:
    clock = FakeClock()
    client = make_client(clock=clock, retention_days=1 / 86400, summary_retention_days=1)
    sid = open_session(client)
    url = f"/api/v1/sessions/{sid}/events"
    assert client.post(url, json=ev("play", TS0 + 1000, 0)).status_code == 204
    assert client.post(url, json=ev("sessionEnd", TS0 + 9000, 8)).status_code == 204
    before = client.get(f"/reports/sessions/{sid}").json()
    clock.advance(60)  # past the grace and the keep-closed time: no longer held
    sweep(client)
    assert services(client).state.peek(sid) is None
    client.portal.call(services(client).storage.flush)
    assert _retention_run(client) == (1, 3, 0)
    assert client.get(f"/reports/sessions/{sid}").json() == before
    clock.advance(86400)  # past --summary-retention-days: the session is gone
    assert _retention_run(client) == (0, 0, 1)
    assert client.get(f"/reports/sessions/{sid}").status_code == 404


def test_a_real_server_deletes_on_its_own(
    server_process: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    db = tmp_path / "retention.db"
    server = server_process(
        "--retention-days", str(1 / 86400), "--retention-interval", "0.2", db=db
    )
    server.start()

    def post(path: str, body: object) -> Any:
        request = urllib.request.Request(
            server.url + path, json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        return urllib.request.urlopen(request, timeout=5)

    from tests.helpers import start_body

    sid = post("/api/v1/sessions", start_body()).headers["Location"].rsplit("/", 1)[1]
    post(f"/api/v1/sessions/{sid}/events", ev("sessionEnd", TS0 + 5000, 4))
    conn = sqlite3.connect(db)
    try:
        deadline = time.monotonic() + 10
        remaining = None
        while time.monotonic() < deadline:
            remaining = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
            if remaining == 0:
                break
            time.sleep(0.1)
        assert remaining == 0
        assert conn.execute("SELECT COUNT(*) FROM session_summaries").fetchone()[0] == 1
    finally:
        conn.close()
    try:
        report = json.loads(urllib.request.urlopen(f"{server.url}/reports/sessions/{sid}").read())
    except urllib.error.HTTPError as exc:  # pragma: no cover - the assertion says why
        raise AssertionError(exc.read()) from None
    assert report["closeReason"] == "sessionEnd"
