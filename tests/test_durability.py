"""Durability: SIGKILL a real server right after its acknowledgements, restart, lose nothing."""

from __future__ import annotations

import http.client
import json
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.helpers import TS0, ServerProcess, ev, start_body


def post(url: str, path: str, body: object) -> tuple[int, str]:
    """POST JSON on a fresh connection; returns (status, Location)."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        return response.status, response.getheader("Location") or ""
    finally:
        conn.close()


def stored_bodies(db: Path) -> dict[str, list[dict[str, object]]]:
    """Every stored event body by sid, read straight from the SQLite file."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT s.sid, e.body FROM events e"
            " JOIN sessions s ON s.id = e.session_id ORDER BY e.id"
        ).fetchall()
    finally:
        conn.close()
    out: dict[str, list[dict[str, object]]] = {}
    for sid, body in rows:
        out.setdefault(sid, []).append(json.loads(body))
    return out


def test_sigkill_after_acknowledgements_loses_nothing(
    server_process: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    server = server_process(db=tmp_path / "durable.db")
    server.start()
    sids = []
    for i in range(20):
        status, location = post(server.url, "/api/v1/sessions", start_body(**{"media.id": f"m{i}"}))
        assert status == 201
        sids.append(location.rsplit("/", 1)[1])
    acked: dict[str, list[int]] = {sid: [TS0] for sid in sids}

    def send(job: tuple[str, int]) -> tuple[str, int, int]:
        sid, k = job
        body = ev("play" if k == 1 else "ping", TS0 + k * 1000, k)
        return sid, TS0 + k * 1000, post(server.url, f"/api/v1/sessions/{sid}/events", body)[0]

    jobs = [(sid, k) for k in range(1, 11) for sid in sids]
    with ThreadPoolExecutor(16) as pool:
        for sid, ts, status in pool.map(send, jobs):
            assert status == 204
            acked[sid].append(ts)
    server.kill()  # no shutdown hook runs: only what was committed survives

    stored = stored_bodies(server.db)
    for sid, stamps in acked.items():
        got = sorted(b["playerTime"]["ts"] for b in stored[sid])  # type: ignore[index]
        assert got == sorted(stamps), sid

    restarted = server_process(db=server.db)
    restarted.start()
    for sid in sids:
        status, _ = post(
            restarted.url, f"/api/v1/sessions/{sid}/events", ev("ping", TS0 + 20_000, 19)
        )
        assert status == 204
    report = post_get_report(restarted.url, sids[0])
    assert report["state"] == "open"
    assert report["sessionDetails"]["timePlayed"] == 19.0  # play at 1 s, last ping at 20 s


def post_get_report(url: str, sid: str) -> dict[str, object]:
    """GET a session report."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", f"/reports/sessions/{sid}")
        response = conn.getresponse()
        assert response.status == 200
        data: dict[str, object] = json.loads(response.read())
        return data
    finally:
        conn.close()


def test_restart_keeps_closed_closed_and_applies_timeouts_that_fell_due(
    server_process: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    db = tmp_path / "restart.db"
    server = server_process("--idle-timeout", "1.5", db=db)
    server.start()
    _, location = post(server.url, "/api/v1/sessions", start_body())
    ended = location.rsplit("/", 1)[1]
    assert post(server.url, f"{location}/events", ev("sessionEnd", TS0 + 5000, 4))[0] == 204
    _, location = post(server.url, "/api/v1/sessions", start_body())
    idle = location.rsplit("/", 1)[1]
    assert post(server.url, f"{location}/events", ev("play", TS0 + 1000, 0))[0] == 204
    server.kill()

    # down longer than the idle timeout: the session is closed as idle when the server starts
    import time

    time.sleep(1.6)
    restarted = server_process("--idle-timeout", "1.5", db=db)
    restarted.start()
    assert (
        post(restarted.url, f"/api/v1/sessions/{ended}/events", ev("ping", TS0 + 9000, 8))[0] == 410
    )
    assert (
        post(restarted.url, f"/api/v1/sessions/{idle}/events", ev("ping", TS0 + 9000, 8))[0] == 410
    )
    report = post_get_report(restarted.url, idle)
    assert report["closeReason"] == "idle"
    assert report["sessionDetails"]["secondsSinceLastCall"] == 1.5  # type: ignore[index]


def test_a_straggler_folded_after_session_end_survives_a_sigkill(
    server_process: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    """The stored final report always equals the fold of the stored log: a straggler stored
    after sessionEnd is in the report after a SIGKILL and a restart, whatever the moment."""
    server = server_process("--end-grace", "10", db=tmp_path / "straggler.db")
    server.start()
    status, location = post(server.url, "/api/v1/sessions", start_body())
    assert status == 201
    path = location + "/events"
    assert post(server.url, path, ev("play", TS0 + 1000))[0] == 204
    end = ev("sessionEnd", TS0 + 9000, 8, qoeData={"media.qoe.droppedFrames": 12})
    assert post(server.url, path, end)[0] == 204
    straggler = ev("ping", TS0 + 8000, 7, qoeData={"media.qoe.droppedFrames": 40})
    assert post(server.url, path, straggler)[0] == 204
    server.kill()  # right after the straggler's 204: its summary rewrite may not be stored
    server.start()
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("GET", "/reports/sessions/" + location.rsplit("/", 1)[1])
    report = json.loads(conn.getresponse().read())
    conn.close()
    # rule 20: droppedFrames is the last value sent in canonical order (the straggler at 8 s
    # sorts before the sessionEnd at 9 s, so the end's 12 stays; the straggler is still in)
    assert report["state"] == "closed"
    assert report["qoeDataDetails"]["droppedFrames"] == 12
    assert report["sessionDetails"]["timePlayed"] == 8.0
    stored = sqlite3.connect(tmp_path / "straggler.db")
    try:
        summary = stored.execute(
            "SELECT last_seq, dropped_frames FROM session_summaries"
        ).fetchall()
    finally:
        stored.close()
    assert summary == [(3, 12)]
