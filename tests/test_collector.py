"""The collection service: eviction, 410 from storage, summaries, restore, re-folds."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from playhead.errors import StorageUnavailable
from playhead.storage import queries
from tests.helpers import TS0, FakeClock, ev, held, open_session, sweep


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_closed_session_is_evicted_then_answered_410_from_storage_and_counted(
    make_client: Callable[..., TestClient], clock: FakeClock, tmp_path: Path
) -> None:
    client = make_client(clock=clock, end_grace=1, sweep_interval=3600)
    sid = open_session(client)
    assert (
        client.post(f"/api/v1/sessions/{sid}/events", json=ev("play", TS0 + 1000)).status_code
        == 204
    )
    assert (
        client.post(
            f"/api/v1/sessions/{sid}/events", json=ev("sessionEnd", TS0 + 9000, 8)
        ).status_code
        == 204
    )
    clock.advance(120)
    sweep(client)
    assert held(client, sid) is None
    for _ in range(2):
        late = client.post(f"/api/v1/sessions/{sid}/events", json=ev("ping", TS0 + 20000, 19))
        assert late.status_code == 410
    report = client.get(f"/reports/sessions/{sid}").json()
    assert report["state"] == "closed" and report["closeReason"] == "sessionEnd"
    assert report["sessionDetails"]["timePlayed"] == 8.0
    assert report["diagnostics"][-1]["problem"] == "2 events refused after the session closed (410)"


def test_summaries_are_written_at_close_in_normalized_tables(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    client = make_client()
    sid = open_session(client, **{"media.id": "movie-7"})
    url = f"/api/v1/sessions/{sid}/events"
    pod = {"media.ad.podIndex": 1, "media.ad.podSecond": 0}
    ad = {
        "media.ad.id": "ad-1",
        "media.ad.length": 5,
        "media.ad.podPosition": 1,
        "media.ad.playerName": "p",
    }
    for body in (
        ev("adBreakStart", TS0, 0, params=pod),
        ev("adStart", TS0, 0, params=ad),
        ev("adComplete", TS0 + 5000, 0),
        ev("adBreakComplete", TS0 + 5000, 0),
        ev("play", TS0 + 5000, 0),
        ev(
            "chapterStart",
            TS0 + 5000,
            0,
            params={
                "media.chapter.index": 1,
                "media.chapter.offset": 0,
                "media.chapter.length": 30,
            },
        ),
        ev("stateStart", TS0 + 6000, 1, params={"media.state.name": "fullscreen"}),
        ev("sessionEnd", TS0 + 25000, 20),
    ):
        assert client.post(url, json=body).status_code == 204
    db = tmp_path / "playhead.db"
    client.get(f"/reports/sessions/{sid}")
    # the final summary is written once the close is committed: wait for it (bounded)
    query = (
        "SELECT final, media_id, time_played, total_time_played, ad_count FROM session_summaries"
    )
    deadline = time.monotonic() + 10
    while not rows(db, query) and time.monotonic() < deadline:
        time.sleep(0.01)
    summary = rows(db, query)
    assert summary == [(1, "movie-7", 20.0, 25.0, 1)]
    assert rows(db, "SELECT ad_id, length, time_played, is_completed FROM ad_summaries") == [
        ("ad-1", 5.0, 5.0, 1)
    ]
    assert rows(db, "SELECT chapter_index, time_played, is_completed FROM chapter_summaries") == [
        (1, 20.0, 0)
    ]
    assert rows(db, "SELECT name, count, time FROM state_summaries") == [("fullScreen", 1, 19.0)]


def test_open_sessions_survive_an_app_restart_with_their_state(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    db = str(tmp_path / "restart.db")
    first = make_client(db=db)
    sid = open_session(first)
    assert (
        first.post(f"/api/v1/sessions/{sid}/events", json=ev("play", TS0 + 1000)).status_code == 204
    )
    assert (
        first.post(f"/api/v1/sessions/{sid}/events", json=ev("ping", TS0 + 11000, 10)).status_code
        == 204
    )
    first.__exit__(None, None, None)  # graceful stop: summaries of held sessions are stored
    assert rows(Path(db), "SELECT final, time_played FROM session_summaries") == [(0, 10.0)]

    second = make_client(db=db)
    live = held(second, sid)
    assert live is not None and live.next_seq == 3
    assert (
        second.post(f"/api/v1/sessions/{sid}/events", json=ev("ping", TS0 + 21000, 20)).status_code
        == 204
    )
    assert second.get(f"/reports/sessions/{sid}").json()["sessionDetails"]["timePlayed"] == 20.0


def test_out_of_order_event_refolds_from_storage(client: TestClient) -> None:
    sid = open_session(client)
    url = f"/api/v1/sessions/{sid}/events"
    for body in (
        ev("play", TS0 + 1000),
        ev("ping", TS0 + 21000, 20),
        ev("pauseStart", TS0 + 11000, 10),
    ):
        assert client.post(url, json=body).status_code == 204
    details = client.get(f"/reports/sessions/{sid}").json()["sessionDetails"]
    # play 1 s → pause at 11 s (10 s played), paused until the ping at 21 s
    assert (details["timePlayed"], details["pauseTime"], details["pauseCount"]) == (10.0, 10.0, 1)


def test_evicted_closed_session_reports_its_stored_final_report(
    make_client: Callable[..., TestClient], clock: FakeClock
) -> None:
    client = make_client(clock=clock, sweep_interval=3600)
    collector = client.app.collector  # type: ignore[attr-defined]
    sid = open_session(client)
    url = f"/api/v1/sessions/{sid}/events"
    assert client.post(url, json=ev("play", TS0 + 1000)).status_code == 204
    assert client.post(url, json=ev("sessionEnd", TS0 + 31000, 30)).status_code == 204
    before = client.get(f"/reports/sessions/{sid}").json()
    clock.advance(120)
    sweep(client)
    assert held(client, sid) is None
    # the final summary is written once the close is committed: wait for it (bounded)
    deadline = time.monotonic() + 10
    while True:
        client.portal.call(collector.storage.flush)
        stored = client.portal.call(collector.storage.read, queries.final_report(sid))
        if (stored is not None and stored[1] is not None) or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert stored is not None and stored[1] is not None  # served from session_summaries
    after = client.get(f"/reports/sessions/{sid}").json()
    assert after == before
    assert after["sessionDetails"]["timePlayed"] == 30.0


def test_restart_skips_a_stored_event_that_no_longer_decodes(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    db = tmp_path / "odd.db"
    first = make_client(db=str(db))
    sid = open_session(first)
    assert (
        first.post(f"/api/v1/sessions/{sid}/events", json=ev("play", TS0 + 1000)).status_code == 204
    )
    first.__exit__(None, None, None)
    conn = sqlite3.connect(db)
    conn.execute(
        "INSERT INTO events (session_id, seq, received_ms, body)"
        " SELECT id, 2, started_ms, X'7b6e6f7421' FROM sessions"  # b'{not!'
    )
    conn.commit()
    conn.close()

    second = make_client(db=str(db))
    url = f"/api/v1/sessions/{sid}/events"
    assert second.post(url, json=ev("ping", TS0 + 11000, 10)).status_code == 204
    assert second.get(f"/reports/sessions/{sid}").json()["sessionDetails"]["timePlayed"] == 10.0


def test_refold_survives_a_failing_storage_read(client: TestClient) -> None:
    collector = client.app.collector  # type: ignore[attr-defined]
    storage = collector.storage
    real = storage.read
    calls = {"n": 0}

    async def flaky(query: Any) -> Any:
        if "FROM events WHERE session_id" in query.sql:
            calls["n"] += 1
            if calls["n"] == 1:
                raise StorageUnavailable()
        return await real(query)

    storage.read = flaky
    sid = open_session(client)
    url = f"/api/v1/sessions/{sid}/events"
    for body in (
        ev("play", TS0 + 1000),
        ev("ping", TS0 + 21000, 20),
        ev("pauseStart", TS0 + 11000, 10),
    ):
        assert client.post(url, json=body).status_code == 204
    details = client.get(f"/reports/sessions/{sid}").json()["sessionDetails"]
    assert calls["n"] == 2  # the re-fold retried once, then read the log
    assert (details["timePlayed"], details["pauseTime"]) == (10.0, 10.0)
