"""Session report latency over HTTP for a one-hour session (360+ events).

``GET /reports/sessions/{sid}``, ``--requests`` (200) times over one keep-alive connection
(client pinned to CPU 1, server to CPU 0): p50/p90/p99 while the session is open (held in
memory), then after it was closed by ``sessionEnd`` and the server restarted (a closed session
is not restored, so the report is folded from storage). Target p50 ≤ 2 ms for both.
Writes bench/results/report_latency.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ServerProcess, percentile, pin_self, scripts, verdict, write_result

TARGET_P50_MS = 2.0
START_TS = 1_700_000_000_000


def one_hour_session(seconds: int = 3600, seed: int = 9) -> list[dict[str, Any]]:
    """A VOD hour: play, pings every 10 s, pauses, rebuffers, bitrate changes, one mid-roll."""
    rng = random.Random(seed)
    start = json.loads(scripts(1)[0][0])
    start["playerTime"] = {"playhead": 0.0, "ts": START_TS}
    start["params"]["media.length"] = 3600.0
    start["params"]["media.contentType"] = "vod"
    events = [start]
    t, ph = 1200, 0.0

    def emit(kind: str, **extra: Any) -> None:
        events.append(
            {
                "playerTime": {"playhead": round(ph, 3), "ts": START_TS + t},
                "eventType": kind,
                **extra,
            }
        )

    emit("play", qoeData={"media.qoe.bitrate": 1_500_000, "media.qoe.timeToStart": 1200})
    while t < seconds * 1000:
        t += 10_000
        ph += 10.0
        r = rng.random()
        if r < 0.02:
            emit("pauseStart")
            t += 5000
            emit("play")
        elif r < 0.04:
            emit("bufferStart")
            t += 2000
            emit("play")
        elif r < 0.06:
            emit("bitrateChange", qoeData={"media.qoe.bitrate": rng.choice([800_000, 3_000_000])})
        if 1800_000 <= t < 1810_000:
            emit(
                "adBreakStart",
                params={
                    "media.ad.podIndex": 1,
                    "media.ad.podSecond": ph,
                    "media.ad.podFriendlyName": "mid",
                },
            )
            emit(
                "adStart",
                params={
                    "media.ad.id": "ad-1",
                    "media.ad.name": "Spot",
                    "media.ad.length": 15.0,
                    "media.ad.podPosition": 1,
                    "media.ad.playerName": "bench",
                },
            )
            for _ in range(15):
                t += 1000
                emit("ping")
            emit("adComplete")
            emit("adBreakComplete")
        t += 1
        emit("ping")
    return events


def timed_gets(port: int, path: str, n: int) -> tuple[list[float], int]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    times = []
    size = 0
    for _ in range(n):
        t = time.perf_counter()
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        times.append((time.perf_counter() - t) * 1000)
        if resp.status != 200:
            raise RuntimeError(f"report answered {resp.status}: {body[:200]!r}")
        size = len(body)
    conn.close()
    return sorted(times), size


def summary(times: list[float]) -> dict[str, float]:
    return {p: round(percentile(times, float(p[1:])), 3) for p in ("p50", "p90", "p99")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=200)
    args = ap.parse_args()
    pin_self()
    events = one_hour_session()
    bodies = [json.dumps(e, separators=(",", ":")).encode() for e in events]
    with ServerProcess("playhead", extra=["--idle-timeout", "3600"]) as srv:
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
        conn.request("POST", "/api/v1/sessions", bodies[0], {"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 201, resp.status
        sid = resp.getheader("Location").rsplit("/", 1)[-1]
        for body in bodies[1:]:
            conn.request(
                "POST", f"/api/v1/sessions/{sid}/events", body, {"Content-Type": "application/json"}
            )
            r = conn.getresponse()
            r.read()
            assert r.status == 204, (r.status, body)
        path = f"/reports/sessions/{sid}"
        timed_gets(srv.port, path, 10)  # warm-up
        open_times, size = timed_gets(srv.port, path, args.requests)
        conn.request(
            "POST",
            f"/api/v1/sessions/{sid}/events",
            b'{"playerTime":{"playhead":3600.0,"ts":%d},"eventType":"sessionEnd"}'
            % (events[-1]["playerTime"]["ts"] + 1000),
            {"Content-Type": "application/json"},
        )
        r = conn.getresponse()
        r.read()
        assert r.status == 204
        conn.close()
        srv.stop()
        with ServerProcess("playhead", db=srv.db, extra=["--idle-timeout", "3600"]) as again:
            timed_gets(again.port, path, 10)
            closed_times, _ = timed_gets(again.port, path, args.requests)
    o, c = summary(open_times), summary(closed_times)
    ok_open = o["p50"] <= TARGET_P50_MS
    ok_closed = c["p50"] <= TARGET_P50_MS
    print(
        f"report of a {len(events)}-event one-hour session ({size} bytes): open p50 {o['p50']} ms "
        f"p99 {o['p99']} ms: {verdict(ok_open)}; closed (from storage) p50 {c['p50']} ms "
        f"p99 {c['p99']} ms: {verdict(ok_closed)}  (target p50 <= {TARGET_P50_MS} ms)"
    )
    write_result(
        "report_latency",
        {
            "events": len(events),
            "requests": args.requests,
            "report_bytes": size,
            "open_ms": o,
            "closed_ms": c,
            "target_p50_ms": TARGET_P50_MS,
            "open_pass": ok_open,
            "closed_pass": ok_closed,
            "pass": ok_open and ok_closed,
        },
    )


if __name__ == "__main__":
    main()
