"""SIGTERM drains a real server under load: exit 0 within --drain-timeout, every acknowledged
event stored, every open session's summary stored, and the sessions go on after a restart."""

from __future__ import annotations

import http.client
import json
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tests.helpers import TS0, ServerProcess, ev, start_body


def _post(conn: http.client.HTTPConnection, path: str, body: object) -> tuple[int, str]:
    conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    response = conn.getresponse()
    response.read()
    return response.status, response.getheader("Location") or ""


def _connect(url: str) -> http.client.HTTPConnection:
    host, port = url.removeprefix("http://").split(":")
    return http.client.HTTPConnection(host, int(port), timeout=10)


def test_sigterm_under_load_drains_and_loses_nothing(
    server_process: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    db = tmp_path / "drain.db"
    server = server_process("--drain-timeout", "5", "--log-level", "info", db=db)
    server.start()
    conn = _connect(server.url)
    sids = []
    for i in range(24):
        status, location = _post(conn, "/api/v1/sessions", start_body(**{"media.id": f"m{i}"}))
        assert status == 201
        sids.append(location.rsplit("/", 1)[1])
    conn.close()
    acked: dict[str, list[int]] = {sid: [TS0] for sid in sids}
    stop = threading.Event()
    lock = threading.Lock()

    def load(mine: list[str]) -> None:
        k = 1
        conn = _connect(server.url)
        while not stop.is_set():
            for sid in mine:
                ts = TS0 + k * 1000
                try:
                    status, _ = _post(conn, f"/api/v1/sessions/{sid}/events", ev("ping", ts, k))
                except (OSError, http.client.HTTPException):
                    conn.close()
                    try:
                        conn = _connect(server.url)
                        conn.connect()
                    except OSError:
                        return  # the server stopped listening
                    continue
                if status == 204:
                    with lock:
                        acked[sid].append(ts)
            k += 1
        conn.close()

    threads = [threading.Thread(target=load, args=(sids[i::6],)) for i in range(6)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    assert server.proc is not None
    signalled = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    code = server.proc.wait(timeout=15)
    took = time.monotonic() - signalled
    stop.set()
    for thread in threads:
        thread.join(timeout=15)
    server.proc = None
    assert code == 0
    assert took < 5 + 1.0, took
    assert sum(len(v) for v in acked.values()) > 24 * 3  # the load really ran

    log = server.log.read_text()
    assert "draining: shutdown signal received" in log
    assert "stopped: queue committed, summaries of 24 open sessions stored" in log

    conn_db = sqlite3.connect(db)
    try:
        rows = conn_db.execute(
            "SELECT s.sid, e.body FROM events e JOIN sessions s ON s.id = e.session_id"
        ).fetchall()
        summaries = dict(
            conn_db.execute(
                "SELECT s.sid, ss.last_seq FROM session_summaries ss"
                " JOIN sessions s ON s.id = ss.session_id WHERE ss.final = 0"
            ).fetchall()
        )
        last_seq = dict(
            conn_db.execute(
                "SELECT s.sid, MAX(e.seq) FROM events e JOIN sessions s ON s.id = e.session_id"
                " GROUP BY s.sid"
            ).fetchall()
        )
    finally:
        conn_db.close()
    stored: dict[str, set[int]] = {}
    for sid, body in rows:
        stored.setdefault(sid, set()).add(json.loads(body)["playerTime"]["ts"])
    for sid, stamps in acked.items():
        assert set(stamps) <= stored[sid], sid
    # every open session's summary was stored, folding every stored event
    assert summaries == last_seq

    restarted = server_process(db=db)
    restarted.start()
    conn = _connect(restarted.url)
    try:
        for sid in sids:
            ts = max(stored[sid]) + 1000
            assert _post(conn, f"/api/v1/sessions/{sid}/events", ev("ping", ts, 999))[0] == 204
    finally:
        conn.close()
