"""Reports over many sessions: latency at a large session count, and ingest beside them.

1. Bulk load: ``--sessions`` synthetic sessions (default 200,000; the spec's target is
   1,000,000) over 30 days, with the spec's mix (5,000 media ids, 20 shows, 3 content types,
   200 player names, 10 % with errors, custom metadata on half). Reports come from folding
   simulator sessions (the real engine), varied per session, and go through the real summary
   code (``storage.schema.summary_rows``) into a SQLite file.
2. Latency of each report (p50/p99 over ``--runs``) on the real read path
   (``SQLiteStorage.read`` / ``scan``), beside the naive way it replaces: summing the stored
   report JSON of every selected row (``json_extract`` over ``report``), in the same run.
3. Ingest: a real server over that file at 64 connections for ``--duration`` s, alone and then
   with a dashboard-like loop of report requests against the same server, same run.

Prints PASS/FAIL against the spec's targets and writes bench/results/aggregates.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import statistics
import threading
import time
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from common import (
    RESULTS,
    ServerProcess,
    columns_loaded,
    percentile,
    pin_self,
    rss_kib,
    scripts,
    verdict,
    write_result,
)

from playhead.engine import Lifecycle, Limits, SessionReport, fold
from playhead.engine.scores import session_scores
from playhead.protocols.collection.decode import decode_event
from playhead.reports import aggregate, curves, export, grouped
from playhead.reports.figures import Figures, open_figures
from playhead.reports.process import ProcessFigures
from playhead.reports.selection import Filter, Selection
from playhead.simulator import simulate_sessions
from playhead.storage import Summary, dialect
from playhead.storage.migrate import migrate_sqlite
from playhead.storage.schema import summary_rows
from playhead.storage.sqlite import SQLiteStorage, connect

DAY = 86_400_000
END = 1_764_633_600_000  # 2025-12-02T00:00Z
START = END - 30 * DAY


def templates(n: int = 300) -> list[SessionReport]:
    """Reports of ``n`` simulated sessions, folded by the real engine."""
    out = []
    for i, bodies in enumerate(simulate_sessions(11, n, start_ts=START, spacing_ms=0)):
        events = [decode_event(msgspec.json.encode(b)) for b in bodies]
        items = [(e, j + 1, 1000 + j) for j, e in enumerate(events[1:])]
        folded = fold(f"{i:064x}", events[0], 1000, items, Limits())
        out.append(folded.report(Lifecycle("closed", "sessionEnd", 10**13)))
    return out


def vary(t: SessionReport, i: int, rng: random.Random) -> SessionReport:
    """Template ``t`` as session ``i``: its own id, start, content, player, viewer and errors."""
    shift = rng.randrange(START, END) - t.first_event_ts
    params = dict(t.params)
    params["media.id"] = f"m{rng.randrange(5000)}"
    params["media.show"] = f"show-{rng.randrange(20)}"
    params["media.contentType"] = ("vod", "live", "linear")[rng.randrange(3)]
    params["media.playerName"] = f"player-{rng.randrange(200)}"
    params["visitor.marketingCloudUserId"] = f"v{rng.randrange(400_000)}"
    meta = {"tier": ("free", "plus", "pro")[i % 3], "ab": f"b{i % 7}"} if i % 2 else {}
    q = t.qoe_data_details
    if i % 10 == 0:
        q = msgspec.structs.replace(q, error_count=1, has_error_impacted_streams=True)
    timeline = [
        msgspec.structs.replace(s, from_=s.from_ + shift, to=s.to + shift) for s in t.timeline
    ]
    first, last = t.first_event_ts + shift, t.last_event_ts + shift
    return msgspec.structs.replace(
        t,
        id=f"{i:064x}",
        first_event_ts=first,
        last_event_ts=last,
        params=params,
        custom_metadata=meta,
        qoe_data_details=q,
        timeline=timeline,
        scores=session_scores(first, last, t.session_details, q),
    )


def bulk_load(path: str, sessions: int) -> float:
    """Fill a SQLite file with ``sessions`` summarized sessions; the seconds it took."""
    t0 = time.perf_counter()
    rng = random.Random(5)
    bases = templates()
    conn = connect(path, "OFF")
    migrate_sqlite(conn)
    chunk = 20_000
    for lo in range(0, sessions, chunk):
        session_rows, summary_values, fact_values = [], [], []
        for i in range(lo, min(sessions, lo + chunk)):
            r = vary(bases[i % len(bases)], i, rng)
            session_rows.append(
                (
                    i + 1,
                    r.id,
                    r.first_event_ts,
                    r.first_event_ts,
                    r.params["media.id"],
                    msgspec.json.encode(r.params).decode(),
                    0,
                    "{}",
                    r.params["visitor.marketingCloudUserId"],
                    None,  # client_network: NULL, as with the default --store-ip none
                )
            )
            rows = summary_rows(Summary(i + 1, True, 0, r, 100))
            summary_values.append(rows.session)
            fact_values.append(rows.facts)
        conn.execute("BEGIN")
        conn.executemany(dialect.INSERT_SESSION, session_rows)
        conn.executemany(dialect.UPSERT_SUMMARY, summary_values)
        conn.executemany(dialect.UPSERT_FACTS, fact_values)
        conn.execute("COMMIT")
    conn.execute("UPDATE sessions SET state = 'closed'")
    # later sessions (the ingest runs) take ids after the loaded ones
    conn.execute("UPDATE id_blocks SET next = (SELECT MAX(id) + 1 FROM sessions)")
    conn.execute("ANALYZE")
    conn.close()
    return time.perf_counter() - t0


def timed(fn: Any, runs: int) -> dict[str, float]:
    """p50/p99/max milliseconds of ``runs`` calls of ``fn`` (after one warm-up call)."""
    fn()
    values = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        values.append((time.perf_counter() - t) * 1000)
    values.sort()
    return {
        "p50": round(percentile(values, 50), 1),
        "p99": round(percentile(values, 99), 1),
        "max": round(values[-1], 1),
    }


def naive_summary(path: str, selection: Selection) -> None:
    """The way it replaces: every selected report's JSON read and summed by SQLite."""
    conn = sqlite3.connect(path)
    conn.execute(
        "SELECT COUNT(*), SUM(json_extract(report, '$.sessionDetails.timePlayed')),"
        " SUM(json_extract(report, '$.sessionDetails.isCompleted'))"
        " FROM session_summaries WHERE first_event_ts >= ? AND first_event_ts < ?"
        " AND json_extract(report, '$.params.\"media.show\"') = 'show-3'",
        (selection.from_ms, selection.to_ms),
    ).fetchall()
    conn.close()


