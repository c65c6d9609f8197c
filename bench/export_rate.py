"""Session exports: CSV, NDJSON and Parquet rows/s and memory, the previous way beside this one.

Bulk-loads ``--sessions`` sessions into a SQLite file (``bench/aggregates.py``'s loader: the real
summary code, the spec's mix over 30 days) unless ``--db`` names one already loaded, then streams
each export of the last 3 days (the figure ``bench/aggregates.py`` prints) and of all 30 days
from ``SQLiteStorage``, the way the server does (``playhead.reports.export``), beside the
previous implementation kept here for the comparison (rows fetched one at a time, a dict built
per row, each value converted and written by the csv module / ``from_pylist``). Rounds
alternate old and new; the best of ``--runs`` is kept. Both must produce the same bytes.

Rates: by wall clock and by the process's CPU time (this machine is shared: the CPU figure is
the steadier one). Memory: each export once more alone in a fresh process, its peak RSS
(``VmHWM``) above the peak before it. Flat memory: the 30-day export (10x the rows) grows
RSS by no more than the 3-day one plus ``SLACK_MIB``.

Pinned to one CPU like the other benches (``--no-pin`` to use both). PASS/FAIL: the new CSV
path >= 50,000 rows/s at both ranges, identical bytes, flat memory.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import hashlib
import io
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from aggregates import DAY, END, bulk_load
from common import pin_self, verdict, write_result

from playhead.reports import aggregate, export
from playhead.reports.aggregate import FROM, dialect_of, list_row
from playhead.reports.selection import Selection
from playhead.storage import Storage
from playhead.storage.queries import Query
from playhead.storage.sqlite import SQLiteStorage, connect

TARGET = 50_000
SLACK_MIB = 16

# ------------------------------------------------------------------ the previous implementation


async def _old_scan(storage: SQLiteStorage, query: Query[Any], chunk: int) -> AsyncIterator[Any]:
    """``SQLiteStorage.scan`` as it was: one row per step, no fetch ahead."""
    conn = connect(storage.path, "NORMAL", create=False)
    try:
        cursor = await asyncio.to_thread(conn.execute, query.sql, query.args)
        while rows := await asyncio.to_thread(cursor.fetchmany, chunk):
            for row in rows:
                yield row
    finally:
        conn.close()


def _old_cast(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "bool":
        return bool(value)
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    return value if isinstance(value, str) else str(value)


def _old_query(storage: Storage, selection: Selection, extra: str) -> Query[Any]:
    sql, args = aggregate.sessions_query(selection, dialect_of(storage), "firstEventTs", None, None)
    head, _, tail = sql.partition(f" {FROM}")
    return Query(f"{head}, {extra} {FROM}{tail}", args, list)


async def _old_records(
    storage: SQLiteStorage, selection: Selection
) -> AsyncIterator[dict[str, Any]]:
    extra = ", ".join(f"ss.{column}" for _, column, _ in export.FIELDS)
    width = len(aggregate.LIST_FIELDS) + 1
    async for row in _old_scan(storage, _old_query(storage, selection, extra), 2000):
        record = list_row(row[:width])
        for (name, _, kind), value in zip(export.FIELDS, row[width:], strict=True):
            record[name] = _old_cast(kind, value)
        yield record


def _old_csv_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return "" if value is None else value


async def old_csv(storage: SQLiteStorage, selection: Selection) -> AsyncIterator[bytes]:
    """The previous CSV export."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(export.COLUMNS)
    count = 0
    async for record in _old_records(storage, selection):
        writer.writerow([_old_csv_value(record[name]) for name in export.COLUMNS])
        count += 1
        if count % 500 == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


async def old_ndjson(storage: SQLiteStorage, selection: Selection) -> AsyncIterator[bytes]:
    """The previous NDJSON export."""
    parts: list[bytes] = []
    report = "(SELECT r.report FROM session_summaries r WHERE r.session_id = ss.session_id)"
    async for row in _old_scan(storage, _old_query(storage, selection, report), 2000):
        parts.append(bytes(row[-1]))
        parts.append(b"\n")
        if len(parts) >= 1000:
            yield b"".join(parts)
            parts.clear()
    yield b"".join(parts)


