"""Ingest throughput: wrk closed loop (Playhead vs a bare-ASGI baseline) and open-loop rates.

Run through ``bench/ingest_wrk.sh`` (installs wrk if missing). Sequence, each server pinned to
CPU 0 and every client (pool helper, wrk, open-loop generator) pinned to CPU 1:

1. baseline (``bench/baseline_app.py``): 64 and 256 connections, ``--duration`` s each;
2. Playhead (fresh database): same wrk script, same connection counts; then the open-loop
   generator (``bench/loadgen.py``) at each ``--rates`` for ``--open-duration`` s;
3. baseline again (64 and 256) — Playhead's events/s is reported as a ratio of the average
   of the two baseline runs, which brackets it in time on this noisy, shared machine;
4. the open-loop generator against the baseline at the highest rate (the generator's own
   ceiling, so an open-loop shortfall can be attributed).

Targets: ratio ≥ 0.5 at both connection counts, zero non-2xx, p99 ≤ 10 ms at 64 connections.
Writes bench/results/ingest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    BENCH,
    CLIENT_CPU,
    PYTHON,
    ROOT,
    ServerProcess,
    verdict,
    write_result,
)

LUA = BENCH / "lua" / "ingest.lua"
TARGET_RATIO = 0.5
TARGET_P99_MS_64 = 10.0


def make_pool(port: int, sessions: int, lua_data: Path) -> None:
    cmd = [
        "taskset",
        "-c",
        CLIENT_CPU,
        PYTHON,
        str(BENCH / "loadgen.py"),
        "pool",
        "--port",
        str(port),
        "--sessions",
        str(sessions),
        "--lua",
        str(lua_data),
    ]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    print("   ", out.stdout.strip())


def wrk(
    port: int, connections: int, duration: float, lua_data: Path, threads: int = 2
) -> dict[str, Any]:
    cmd = [
        "taskset",
        "-c",
        CLIENT_CPU,
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{int(duration)}s",
        "--timeout",
        "5s",
        "--latency",
        "-s",
        str(LUA),
        f"http://127.0.0.1:{port}",
        "--",
        str(threads),
    ]
    env = {**os.environ, "PLAYHEAD_WRK_DATA": str(lua_data)}
    out = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, env=env, timeout=duration + 60
    )
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {out.stdout[-1500:]} {out.stderr[-1500:]}")
    raw = json.loads(line[5:])
    secs = raw["duration_us"] / 1e6
    errors = sum(raw["errors"].values()) - raw["errors"]["status"]
    lat = raw["latency_us"]
    result = {
        "connections": connections,
        "duration_s": round(secs, 2),
        "requests": raw["requests"],
        "events_per_s": round(raw["requests"] / secs, 1),
        "ok_per_s": round((raw["responses"] - raw["non2xx"]) / secs, 1),
        "non_2xx": raw["non2xx"],
        "status_503": raw["status_503"],
        "status_4xx": raw["status_4xx"],
        "status_400_404_410": [raw.get("status_400"), raw.get("status_404"), raw.get("status_410")],
        "socket_errors": errors,
        "session_starts": raw["session_starts"],
        "latency_ms": {
            k: round(lat[k] / 1000, 3) for k in ("p50", "p90", "p99", "p99.9", "max", "mean")
        },
    }
    print(
        f"    {connections:>3} conns: {result['events_per_s']:>9.1f} req/s  "
        f"p50 {result['latency_ms']['p50']} ms  p99 {result['latency_ms']['p99']} ms  "
        f"p99.9 {result['latency_ms']['p99.9']} ms  non-2xx {result['non_2xx']}  "
        f"socket errors {errors}  starts {result['session_starts']}"
    )
    return result


def open_loop(port: int, rate: float, duration: float, sessions: int) -> dict[str, Any]:
    out_json = Path("/tmp") / f"bench-open-{port}-{int(rate)}.json"
    cmd = [
        "taskset",
        "-c",
        CLIENT_CPU,
        PYTHON,
        str(BENCH / "loadgen.py"),
        "open",
        "--port",
        str(port),
        "--rate",
        str(rate),
        "--duration",
        str(duration),
        "--sessions",
        str(sessions),
        "--json",
        str(out_json),
    ]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=duration + 120)
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    result = json.loads(out_json.read_text())
    out_json.unlink()
    lat = result["latency_ms"]
    print(
        f"    open loop {rate:>7.0f}/s: achieved {result['achieved_rate']:>8.1f}/s  "
        f"p50 {lat['p50']} ms  p99 {lat['p99']} ms  p99.9 {lat['p99.9']} ms  "
        f"non-2xx {result['non_2xx']}  generator lag p99 {result['generator_lag_ms']['p99']} ms"
    )
    return result


def closed_runs(
    kind: str,
    conns: list[int],
    duration: float,
    sessions: int,
    extra_open: list[float] | None = None,
    open_duration: float = 15.0,
) -> dict[str, Any]:
    print(f"== {kind}")
    data = Path("/tmp") / f"bench-wrk-{kind}-{os.getpid()}.lua"
    out: dict[str, Any] = {"wrk": {}, "open_loop": {}}
    with ServerProcess(kind) as srv:
        for c in conns:
            # a fresh pool per run: sessions the previous run ended would rightly answer 410
            make_pool(srv.port, sessions, data)
            out["wrk"][str(c)] = wrk(srv.port, c, duration, data)
        for rate in extra_open or []:
            out["open_loop"][str(int(rate))] = open_loop(srv.port, rate, open_duration, sessions)
        out["rss_kib_end"] = srv.rss_kib()
    data.unlink(missing_ok=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--connections", default="64,256")
    ap.add_argument("--sessions", type=int, default=5000)
    ap.add_argument("--rates", default="5000,10000")
    ap.add_argument("--open-duration", type=float, default=15.0)
    args = ap.parse_args()
    conns = [int(c) for c in args.connections.split(",")]
    rates = [float(r) for r in args.rates.split(",") if r]
    t0 = time.time()
    before = closed_runs("baseline", conns, args.duration, args.sessions)
    playhead = closed_runs(
        "playhead", conns, args.duration, args.sessions, rates, args.open_duration
    )
    after = closed_runs(
        "baseline", conns, args.duration, args.sessions, rates[-1:], args.open_duration
    )
    table: dict[str, Any] = {}
    ok_all = True
    for c in conns:
        key = str(c)
        base = (before["wrk"][key]["events_per_s"] + after["wrk"][key]["events_per_s"]) / 2
        ph = playhead["wrk"][key]
        ratio = ph["events_per_s"] / base if base else 0.0
        checks = {
            "ratio_ge_0.5": ratio >= TARGET_RATIO,
            "zero_non_2xx": ph["non_2xx"] == 0 and ph["socket_errors"] == 0,
        }
        if c == 64:
            checks["p99_le_10ms"] = ph["latency_ms"]["p99"] <= TARGET_P99_MS_64
        ok_all &= all(checks.values())
        table[key] = {
            "playhead_events_per_s": ph["events_per_s"],
            "baseline_before_events_per_s": before["wrk"][key]["events_per_s"],
            "baseline_after_events_per_s": after["wrk"][key]["events_per_s"],
            "baseline_avg_events_per_s": round(base, 1),
            "ratio": round(ratio, 3),
            "playhead_latency_ms": ph["latency_ms"],
            "baseline_before_latency_ms": before["wrk"][key]["latency_ms"],
            "baseline_after_latency_ms": after["wrk"][key]["latency_ms"],
            "playhead_non_2xx": ph["non_2xx"],
            "checks": {k: verdict(v) for k, v in checks.items()},
        }
        print(
            f"{c:>3} conns: Playhead {ph['events_per_s']:.0f}/s vs baseline avg {base:.0f}/s "
            f"= {ratio:.2f}x  p99 {ph['latency_ms']['p99']} ms  non-2xx {ph['non_2xx']}  "
            + "  ".join(f"{k}={verdict(v)}" for k, v in checks.items())
        )
    open_summary = {}
    for rate, r in playhead["open_loop"].items():
        ok = r["non_2xx"] == 0 and r["achieved_rate"] >= 0.95 * float(rate)
        open_summary[rate] = {
            "achieved_rate": r["achieved_rate"],
            "latency_ms": r["latency_ms"],
            "non_2xx": r["non_2xx"],
            "generator_lag_ms": r["generator_lag_ms"],
            "sustained": verdict(ok),
        }
    write_result(
        "ingest",
        {
            "targets": {"ratio": TARGET_RATIO, "p99_ms_at_64": TARGET_P99_MS_64, "non_2xx": 0},
            "duration_s": args.duration,
            "pool_sessions": args.sessions,
            "closed_loop": table,
            "open_loop_playhead": open_summary,
            "open_loop_baseline": after["open_loop"],
            "raw": {"baseline_before": before, "playhead": playhead, "baseline_after": after},
            "pass": ok_all,
            "elapsed_s": round(time.time() - t0, 1),
        },
    )
    print("ingest:", verdict(ok_all))


if __name__ == "__main__":
    main()
