"""``GET /reports/errors`` at a large session count, beside the summary over the same sessions.

The errors report reads each selected session's error ids from its row of facts
(``session_facts.error_ids``: JSON, NULL for a session that listed none) and groups them in SQL.
``--sessions`` sessions are bulk-loaded as ``bench/aggregates.py`` loads them (30 days, 10 % of
sessions with errors and more where the folded template had some: 18 % list an error id), then
the errors report and the summary of the same selections are timed alternately on the real read
path (``SQLiteStorage.read``), p50/p99 over ``--runs``, in the same run.

Prints PASS/FAIL (the errors report's p50 at most 1.5x the summary's of the same selection, so
the Quality tab's errors panel is never much behind its tiles; the absolute figures are printed
beside it) and writes bench/results/errors_report.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from typing import Any

from aggregates import DAY, END, START, bulk_load, timed
from common import RESULTS, pin_self, verdict, write_result

from playhead.reports import aggregate, errors
from playhead.reports.figures import SqlFigures
from playhead.reports.selection import Filter, Selection
from playhead.storage.sqlite import SQLiteStorage

TARGET_RATIO = 1.5  # errors report p50 / summary p50, same selection, same run


def main() -> None:
    """Load (or reuse ``--db``), time, print and write the result."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sessions", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--db", default=None, help="reuse (or create) this file")
    args = ap.parse_args()
    pin_self()
    path = args.db or os.path.join(tempfile.mkdtemp(prefix="playhead-err-"), "err.db")
    loaded = None
    if not os.path.exists(path):
        loaded = bulk_load(path, args.sessions)
        print(f"bulk load: {args.sessions:,} sessions in {loaded:.1f} s ({path})")
    storage = SQLiteStorage(path, queue_size=100, batch_size=10, synchronous="NORMAL", timeout=600)
    loop = asyncio.new_event_loop()
    go = loop.run_until_complete
    go(storage.start())
    figures = SqlFigures(storage)  # the summary as a database query, as the errors report is
    show = (Filter("media.show", "show-3"),)
    selections = {
        "30 d": Selection(START, END),
        "30 d, filter media.show": Selection(START, END, show),
        "7 d": Selection(END - 7 * DAY, END),
        "24 h": Selection(END - DAY, END),
    }
    first = go(errors.errors(storage, selections["30 d"], None, 20))
    print(
        f"30 d: {first['sessions']:,} sessions, {len(first['errors'])} error ids shown"
        f" (top: {first['errors'][0] if first['errors'] else None})"
    )
    result: dict[str, Any] = {"sessions": args.sessions, "bulk_load_s": loaded, "latency": {}}
    ok_all = True
    print(f"\nlatency at {args.sessions:,} sessions (ms):")
    for name, selection in selections.items():
        t = time.perf_counter()
        err = timed(lambda s=selection: go(errors.errors(storage, s, None, 20)), args.runs)
        summ = timed(lambda s=selection: go(aggregate.summary(figures, s)), args.runs)
        ratio = err["p50"] / summ["p50"] if summ["p50"] else 0.0
        ok = ratio <= TARGET_RATIO
        ok_all &= ok
        result["latency"][name] = {"errors": err, "summary": summ, "ratio": round(ratio, 2)}
        print(
            f"  {name:26s} errors p50 {err['p50']:7.1f} p99 {err['p99']:7.1f}"
            f" | summary p50 {summ['p50']:7.1f} p99 {summ['p99']:7.1f}"
            f" | {ratio:4.2f}x  target <={TARGET_RATIO}x  {verdict(ok)}"
            f"  ({time.perf_counter() - t:.0f} s)"
        )
    go(storage.stop())
    loop.close()
    result["pass"] = ok_all
    write_result("errors_report", result)
    print(f"written: {RESULTS / 'errors_report.json'}")


if __name__ == "__main__":
    main()
