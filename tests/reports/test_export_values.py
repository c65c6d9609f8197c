"""The exports write awkward values exactly as the csv module (and from_pylist) would: text
with commas, quotes, line breaks, tabs, backslashes or ``],[`` in it, floats that ``repr``
writes with an exponent, NULL floats, next to plain rows in the same chunk and alone; on both
backends, with chunks of every size."""

from __future__ import annotations

import asyncio
import csv
import io
import math
import random
from collections.abc import AsyncIterator, Iterator
from typing import Any

import msgspec
import pytest

from playhead.engine import SessionReport
from playhead.reports import export
from playhead.reports.export import COLUMNS, KINDS
from playhead.reports.selection import Selection
from playhead.storage import NewSession, StoredEvent, Summary, open_storage
from tests.reports.test_export import expected_row
from tests.storage.test_contract import report_summary

BASE = 1_700_000_000_000
PLAIN = ["Plain title", "ünïcødé ✓ 日本", "", None, "semi;colon and 'single' quotes", "trail "]
AWKWARD = [
    'He said "hi", then left',
    "a,b",
    "line\nbreak",
    "cr\rhere",
    "crlf\r\nhere",
    "tab\there",
    "back\\slash",
    "x],[y",
]
# SQLite only (PostgreSQL text cannot hold NUL), and in a viewer id: SQLite's json_extract
# (media.name is read from the dims JSON) ends a string at NUL
NUL_VIEWER = "v\x00x"
# (session detail, qoe detail, score) overrides, one set per awkward-float session
FLOATS: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    ({"time_played": 1e-05}, {}, {}),
    ({"total_time_played": 100.00001}, {"bitrate_average": 1e16}, {}),
    ({"pause_time": 2.5e-07}, {"time_to_start": None}, {"experience": None}),
    ({}, {"bitrate_average": 123456789012345.67}, {"smoothness": 0.1 + 0.2}),
]


def _report(
    base: SessionReport, i: int, name: str | None, floats: Any = None, viewer: str = ""
) -> SessionReport:
    params = dict(base.params)
    params.pop("media.name", None)
    if name is not None:
        params["media.name"] = name
    if viewer:
        params["visitor.marketingCloudUserId"] = viewer
    report = msgspec.structs.replace(
        base,
        id=f"{i:064x}",
        first_event_ts=BASE + 1000 * i,
        last_event_ts=BASE + 1000 * i + 500,
        params=params,
    )
    if floats:
        sd, q, s = floats
        report = msgspec.structs.replace(
            report,
            session_details=msgspec.structs.replace(report.session_details, **sd),
            qoe_data_details=msgspec.structs.replace(report.qoe_data_details, **q),
            scores=msgspec.structs.replace(report.scores, **s),
        )
    return report


def _reports(nul: bool) -> list[SessionReport]:
    """Plain sessions (i < 100), then awkward ones mixed with plain ones."""
    base = report_summary(1, final=True).report
    out = [_report(base, i, PLAIN[i % len(PLAIN)]) for i in range(60)]
    i = 100
    for name in AWKWARD:
        out.append(_report(base, i, name))
        out.append(_report(base, i + 1, "plain next to it"))
        i += 2
    if nul:
        out.append(_report(base, i, "NUL in the viewer", viewer=NUL_VIEWER))
        i += 1
    for floats in FLOATS:
        out.append(_report(base, i, "odd floats", floats))
        i += 1
    return out


@pytest.fixture(scope="module")
def stored(db_url: str) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """``db_url`` holding every session of :func:`_reports` (as report documents too)."""
    reports = _reports(nul=not db_url.startswith("postgres"))

    async def load() -> None:
        storage = open_storage(db_url, queue_size=1000, batch_size=50, synchronous="NORMAL")
        await storage.start()
        try:
            ids = await storage.reserve_ids(len(reports))
            for sid, r in zip(ids, reports, strict=True):
                new = NewSession(sid, r.id, r.first_event_ts, r.first_event_ts, r.params)
                storage.submit_session(new, [StoredEvent(0, r.first_event_ts, b"{}")])
                storage.submit_summary(Summary(sid, True, r.first_event_ts, r, 1))
            await storage.flush()
        finally:
            await storage.stop()

    asyncio.run(load())
    yield db_url, [msgspec.json.decode(msgspec.json.encode(r)) for r in reports]


def _export(db_url: str, fn: Any, selection: Selection) -> bytes:
    async def run() -> bytes:
        storage = open_storage(db_url, queue_size=10, batch_size=10, synchronous="NORMAL")
        await storage.start()
        try:
            chunks: AsyncIterator[bytes] = fn(storage, selection)
            return b"".join([chunk async for chunk in chunks])
        finally:
            await storage.stop()

    return asyncio.run(run())


def _csv_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


