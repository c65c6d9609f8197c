"""What metrics cost the ingest hot path: Playhead with and without them, side by side.

Default (in-process): one app (real SQLite storage, its writer thread, the real router and
Collection API) driven through ASGI calls by ``--concurrency`` tasks posting pings to a pool of
open sessions; rounds of ``--events`` events alternate ``on`` and ``off`` (``off`` swaps the
router for one that neither times nor counts requests, and makes the tally histograms'
``observe`` a no-op), and each round's CPU seconds per event (this process, every thread) are
compared: CPU time is what metrics add, and it is far less disturbed by other processes on a
shared machine than wall-clock throughput. The figure is the ratio of the medians, on/off of
events per CPU second.

``--wrk``: the same comparison end to end, two real servers one after the other per round
(wrk, as ``bench/ingest.py``); on a busy machine its rounds vary by far more than 3 %.

The one metrics operation left in ``off`` is the per-event count of accepted events by type
(a dictionary increment); its cost is timed separately and added to the ratio, so the figure
covers everything metrics add. Target: ratio ≥ 0.97. Writes bench/results/metrics_cost.json.
Usage: python bench/metrics_cost.py [--rounds 20] [--events 4000] [--wrk]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import timeit
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import AsgiDriver, ServerProcess, verdict, write_result

TARGET = 0.97
THIS = str(Path(__file__).resolve())


def serve_without_metrics(argv: list[str]) -> None:
    """Run ``playhead`` with the request metrics taken out of the hot path (the ``off`` side)."""
    from playhead import tally
    from playhead.cli import main
    from playhead.http import ingest

    ingest.IngestApp.__call__ = plain_call()  # type: ignore[method-assign]
    tally.Histogram.observe = lambda self, value: None  # type: ignore[method-assign]
    sys.argv = ["playhead", *argv]
    main()


class OffServer(ServerProcess):
    """A Playhead server started through :func:`serve_without_metrics`."""

    def command(self) -> list[str]:
        cmd = super().command()
        at = cmd.index("-m")
        return [*cmd[:at], THIS, "--serve-off", *cmd[at + 2 :]]


def accepted_increment_ns() -> float:
    """Nanoseconds of the per-event accepted count left in ``off``."""
    accepted: dict[str, int] = {}
    kind = "ping"
    n = 2_000_000

    def inc() -> None:
        accepted[kind] = accepted.get(kind, 0) + 1

    best = min(timeit.repeat(inc, number=n, repeat=5))
    empty = min(timeit.repeat(lambda: None, number=n, repeat=5))
    return max(0.0, (best - empty) / n * 1e9)


def wrk_main(args: argparse.Namespace) -> None:
    """The end-to-end variant: real servers, wrk."""
    from ingest import make_pool, wrk

    args.rounds = min(args.rounds, 4)  # a wrk round is two server runs of --duration s
    t0 = time.time()
    runs: dict[str, list[dict[str, Any]]] = {"on": [], "off": []}
    data = Path("/tmp") / f"bench-wrk-metrics-{os.getpid()}.lua"
    for r in range(args.rounds):
        order = ("on", "off") if r % 2 == 0 else ("off", "on")
        for side in order:
            print(f"== round {r + 1} {side}")
            server = ServerProcess("playhead") if side == "on" else OffServer("playhead")
            with server as srv:
                make_pool(srv.port, args.sessions, data)
                runs[side].append(wrk(srv.port, args.connections, args.duration, data))
    data.unlink(missing_ok=True)
    on = sum(r["events_per_s"] for r in runs["on"]) / args.rounds
    off = sum(r["events_per_s"] for r in runs["off"]) / args.rounds
    ratio = on / off if off else 0.0
    inc_ns = accepted_increment_ns()
    # the increment left in "off" costs inc_ns of each request's 1/off seconds
    ratio_all = ratio * (1 - inc_ns * 1e-9 * off)
    ok = ratio_all >= TARGET
    print(f"metrics on {on:.0f}/s  off {off:.0f}/s  ratio {ratio:.3f}")
    print(
        f"per-event accepted count left in 'off': {inc_ns:.0f} ns "
        f"-> ratio with it {ratio_all:.3f} (target >= {TARGET}) {verdict(ok)}"
    )
    write_result(
        "metrics_cost_wrk",
        {
            "target_ratio": TARGET,
            "connections": args.connections,
            "duration_s": args.duration,
            "rounds": args.rounds,
            "on_events_per_s": [r["events_per_s"] for r in runs["on"]],
            "off_events_per_s": [r["events_per_s"] for r in runs["off"]],
            "on_p99_ms": [r["latency_ms"]["p99"] for r in runs["on"]],
            "off_p99_ms": [r["latency_ms"]["p99"] for r in runs["off"]],
            "ratio": round(ratio, 4),
            "accepted_increment_ns": round(inc_ns, 1),
            "ratio_including_increment": round(ratio_all, 4),
            "pass": ok,
            "elapsed_s": round(time.time() - t0, 1),
        },
    )


def plain_call() -> Any:
    """IngestApp.__call__ as it routes, without timing or counting (the ``off`` side)."""

    async def call(self: Any, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            for root in self.roots:
                if path.startswith(root):
                    await self.collection.handle(path[len(root) :], scope, receive, send)
                    return
            for root in self.edge_roots:
                if path.startswith(root):
                    await self.edge.handle(path[len(root) :], scope, receive, send)
                    return
        await self.fallback(scope, receive, send)

    return call


async def in_process(args: argparse.Namespace) -> dict[str, Any]:
    """Alternate on/off rounds against one app; CPU seconds per event of each round."""
    import json
    import statistics
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from playhead import tally
    from playhead.app import create_app
    from playhead.config import load_settings
    from playhead.http import ingest

    metered_call = ingest.IngestApp.__call__
    # --aa: both sides metered, which shows how far apart two identical sides come out
    unmetered_call = metered_call if args.aa else plain_call()
    observe = tally.Histogram.observe
    db = os.path.join(tempfile.mkdtemp(prefix="playhead-metrics-cost-"), "bench.db")
    app = create_app(load_settings({"db": db}))
    ts0 = 1_750_000_000_000

    driver = AsgiDriver(app)
    await driver.start()

    async def request(path: str, body: bytes) -> tuple[int, dict[bytes, bytes]]:
        return await driver.post(path, body)

    start = json.dumps(
        {"eventType": "sessionStart", "playerTime": {"playhead": 0, "ts": ts0},
         "params": {"media.id": "m", "media.length": 3600, "media.contentType": "VOD",
                    "media.playerName": "p", "media.channel": "c",
                    "analytics.trackingServer": "t", "analytics.reportSuite": "r",
                    "visitor.marketingCloudOrgId": "o"}}
    ).encode()  # fmt: skip
    sids = []
    for _ in range(args.sessions):
        status, headers = await request("/api/v1/sessions", start)
        assert status == 201, status
        location = headers[b"location"].decode()
        sids.append(location.rsplit("/", 1)[1])
    steps = dict.fromkeys(sids, 0)

    async def worker(mine: list[str], count: int) -> None:
        for i in range(count):
            sid = mine[i % len(mine)]
            k = steps[sid] = steps[sid] + 1
            body = b'{"eventType":"ping","playerTime":{"playhead":%d,"ts":%d}}' % (
                k, ts0 + k * 1000,
            )  # fmt: skip
            status, out = await request(f"/api/v1/sessions/{sid}/events", body)
            assert status == 204, out

    async def round_(count: int) -> float:
        per = count // args.concurrency
        groups = [sids[i :: args.concurrency] for i in range(args.concurrency)]
        cpu = time.thread_time()  # the event loop's thread: where metrics cost anything
        await asyncio.gather(*(worker(g, per) for g in groups))
        return (time.thread_time() - cpu) / (per * args.concurrency)

    await round_(args.events)  # warm-up
    cost: dict[str, list[float]] = {"on": [], "off": []}
    for r in range(args.rounds):
        for side in ("on", "off") if r % 2 == 0 else ("off", "on"):
            metered = side == "on"
            ingest.IngestApp.__call__ = metered_call if metered else unmetered_call  # type: ignore[method-assign]
            if not args.aa:
                tally.Histogram.observe = observe if metered else (lambda self, v: None)  # type: ignore[method-assign]
            cost[side].append(await round_(args.events))
    ingest.IngestApp.__call__ = metered_call  # type: ignore[method-assign]
    tally.Histogram.observe = observe  # type: ignore[method-assign]
    await driver.stop()
    on_us = statistics.median(cost["on"]) * 1e6
    off_us = statistics.median(cost["off"]) * 1e6
    # each round's on and off ran back to back: their ratio cancels the drift between rounds
    paired = statistics.median(off / on for on, off in zip(cost["on"], cost["off"], strict=True))
    delta = statistics.median(on - off for on, off in zip(cost["on"], cost["off"], strict=True))
    return {"on_cpu_us_per_event": cost["on"], "off_cpu_us_per_event": cost["off"],
            "on_median_us": on_us, "off_median_us": off_us, "paired_ratio": paired,
            "paired_delta_us": delta * 1e6}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=60)
    ap.add_argument("--events", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--sessions", type=int, default=2000)
    ap.add_argument("--wrk", action="store_true", help="end to end, real servers and wrk")
    ap.add_argument("--no-server", action="store_true", help="skip the real server's CPU figure")
    ap.add_argument("--aa", action="store_true", help="both sides metered: the method's noise")
    ap.add_argument("--duration", type=float, default=8.0, help="seconds of each wrk run")
    ap.add_argument("--connections", type=int, default=64, help="wrk connections")
    args = ap.parse_args()
    if args.wrk:
        wrk_main(args)
        return
    t0 = time.time()
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:  # pragma: no cover
        runner = asyncio.run
    got = runner(in_process(args))
    on_us, off_us = got["on_median_us"], got["off_median_us"]
    ratio = got["paired_ratio"]  # events per CPU second, on / off, median over the rounds
    inc_ns = accepted_increment_ns()
    ratio_all = ratio * on_us / (on_us + inc_ns / 1000)
    wrapper_ns = metered_wrapper_ns()
    server_us = None if args.no_server else server_cpu_us_per_request(args)
    derived = None
    # what metrics add per request: the larger of the in-process paired difference and the
    # timeit figures (conservative), as a share of what a request costs the real server
    added_us = max(got["paired_delta_us"], (wrapper_ns + inc_ns) / 1000)
    if server_us:
        derived = 1 - added_us / server_us
    ok = (derived if derived is not None else ratio_all) >= TARGET
    spread = [round(x * 1e6, 2) for x in got["on_cpu_us_per_event"]]
    spread_off = [round(x * 1e6, 2) for x in got["off_cpu_us_per_event"]]
    print(f"CPU µs per event, on:  {spread}")
    print(f"CPU µs per event, off: {spread_off}")
    print(
        f"median CPU per event: metrics on {on_us:.2f} µs, off {off_us:.2f} µs; "
        f"events per CPU second on/off, median of the {args.rounds} paired rounds = {ratio:.4f}"
    )
    print(f"the router's timing and counting alone (timeit): {wrapper_ns:.0f} ns per request")
    print(
        f"per-event accepted count left in 'off': {inc_ns:.0f} ns -> in-process ratio with it "
        f"{ratio_all:.4f} (no HTTP parsing in-process: the metrics' share is overstated)"
    )
    if server_us is not None and derived is not None:
        print(
            f"a real server spends {server_us:.1f} CPU µs per request (wrk, same run); metrics "
            f"add {added_us:.2f} µs of it (the larger of the in-process paired difference, "
            f"{got['paired_delta_us']:.2f} µs, and the timeit figures) -> throughput ratio "
            f"{derived:.4f} (target >= {TARGET}) {verdict(ok)}"
        )
    write_result(
        "metrics_cost_aa" if args.aa else "metrics_cost",
        {
            "method": "in-process ASGI, SQLite, alternating rounds, CPU time per event",
            "target_ratio": TARGET,
            "rounds": args.rounds,
            "events_per_round": args.events,
            "concurrency": args.concurrency,
            "on_cpu_us_per_event": spread,
            "off_cpu_us_per_event": spread_off,
            "on_median_us": round(on_us, 3),
            "off_median_us": round(off_us, 3),
            "ratio": round(ratio, 4),
            "accepted_increment_ns": round(inc_ns, 1),
            "router_metering_ns": round(wrapper_ns, 1),
            "paired_delta_us": round(got["paired_delta_us"], 3),
            "added_us_per_request": round(added_us, 3),
            "server_cpu_us_per_request": None if server_us is None else round(server_us, 2),
            "ratio_end_to_end_derived": None if derived is None else round(derived, 4),
            "ratio_including_increment": round(ratio_all, 4),
            "pass": ok,
            "elapsed_s": round(time.time() - t0, 1),
        },
    )


def server_cpu_us_per_request(args: argparse.Namespace) -> float | None:
    """CPU µs per request of a real ``playhead serve`` under wrk (from /proc), if wrk runs."""
    import shutil

    if shutil.which("wrk") is None:
        print("wrk not installed: no end-to-end figure")
        return None
    from ingest import make_pool, wrk

    data = Path("/tmp") / f"bench-wrk-metrics-cpu-{os.getpid()}.lua"
    with ServerProcess("playhead") as srv:
        make_pool(srv.port, 5000, data)
        before = _cpu_seconds(srv.pid)
        result = wrk(srv.port, args.connections, args.duration, data)
        after = _cpu_seconds(srv.pid)
    data.unlink(missing_ok=True)
    return (after - before) / max(1, result["requests"]) * 1e6


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def metered_wrapper_ns() -> float:
    """Nanoseconds the router's metering adds to a request: two clock reads and the count."""
    from time import perf_counter

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from playhead.tally import RouteTally

    route = RouteTally()
    n = 500_000

    def metered() -> None:
        began = perf_counter()
        route.record(204, perf_counter() - began)

    best = min(timeit.repeat(metered, number=n, repeat=5))
    empty = min(timeit.repeat(lambda: None, number=n, repeat=5))
    return max(0.0, (best - empty) / n * 1e9)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-off":
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        serve_without_metrics(sys.argv[2:])
    else:
        main()
