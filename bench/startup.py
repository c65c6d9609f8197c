"""Start-up time: process start to the first successful HTTP answer.

Measured from just before ``Popen`` (``taskset -c 0 python -m playhead serve``) to the first
2xx of ``GET /api/v1/schemas/ping`` (polled every 5 ms from CPU 1):

* on an empty database (target ≤ 1 s), best of ``--repeat`` and median reported;
* on a database holding ``--sessions`` (100,000) open sessions (target ≤ 10 s). That database
  is built fast: the server creates the schema, then rows are written directly with sqlite3 —
  per session a ``sessions`` row (started_ms = now, so it is still open), its sessionStart
  ``events`` row (seq 0) and a play and a ping (seq 1, 2), received_ms = now. The server must
  restore (re-fold) every one of them before it answers.

Writes bench/results/startup.json.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ServerProcess, pin_self, scripts, verdict, write_result

TARGET_EMPTY_S = 1.0
TARGET_FULL_S = 10.0


def time_start(db: str, extra: list[str] | None = None) -> tuple[float, ServerProcess]:
    srv = ServerProcess("playhead", db=db, extra=extra or [])
    srv.start(timeout=120)
    return srv.ready_at - srv.started_at, srv


def build_db(db: str, n: int) -> float:
    t = time.perf_counter()
    _, srv = time_start(db)  # schema by the server itself
    srv.stop()
    starts = scripts(20)
    now = int(time.time() * 1000)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")
    first = conn.execute("SELECT COALESCE(MAX(id), 0) FROM sessions").fetchone()[0] + 1
    sess_rows = []
    event_rows = []
    for k in range(n):
        sid_key = first + k
        body = starts[k % len(starts)][0]
        import json

        ts = json.loads(body)["playerTime"]["ts"]
        sess_rows.append((sid_key, secrets.token_hex(32), now, ts, f"media-{k % 40}", 0))
        event_rows.append((sid_key, 0, now, body))
        event_rows.append(
            (
                sid_key,
                1,
                now,
                b'{"playerTime":{"playhead":0.0,"ts":%d},"eventType":"play"}' % (ts + 1500),
            )
        )
        event_rows.append(
            (
                sid_key,
                2,
                now,
                b'{"playerTime":{"playhead":10.0,"ts":%d},"eventType":"ping"}' % (ts + 11500),
            )
        )
    conn.executemany(
        "INSERT INTO sessions (id, sid, started_ms, start_ts, media_id, downloaded)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        sess_rows,
    )
    conn.executemany(
        "INSERT INTO events (session_id, seq, received_ms, body) VALUES (?, ?, ?, ?)", event_rows
    )
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sessions", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    pin_self()
    folder = tempfile.mkdtemp(prefix="playhead-startup-")
    empty = []
    for i in range(args.repeat):
        db = os.path.join(folder, f"empty{i}.db")
        seconds, srv = time_start(db)
        srv.stop()
        empty.append(seconds)
    full_db = os.path.join(folder, "full.db")
    build_s = build_db(full_db, args.sessions)
    full = []
    rss = 0
    for _ in range(min(2, args.repeat)):
        seconds, srv = time_start(full_db, ["--idle-timeout", "3600"])
        rss = srv.rss_kib()
        srv.stop()
        full.append(seconds)
    best_empty, best_full = min(empty), min(full)
    ok_empty, ok_full = best_empty <= TARGET_EMPTY_S, best_full <= TARGET_FULL_S
    print(
        f"startup empty db: best {best_empty:.3f}s median {statistics.median(empty):.3f}s "
        f"(target <= {TARGET_EMPTY_S}s): {verdict(ok_empty)}"
    )
    print(
        f"startup with {args.sessions} open sessions (db built in {build_s:.1f}s): best "
        f"{best_full:.3f}s runs {[round(x, 3) for x in full]} RSS {rss} KiB "
        f"(target <= {TARGET_FULL_S}s): {verdict(ok_full)}"
    )
    write_result(
        "startup",
        {
            "empty_db_s": {
                "best": round(best_empty, 3),
                "median": round(statistics.median(empty), 3),
                "runs": [round(x, 3) for x in empty],
            },
            "open_sessions": args.sessions,
            "full_db_s": {"best": round(best_full, 3), "runs": [round(x, 3) for x in full]},
            "full_db_rss_kib_after_start": rss,
            "build_db_s": round(build_s, 1),
            "target_empty_s": TARGET_EMPTY_S,
            "target_full_s": TARGET_FULL_S,
            "empty_pass": ok_empty,
            "full_pass": ok_full,
            "pass": ok_empty and ok_full,
        },
    )
    for f in Path(folder).glob("*"):
        f.unlink()
    os.rmdir(folder)


if __name__ == "__main__":
    main()