async def old_parquet(storage: SQLiteStorage, selection: Selection) -> AsyncIterator[bytes]:
    """The previous Parquet export."""
    pa = export.require_pyarrow()
    schema = export._arrow_schema(pa)
    sink = export._Sink()
    writer = pa.parquet.ParquetWriter(sink, schema)
    rows: list[dict[str, Any]] = []
    async for record in _old_records(storage, selection):
        rows.append(record)
        if len(rows) >= 10_000:
            writer.write_batch(pa.RecordBatch.from_pylist(rows, schema=schema))
            rows.clear()
            yield sink.take()
    if rows:
        writer.write_batch(pa.RecordBatch.from_pylist(rows, schema=schema))
    writer.close()
    yield sink.take()


# ------------------------------------------------------------------ measuring

Exporter = Callable[[Any, Selection], AsyncIterator[bytes]]


async def measure(storage: SQLiteStorage, fn: Exporter, selection: Selection) -> dict[str, Any]:
    """Seconds, bytes and sha256 of one export."""
    digest = hashlib.sha256()
    size = 0
    t = time.perf_counter()
    cpu = time.process_time()
    async for chunk in fn(storage, selection):
        digest.update(chunk)
        size += len(chunk)
    return {
        "s": time.perf_counter() - t,
        "cpu_s": time.process_time() - cpu,
        "bytes": size,
        "sha": digest.hexdigest(),
    }


