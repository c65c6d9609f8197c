"""Reports over many sessions on PostgreSQL, both engines side by side.

Loads ``--sessions`` synthetic sessions (varied as ``bench/aggregates.py`` varies them, through
the real summary code) into a database created for the run on the local PostgreSQL server
(``--pg``, default ``postgresql://postgres@127.0.0.1:5432/test``; dropped afterwards), then
times the summary, a time series and a breakdown with one filter: answered by the report
process (``--report-engine columns``, the default) and by PostgreSQL itself
(``--report-engine sql``), in the same run. The spec's target: p50 <= 300 ms at 1,000,000.
Writes bench/results/aggregates_pg.json.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import time
from typing import Any

from aggregates import END, START, figure_cases, templates, vary
from common import percentile, verdict, write_result

from playhead.reports.figures import open_figures
from playhead.reports.process import ProcessFigures
from playhead.reports.selection import Filter, Selection
from playhead.storage import Summary, dialect
from playhead.storage.postgres import PostgresStorage, _texts
from playhead.storage.schema import FACTS_TABLE, summary_rows

TARGET_MS = 300.0
CASES = (
    "summary (30 d, filter media.show)",
    "timeseries (7 d hourly, filter media.show)",
    "breakdown by media.id (30 d, filter meta.tier)",
)


async def load(url: str, sessions: int) -> float:
    """Migrate a fresh database and COPY the sessions and their facts into it; seconds."""
    import asyncpg

    began = time.perf_counter()
    storage = PostgresStorage(url, queue_size=10, batch_size=10, timeout=600)
    await storage.start()  # migrations
    await storage.stop()
    conn = await asyncpg.connect(url)
    rng = random.Random(5)
    bases = templates()
    try:
        for low in range(0, sessions, 20_000):
            session_rows, fact_rows = [], []
            for i in range(low, min(sessions, low + 20_000)):
                r = vary(bases[i % len(bases)], i, rng)
                session_rows.append(
                    (i + 1, r.id, r.first_event_ts, r.first_event_ts, r.params["media.id"],
                     "{}", 0, "{}", r.params["visitor.marketingCloudUserId"], None)
                )  # fmt: skip
                rows = summary_rows(Summary(i + 1, True, 0, r, 100))
                fact_rows.append(_texts(rows.facts, FACTS_TABLE.free_text))
            await conn.copy_records_to_table(
                "sessions", records=session_rows, columns=list(dialect.SESSION_COLUMNS)
            )
            await conn.copy_records_to_table(
                "session_facts", records=fact_rows, columns=list(FACTS_TABLE.names)
            )
        await conn.execute("UPDATE sessions SET state = 'closed'")
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return time.perf_counter() - began


async def timed(fn: Any, runs: int) -> dict[str, float]:
    """p50/p99 ms of ``runs`` awaits of ``fn()`` after one warm-up."""
    await fn()
    values = []
    for _ in range(runs):
        t = time.perf_counter()
        await fn()
        values.append((time.perf_counter() - t) * 1000)
    values.sort()
    return {"p50": round(percentile(values, 50), 1), "p99": round(percentile(values, 99), 1)}


async def latencies(url: str, engine: str, runs: int) -> dict[str, Any]:
    """Each report's latency with the figures from ``engine``."""
    storage = PostgresStorage(url, queue_size=10, batch_size=10, timeout=600)
    await storage.start()
    figures = open_figures(engine, storage, url, 600, 0)
    out: dict[str, Any] = {}
    try:
        if isinstance(figures, ProcessFigures):
            t = time.perf_counter()
            while not figures.loaded:
                await figures.totals(Selection(START, END, (Filter("media.id", "m1"),)))
                await asyncio.sleep(0.5)
            out["load s"] = round(time.perf_counter() - t, 1)
        every = figure_cases(figures)
        cases = {name: every[name] for name in CASES}
        for name, fn in cases.items():
            out[name] = await timed(fn, runs if engine == "columns" else max(3, runs // 4))
    finally:
        await figures.stop()
        await storage.stop()
    return out


async def admin(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def main_async(args: argparse.Namespace) -> None:
    name = f"playhead_bench_{secrets.token_hex(4)}"
    await admin(args.pg, f"CREATE DATABASE {name}")
    url = args.pg.rsplit("/", 1)[0] + "/" + name
    try:
        loaded = await load(url, args.sessions)
        print(f"loaded {args.sessions:,} sessions into PostgreSQL in {loaded:.1f} s")
        lat = {engine: await latencies(url, engine, args.runs) for engine in ("columns", "sql")}
    finally:
        await admin(args.pg, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    print(f"\nlatency at {args.sessions:,} sessions on PostgreSQL, ms (target p50 <= 300):")
    print(f"  report process: first load {lat['columns'].get('load s')} s")
    ok = True
    for case, got in lat["columns"].items():
        if not isinstance(got, dict):
            continue
        sql = lat["sql"][case]
        passed = got["p50"] <= TARGET_MS
        ok = ok and passed
        print(
            f"  {case:48s} columns p50 {got['p50']:8.1f} p99 {got['p99']:8.1f}"
            f"   sql p50 {sql['p50']:9.1f}   {verdict(passed)}"
        )
    write_result(
        "aggregates_pg",
        {"sessions": args.sessions, "load_s": loaded, "latency": lat, "pass": ok},
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sessions", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    main()
