"""The Collection API ingest paths over HTTP: statuses, headers, lifecycle (rules 1-3, 7-10)."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from playhead.errors import Overloaded
from playhead.events import EVENT_TYPES
from playhead.storage import NewSession
from playhead.storage.sqlite import SQLiteStorage
from tests.helpers import (
    TS0,
    FakeClock,
    assert_cors,
    assert_error,
    ev,
    events_url,
    held,
    open_session,
    start_body,
    sweep,
)

LOCATION = re.compile(r"/api/v1/sessions/([0-9a-f]{64})")


def post_json(client: Any, url: str, body: Any, **kw: Any) -> Any:
    return client.post(url, content=json.dumps(body).encode(), **kw)


def report(client: Any, sid: str) -> dict[str, Any]:
    response = client.get(f"/reports/sessions/{sid}")
    assert response.status_code == 200, response.text
    return response.json()


def session_count(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0])


# ---------------------------------------------------------------- sessions and events
def test_session_start_201(client: Any) -> None:
    response = post_json(client, "/api/v1/sessions", start_body())
    assert response.status_code == 201
    assert response.content == b""
    assert response.headers["content-length"] == "0"
    assert LOCATION.fullmatch(response.headers["location"])
    assert_cors(response)


def test_sids_are_distinct(client: Any) -> None:
    sids = {open_session(client) for _ in range(200)}
    assert len(sids) == 200
    assert all(re.fullmatch(r"[0-9a-f]{64}", s) for s in sids)
    # cryptographic randomness: no shared 16-hex prefix, all hex digits used
    assert len({s[:16] for s in sids}) == 200
    assert set("".join(sids)) == set("0123456789abcdef")


def test_event_204(client: Any) -> None:
    sid = open_session(client)
    response = post_json(client, events_url(sid), ev("play", TS0 + 1000, 0))
    assert response.status_code == 204
    assert response.content == b""
    assert_cors(response)


def test_session_start_on_events_endpoint_400(client: Any) -> None:
    sid = open_session(client)
    assert_error(post_json(client, events_url(sid), start_body()), 400, ["$.eventType"])


@pytest.mark.parametrize("event_type", ["play", "ping", "sessionEnd"])
def test_other_event_on_sessions_400(client: Any, event_type: str) -> None:
    assert_error(
        post_json(client, "/api/v1/sessions", ev(event_type, TS0, 0)), 400, ["$.eventType"]
    )


@pytest.mark.parametrize("sid", ["0" * 64, "ab" * 32, "xyz", "A" * 64, "0" * 63, "0" * 65])
def test_unknown_sid_404(client: Any, sid: str) -> None:
    assert_error(post_json(client, events_url(sid), ev("play", TS0, 0)), 404, [])


def test_closed_session_410_after_grace(make_client: Any, clock: FakeClock) -> None:
    client = make_client(clock=clock, end_grace=1)
    sid = open_session(client)
    assert post_json(client, events_url(sid), ev("sessionEnd", TS0 + 5000, 4)).status_code == 204
    clock.advance(2)
    assert_error(post_json(client, events_url(sid), ev("ping", TS0 + 4000, 3)), 410, [])
    assert_error(post_json(client, events_url(sid), ev("sessionEnd", TS0 + 6000, 5)), 410, [])


def test_closed_session_410_after_eviction(make_client: Any, clock: FakeClock) -> None:
    client = make_client(clock=clock, end_grace=1)
    sid = open_session(client)
    assert post_json(client, events_url(sid), ev("sessionEnd", TS0 + 5000, 4)).status_code == 204
    clock.advance(120)
    sweep(client)  # releases the session from memory
    assert held(client, sid) is None
    assert_error(post_json(client, events_url(sid), ev("ping", TS0 + 4000, 3)), 410, [])
    problems = [d["problem"] for d in report(client, sid)["diagnostics"]]
    assert "1 events refused after the session closed (410)" in problems


def test_straggler_within_grace_folded(make_client: Any, clock: FakeClock) -> None:
    client = make_client(clock=clock, end_grace=1)
    sid = open_session(client)
    assert post_json(client, events_url(sid), ev("play", TS0 + 1000, 0)).status_code == 204
    assert post_json(client, events_url(sid), ev("sessionEnd", TS0 + 20000, 19)).status_code == 204
    clock.advance(0.5)
    assert post_json(client, events_url(sid), ev("pauseStart", TS0 + 15000, 14)).status_code == 204
    data = report(client, sid)
    assert data["state"] == "closed"
    assert data["closeReason"] == "sessionEnd"
    details = data["sessionDetails"]
    assert (details["pauseCount"], details["pauseTime"], details["timePlayed"]) == (1, 5.0, 14.0)


def test_straggler_later_than_session_end_refused(make_client: Any, clock: FakeClock) -> None:
    client = make_client(clock=clock, end_grace=1)
    sid = open_session(client)
    assert post_json(client, events_url(sid), ev("play", TS0 + 1000, 0)).status_code == 204
    assert post_json(client, events_url(sid), ev("sessionEnd", TS0 + 20000, 19)).status_code == 204
    assert_error(post_json(client, events_url(sid), ev("ping", TS0 + 20001, 19)), 410, [])
    assert_error(post_json(client, events_url(sid), ev("ping", TS0 + 30000, 29)), 410, [])
    # the refused events change nothing, and are counted
    data = report(client, sid)
    assert data["sessionDetails"]["timePlayed"] == 19.0
    problems = [d["problem"] for d in data["diagnostics"]]
    assert "2 events refused after the session closed (410)" in problems


def test_idle_close(make_client: Any, clock: FakeClock) -> None:
    client = make_client(clock=clock, idle_timeout=2)
    sid = open_session(client)
    assert post_json(client, events_url(sid), ev("play", TS0 + 1000, 0)).status_code == 204
    clock.advance(3)
    assert_error(post_json(client, events_url(sid), ev("ping", TS0 + 4000, 3)), 410, [])
    data = report(client, sid)
    assert data["state"] == "closed"
    assert data["closeReason"] == "idle"
    assert data["sessionDetails"]["secondsSinceLastCall"] == 2


def test_idle_close_by_sweep(make_client: Any, clock: FakeClock) -> None:
    client = make_client(clock=clock, idle_timeout=2)
    sid = open_session(client)
    clock.advance(5)
    sweep(client)
    data = report(client, sid)
    assert (data["state"], data["closeReason"]) == ("closed", "idle")
    assert data["sessionDetails"]["secondsSinceLastCall"] == 2
    assert_error(post_json(client, events_url(sid), ev("play", TS0 + 1000, 0)), 410, [])


def test_not_idle_before_timeout(make_client: Any, clock: FakeClock) -> None:
    client = make_client(clock=clock, idle_timeout=2)
    sid = open_session(client)
    for i in range(5):
        clock.advance(1.5)
        assert post_json(client, events_url(sid), ev("ping", TS0 + i * 1000, 0)).status_code == 204
    assert report(client, sid)["state"] == "open"


def test_stalled_playhead_close(make_client: Any) -> None:
    client = make_client(stall_timeout=5)
    sid = open_session(client)
    assert post_json(client, events_url(sid), ev("play", TS0 + 1000, 10)).status_code == 204
    assert post_json(client, events_url(sid), ev("ping", TS0 + 3000, 10)).status_code == 204
    assert report(client, sid)["state"] == "open"
    # playhead unchanged for 5 s of event time: accepted, then closed
    assert post_json(client, events_url(sid), ev("ping", TS0 + 6000, 10)).status_code == 204
    assert_error(post_json(client, events_url(sid), ev("ping", TS0 + 7000, 11)), 410, [])
    data = report(client, sid)
    assert (data["state"], data["closeReason"]) == ("closed", "stalledPlayhead")
    assert data["lastEventTs"] == TS0 + 6000


def test_max_duration_close(make_client: Any) -> None:
    client = make_client(max_duration=10)
    sid = open_session(client)
    assert post_json(client, events_url(sid), ev("play", TS0 + 1000, 0)).status_code == 204
    assert post_json(client, events_url(sid), ev("ping", TS0 + 9000, 8)).status_code == 204
    assert post_json(client, events_url(sid), ev("ping", TS0 + 10000, 9)).status_code == 204
    assert_error(post_json(client, events_url(sid), ev("ping", TS0 + 11000, 10)), 410, [])
    data = report(client, sid)
    assert (data["state"], data["closeReason"]) == ("closed", "maxDuration")


def test_max_duration_crossing_session_end_closes_as_session_end(make_client: Any) -> None:
    client = make_client(max_duration=10)
    sid = open_session(client)
    assert post_json(client, events_url(sid), ev("play", TS0 + 1000, 0)).status_code == 204
    assert post_json(client, events_url(sid), ev("sessionEnd", TS0 + 12000, 11)).status_code == 204
    assert report(client, sid)["closeReason"] == "sessionEnd"


# ---------------------------------------------------------------- body limits and content types
@pytest.mark.parametrize("chunked", [False, True])
def test_event_body_limit_413(make_client: Any, chunked: bool) -> None:
    client = make_client(max_event_bytes=1000)
    sid = open_session(client)
    body = json.dumps(ev("ping", TS0 + 1000, 0) | {"params": {}}).encode() + b" " * 1200
    content: Any = iter([body[:600], body[600:]]) if chunked else body
    response = client.post(events_url(sid), content=content)
    if not chunked:
        assert response.request.headers["content-length"] == str(len(body))
    else:
        assert "content-length" not in response.request.headers
    assert_error(response, 413, [])
    # a body under the limit still goes through
    assert post_json(client, events_url(sid), ev("ping", TS0 + 2000, 1)).status_code == 204


@pytest.mark.parametrize("chunked", [False, True])
def test_session_body_limit_413(make_client: Any, chunked: bool) -> None:
    client = make_client(max_event_bytes=1000)
    body = json.dumps(start_body()).encode() + b" " * 1200
    content: Any = iter([body[:500], body[500:]]) if chunked else body
    assert_error(client.post("/api/v1/sessions", content=content), 413, [])


def test_batch_body_limit_413(make_client: Any) -> None:
    client = make_client(max_batch_bytes=2000)
    batch = [start_body()] + [ev("ping", TS0 + i * 1000, i) for i in range(1, 40)]
    assert_error(post_json(client, "/api/v1/downloaded", batch), 413, [])
    assert_error(post_json(client, "/api/v1/sessions", batch), 413, [])


@pytest.mark.parametrize(
    "headers",
    [{"content-type": "application/x-www-form-urlencoded"}, {}, {"content-type": "text/plain"}],
)
def test_any_content_type_parsed_as_json(client: Any, headers: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/sessions", content=json.dumps(start_body()).encode(), headers=headers
    )
    assert response.status_code == 201
    assert response.request.headers.get("content-type") == headers.get("content-type")
    sid = LOCATION.fullmatch(response.headers["location"]).group(1)  # type: ignore[union-attr]
    response = client.post(
        events_url(sid), content=json.dumps(ev("play", TS0 + 1, 0)).encode(), headers=headers
    )
    assert response.status_code == 204


# ---------------------------------------------------------------- downloaded content
def _batch(downloaded: bool | None = True) -> list[dict[str, Any]]:
    extra = {} if downloaded is None else {"media.downloaded": downloaded}
    return [
        start_body(**extra),
        ev("play", TS0 + 5000, 0),
        ev("ping", TS0 + 55000, 50),
        ev("sessionComplete", TS0 + 60000, 55),
    ]


@pytest.mark.parametrize(
    ("path", "downloaded"),
    [("/api/v1/downloaded", None), ("/api/v1/downloaded", True), ("/api/v1/sessions", True)],
)
def test_downloaded_batch_201(client: Any, path: str, downloaded: bool | None) -> None:
    response = post_json(client, path, _batch(downloaded))
    assert response.status_code == 201
    assert response.content == b""
    assert_cors(response)
    match = LOCATION.fullmatch(response.headers["location"])
    assert match
    data = report(client, match.group(1))
    assert data["state"] == "closed"
    assert data["closeReason"] == "downloaded"
    assert data["sessionDetails"]["isDownloaded"] is True
    assert data["sessionDetails"]["timePlayed"] == 55.0
    assert data["sessionDetails"]["isCompleted"] is True
    # closed at its last event
    assert_error(post_json(client, events_url(match.group(1)), ev("ping", TS0 + 1, 0)), 410, [])


@pytest.mark.parametrize("downloaded", [None, False])
def test_array_on_sessions_needs_downloaded_flag(
    make_client: Any, tmp_path: Path, downloaded: bool | None
) -> None:
    db = tmp_path / "flag.db"
    client = make_client(db=str(db))
    assert_error(
        post_json(client, "/api/v1/sessions", _batch(downloaded)),
        400,
        ['$[0].params["media.downloaded"]'],
    )
    assert session_count(db) == 0


@pytest.mark.parametrize("path", ["/api/v1/downloaded", "/api/v1/sessions"])
def test_invalid_batch_keeps_nothing(make_client: Any, tmp_path: Path, path: str) -> None:
    db = tmp_path / "batch.db"
    client = make_client(db=str(db))
    open_session(client)
    batch = _batch(True)
    batch[2]["params"] = {"media.bogus": 1}
    response = post_json(client, path, batch)
    assert_error(response, 400, ['$[2].params["media.bogus"]'])
    assert "location" not in response.headers
    assert session_count(db) == 1
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 1


@pytest.mark.parametrize(
    ("batch", "path"),
    [
        ([ev("play", TS0, 0), ev("ping", TS0 + 1, 0)], "$[0].eventType"),
        ([start_body(**{"media.downloaded": True}), start_body()], "$[1].eventType"),
    ],
)
def test_batch_structure_400(client: Any, batch: list[Any], path: str) -> None:
    assert_error(post_json(client, "/api/v1/downloaded", batch), 400, [path])


def test_batch_empty_and_object_400(client: Any) -> None:
    assert_error(post_json(client, "/api/v1/downloaded", []), 400, ["$"])
    assert_error(post_json(client, "/api/v1/downloaded", start_body()), 400, ["$"])


def test_live_session_with_downloaded_true_400(client: Any) -> None:
    assert_error(
        post_json(client, "/api/v1/sessions", start_body(**{"media.downloaded": True})),
        400,
        ['$.params["media.downloaded"]'],
    )
    response = post_json(client, "/api/v1/sessions", start_body(**{"media.downloaded": False}))
    assert response.status_code == 201
    sid = LOCATION.fullmatch(response.headers["location"]).group(1)  # type: ignore[union-attr]
    data = report(client, sid)
    assert (data["state"], data["sessionDetails"]["isDownloaded"]) == ("open", False)


# ---------------------------------------------------------------- prefix
def test_prefix_serves_both_and_location_is_unprefixed(make_client: Any) -> None:
    client = make_client(prefix="/va")
    for root in ("/va", ""):
        response = post_json(client, f"{root}/api/v1/sessions", start_body())
        assert response.status_code == 201
        match = LOCATION.fullmatch(response.headers["location"])
        assert match, response.headers["location"]
        sid = match.group(1)
        for other in ("/va", ""):
            assert (
                post_json(client, events_url(sid, other), ev("ping", TS0 + 1, 0)).status_code == 204
            )
        batch = post_json(client, f"{root}/api/v1/downloaded", _batch())
        assert batch.status_code == 201
        assert LOCATION.fullmatch(batch.headers["location"])
        assert client.get(f"{root}/api/v1/schemas/ping").status_code == 200


def test_prefix_from_settings_is_normalised(make_client: Any) -> None:
    client = make_client(prefix="va/")
    response = post_json(client, "/va/api/v1/sessions", start_body())
    assert response.status_code == 201
    assert LOCATION.fullmatch(response.headers["location"])


def test_other_prefix_not_served(make_client: Any) -> None:
    client = make_client(prefix="/va")
    assert post_json(client, "/vb/api/v1/sessions", start_body()).status_code == 404


# ---------------------------------------------------------------- schemas, methods
@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_schema_endpoint_200(client: Any, event_type: str) -> None:
    response = client.get(f"/api/v1/schemas/{event_type}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert_cors(response)
    schema = response.json()
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert schema["definitions"][event_type]["properties"]["eventType"]["enum"] == [event_type]
    assert response.headers["content-length"] == str(len(response.content))


@pytest.mark.parametrize("name", ["pause", "SessionStart", "", "ping/extra"])
def test_schema_unknown_404(client: Any, name: str) -> None:
    assert_error(client.get(f"/api/v1/schemas/{name}"), 404, [])


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/sessions"),
        ("PUT", "/api/v1/sessions"),
        ("DELETE", "/api/v1/sessions"),
        ("GET", "/api/v1/downloaded"),
        ("PATCH", "/api/v1/sessions/" + "0" * 64 + "/events"),
    ],
)
def test_method_not_allowed_405(client: Any, method: str, path: str) -> None:
    assert_error(client.request(method, path), 405, [])


def test_unknown_collection_endpoint_404(client: Any) -> None:
    assert_error(post_json(client, "/api/v1/nothing", start_body()), 404, [])


# ---------------------------------------------------------------- 503 when the queue is full
def submit_one(storage: Any, session_id: int, seq: int) -> Any:
    """Queue one event write."""
    return storage.submit_event(session_id, seq, 0, b"{}", "collection")


@pytest.fixture
def blocked_writer() -> Any:
    """Block a storage's writer thread inside a read until released; yields (block, release)."""
    started = threading.Event()
    release = threading.Event()

    def hold(conn: sqlite3.Connection) -> None:
        started.set()
        assert release.wait(20), "writer never released"

    yield hold, started, release
    release.set()