def expected_csv(reports: list[dict[str, Any]]) -> bytes:
    """What the csv module writes of the reports' rows (floats as their repr)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for r in sorted(reports, key=lambda r: r["firstEventTs"]):
        row = expected_row(r)
        writer.writerow([_csv_value(row[name]) for name in COLUMNS])
    return buffer.getvalue().encode()


RANGES = {
    "plain only": (BASE, BASE + 100_000),
    "awkward only": (BASE + 100_000, BASE + 10**6),
    "both": (BASE, BASE + 10**6),
}


@pytest.mark.parametrize("chunk", [1, 3, 2000])
@pytest.mark.parametrize("part", list(RANGES))
def test_csv_is_what_the_csv_module_writes(
    stored: tuple[str, list[dict[str, Any]]],
    part: str,
    chunk: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db_url, reports = stored
    monkeypatch.setattr(export, "CHUNK", chunk)
    lo, hi = RANGES[part]
    got = _export(db_url, export.csv_chunks, Selection(lo, hi))
    chosen = [r for r in reports if lo <= r["firstEventTs"] < hi]
    assert got == expected_csv(chosen)
    rows = list(export.csv_rows(got))
    assert len(rows) == 1 + len(chosen)
    names = [row[COLUMNS.index("media.name")] for row in rows[1:]]
    assert names == [
        r["params"].get("media.name", "") for r in sorted(chosen, key=lambda r: r["firstEventTs"])
    ]


def _parquet(
    stored: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> tuple[Any, bytes]:
    """pyarrow.parquet, and the Parquet export of every stored session in chunks of 7 rows and
    row groups of 10 (several of each)."""
    pq = pytest.importorskip("pyarrow.parquet", reason='pip install "playhead[parquet]"')
    monkeypatch.setattr(export, "CHUNK", 7)
    monkeypatch.setattr(export, "ROW_GROUP", 10)
    lo, hi = RANGES["both"]
    return pq, _export(stored[0], export.parquet_chunks, Selection(lo, hi))


def test_parquet_has_the_awkward_values(
    stored: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    pq, data = _parquet(stored, monkeypatch)
    reports = stored[1]
    table = pq.read_table(io.BytesIO(data))
    assert table.column_names == list(COLUMNS)
    got = table.to_pylist()
    chosen = sorted(reports, key=lambda r: r["firstEventTs"])
    assert len(got) == len(chosen)
    for row, r in zip(got, chosen, strict=True):
        want = expected_row(r)
        for name in COLUMNS:
            if KINDS[name] == "float" and want[name] is not None:
                assert row[name] == float(want[name]), name
            else:
                assert row[name] == want[name], name


def test_parquet_row_groups_hold_row_group_sessions(
    stored: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    pq, data = _parquet(stored, monkeypatch)
    reports = stored[1]
    meta = pq.ParquetFile(io.BytesIO(data)).metadata
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert sizes == [10] * (len(reports) // 10) + ([len(reports) % 10] if len(reports) % 10 else [])


def test_ndjson_is_the_stored_reports(stored: tuple[str, list[dict[str, Any]]]) -> None:
    db_url, reports = stored
    lo, hi = RANGES["both"]
    got = _export(db_url, export.ndjson_chunks, Selection(lo, hi))
    assert got.endswith(b"\n")
    lines = [msgspec.json.decode(line) for line in got.splitlines()]
    assert lines == sorted(reports, key=lambda r: r["firstEventTs"])


def test_an_empty_selection_is_the_header_alone(stored: tuple[str, list[dict[str, Any]]]) -> None:
    db_url, _ = stored
    selection = Selection(BASE - 10_000, BASE - 1)
    assert _export(db_url, export.csv_chunks, selection) == expected_csv([])
    assert _export(db_url, export.ndjson_chunks, selection) == b""


def test_msgspec_writes_floats_as_repr_where_the_fast_way_trusts_it() -> None:
    """The CSV's fast way takes msgspec's floats for repr's from 1e-4 to 1e16 (and 0): if a
    msgspec release wrote one differently, this says so before an export does."""
    rng = random.Random(7)
    values = [0.0, -0.0, 1e-4, 0.1 + 0.2, 9999999999999998.0, 123456789012345.67, 5e15]
    values += [rng.uniform(-1, 1) * 10 ** rng.uniform(-4, 16) for _ in range(50_000)]
    values += [round(rng.uniform(0, 10_000), rng.randrange(6)) for _ in range(20_000)]
    trusted = [v for v in values if v == 0 or 1e-4 <= abs(v) < 1e16]
    written = msgspec.json.encode(trusted).decode()[1:-1].split(",")
    assert written == [repr(v) for v in trusted]
    # and what falls outside is told apart by the marks the fast way looks for
    for v in (1e-05, 9.9e-05, 1e16, 2.5e-07, -3e20, math.inf, -math.inf, math.nan):
        assert export._odd_floats(msgspec.json.encode(v)), v
