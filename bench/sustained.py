"""Sustained load: wrk at 64 connections, 30 s of warm-up then 60 s, server RSS and the size of
the SQLite write-ahead log every second.

"Flat memory": RSS growth over the last 30 s under 5 %. The server runs with a 10 s idle
timeout so that the viewers who leave without a sessionEnd (a quarter of the simulated ones)
are closed within the run, as they would be over a longer one: the population of open sessions
then reaches a steady state, and any growth left is a leak. Also reports events/s, latency and
non-2xx of the whole run, and the largest WAL seen (target: under 64 MiB at the full rate the
server takes in a closed loop). Writes bench/results/sustained.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ServerProcess, verdict, write_result
from ingest import make_pool, wrk

TARGET_GROWTH = 0.05
TARGET_WAL_MIB = 64


def wal_bytes(db: str) -> int:
    try:
        return os.stat(db + "-wal").st_size
    except OSError:
        return 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--warmup", type=float, default=30.0)
    ap.add_argument("--idle-timeout", type=float, default=10.0)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--sessions", type=int, default=5000)
    args = ap.parse_args()
    data = Path("/tmp") / f"bench-sustained-{os.getpid()}.lua"
    samples: list[tuple[float, int]] = []
    wal: list[tuple[float, int]] = []
    with ServerProcess("playhead", extra=["--idle-timeout", str(args.idle_timeout)]) as srv:
        make_pool(srv.port, args.sessions, data)
        stop = threading.Event()

        def sample() -> None:
            t0 = time.monotonic()
            while not stop.is_set():
                at = round(time.monotonic() - t0, 2)
                try:
                    samples.append((at, srv.rss_kib()))
                except (OSError, RuntimeError):
                    return
                wal.append((at, wal_bytes(srv.db)))
                stop.wait(1.0)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        run = wrk(srv.port, args.connections, args.warmup + args.duration, data)
        stop.set()
        sampler.join()
    data.unlink(missing_ok=True)
    rss = [kib for t, kib in samples if t >= args.warmup]
    half = max(1, len(rss) - 31)
    growth_last30 = (rss[-1] - rss[half]) / rss[half] if len(rss) > 2 else float("nan")
    growth_total = (rss[-1] - rss[0]) / rss[0] if rss else float("nan")
    flat = growth_last30 < TARGET_GROWTH
    wal_max_mib = max((b for _, b in wal), default=0) / 2**20
    wal_ok = wal_max_mib < TARGET_WAL_MIB
    ok = flat and wal_ok and run["non_2xx"] == 0 and run["socket_errors"] == 0
    print(
        f"sustained {args.duration:.0f}s @ {args.connections} conns: {run['events_per_s']:.0f} ev/s, "
        f"p99 {run['latency_ms']['p99']} ms, non-2xx {run['non_2xx']}; RSS {rss[0]} -> "
        f"{rss[half]} -> {rss[-1]} KiB, last-30s growth {growth_last30 * 100:.2f} % "
        f"(target < 5 %): {verdict(flat)}; WAL at most {wal_max_mib:.1f} MiB "
        f"(target < {TARGET_WAL_MIB} MiB): {verdict(wal_ok)}"
    )
    write_result(
        "sustained",
        {
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "idle_timeout_s": args.idle_timeout,
            "connections": args.connections,
            "wrk": run,
            "rss_kib_samples": samples,
            "rss_kib_start": rss[0],
            "rss_kib_end": rss[-1],
            "growth_last_30s_pct": round(growth_last30 * 100, 2),
            "growth_total_pct": round(growth_total * 100, 2),
            "target_growth_pct": TARGET_GROWTH * 100,
            "memory_flat": flat,
            "wal_bytes_samples": wal,
            "wal_max_mib": round(wal_max_mib, 2),
            "target_wal_mib": TARGET_WAL_MIB,
            "wal_bounded": wal_ok,
            "pass": ok,
        },
    )


if __name__ == "__main__":
    main()