def figure_cases(figures: Figures) -> dict[str, Callable[[], Awaitable[Any]]]:
    """The reports answered from a figures source, by name (each call asks once)."""
    month = Selection(START, END)
    week = Selection(END - 7 * DAY, END)
    show = (Filter("media.show", "show-3"),)
    tier = (Filter("meta.tier", "pro"),)
    return {
        "summary (30 d, filter media.show)": lambda: aggregate.summary(
            figures, Selection(START, END, show)
        ),
        "summary (30 d, filter meta.tier)": lambda: aggregate.summary(
            figures, Selection(START, END, tier)
        ),
        "summary (30 d, compare=previous)": lambda: aggregate.summary(
            figures, Selection(START, END, compare=True)
        ),
        "timeseries (7 d hourly, filter media.show)": lambda: grouped.timeseries(
            figures, Selection(week.from_ms, END, show), ["mediaStarts"], "hour", None
        ),
        "timeseries (30 d daily, by media.show)": lambda: grouped.timeseries(
            figures, month, ["mediaStarts", "timePlayed"], "day", "media.show"
        ),
        "breakdown by media.id (30 d, filter meta.tier)": lambda: grouped.breakdown(
            figures,
            Selection(START, END, tier),
            "media.id",
            ["mediaStarts", "completionRate"],
            "-mediaStarts",
            100,
        ),
        "insights (30 d, rebufferRatio)": lambda: grouped.insights(
            figures, month, "rebufferRatio", grouped.INSIGHT_DIMENSIONS, 20, 20
        ),
    }


