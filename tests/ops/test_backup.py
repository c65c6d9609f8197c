"""The online backup docs/operations.md describes works on a running, writing server."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from tests.helpers import TS0, ServerProcess, ev, start_body
from tests.ops.test_drain import _connect, _post


def test_one_step_backup_of_a_live_database(
    server_process: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    db = tmp_path / "live.db"
    server = server_process(db=db)
    server.start()
    conn = _connect(server.url)
    sids = [_post(conn, "/api/v1/sessions", start_body())[1].rsplit("/", 1)[1] for _ in range(10)]
    stop = threading.Event()

    def load() -> None:
        writer = _connect(server.url)
        k = 1
        while not stop.is_set():
            for sid in sids:
                _post(writer, f"/api/v1/sessions/{sid}/events", ev("ping", TS0 + k * 1000, k))
            k += 1
        writer.close()

    thread = threading.Thread(target=load)
    thread.start()
    try:
        source = sqlite3.connect(db)
        target = sqlite3.connect(tmp_path / "backup.db")
        with target:
            source.backup(target)  # as documented: one step
        source.close()
    finally:
        stop.set()
        thread.join(timeout=10)
        conn.close()
    assert target.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert target.execute("SELECT COUNT(*) FROM sessions").fetchone() == (10,)
    assert target.execute("SELECT COUNT(*) FROM events").fetchone()[0] >= 10
    target.close()
