"""One bad client must not hurt the others, and never a 500 (the hardening issue).

Each test reproduces one defect found by probing the server as an attacker or an operator
would, through the ASGI app: values storage cannot hold, limits, 503s that say when to retry,
storage that fails or hangs, and reports that stay cheap after a late event.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from playhead.engine import SessionFold
from playhead.errors import StorageUnavailable
from playhead.storage import sqlite as sqlite_backend
from tests.helpers import (
    TS0,
    FakeClock,
    assert_error,
    ev,
    events_url,
    held,
    open_session,
    start_body,
    sweep,
)


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def report(client: TestClient, sid: str) -> dict[str, Any]:
    response = client.get(f"/reports/sessions/{sid}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# ---------------------------------------------------------------- values storage cannot hold
@pytest.mark.parametrize(
    ("body", "path"),
    [
        (ev("adBreakStart", TS0 + 1, params={"media.ad.podIndex": 2**63, "media.ad.podSecond": 0}),
         '$.params["media.ad.podIndex"]'),
        (ev("chapterStart", TS0 + 1, params={"media.chapter.index": 10**30,
            "media.chapter.offset": 0, "media.chapter.length": 1}),
         '$.params["media.chapter.index"]'),
        (ev("ping", TS0 + 1, qoeData={"media.qoe.droppedFrames": 2**64}),
         '$.qoeData["media.qoe.droppedFrames"]'),
        (ev("ping", TS0 + 1, qoeData={"media.qoe.bitrate": 1e308}),
         '$.qoeData["media.qoe.bitrate"]'),
        (ev("error", TS0 + 1, params={"media.errorId": "bad\u0000id"}),
         '$.params["media.errorId"]'),
    ],
)  # fmt: skip
def test_an_attackers_values_are_400s_and_everyone_elses_events_are_stored(
    client: TestClient, tmp_path: Path, body: dict[str, Any], path: str
) -> None:
    victims = [open_session(client) for _ in range(5)]
    attacker = open_session(client)
    statuses = []
    for i in range(20):
        statuses.append(client.post(events_url(attacker), json=body).status_code)
        for sid in victims:
            ping = ev("ping", TS0 + 1000 * (i + 1), i)
            assert client.post(events_url(sid), json=ping).status_code == 204
    assert statuses == [400] * 20
    assert_error(client.post(events_url(attacker), json=body), 400, [path])
    # every victim's events are stored, and the attacker's session is untouched
    counts = dict(
        rows(tmp_path / "playhead.db", "SELECT session_id, COUNT(*) FROM events GROUP BY 1")
    )
    assert sorted(counts.values()) == [1] + [21] * 5


def test_a_nul_in_a_session_start_is_a_400(client: TestClient) -> None:
    response = client.post("/api/v1/sessions", json=start_body(**{"media.name": "a\x00b"}))
    assert_error(response, 400, ['$.params["media.name"]'])


def test_deep_json_and_huge_integers_are_400s(client: TestClient) -> None:
    sid = open_session(client)
    deep = b'{"playerTime":{"playhead":0,"ts":1},"eventType":"ping","params":{"x":'
    deep += b"[" * 3000 + b"]" * 3000 + b"}}"
    assert_error(client.post(events_url(sid), content=deep), 400, ["$"])
    huge = b'{"playerTime":{"playhead":0,"ts":1' + b"0" * 400 + b'},"eventType":"ping"}'
    assert_error(client.post(events_url(sid), content=huge), 400, ["$.playerTime.ts"])
    assert_error(client.post("/api/v1/downloaded", content=b"[" * 3000), 400, ["$"])


def test_a_huge_invalid_batch_gets_a_small_error_body(client: TestClient) -> None:
    items = [start_body(**{"media.downloaded": True})]
    items += [ev("ping", TS0 + i, params={"junk": i}) for i in range(40_000)]
    raw = json.dumps(items).encode()
    assert 3_000_000 < len(raw) < 4 * 2**20
    response = client.post("/api/v1/downloaded", content=raw)
    body = assert_error(response, 400)
    assert len(response.content) < 20_000
    assert len(body["errors"]) == 101
    assert body["errors"][-1] == {"path": "$", "problem": "39900 more problems not listed"}


def test_strings_and_custom_metadata_are_capped(client: TestClient) -> None:
    long_name = client.post("/api/v1/sessions", json=start_body(**{"media.name": "n" * 1025}))
    assert_error(long_name, 400, ['$.params["media.name"]'])
    many = start_body() | {"customMetadata": {f"k{i}": "v" for i in range(101)}}
    assert_error(client.post("/api/v1/sessions", json=many), 400, ["$.customMetadata"])


# ---------------------------------------------------------------- 503s: limits and storage
def test_past_max_open_sessions_a_start_gets_503_with_retry_after(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(max_open_sessions=2)
    first, _ = open_session(client), open_session(client)
    refused = client.post("/api/v1/sessions", json=start_body())
    assert_error(refused, 503)
    assert refused.headers["retry-after"] == "1"
    assert client.post(events_url(first), json=ev("sessionEnd", TS0 + 5)).status_code == 204
    assert client.post("/api/v1/sessions", json=start_body()).status_code == 201


def test_a_full_queue_answers_503_with_retry_after(
    make_client: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(queue_size=1)
    storage = client.app.collector.storage  # type: ignore[attr-defined]
    sid = open_session(client)
    monkeypatch.setattr(storage, "_limited", 1)  # as if one write were waiting
    response = client.post(events_url(sid), json=ev("play", TS0 + 1))
    assert_error(response, 503)
    assert response.headers["retry-after"] == "1"


def test_storage_that_hangs_answers_503_in_time_and_the_event_is_folded_later(
    make_client: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(storage_timeout=0.2)
    collector = client.app.collector  # type: ignore[attr-defined]
    sid = open_session(client)
    real = sqlite_backend.SQLiteStorage._commit_writes
    slow = {"left": 1}

    def hanging(self: Any, conn: Any, groups: Any, jobs: Any) -> Any:
        if slow["left"]:
            slow["left"] -= 1
            time.sleep(0.6)  # a lock held elsewhere, a stalled disk
        return real(self, conn, groups, jobs)

    monkeypatch.setattr(sqlite_backend.SQLiteStorage, "_commit_writes", hanging)
    began = time.monotonic()
    response = client.post(events_url(sid), json=ev("play", TS0 + 1000))
    assert_error(response, 503)
    assert response.headers["retry-after"] == "1"
    assert time.monotonic() - began < 0.55
    # the write went through after all: the live session folds it in once it settles
    client.portal.call(collector.drain)
    ping = client.post(events_url(sid), json=ev("ping", TS0 + 11000, 10))
    assert ping.status_code == 204
    assert report(client, sid)["sessionDetails"]["timePlayed"] == 10.0


def test_a_failed_write_leaves_no_trace_in_the_live_state(
    make_client: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The live fold always equals the fold of the stored log: a refused event is not in it,
    and its retry is folded in once (not twice)."""
    client = make_client()
    sid = open_session(client)
    url = events_url(sid)
    assert client.post(url, json=ev("play", TS0 + 100)).status_code == 204
    pod = {"media.ad.podIndex": 1, "media.ad.podSecond": 0}
    assert client.post(url, json=ev("adBreakStart", TS0 + 200, params=pod)).status_code == 204
    ad = ev("adStart", TS0 + 300, params={"media.ad.id": "a", "media.ad.length": 5,
            "media.ad.podPosition": 1, "media.ad.playerName": "p"})  # fmt: skip
    real = sqlite_backend._write_group
    fail = {"left": 1}

    def failing(conn: Any, kind: int, jobs: Any) -> None:
        if fail["left"]:
            fail["left"] -= 1
            raise sqlite3.OperationalError("disk I/O error")
        real(conn, kind, jobs)

    monkeypatch.setattr(sqlite_backend, "_write_group", failing)
    assert_error(client.post(url, json=ad), 503)
    assert report(client, sid)["sessionDetails"]["adCount"] == 0
    assert client.post(url, json=ad).status_code == 204  # the client's retry
    assert report(client, sid)["sessionDetails"]["adCount"] == 1
    stored = rows(
        tmp_path / "playhead.db",
        "SELECT COUNT(*) FROM events WHERE CAST(body AS TEXT) LIKE '%adStart%'",
    )
    assert stored == [(1,)]