def test_storage_submit_raises_overloaded(tmp_path: Path, blocked_writer: Any) -> None:
    hold, started, release = blocked_writer

    async def scenario() -> None:
        storage = SQLiteStorage(
            str(tmp_path / "q.db"), queue_size=1, batch_size=10, synchronous="NORMAL"
        )
        await storage.start()
        try:
            blocked = storage._call(hold)
            assert await asyncio.to_thread(started.wait, 10)
            first = submit_one(storage, 999, 1)
            assert storage.queue_depth() == 1
            with pytest.raises(Overloaded) as info:
                submit_one(storage, 999, 2)
            assert info.value.status == 503
            with pytest.raises(Overloaded):
                storage.submit_session(NewSession(5, "f" * 64, 0, 0, {}), [])
            release.set()
            await blocked
            await first
        finally:
            release.set()
            await storage.stop()

    asyncio.run(scenario())


def test_full_queue_503_over_http(make_client: Any, blocked_writer: Any) -> None:
    hold, started, release = blocked_writer
    client = make_client(queue_size=1, summary_interval=3600)
    sid = open_session(client)
    storage = client.app.collector.storage
    client.portal.call(lambda: storage._call(hold) and None)
    assert started.wait(10)
    pending: list[Any] = []
    # fill the queue (the callable returns None so that the portal does not await the write)
    client.portal.call(lambda: pending.append(submit_one(storage, 10_000, 0)))
    assert storage.queue_depth() == 1
    body = assert_error(post_json(client, events_url(sid), ev("play", TS0 + 1000, 0)), 503, [])
    assert body["message"]
    assert_error(post_json(client, "/api/v1/sessions", start_body()), 503, [])
    assert_error(post_json(client, "/api/v1/downloaded", _batch()), 503, [])
    release.set()
    # once the writer catches up (the queue empties: waited for, so the check is not a race
    # with the writer thread), the same event is accepted
    deadline = time.monotonic() + 10
    while storage.queue_depth() and time.monotonic() < deadline:
        time.sleep(0.005)
    assert post_json(client, events_url(sid), ev("play", TS0 + 1000, 0)).status_code == 204
    assert report(client, sid)["sessionDetails"]["isPlayed"] is True


# ---------------------------------------------------------------- no 5xx for odd client values
@pytest.mark.parametrize("ts", [10**20, -(10**20), 1e300])
def test_out_of_range_timestamps_are_not_5xx(client: Any, ts: float) -> None:
    """Rule 4: never a 5xx for anything a client sent (503 makes mobile SDKs retry forever)."""
    start = post_json(client, "/api/v1/sessions", start_body(ts=ts))  # type: ignore[arg-type]
    assert start.status_code in (201, 400), start.text
    batch = [start_body(ts=ts), ev("play", ts, 0)]  # type: ignore[arg-type]
    downloaded = post_json(client, "/api/v1/downloaded", batch)
    assert downloaded.status_code in (201, 400), downloaded.text