def peak_rss_kib() -> int:
    """This process's peak RSS so far, KiB (``VmHWM``: unlike ``ru_maxrss`` it starts afresh
    at exec, not at the parent's peak)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def memory_child(path: str, name: str, side: str, label: str) -> None:
    """In a fresh process: one export, then its peak RSS growth in KiB."""
    storage = SQLiteStorage(path, queue_size=100, batch_size=10, synchronous="NORMAL", timeout=600)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(storage.start())
    if name == "parquet":
        export.require_pyarrow()
    fn = FORMATS[name][0 if side == "old" else 1]
    before = peak_rss_kib()
    loop.run_until_complete(measure(storage, fn, RANGES[label]))
    after = peak_rss_kib()
    loop.run_until_complete(storage.stop())
    print(after - before)


def rss_growth(path: str, name: str, side: str, label: str) -> float:
    """Peak RSS growth (MiB) of one export run in a fresh process."""
    out = subprocess.run(
        [sys.executable, __file__, "--db", path, "--memory-child", name, side, label],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(out.stdout.split()[-1]) / 1024


def count_rows(path: str, selection: Selection) -> int:
    """How many sessions the selection holds (straight from SQLite)."""
    conn = connect(path, "NORMAL", create=False)
    try:
        sql, args = aggregate.sessions_query(selection, "sqlite", "firstEventTs", None, None)
        _, _, tail = sql.partition(f" {FROM}")
        (n,) = conn.execute(f"SELECT COUNT(*) {FROM}{tail.split(' ORDER BY')[0]}", args).fetchone()
        return int(n)
    finally:
        conn.close()


RANGES: dict[str, Selection] = {
    "3 d": Selection(END - 3 * DAY, END),
    "30 d": Selection(END - 30 * DAY, END),
}
FORMATS: dict[str, tuple[Exporter, Exporter]] = {
    "csv": (old_csv, export.csv_chunks),
    "ndjson": (old_ndjson, export.ndjson_chunks),
    "parquet": (old_parquet, export.parquet_chunks),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sessions", type=int, default=200_000)
    ap.add_argument("--db", default=None, help="reuse (or create) this file")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-pin", action="store_true", help="use every CPU (default: one)")
    ap.add_argument("--memory-child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if not args.no_pin:
        pin_self()
    if args.memory_child:
        memory_child(args.db, *args.memory_child)
        return
    path = args.db or os.path.join(tempfile.mkdtemp(prefix="playhead-export-"), "export.db")
    if not os.path.exists(path):
        loaded = bulk_load(path, args.sessions)
        print(f"bulk load: {args.sessions:,} sessions in {loaded:.1f} s ({path})")
    storage = SQLiteStorage(path, queue_size=100, batch_size=10, synchronous="NORMAL", timeout=600)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(storage.start())
    results: dict[str, Any] = {}
    same_everywhere = True
    cpus = "one CPU" if not args.no_pin else "every CPU"
    print(f"\nexports of {rows_total(path):,} stored sessions ({cpus}; best of {args.runs};")
    print("rows/s by wall clock, then by the process's CPU time; RSS: peak growth of the")
    print("export run alone in a fresh process):")
    print(
        f"  {'':14s} {'rows':>8s} {'old rows/s':>11s} {'new rows/s':>11s} {'x':>5s}"
        f"  {'old cpu':>8s} {'new cpu':>8s}  {'old RSS+':>8s} {'new RSS+':>8s}  same bytes"
    )
    for label, selection in RANGES.items():
        rows = count_rows(path, selection)
        for name, (old, new) in FORMATS.items():
            best: dict[str, dict[str, Any]] = {}
            for _ in range(args.runs):
                for side, fn in (("old", old), ("new", new)):
                    got = loop.run_until_complete(measure(storage, fn, selection))
                    if side in best and best[side]["sha"] != got["sha"]:
                        raise SystemExit(f"{name} {side}: two runs gave different bytes")
                    keep = best.setdefault(side, got)
                    keep["s"] = min(keep["s"], got["s"])
                    keep["cpu_s"] = min(keep["cpu_s"], got["cpu_s"])
            same = best["old"]["sha"] == best["new"]["sha"]
            rate = {side: round(rows / best[side]["s"]) for side in best}
            cpu = {side: round(rows / best[side]["cpu_s"]) for side in best}
            rss = {side: rss_growth(path, name, side, label) for side in best}
            results[f"{name} {label}"] = {
                "rows": rows,
                "old_rows_per_s": rate["old"],
                "new_rows_per_s": rate["new"],
                "old_rows_per_cpu_s": cpu["old"],
                "new_rows_per_cpu_s": cpu["new"],
                "old_rss_growth_mib": round(rss["old"], 1),
                "new_rss_growth_mib": round(rss["new"], 1),
                "bytes": best["new"]["bytes"],
                "same_bytes": same,
            }
            same_everywhere = same_everywhere and same
            print(
                f"  {name + ' ' + label:14s} {rows:8,} {rate['old']:11,} {rate['new']:11,}"
                f" {rate['new'] / rate['old']:5.2f}  {cpu['old']:8,} {cpu['new']:8,}"
                f"  {rss['old']:6.1f}Mi {rss['new']:6.1f}Mi  {'yes' if same else 'NO'}"
            )
    loop.run_until_complete(storage.stop())
    loop.close()
    csv_rate = min(results[f"csv {label}"]["new_rows_per_s"] for label in RANGES)
    fast = csv_rate >= TARGET
    flat = all(
        results[f"{name} 30 d"]["new_rss_growth_mib"]
        <= results[f"{name} 3 d"]["new_rss_growth_mib"] + SLACK_MIB
        for name in FORMATS
    )
    print(f"\n  csv export rows/s (new, wall) {csv_rate:,}  target >= {TARGET:,}  {verdict(fast)}")
    print(f"  flat memory (30 d RSS growth <= 3 d + {SLACK_MIB} MiB, each format)  {verdict(flat)}")
    print(f"  same bytes as the previous implementation  {verdict(same_everywhere)}")
    write_result(
        "export_rate",
        {
            "sessions": rows_total(path),
            "pinned": not args.no_pin,
            "exports": results,
            "pass": fast and flat and same_everywhere,
        },
    )


def rows_total(path: str) -> int:
    """Stored sessions in the file."""
    conn = connect(path, "NORMAL", create=False)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM session_facts").fetchone()[0])
    finally:
        conn.close()


if __name__ == "__main__":
    main()