def latencies(path: str, runs: int, engine: str) -> dict[str, Any]:
    """Each report's latency on the real read path, with the figures from ``engine``."""
    storage = SQLiteStorage(path, queue_size=100, batch_size=10, synchronous="NORMAL", timeout=600)
    loop = asyncio.new_event_loop()
    go = loop.run_until_complete
    go(storage.start())
    figures = open_figures(engine, storage, path, 600)
    out: dict[str, Any] = {}
    if isinstance(figures, ProcessFigures):
        t = time.perf_counter()
        go(figures.totals(Selection(START, END)))  # starts the report process
        while not figures.loaded:
            go(asyncio.sleep(0.5))
            go(figures.totals(Selection(START, END, (Filter("media.id", "m1"),))))
        out["load s"] = round(time.perf_counter() - t, 1)
        out["load MiB"] = round(rss_kib(figures.pid() or 0) / 1024)
    month = Selection(START, END)
    day = Selection(END - DAY, END)
    cases: dict[str, Any] = {
        name: (lambda ask=ask: go(ask())) for name, ask in figure_cases(figures).items()
    }
    cases |= {
        "concurrency (24 h, 60 s)": lambda: go(curves.concurrency(storage, day, 60)),
        "retention (one media id)": lambda: go(
            curves.retention(storage, Selection(START, END, (Filter("media.id", "m42"),)), 100)
        ),
        "sessions page": lambda: go(
            aggregate.sessions_page(storage, month, "-firstEventTs", None, 50)
        ),
    }
    if engine == "sql":
        cases["naive JSON summary (30 d, filter media.show)"] = lambda: naive_summary(
            path, Selection(START, END)
        )
    slow = engine == "sql"  # seconds per question at a million sessions: fewer runs
    out.update({name: timed(fn, max(3, runs // 5) if slow else runs) for name, fn in cases.items()})

    async def csv_rate() -> float:
        t = time.perf_counter()
        rows = 0
        async for chunk in export.csv_chunks(storage, Selection(END - 3 * DAY, END)):
            rows += chunk.count(b"\r\n")
        return (rows - 1) / (time.perf_counter() - t)

    out["csv rows/s (3 d)"] = round(go(csv_rate()))
    go(figures.stop())
    go(storage.stop())
    loop.close()
    return out


def ingest(
    path: str, duration: float, with_reports: bool, only: str | None = None
) -> dict[str, Any]:
    """Ingest at 64 connections against a server over ``path`` (and a report loop)."""
    from loadgen import Traffic, closed_loop, make_pool, run

    bodies = scripts(100)
    stop = threading.Event()
    served = {"reports": 0, "errors": 0, "ms": []}
    with ServerProcess(db=path) as server:
        loaded = columns_loaded(server.port)
        print(f"  server's report columns loaded in {loaded:.1f} s")
        url = f"http://127.0.0.1:{server.port}/reports/"
        queries = [
            f"summary?from={START}&to={END}&filter=media.show:show-3",
            f"breakdown?from={END - 7 * DAY}&to={END}&dimension=media.show",
            f"timeseries?from={END - 7 * DAY}&to={END}&bucket=hour&filter=meta.tier:pro",
            f"sessions?from={START}&to={END}",
        ]
        if only:
            queries = [q for q in queries if q.startswith(only)]
        for query in queries:  # a dashboard in use: every dimension it names already read
            urllib.request.urlopen(url + query, timeout=120).read()

        def dashboard() -> None:
            i = 0
            while not stop.is_set():
                t = time.perf_counter()
                try:
                    with urllib.request.urlopen(url + queries[i % len(queries)], timeout=60) as r:
                        r.read()
                    served["reports"] += 1
                    served["ms"].append((time.perf_counter() - t) * 1000)
                except OSError:
                    served["errors"] += 1
                i += 1

        async def go() -> dict[str, Any]:
            pool = await make_pool(server.port, bodies, 2000)
            reader = threading.Thread(target=dashboard, daemon=True) if with_reports else None
            if reader:
                reader.start()
            try:
                return await closed_loop(server.port, Traffic(bodies, pool), 64, duration)
            finally:
                stop.set()
                if reader:
                    reader.join(90)

        result = run(go())
    ms = sorted(served["ms"])
    result["reports"] = {
        "served": served["reports"],
        "errors": served["errors"],
        "p50_ms": round(statistics.median(ms), 1) if ms else None,
    }
    return result


TARGETS: dict[str, tuple[float, float | None]] = {
    "summary (30 d, filter media.show)": (100, 300),
    "summary (30 d, filter meta.tier)": (100, 300),
    "timeseries (7 d hourly, filter media.show)": (100, 300),
    "breakdown by media.id (30 d, filter meta.tier)": (100, 300),
    "concurrency (24 h, 60 s)": (300, None),
    "retention (one media id)": (100, None),
    "sessions page": (20, None),
}


def report_latencies(lat: dict[str, dict[str, Any]], engines: list[str], sessions: int) -> None:
    """Print each report's p50/p99 per engine, side by side, judged on the first engine."""
    first = engines[0]
    print(f"\nlatency at {sessions:,} sessions, ms (spec targets are for 1,000,000; judged on"
          f" {first}):")  # fmt: skip
    if "load s" in lat[first]:
        print(
            f"  {first}: first load {lat[first]['load s']} s;"
            f" the report process holds {lat[first]['load MiB']} MiB"
        )
    header = "".join(f"  {e + ' p50':>12s} {e + ' p99':>12s}" for e in engines)
    print(f"  {'report':48s}{header}  ratio  target")
    for name, figures in lat[first].items():
        if not isinstance(figures, dict):
            continue
        cells = ""
        for engine in engines:
            f = lat[engine].get(name)
            cells += f"  {f['p50']:12.1f} {f['p99']:12.1f}" if f else f"  {'':12s} {'':12s}"
        other = lat[engines[-1]].get(name) if len(engines) > 1 else None
        ratio = f"{other['p50'] / max(figures['p50'], 0.1):5.0f}x" if other else "      "
        target = TARGETS.get(name)
        mark = ""
        if target:
            ok = figures["p50"] <= target[0] and (target[1] is None or figures["p99"] <= target[1])
            mark = f"  p50<={target[0]:g}" + (f" p99<={target[1]:g}" if target[1] else "")
            mark += f" {verdict(ok)}"
        print(f"  {name:48s}{cells}  {ratio}{mark}")
    for engine in engines:
        rate = lat[engine]["csv rows/s (3 d)"]
        print(
            f"  csv export rows/s ({engine}): {rate:,}  target >= 50,000  {verdict(rate >= 50_000)}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sessions", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--db", default=None, help="reuse (or create) this file")
    ap.add_argument("--skip-ingest", action="store_true")
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--only", default=None, help="the report loop asks only this report")
    ap.add_argument(
        "--engines",
        default="columns,sql",
        help="report engines to time side by side (the first is the default judged)",
    )
    args = ap.parse_args()
    pin_self()
    import tempfile

    path = args.db or os.path.join(tempfile.mkdtemp(prefix="playhead-agg-"), "agg.db")
    loaded = None
    if not os.path.exists(path):
        loaded = bulk_load(path, args.sessions)
        print(f"bulk load: {args.sessions:,} sessions in {loaded:.1f} s ({path})")
    engines = [e for e in args.engines.split(",") if e]
    lat: dict[str, Any] = {}
    if not args.skip_latency:
        lat = {engine: latencies(path, args.runs, engine) for engine in engines}
        report_latencies(lat, engines, args.sessions)
    result: dict[str, Any] = {"sessions": args.sessions, "bulk_load_s": loaded, "latency": lat}
    if not args.skip_ingest:
        alone = ingest(path, args.duration, with_reports=False)
        beside = ingest(path, args.duration, with_reports=True, only=args.only)
        share = beside["ok_per_s"] / alone["ok_per_s"] if alone["ok_per_s"] else 0.0
        print(
            f"\ningest at 64 connections: alone {alone['ok_per_s']:,} ok/s,"
            f" with a report loop {beside['ok_per_s']:,} ok/s ({share:.0%};"
            f" {beside['reports']['served']} reports served, p50"
            f" {beside['reports']['p50_ms']} ms); non-2xx {alone['non_2xx']} / {beside['non_2xx']}"
            f"  target >= 90 % {verdict(share >= 0.9 and beside['non_2xx'] == 0)}"
        )
        result["ingest"] = {"alone": alone, "with_reports": beside, "share": share}
    write_result("aggregates", result)
    print(f"written: {RESULTS / 'aggregates.json'}")


if __name__ == "__main__":
    main()
