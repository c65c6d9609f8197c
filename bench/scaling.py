"""Scaling out, side by side in one run: the embedded default (SQLite, live state in memory)
against ``--state redis`` + PostgreSQL with 1 and 2 workers, at 64 connections with the wrk
script of ``bench/ingest_wrk.sh`` (``bench/lua/ingest.lua`` over a pool of simulator sessions).

For each: events/s and p99; CPU seconds per 1,000 events summed over every process involved
(the server and its workers; for the distributed runs also redis-server and the PostgreSQL
backends serving the server's connections plus PostgreSQL's background writers, all read from
/proc); then, for the distributed mode, Redis bytes per open session (``MEMORY USAGE`` of a
sample of session hashes, plus the deadline index's share) and PostgreSQL bytes per stored
event (``pg_total_relation_size`` of the log and of every table, over the events stored).

Redis and PostgreSQL are this machine's shared servers (Redis database 13, a PostgreSQL schema
of its own, dropped afterwards): their CPU counts include whatever else ran on them meanwhile.

Targets (printed beside the figures): distributed CPU per event ≤ 2× embedded; 2 workers ≥ 1.5×
one worker where a spare core exists; Redis ≤ 1 KiB per open session.
Writes bench/results/scaling.json. Usage: python bench/scaling.py [--duration 15]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ServerProcess, free_port, verdict, write_result
from ingest import make_pool, wrk

PG = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
TICK = os.sysconf("SC_CLK_TCK")
CPU_RATIO_MAX = 2.0
WORKERS_RATIO_MIN = 1.5
REDIS_BYTES_MAX = 1024


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True)
    children: dict[int, list[int]] = {}
    for line in out.stdout.splitlines():
        p, pp = (int(x) for x in line.split())
        children.setdefault(pp, []).append(p)
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


def pids_of(name: str) -> list[int]:
    out = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True)
    return [int(x) for x in out.stdout.split()]


def pg_backends(server_pids: list[int]) -> list[int]:
    """PostgreSQL backends serving the given processes' connections, and its background
    processes (WAL writer, checkpointer, background writer)."""
    out = subprocess.run(
        ["ss", "-tnpH", "state", "established", "dst", "127.0.0.1:5432"],
        capture_output=True,
        text=True,
    )
    ports = []
    for line in out.stdout.splitlines():
        pids = {int(x) for x in re.findall(r"pid=(\d+)", line)}
        if pids & set(server_pids):
            ports.append(int(line.split()[2].rsplit(":", 1)[1]))
    rows = asyncio.run(
        _pg(
            "SELECT pid FROM pg_stat_activity WHERE client_port = ANY($1::int[])"
            " OR backend_type IN ('walwriter', 'checkpointer', 'background writer')",
            ports,
        )
    )
    return [int(r[0]) for r in rows]


async def _pg(sql: str, *args: Any, schema: str | None = None) -> list[Any]:
    import asyncpg  # type: ignore[import-untyped]

    settings = {"search_path": schema} if schema else None
    conn = await asyncpg.connect(PG, server_settings=settings)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


def run_one(
    name: str, extra: list[str], db: str, duration: float, sessions: int, distributed: bool
) -> dict[str, Any]:
    print(f"\n== {name}")
    cpu = "0" if "--workers" not in extra else "0,1"
    server = ServerProcess(db=db, extra=extra, cpu=cpu, port=free_port())
    try:
        server.start()
        lua = Path(tempfile.mkdtemp(prefix="bench-scaling-")) / "data.lua"
        make_pool(server.port, sessions, lua)
        time.sleep(1.0)
        groups = {"server": tree(server.pid)}
        if distributed:
            groups["redis"] = pids_of("redis-server")
            groups["postgres"] = pg_backends(groups["server"])
        procs = [p for pids in groups.values() for p in pids]
        before = {p: cpu_seconds(p) for p in procs}
        result = wrk(server.port, 64, duration, lua)
        after = {p: cpu_seconds(p) for p in procs}
        spent = sum(after[p] - before[p] for p in procs)
        ok_events = result["ok_per_s"] * result["duration_s"]
        result["cpu_s_per_1000_events"] = round(1000 * spent / max(ok_events, 1), 4)
        result["cpu_s_per_1000_events_by_part"] = {
            name: round(1000 * sum(after[p] - before[p] for p in pids) / max(ok_events, 1), 4)
            for name, pids in groups.items()
        }
        result["processes_counted"] = len(procs)
        print(
            f"    CPU {spent:.1f} s over {len(procs)} processes = "
            f"{result['cpu_s_per_1000_events']} s per 1,000 events "
            f"{result['cpu_s_per_1000_events_by_part']}"
        )
        if distributed:
            result.update(footprint(db))
        return result
    finally:
        server.stop()


def footprint(db: str) -> dict[str, Any]:
    """Redis bytes per open session, PostgreSQL bytes per stored event."""
    import redis

    client = redis.Redis.from_url(REDIS)
    keys = [k for k in client.scan_iter(match=b"ph:s:*", count=1000)]
    sample = keys[:500]
    hashes = sum(int(client.memory_usage(k) or 0) for k in sample) / max(len(sample), 1)
    due = int(client.memory_usage(b"ph:due") or 0) / max(int(client.zcard(b"ph:due")), 1)
    open_now = int(client.get(b"ph:open") or 0)
    schema = db.rsplit("%3D", 1)[1]
    [(events, log_bytes, all_bytes)] = asyncio.run(
        _pg(
            "SELECT (SELECT count(*) FROM events), pg_total_relation_size('events'),"
            " (SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c"
            "  JOIN pg_namespace n ON n.oid = c.relnamespace"
            "  WHERE n.nspname = current_schema() AND c.relkind = 'r')",
            schema=schema,
        )
    )
    out = {
        "redis_bytes_per_open_session": round(hashes + due),
        "redis_hash_bytes": round(hashes),
        "redis_due_index_bytes": round(due),
        "redis_sessions_held": len(keys),
        "redis_open_sessions": open_now,
        "pg_events": int(events),
        "pg_bytes_per_event_log": round(int(log_bytes) / max(int(events), 1)),
        "pg_bytes_per_event_all_tables": round(int(all_bytes) / max(int(events), 1)),
    }
    print(
        f"    Redis {out['redis_bytes_per_open_session']} B per open session "
        f"(hash {out['redis_hash_bytes']} + index {out['redis_due_index_bytes']}; "
        f"{len(keys)} held)  PostgreSQL {out['pg_bytes_per_event_log']} B per event "
        f"(log), {out['pg_bytes_per_event_all_tables']} B (all tables; {events} events)"
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--duration", type=float, default=15.0)
    ap.add_argument("--sessions", type=int, default=5000)
    args = ap.parse_args()
    t0 = time.time()
    import redis

    results: dict[str, Any] = {}
    embedded_db = os.path.join(tempfile.mkdtemp(prefix="bench-scaling-"), "bench.db")
    results["embedded"] = run_one("embedded (SQLite, memory)", [], embedded_db,
                                  args.duration, args.sessions, False)  # fmt: skip
    for workers in (1, 2):
        redis.Redis.from_url(REDIS).flushdb()
        schema = f"bench_{secrets.token_hex(4)}"
        asyncio.run(_pg(f"CREATE SCHEMA {schema}"))
        db = f"{PG}?options=-csearch_path%3D{schema}"
        try:
            results[f"redis_{workers}w"] = run_one(
                f"--state redis + PostgreSQL, {workers} worker(s)",
                ["--state", REDIS, "--workers", str(workers)],
                db,
                args.duration,
                args.sessions,
                True,
            )
        finally:
            asyncio.run(_pg(f"DROP SCHEMA {schema} CASCADE"))
    redis.Redis.from_url(REDIS).flushdb()

    emb, one, two = results["embedded"], results["redis_1w"], results["redis_2w"]
    cpu_ratio = one["cpu_s_per_1000_events"] / emb["cpu_s_per_1000_events"]
    cpu_ratio_2 = two["cpu_s_per_1000_events"] / emb["cpu_s_per_1000_events"]
    workers_ratio = two["ok_per_s"] / one["ok_per_s"] if one["ok_per_s"] else 0.0
    spare_core = (os.cpu_count() or 1) > 2
    checks = {
        "cpu_per_event_le_2x_embedded": cpu_ratio <= CPU_RATIO_MAX,
        "redis_le_1KiB_per_session": one["redis_bytes_per_open_session"] <= REDIS_BYTES_MAX,
        "zero_non_2xx": all(r["non_2xx"] == 0 for r in results.values()),
    }
    if spare_core:
        checks["2_workers_ge_1.5x"] = workers_ratio >= WORKERS_RATIO_MIN
    print("\n== side by side, 64 connections")
    print(f"{'':28}{'events/s':>10}{'p99 ms':>9}{'CPU s/1k ev':>13}")
    for key, label in (("embedded", "embedded"), ("redis_1w", "redis+pg 1 worker"),
                       ("redis_2w", "redis+pg 2 workers")):  # fmt: skip
        r = results[key]
        print(
            f"{label:28}{r['ok_per_s']:>10.0f}{r['latency_ms']['p99']:>9.2f}"
            f"{r['cpu_s_per_1000_events']:>13.3f}"
        )
    print(f"distributed CPU per event: {cpu_ratio:.2f}x embedded (1 worker), "
          f"{cpu_ratio_2:.2f}x (2 workers)   target <= {CPU_RATIO_MAX}x")  # fmt: skip
    print(f"2 workers / 1 worker: {workers_ratio:.2f}x   target >= {WORKERS_RATIO_MIN}x where a "
          f"spare core exists ({'there is one' if spare_core else 'none here: 2 cores also run wrk, Redis and PostgreSQL'})")  # fmt: skip
    print(f"Redis per open session: {one['redis_bytes_per_open_session']} B   "
          f"target <= {REDIS_BYTES_MAX} B")  # fmt: skip
    print(f"PostgreSQL per event: {one['pg_bytes_per_event_log']} B (log), "
          f"{one['pg_bytes_per_event_all_tables']} B (all tables)")  # fmt: skip
    write_result(
        "scaling",
        {
            "targets": {
                "cpu_ratio_max": CPU_RATIO_MAX,
                "workers_ratio_min": WORKERS_RATIO_MIN,
                "redis_bytes_max": REDIS_BYTES_MAX,
            },
            "results": results,
            "cpu_ratio_1w": round(cpu_ratio, 3),
            "cpu_ratio_2w": round(cpu_ratio_2, 3),
            "workers_ratio": round(workers_ratio, 3),
            "spare_core": spare_core,
            "checks": {k: verdict(v) for k, v in checks.items()},
            "elapsed_s": round(time.time() - t0, 1),
        },
    )
    print("scaling:", "  ".join(f"{k}={verdict(v)}" for k, v in checks.items()))


if __name__ == "__main__":
    main()
