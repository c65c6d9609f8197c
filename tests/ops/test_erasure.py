"""Deleting a viewer's data: every session, event and summary of that viewer key gone from
every table on both backends, others untouched, idempotent; the admin endpoint and the CLI."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from starlette.testclient import TestClient

from playhead.cli import cli
from playhead.ops.erasure import Erased, delete_viewer
from playhead.storage import StoredEvent
from tests.helpers import TS0, FakeClock, ev, open_session, services, sweep
from tests.ops.test_retention import SESSION_TABLES, counts, session_tables, sid_of
from tests.storage.test_contract import Backend, new_session, report_summary, scenario

A = "viewer-a"
MC = "visitor.marketingCloudUserId"


async def store(storage: Any, n: int, params: dict[str, Any], *, closed: bool) -> None:
    events = [StoredEvent(seq, 1000 + seq, b'{"e":%d}' % seq) for seq in range(n % 3 + 1)]
    close = ("sessionEnd", 5000) if closed else None
    await storage.submit_session(new_session(n, sid_of(n), **params), events, close=close)
    storage.submit_summary(report_summary(n, final=closed, last_seq=len(events) - 1))
    await storage.flush()


def test_every_row_of_the_viewer_goes_and_nothing_else(backend: Backend) -> None:
    async def body(storage: Any) -> tuple[Erased, Erased]:
        await store(storage, 1, {MC: A}, closed=True)  # 2 events
        await store(storage, 2, {"analytics.visitorId": A}, closed=True)  # 3 events
        await store(storage, 3, {"analytics.aid": A}, closed=False)  # 1 event
        await store(storage, 4, {MC: "viewer-b", "analytics.visitorId": A}, closed=True)
        await store(storage, 5, {}, closed=True)  # no viewer key
        first = await delete_viewer(storage, None, A)
        again = await delete_viewer(storage, None, A)
        return first, again

    first, again = scenario(backend, body)
    assert first == Erased(A, 3, 6)
    assert again == Erased(A, 0, 0)
    every = tuple(session_tables(backend))
    for n in (1, 2, 3):
        assert counts(backend, n, every) == dict.fromkeys(every, 0), n
    for n in (4, 5):
        got = counts(backend, n)
        assert got["sessions"] == 1 and got["events"] == n % 3 + 1 and got["ad_summaries"] == 1


def test_the_admin_endpoint_deletes_live_and_stored_sessions(
    make_client: Callable[..., TestClient],
) -> None:
    clock = FakeClock()
    client = make_client(clock=clock, admin_token="adm1n")
    closed = open_session(client, **{MC: A})
    url = f"/api/v1/sessions/{closed}/events"
    assert client.post(url, json=ev("sessionEnd", TS0 + 3000, 2)).status_code == 204
    clock.advance(60)
    sweep(client)  # evicted: only in storage now
    live = open_session(client, **{"analytics.visitorId": A})
    assert (
        client.post(f"/api/v1/sessions/{live}/events", json=ev("play", TS0 + 1000)).status_code
        == 204
    )
    other = open_session(client, **{MC: "viewer-b"})
    path = f"/admin/viewers/{A}/delete"

    assert client.post(path).status_code == 401
    wrong = client.post(path, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    admin = {"Authorization": "Bearer adm1n"}
    answer = client.post(path, headers=admin)
    assert answer.status_code == 200
    assert answer.json() == {"viewer": A, "sessions": 2, "events": 4}
    assert services(client).state.peek(live) is None
    assert client.get(f"/reports/sessions/{live}").status_code == 404
    assert client.get(f"/reports/sessions/{closed}").status_code == 404
    assert (
        client.post(f"/api/v1/sessions/{live}/events", json=ev("ping", TS0 + 2000)).status_code
        == 404
    )
    assert client.get(f"/reports/sessions/{other}").status_code == 200
    assert client.post(path, headers=admin).json() == {"viewer": A, "sessions": 0, "events": 0}
    # the second pass over the live sessions (a moment later) finds nothing left either
    client.portal.call(asyncio.sleep, 1.2)
    db = services(client).settings.db
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT sid, viewer_key FROM sessions").fetchall() == [
            (other, "viewer-b")
        ]
        (kept,) = conn.execute("SELECT id FROM sessions").fetchone()
        for table in SESSION_TABLES[1:]:
            query = f"SELECT COUNT(*) FROM {table} WHERE session_id != ?"
            assert conn.execute(query, (kept,)).fetchone()[0] == 0, table
        assert conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 1
    finally:
        conn.close()


def test_without_an_admin_token_admin_actions_are_disabled(client: TestClient) -> None:
    answer = client.post(f"/admin/viewers/{A}/delete", headers={"Authorization": "Bearer x"})
    assert answer.status_code == 403
    assert answer.json()["message"].startswith("Admin actions are disabled")


def test_a_key_with_reserved_characters_is_taken_percent_decoded(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(admin_token="t")
    key = "ORG@AdobeOrg|12 34"
    open_session(client, **{MC: key})
    answer = client.post(
        "/admin/viewers/ORG%40AdobeOrg%7C12%2034/delete", headers={"Authorization": "Bearer t"}
    )
    assert answer.json() == {"viewer": key, "sessions": 1, "events": 1}


def test_delete_viewer_on_the_command_line(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"

    async def fill(storage: Any) -> None:
        await store(storage, 1, {MC: A}, closed=True)
        await store(storage, 2, {MC: "viewer-b"}, closed=True)

    from playhead.storage.sqlite import SQLiteStorage

    async def main() -> None:
        storage = SQLiteStorage(str(db), queue_size=100, batch_size=50, synchronous="NORMAL")
        await storage.start()
        try:
            await fill(storage)
        finally:
            await storage.stop()

    asyncio.run(main())
    runner = CliRunner()
    result = runner.invoke(cli, ["delete-viewer", A, "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"viewer": A, "sessions": 1, "events": 2}
    again = runner.invoke(cli, ["delete-viewer", A, "--db", str(db)])
    assert json.loads(again.output) == {"viewer": A, "sessions": 0, "events": 0}
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT id FROM sessions").fetchall() == [(2,)]
        assert conn.execute("SELECT DISTINCT session_id FROM events").fetchall() == [(2,)]
    finally:
        conn.close()
