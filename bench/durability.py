"""Durability: SIGKILL the server under load; every acknowledged event must be on disk.

Each round: a fresh database; an asyncio client (CPU 1, 64 keep-alive connections) drives
realistic simulator traffic (sessionEnd/sessionComplete left out so every session stays
open) and records every acknowledged request (201 sessionStart / 204 event: sid + exact
body); after ``--kill-after`` s the server (CPU 0) gets SIGKILL mid-run. It is restarted on
the same file, and then:

* every acknowledged body must be in ``events`` (``SELECT s.sid, e.body FROM events e JOIN
  sessions s ON s.id = e.session_id``, bodies compared byte for byte) — figure: lost events;
* every acknowledged session must accept a new event (204) after the restart.

Target: 0 lost, 0 sessions refused, in each of ``--rounds`` (3) rounds.
Writes bench/results/durability.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ServerProcess, pin_self, scripts, verdict, write_result
from loadgen import Traffic, closed_loop, connect, make_pool, post, run


def open_scripts(n: int = 100) -> list[list[bytes]]:
    out = []
    for s in scripts(n, seed=11):
        kept = [b for b in s if b'"sessionEnd"' not in b and b'"sessionComplete"' not in b]
        if len(kept) > 1:
            out.append(kept)
    return out


async def drive(
    port: int,
    bodies: list[list[bytes]],
    kill_after: float,
    srv: ServerProcess,
    sessions: int,
    connections: int,
) -> Traffic:
    pool = await make_pool(port, bodies, sessions)
    traffic = Traffic(bodies, pool, seed=5, spread=True)
    traffic.record = True
    traffic.acked.extend((sid, bodies[j][0]) for sid, j in pool)
    killer = threading.Timer(kill_after, srv.kill)
    killer.start()
    try:
        await closed_loop(port, traffic, connections, duration=kill_after + 30)
    finally:
        killer.join()
    return traffic


async def probe(port: int, last_ts: dict[str, int], connections: int = 32) -> dict[int, int]:
    conns = [await connect(port) for _ in range(connections)]
    statuses: dict[int, int] = {}
    items = iter(sorted(last_ts.items()))

    async def worker(c: Any) -> None:
        for sid, ts in items:
            body = b'{"playerTime":{"playhead":1.0,"ts":%d},"eventType":"ping"}' % (ts + 1000)
            status, _, _ = await c.request(post(f"/api/v1/sessions/{sid}/events", body))
            statuses[status] = statuses.get(status, 0) + 1

    await asyncio.gather(*(worker(c) for c in conns))
    for c in conns:
        c.transport.close()
    return statuses


def one_round(index: int, args: argparse.Namespace, bodies: list[list[bytes]]) -> dict[str, Any]:
    srv = ServerProcess("playhead", extra=["--idle-timeout", "3600"])
    srv.start()
    try:
        traffic = run(
            drive(srv.port, bodies, args.kill_after, srv, args.sessions, args.connections)
        )
        killed_code = srv.proc.returncode if srv.proc else None
        srv.stop()
        acked = traffic.acked
        restart = ServerProcess(
            "playhead", db=srv.db, port=srv.port, extra=["--idle-timeout", "3600"]
        )
        t = time.perf_counter()
        restart.start()
        restart_s = restart.ready_at - t
        try:
            conn = sqlite3.connect(f"file:{srv.db}?mode=ro", uri=True)
            stored = {
                (sid, bytes(body))
                for sid, body in conn.execute(
                    "SELECT s.sid, e.body FROM events e JOIN sessions s ON s.id = e.session_id"
                )
            }
            conn.close()
            lost = [(sid, body) for sid, body in acked if (sid, body) not in stored]
            last_ts: dict[str, int] = {}
            for sid, body in acked:
                ts = json.loads(body)["playerTime"]["ts"]
                last_ts[sid] = max(ts, last_ts.get(sid, 0))
            statuses = run(probe(restart.port, last_ts))
        finally:
            restart.stop()
    finally:
        srv.stop()
    refused = sum(v for k, v in statuses.items() if not 200 <= k < 300)
    result = {
        "round": index,
        "acknowledged_events": len(acked),
        "acknowledged_sessions": len(last_ts),
        "stored_events": len(stored),
        "lost_events": len(lost),
        "lost_examples": [(s, b.decode()[:120]) for s, b in lost[:5]],
        "killed_returncode": killed_code,
        "restart_to_ready_s": round(restart_s, 3),
        "post_restart_statuses": {str(k): v for k, v in sorted(statuses.items())},
        "sessions_refused_after_restart": refused,
        "client_status_counts": {str(k): v for k, v in sorted(traffic.status.items())},
    }
    print(
        f"round {index}: acked {len(acked)} events / {len(last_ts)} sessions, stored "
        f"{len(stored)}, lost {len(lost)}, restart {restart_s:.2f}s, after restart "
        f"{statuses} -> {verdict(not lost and not refused)}"
    )
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--kill-after", type=float, default=4.0)
    ap.add_argument("--sessions", type=int, default=2000)
    ap.add_argument("--connections", type=int, default=64)
    args = ap.parse_args()
    pin_self()
    bodies = open_scripts()
    rounds = [one_round(i + 1, args, bodies) for i in range(args.rounds)]
    lost = sum(r["lost_events"] for r in rounds)
    refused = sum(r["sessions_refused_after_restart"] for r in rounds)
    ok = lost == 0 and refused == 0
    print(
        f"durability: {lost} acknowledged events lost, {refused} sessions refused over "
        f"{len(rounds)} SIGKILL rounds: {verdict(ok)}"
    )
    write_result(
        "durability",
        {
            "rounds": rounds,
            "lost_events_total": lost,
            "sessions_refused_total": refused,
            "acknowledged_events_total": sum(r["acknowledged_events"] for r in rounds),
            "target_lost": 0,
            "pass": ok,
        },
    )


if __name__ == "__main__":
    main()
