"""Benchmark of the session engine: incremental apply, full fold, report latency, memory."""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import msgspec

from playhead.engine import Lifecycle, Limits, SessionFold, fold
from playhead.events import Event, Qoe

TARGET_EVENTS_PER_S = 300_000
TARGET_REPORT_P50_MS = 2.0
BASE_TS = 1_700_000_000_000
START_PARAMS = {
    "media.id": "bench",
    "media.length": 3600.0,
    "media.contentType": "VOD",
    "media.playerName": "bench-player",
    "media.channel": "bench",
    "analytics.trackingServer": "t.example.com",
    "analytics.reportSuite": "rs",
    "visitor.marketingCloudOrgId": "org@AdobeOrg",
}


def build_session(rng: random.Random, seconds: int) -> list[Event]:
    """Return a realistic session of about ``seconds`` of viewing (pings dominate)."""
    ev = [Event(type="sessionStart", ts=BASE_TS, playhead=0.0, params=START_PARAMS)]
    t = 0
    ph = 0.0
    add = ev.append

    def at(kind: str, **kw: object) -> None:
        add(Event(type=kind, ts=BASE_TS + t, playhead=ph, **kw))  # type: ignore[arg-type]

    at("play", qoe=Qoe(bitrate=2000.0, time_to_start=1200.0))
    at(
        "chapterStart",
        params={
            "media.chapter.index": 1,
            "media.chapter.offset": 0.0,
            "media.chapter.length": 600.0,
        },
    )
    at("stateStart", states_start=("fullScreen",))
    chapter = 1
    while t < seconds * 1000:
        t += 10_000
        ph += 10.0
        r = rng.random()
        if r < 0.02:
            at("pauseStart")
            t += rng.randrange(1_000, 20_000)
            at("play")
        elif r < 0.04:
            at("bufferStart")
            t += rng.randrange(500, 4_000)
            at("play")
        elif r < 0.06:
            at("bitrateChange", qoe=Qoe(bitrate=float(rng.choice((800, 2000, 4500)))))
        elif r < 0.07:
            at("adBreakStart", params={"media.ad.podIndex": 1, "media.ad.podSecond": ph})
            for pos in (1, 2):
                at(
                    "adStart",
                    params={
                        "media.ad.id": f"ad{pos}",
                        "media.ad.length": 15.0,
                        "media.ad.podPosition": pos,
                        "media.ad.playerName": "bench-player",
                    },
                )
                for _ in range(15):
                    t += 1_000
                    at("ping")
                at("adComplete")
            at("adBreakComplete")
        elif r < 0.08:
            at("chapterComplete")
            chapter += 1
            at(
                "chapterStart",
                params={
                    "media.chapter.index": chapter,
                    "media.chapter.offset": ph,
                    "media.chapter.length": 600.0,
                },
            )
        else:
            at("ping")
    at("stateEnd", states_end=("fullScreen",))
    at("sessionComplete")
    at("sessionEnd")
    return ev


def bench_apply(sessions: list[list[Event]], limits: Limits) -> tuple[int, float]:
    """Fold every session incrementally through in_order + apply; return (events, seconds)."""
    n = 0
    t0 = time.perf_counter()
    for events in sessions:
        f = SessionFold.begin("sid", events[0], 0, limits)
        for seq in range(1, len(events)):
            e = events[seq]
            if f.in_order(e, seq):
                f.apply(e, seq, seq)
        n += len(events) - 1
    return n, time.perf_counter() - t0


def bench_fold(sessions: list[list[Event]], limits: Limits) -> tuple[int, float]:
    """Fold every session with fold(); return (events, seconds)."""
    items = [[(e, i + 1, i + 1) for i, e in enumerate(s[1:])] for s in sessions]
    n = 0
    t0 = time.perf_counter()
    for s, rest in zip(sessions, items, strict=True):
        fold("sid", s[0], 0, rest, limits)
        n += len(rest)
    return n, time.perf_counter() - t0


def main() -> int:
    """Run the benchmark, print its figures and write them as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", default="bench/results/engine.json")
    parser.add_argument("--sessions", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(7)
    limits = Limits()
    sessions = [build_session(rng, rng.randrange(300, 3600)) for _ in range(args.sessions)]

    best_apply = 0.0
    best_fold = 0.0
    for _ in range(5):
        n, secs = bench_apply(sessions, limits)
        best_apply = max(best_apply, n / secs)
        n, secs = bench_fold(sessions, limits)
        best_fold = max(best_fold, n / secs)

    hour = build_session(random.Random(1), 3600)
    f = fold("sid", hour[0], 0, [(e, i + 1, i + 1) for i, e in enumerate(hour[1:])], limits)
    closed = Lifecycle(state="closed", close_reason="sessionEnd", closed_ms=0)
    lat = []
    for _ in range(200):
        t0 = time.perf_counter()
        f.report(closed)
        lat.append((time.perf_counter() - t0) * 1000)
    p50 = statistics.median(lat)
    enc = []
    for _ in range(200):
        t0 = time.perf_counter()
        msgspec.json.encode(f.report(closed))
        enc.append((time.perf_counter() - t0) * 1000)
    p50_encoded = statistics.median(enc)

    tracemalloc.start()
    keep = []
    before = tracemalloc.get_traced_memory()[0]
    for i in range(1000):
        s = sessions[i % len(sessions)]
        live = SessionFold.begin(f"sid{i}", s[0], 0, limits)
        for seq in range(1, 6):
            live.apply(s[seq], seq, seq)
        keep.append(live)
    per_fold = (tracemalloc.get_traced_memory()[0] - before) / len(keep)
    tracemalloc.stop()

    ok = best_apply >= TARGET_EVENTS_PER_S and p50 <= TARGET_REPORT_P50_MS
    figures = {
        "apply_events_per_s": round(best_apply),
        "fold_events_per_s": round(best_fold),
        "target_events_per_s": TARGET_EVENTS_PER_S,
        "report_p50_ms_one_hour": round(p50, 4),
        "report_and_encode_p50_ms_one_hour": round(p50_encoded, 4),
        "report_events_one_hour": len(hour),
        "bytes_per_live_fold": round(per_fold),
        "sessions": len(sessions),
        "events": sum(len(s) for s in sessions),
        "pass": ok,
    }
    print(
        f"apply : {best_apply:,.0f} events/s "
        f"({'PASS' if best_apply >= TARGET_EVENTS_PER_S else 'FAIL'} vs {TARGET_EVENTS_PER_S:,})"
    )
    print(f"fold  : {best_fold:,.0f} events/s")
    print(
        f"report: p50 {p50:.3f} ms for a one-hour session ({len(hour)} events) "
        f"({'PASS' if p50 <= TARGET_REPORT_P50_MS else 'FAIL'} vs {TARGET_REPORT_P50_MS} ms)"
    )
    print(f"report+json encode: p50 {p50_encoded:.3f} ms")
    print(f"memory: {per_fold:,.0f} bytes per live SessionFold (begin + 5 events)")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