def test_storage_failures_on_the_downloaded_path_are_503s(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = client.app.collector.storage  # type: ignore[attr-defined]

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise StorageUnavailable()

    monkeypatch.setattr(storage, "submit_session", refuse)
    batch = [start_body(**{"media.downloaded": True}), ev("play", TS0 + 1)]
    response = client.post("/api/v1/downloaded", json=batch)
    assert_error(response, 503)
    assert response.headers["retry-after"] == "1"


def test_storage_read_failures_on_the_404_410_path_are_503s(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = client.app.collector.storage  # type: ignore[attr-defined]

    async def broken(query: Any) -> Any:
        raise StorageUnavailable()

    monkeypatch.setattr(storage, "read", broken)
    response = client.post(events_url("ab" * 32), json=ev("ping", TS0))
    assert_error(response, 503)
    assert response.headers["retry-after"] == "1"
    unavailable = client.get(f"/reports/sessions/{'ab' * 32}")  # reports carry no CORS
    assert (unavailable.status_code, unavailable.headers["retry-after"]) == (503, "1")


def test_a_deleted_database_file_makes_writes_503(client: TestClient, tmp_path: Path) -> None:
    sid = open_session(client)
    (tmp_path / "playhead.db").unlink()
    response = client.post(events_url(sid), json=ev("play", TS0 + 1))
    assert_error(response, 503)
    assert client.post("/api/v1/sessions", json=start_body()).status_code == 503
    storage = client.app.collector.storage  # type: ignore[attr-defined]
    assert storage.problem() == f"the database file {tmp_path / 'playhead.db'} is gone"


# ---------------------------------------------------------------- one session never stops the rest
def test_a_session_whose_report_fails_never_stops_the_sweep(
    make_client: Callable[..., TestClient], clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(clock=clock, sweep_interval=3600, idle_timeout=5)
    broken, fine = open_session(client), open_session(client)
    real = SessionFold.report

    def explode(self: SessionFold, lifecycle: Any) -> Any:
        if self.sid == broken:
            raise ArithmeticError("a bug in one session's numbers")
        return real(self, lifecycle)

    monkeypatch.setattr(SessionFold, "report", explode)
    clock.advance(10)
    closed = sweep(client)
    assert closed == 2  # both closed; the broken one's summary failed, logged
    assert report(client, fine)["closeReason"] == "idle"


# ---------------------------------------------------------------- reports stay cheap
def test_a_late_event_does_not_make_every_report_read_refold_the_log(
    make_client: Callable[..., TestClient], clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(clock=clock, end_grace=1, sweep_interval=3600)
    collector = client.app.collector  # type: ignore[attr-defined]
    sid = open_session(client)
    for body in (ev("play", TS0 + 1000), ev("sessionEnd", TS0 + 9000, 8)):
        assert client.post(events_url(sid), json=body).status_code == 204
    clock.advance(120)
    sweep(client)
    assert held(client, sid) is None
    assert client.post(events_url(sid), json=ev("ping", TS0 + 20000)).status_code == 410
    reads = {"n": 0}
    real = collector.storage.read

    async def counting(query: Any) -> Any:
        reads["n"] += "FROM events WHERE session_id" in query.sql
        return await real(query)

    monkeypatch.setattr(collector.storage, "read", counting)
    for _ in range(5):
        body = report(client, sid)
        assert (
            body["diagnostics"][-1]["problem"] == "1 events refused after the session closed (410)"
        )
        assert body["sessionDetails"]["timePlayed"] == 8.0
    assert reads["n"] == 0  # served from the stored final report every time


def test_a_straggler_rewrites_the_final_summary_at_once(
    make_client: Callable[..., TestClient], clock: FakeClock, tmp_path: Path
) -> None:
    client = make_client(clock=clock, end_grace=10, sweep_interval=3600)
    collector = client.app.collector  # type: ignore[attr-defined]
    sid = open_session(client)
    url = events_url(sid)
    assert client.post(url, json=ev("play", TS0 + 1000)).status_code == 204
    assert client.post(url, json=ev("sessionEnd", TS0 + 9000, 8)).status_code == 204
    straggler = ev("ping", TS0 + 8000, 7, qoeData={"media.qoe.droppedFrames": 40})
    assert client.post(url, json=straggler).status_code == 204
    client.portal.call(collector.drain)  # the straggler's re-fold (it sorts before the end)
    client.portal.call(collector.storage.flush)  # every write committed
    db = tmp_path / "playhead.db"
    assert rows(db, "SELECT final, dropped_frames, last_seq FROM session_summaries") == [(1, 40, 3)]
