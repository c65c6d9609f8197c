"""Memory per open session of a real server process.

Phase 1: 100,000 sessions opened quickly (sessionStart + one play each, over keep-alive
connections from an asyncio client pinned to CPU 1); RSS growth of the server (pinned to CPU
0) divided by the session count. Target ≤ 2048 bytes per session.
Phase 2: ``--ping-sessions`` of them (default 500) get one hour of pings each (360 pings at
10 s of event time, sent as fast as the server takes them); the extra RSS per such session is
reported (100,000 sessions × 360 pings = 36 M requests would need hours here, hence the sample).
Writes bench/results/memory.json.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ServerProcess, pin_self, scripts, verdict, write_result
from loadgen import connect, location_sid, post, run

TARGET_BYTES = 2048
START_TS = 1_700_000_000_000


def event(kind: str, ts: int, playhead: float) -> bytes:
    return b'{"playerTime":{"playhead":%.1f,"ts":%d},"eventType":"%s"}' % (
        playhead,
        ts,
        kind.encode(),
    )


async def open_sessions(
    port: int, n: int, connections: int, starts: list[bytes]
) -> tuple[list[str], dict[int, int]]:
    conns = [await connect(port) for _ in range(connections)]
    sids: list[str] = []
    statuses: dict[int, int] = {}
    counter = iter(range(n))

    async def worker(c: Any) -> None:
        for i in counter:
            status, head, _ = await c.request(post("/api/v1/sessions", starts[i % len(starts)]))
            statuses[status] = statuses.get(status, 0) + 1
            if status != 201:
                continue
            sid = location_sid(head)
            sids.append(sid)  # type: ignore[arg-type]
            status, _, _ = await c.request(
                post(f"/api/v1/sessions/{sid}/events", event("play", START_TS + 1500, 0.0))
            )
            statuses[status] = statuses.get(status, 0) + 1

    await asyncio.gather(*(worker(c) for c in conns))
    for c in conns:
        c.transport.close()
    return sids, statuses


async def pings(port: int, sids: list[str], count: int, connections: int) -> dict[int, int]:
    conns = [await connect(port) for _ in range(connections)]
    statuses: dict[int, int] = {}

    async def worker(k: int, c: Any) -> None:
        mine = sids[k::connections]
        for r in range(1, count + 1):
            ts = START_TS + 1500 + r * 10_000
            body = event("ping", ts, r * 10.0)
            for sid in mine:
                status, _, _ = await c.request(post(f"/api/v1/sessions/{sid}/events", body))
                statuses[status] = statuses.get(status, 0) + 1

    await asyncio.gather(*(worker(k, c) for k, c in enumerate(conns)))
    for c in conns:
        c.transport.close()
    return statuses


def settle(srv: ServerProcess, seconds: float = 3.0) -> int:
    """RSS after a short quiet period (the minimum of the last samples)."""
    values = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        values.append(srv.rss_kib())
        time.sleep(0.25)
    return min(values[-4:])


def live_state_bytes(sessions: int = 2000, pings: int = 360) -> tuple[float, float]:
    """Bytes of live state per session (tracemalloc, in this process, with Playhead's own code):
    after sessionStart + play, and after one more hour of pings. RSS cannot tell this apart from
    SQLite's page caches and the allocator's high-water mark once thousands of requests ran."""
    import tracemalloc

    from playhead.engine import Limits, SessionFold
    from playhead.protocols.collection.decode import decode_event
    from playhead.state import LiveSession

    starts = [s[0] for s in scripts(50)]
    ts0 = 1_700_000_000_000

    def body(kind: str, k: int) -> bytes:
        return event(kind, ts0 + 1000 + 10_000 * k, 10.0 * k)

    tracemalloc.start()
    base = tracemalloc.take_snapshot()
    held = []
    for i in range(sessions):
        sid = f"{i:064x}"
        start = decode_event(starts[i % len(starts)])
        fold = SessionFold.begin(sid, start, ts0, Limits())
        fold.apply(decode_event(body("play", 0)), 1, ts0)
        held.append(LiveSession(i + 1, sid, ts0, fold))
    opened = tracemalloc.take_snapshot()
    for k in range(1, pings + 1):
        ping = decode_event(body("ping", k))
        for live in held:
            live.fold.apply(ping, k + 1, ts0 + k)
    pinged = tracemalloc.take_snapshot()
    tracemalloc.stop()

    def grown(a: Any, b: Any) -> float:
        return sum(s.size_diff for s in b.compare_to(a, "filename")) / sessions

    return grown(base, opened), grown(base, pinged)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sessions", type=int, default=100_000)
    ap.add_argument("--ping-sessions", type=int, default=500)
    ap.add_argument("--pings", type=int, default=360)
    ap.add_argument("--connections", type=int, default=64)
    args = ap.parse_args()
    pin_self()
    starts = [s[0] for s in scripts(50)]
    gc.disable()
    # idle timeout far away so nothing closes during the measurement
    with ServerProcess("playhead", extra=["--idle-timeout", "7200"]) as srv:
        run(open_sessions(srv.port, 200, 8, starts))  # warm-up: imports, caches, first pages
        before = settle(srv)
        t = time.perf_counter()
        sids, statuses = run(open_sessions(srv.port, args.sessions, args.connections, starts))
        open_s = time.perf_counter() - t
        after = settle(srv)
        per_session = (after - before) * 1024 / max(1, len(sids))
        print(
            f"{len(sids)} sessions opened in {open_s:.1f}s ({2 * len(sids) / open_s:.0f} req/s), "
            f"statuses {statuses}; RSS {before} -> {after} KiB: {per_session:.0f} bytes/session "
            f"(target <= {TARGET_BYTES}): {verdict(per_session <= TARGET_BYTES)}"
        )
        ping_result: dict[str, Any] = {}
        if args.ping_sessions and args.pings:
            subset = sids[: args.ping_sessions]
            t = time.perf_counter()
            pstat = run(pings(srv.port, subset, args.pings, min(args.connections, len(subset))))
            ping_s = time.perf_counter() - t
            after_pings = settle(srv)
            extra = (after_pings - after) * 1024 / max(1, len(subset))
            ping_result = {
                "sessions": len(subset),
                "pings_per_session": args.pings,
                "seconds": round(ping_s, 1),
                "statuses": {str(k): v for k, v in sorted(pstat.items())},
                "rss_kib_after": after_pings,
                "extra_bytes_per_session": round(extra),
                "bytes_per_session_with_1h_pings": round(per_session + extra),
            }
            print(
                f"{len(subset)} sessions x {args.pings} pings in {ping_s:.1f}s, statuses {pstat}; "
                f"RSS {after} -> {after_pings} KiB (SQLite caches, allocator and live state; "
                f"+{extra:.0f} bytes per pinged session)"
            )
    opened_b, pinged_b = live_state_bytes(pings=args.pings)
    ping_result["live_state_bytes_opened"] = round(opened_b)
    ping_result["live_state_bytes_after_1h_pings"] = round(pinged_b)
    print(
        f"live state per session (tracemalloc): {opened_b:.0f} bytes after start + play, "
        f"{pinged_b:.0f} bytes after {args.pings} more pings "
        f"({verdict(pinged_b - opened_b <= 512)}: it must not grow with the pings)"
    )
    ok = per_session <= TARGET_BYTES and all(200 <= k < 300 for k in statuses)
    write_result(
        "memory",
        {
            "sessions": len(sids),
            "open_seconds": round(open_s, 1),
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "rss_kib_before": before,
            "rss_kib_after": after,
            "bytes_per_session": round(per_session),
            "target_bytes_per_session": TARGET_BYTES,
            "one_hour_of_pings": ping_result,
            "pass": ok,
        },
    )


if __name__ == "__main__":
    main()
