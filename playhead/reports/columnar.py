"""Figures from the session facts kept in memory as columns (numpy arrays), following the
database's changes.

A scan of a million rows of ``session_facts`` takes SQLite seconds; the same sums over
columns in memory take milliseconds. :class:`ColumnarFigures` loads every session's facts
once (in chunks, beside the traffic), then before each question reads only what changed
since it last looked: every write of a session's facts stamps it with the next ``changed``
value (migration 0012), and deletions count up ``facts_changes.deleted``. A dimension's values are
read the first time a report names it (one query over every session), then kept up to date
with the changed rows. Until the first load finishes, questions go to the database
(:class:`~playhead.reports.figures.SqlFigures`), so reports answer from the first second.

Layout: the summable figures (counts, seconds, score sums, …) are the rows of one float
matrix, so a whole selection's sums are one matrix-vector product; 0/1 flags (and whether a
nullable figure has a value) are boolean rows, counted under the selection's mask; each
dimension is an array of codes into its list of values (``-1``: the session has none).
Memory is about 300 bytes per session, plus 4 bytes per session for each dimension in use.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

# OpenBLAS would spread each matrix product over spinning threads on every core, taking CPU
# from ingest for a product that takes milliseconds on one (set before numpy loads it).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import msgspec
import numpy as np
import numpy.typing as npt

from playhead.reports import dimensions, metrics
from playhead.reports.dimensions import NONE
from playhead.reports.figures import (
    ALL,
    FROM,
    OTHER,
    Grouping,
    Raw,
    SqlFigures,
    dialect_of,
    percentiles_of,
)
from playhead.reports.selection import Filter, Selection
from playhead.storage import Storage
from playhead.storage.queries import Query

log = logging.getLogger("playhead.reports")
T = TypeVar("T")

# COUNTS columns holding 0 or 1: kept as booleans and counted, not summed.
FLAG_COLUMNS: Final = frozenset(
    column
    for column in metrics.COUNTS.values()
    if column.startswith(("is_", "has_")) or column.endswith("_impacted")
)
# Nullable figures: their value (0 when NULL) is summed, whether they have one is counted.
NULLABLE: Final = (*metrics.MEANS.values(), "time_to_start")
# The rows of the float matrix: figures read as they are, then two computed ones.
READ_SUMS: Final = tuple(
    dict.fromkeys(
        (
            *(c for c in metrics.COUNTS.values() if c not in FLAG_COLUMNS),
            *metrics.SUMS.values(),
            *NULLABLE,
        )
    )
)
SUM_ROWS: Final = (*READ_SUMS, "bitrate_product", "bitrate_weight")
FLAG_ROWS: Final = (*sorted(FLAG_COLUMNS), *(f"has:{c}" for c in NULLABLE))
_SUM_AT: Final = {name: i for i, name in enumerate(SUM_ROWS)}
_FLAG_AT: Final = {name: i for i, name in enumerate(FLAG_ROWS)}

# What each aggregate of metrics.AGGREGATES is over the columns: ("count",), ("viewers",),
# ("flag", row) or ("sum", row).
SOURCES: Final[dict[str, tuple[str, int]]] = {
    "mediaStarts": ("count", 0),
    "uniqueViewers": ("viewers", 0),
    **{
        name: ("flag", _FLAG_AT[c]) if c in FLAG_COLUMNS else ("sum", _SUM_AT[c])
        for name, c in metrics.COUNTS.items()
    },
    **{name: ("sum", _SUM_AT[c]) for name, c in metrics.SUMS.items()},
    **{f"{name}.sum": ("sum", _SUM_AT[c]) for name, c in metrics.MEANS.items()},
    **{f"{name}.n": ("flag", _FLAG_AT[f"has:{c}"]) for name, c in metrics.MEANS.items()},
    "bitrate.num": ("sum", _SUM_AT["bitrate_product"]),
    "bitrate.den": ("sum", _SUM_AT["bitrate_weight"]),
    "timeToStart.n": ("flag", _FLAG_AT["has:time_to_start"]),
    "timeToStart.sum": ("sum", _SUM_AT["time_to_start"]),
}
assert set(SOURCES) == ALL, set(SOURCES) ^ ALL

# The facts a row of the columns is made from, in select order (after session_id, changed).
_NUMERIC: Final = tuple(dict.fromkeys((*READ_SUMS, *sorted(FLAG_COLUMNS), "bitrate_average")))
_TEXT: Final = tuple(dict.fromkeys(dimensions.COLUMNS.values()))
_SELECT: Final = ", ".join(
    (
        "ss.session_id",
        "ss.changed",
        "ss.first_event_ts",
        *(f"ss.{c}" for c in _NUMERIC),
        *(f"ss.{c}" for c in _TEXT),
    )
)
_N_FIXED: Final = 3 + len(_NUMERIC)
LOAD_CHUNK: Final = 20_000
_CURSORS: Final = (
    "SELECT (SELECT MAX(changed) FROM session_facts), (SELECT deleted FROM facts_changes)"
)
# Below this many needed sums a column-by-column dot product beats the whole matrix product.
_MATRIX_FROM: Final = 8

_decode_object = msgspec.json.Decoder(dict[str, Any]).decode


def _rows(rows: Sequence[Sequence[Any]]) -> list[Sequence[Any]]:
    return list(rows)


def _first(rows: Sequence[Sequence[Any]]) -> Sequence[Any]:
    return rows[0]


@dataclass
class Values:
    """One dimension: each session's code into ``values`` (-1: no value, ``(none)``)."""

    codes: npt.NDArray[np.int32]
    values: list[str] = field(default_factory=list)
    lookup: dict[str, int] = field(default_factory=dict)

    def code(self, value: Any) -> int:
        """The code of a value (a new one for a value not seen yet; -1 for none)."""
        if value is None:
            return -1
        text = str(value)
        found = self.lookup.get(text)
        if found is None:
            found = self.lookup[text] = len(self.values)
            self.values.append(text)
        return found

    def named(self, value: str) -> int | None:
        """The code a filter's value names (``None``: no session has it)."""
        if value == NONE:
            return -1
        return self.lookup.get(value)


@dataclass
class Columns:
    """The facts of every known session, one slot each (slots of deleted sessions stay,
    marked not alive)."""

    capacity: int = 0
    size: int = 0
    slot_of: dict[int, int] = field(default_factory=dict)
    ids: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    alive: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, np.bool_))
    first_ts: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    sums: npt.NDArray[np.float64] = field(
        default_factory=lambda: np.zeros((len(SUM_ROWS), 0), np.float64)
    )
    flags: npt.NDArray[np.bool_] = field(
        default_factory=lambda: np.zeros((len(FLAG_ROWS), 0), np.bool_)
    )
    dims: dict[str, Values] = field(default_factory=dict)

    def grow(self, wanted: int) -> None:
        """Room for at least ``wanted`` slots (doubling, so appends stay cheap)."""
        if wanted <= self.capacity:
            return
        capacity = max(wanted, 2 * self.capacity, 1024)

        def bigger(a: npt.NDArray[Any], fill: Any = 0) -> npt.NDArray[Any]:
            shape = (*a.shape[:-1], capacity)
            out = np.full(shape, fill, a.dtype)
            out[..., : self.size] = a[..., : self.size]
            return out

        self.ids, self.alive, self.first_ts = (
            bigger(self.ids),
            bigger(self.alive),
            bigger(self.first_ts),
        )
        self.sums, self.flags = bigger(self.sums), bigger(self.flags)
        for values in self.dims.values():
            values.codes = bigger(values.codes, -1)
        self.capacity = capacity

    def slots(self, ids: Sequence[int]) -> npt.NDArray[np.intp]:
        """The slot of each session id, new slots for sessions not seen before."""
        self.grow(self.size + len(ids))
        out = np.empty(len(ids), np.intp)
        for i, sid in enumerate(ids):
            slot = self.slot_of.get(sid)
            if slot is None:
                slot = self.slot_of[sid] = self.size
                self.size += 1
            out[i] = slot
        return out

    def put(self, rows: Sequence[Sequence[Any]]) -> npt.NDArray[np.intp]:
        """Write rows of :data:`_SELECT` into their slots; the slots."""
        cols = list(zip(*rows, strict=True))
        slots = self.slots([int(sid) for sid in cols[0]])
        self.ids[slots] = np.asarray(cols[0], np.int64)
        self.alive[slots] = True
        self.first_ts[slots] = np.asarray(cols[2], np.int64)
        numeric = {
            name: np.asarray(cols[3 + i], np.float64)  # NULL becomes NaN
            for i, name in enumerate(_NUMERIC)
        }
        for name in READ_SUMS:
            self.sums[_SUM_AT[name], slots] = np.nan_to_num(numeric[name], nan=0.0)
        bitrate = numeric["bitrate_average"]
        weight = np.where(np.isnan(bitrate), 0.0, numeric["total_time_played"])
        self.sums[_SUM_AT["bitrate_weight"], slots] = weight
        self.sums[_SUM_AT["bitrate_product"], slots] = np.nan_to_num(bitrate * weight, nan=0.0)
        for name in FLAG_COLUMNS:
            self.flags[_FLAG_AT[name], slots] = np.nan_to_num(numeric[name], nan=0.0) != 0
        for name in NULLABLE:
            self.flags[_FLAG_AT[f"has:{name}"], slots] = ~np.isnan(numeric[name])
        return slots


class ColumnarFigures:
    """Figures over the session facts held in memory, refreshed from ``storage`` before
    each question (see the module's docstring).

    ``lag_s``: how far back each refresh looks again for changes that committed late (on
    PostgreSQL a write may take its stamp before an earlier-stamped one commits; SQLite
    commits in stamp order, 0). ``wait_s``: how long a question waits for the first load
    before the database answers it instead.
    """

    def __init__(self, storage: Storage, *, lag_s: float | None = None, wait_s: float = 1.0):
        self.storage = storage
        self.dialect = dialect_of(storage)
        self.sql = SqlFigures(storage)
        self.lag_s = (0.0 if self.dialect == "sqlite" else 2.0) if lag_s is None else lag_s
        self.wait_s = wait_s
        self.columns = Columns()
        self._lock = asyncio.Lock()
        self._loading: asyncio.Task[None] | None = None
        self._loaded = False
        self._cursor = 0
        self._seen: deque[tuple[float, int]] = deque()  # (monotonic s, cursor) for lag_s
        self._deletions: int | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="playhead-reports")

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on the report thread (the event loop stays free for reads)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args))

    # ------------------------------------------------------------------ keeping up
    def start(self) -> None:
        """Begin the first load in the background (call from a running event loop)."""
        if self._loading is None:
            self._loading = asyncio.create_task(self._load(), name="playhead-columns-load")

    async def stop(self) -> None:
        """Stop a first load under way, and the report thread."""
        if self._loading is not None and not self._loading.done():
            self._loading.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._loading
        self._executor.shutdown(wait=False, cancel_futures=True)

    def held(self) -> int:
        """Sessions in the columns (0 until the first load finishes)."""
        return len(self.columns.slot_of) if self._loaded else 0

    @property
    def loaded(self) -> bool:
        """Whether the columns serve questions (the first load finished)."""
        return self._loaded

    async def _load(self) -> None:
        """Read every session's facts, chunk by chunk in session order."""
        started = time.perf_counter()
        async with self._lock:
            cursor, deletions = await self.storage.read(Query(_CURSORS, (), _first))
            async for rows in self._chunks(_SELECT):
                await self._run(self.columns.put, rows)
            self._cursor, self._deletions = int(cursor or 0), int(deletions or 0)
            await self._materialize("viewer")
            for name in dimensions.DEFAULT_EXCLUDED:
                await self._materialize(name)
            self._loaded = True
        log.info(
            "report columns loaded: %d sessions in %.1f s",
            self.columns.size,
            time.perf_counter() - started,
        )

    async def _chunks(
        self, columns: str, size: int = LOAD_CHUNK
    ) -> AsyncIterator[list[Sequence[Any]]]:
        """Every session's ``columns`` (``ss.session_id`` first), in chunks in session order,
        each its own short read (a reader never holds one snapshot for the whole table)."""
        after = -1
        while True:
            sql = (
                f"SELECT {columns} {FROM} WHERE ss.session_id > ?"
                f" ORDER BY ss.session_id LIMIT {size}"
            )
            rows = await self.storage.read(Query(sql, (after,), _rows))
            if not rows:
                return
            yield rows
            after = int(rows[-1][0])

    async def _materialize(self, name: str) -> Values:
        """A dimension's codes, read for every session the first time it is named."""
        found = self.columns.dims.get(name)
        if found is not None:
            return found
        values = Values(np.full(self.columns.capacity, -1, np.int32))
        columns = f"ss.session_id, {dimensions.expression(name, self.dialect)}"
        async for chunk in self._chunks(columns):
            await self._run(self._fill, values, chunk)
        self.columns.dims[name] = values
        return values

    def _fill(self, values: Values, chunk: Sequence[Sequence[Any]]) -> None:
        """Codes of ``(session_id, value)`` rows (a session stored since the last refresh
        is left out: the next refresh brings it with every dimension)."""
        slot_of, code = self.columns.slot_of, values.code
        for sid, value in chunk:
            slot = slot_of.get(sid)
            if slot is not None:
                values.codes[slot] = code(value)

    async def _ready(self) -> bool:
        """Whether the columns can answer now: loaded, or loading and done within
        ``wait_s`` (a failed load is logged and tried again at the next question)."""
        if self._loaded:
            return True
        self.start()
        task = self._loading
        assert task is not None
        await asyncio.wait({task}, timeout=self.wait_s)
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.error("report columns failed to load: %r", task.exception())
            self._loading = None
        return self._loaded

    async def _refresh(self) -> None:
        """Apply what changed since the last look (under the lock)."""
        since = self._cursor
        if self.lag_s:
            now = time.monotonic()
            self._seen.append((now, self._cursor))
            while len(self._seen) > 1 and self._seen[1][0] <= now - self.lag_s:
                self._seen.popleft()
            since = self._seen[0][1]
        deletions = await self.storage.read(
            Query("SELECT deleted FROM facts_changes", (), lambda rows: int(rows[0][0]))
        )
        if deletions != self._deletions:
            await self._forget_deleted()
            self._deletions = deletions
        names = list(self.columns.dims)
        sql = (
            f"SELECT {_SELECT}, ss.dims, x.context {FROM} JOIN sessions x"
            " ON x.id = ss.session_id WHERE ss.changed > ? ORDER BY ss.changed"
            f" LIMIT {LOAD_CHUNK}"
        )
        while True:
            rows = await self.storage.read(Query(sql, (since,), _rows))
            if not rows:
                return
            await self._run(self._apply, names, rows)
            since = int(rows[-1][1])
            self._cursor = max(self._cursor, since)
            if len(rows) < LOAD_CHUNK:
                return

    def _apply(self, names: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Write changed rows, with each materialized dimension's value of them."""
        slots = self.columns.put(rows)
        text_at = {column: _N_FIXED + i for i, column in enumerate(_TEXT)}
        decoded: list[tuple[dict[str, Any], dict[str, Any]]] = [
            (_decode_object(row[-2] or "{}"), _decode_object(row[-1] or "{}")) for row in rows
        ]
        for name in names:
            values = self.columns.dims[name]
            kind, key = dimensions.source(name)
            for row, slot, (dims, context) in zip(rows, slots, decoded, strict=True):
                if kind == "column":
                    value = row[text_at[key]]
                else:
                    value = (context if kind == "context" else dims).get(key)
                values.codes[slot] = values.code(value)

    async def _forget_deleted(self) -> None:
        """Mark the slots of sessions no longer stored as not alive."""
        kept: list[int] = []
        async for chunk in self._chunks("ss.session_id", 100_000):
            kept.extend(int(row[0]) for row in chunk)
        c = self.columns
        gone = c.alive[: c.size] & ~np.isin(c.ids[: c.size], np.asarray(kept, np.int64))
        for slot in np.flatnonzero(gone):
            c.alive[slot] = False
            c.slot_of.pop(int(c.ids[slot]), None)

    async def _prepared(self, selection: Selection, dims: Collection[str]) -> None:
        """Refreshed, and every dimension the question names materialized (under the lock)."""
        await self._refresh()
        for name in {*dims, *(f.dimension for f in selection.filters)}:
            await self._materialize(name)

    # ------------------------------------------------------------------ answering
    def _mask(self, selection: Selection) -> npt.NDArray[np.bool_]:
        """Which slots the selection takes: range, filters, default exclusions."""
        c = self.columns
        n = c.size
        ts = c.first_ts[:n]
        mask = (ts >= selection.from_ms) & (ts < selection.to_ms) & c.alive[:n]
        included: dict[str, list[str]] = {}
        for f in selection.filters:
            if not f.exclude:
                included.setdefault(f.dimension, []).append(f.value)
        for name, wanted in included.items():
            values = c.dims[name]
            codes = [code for code in (values.named(v) for v in wanted) if code is not None]
            mask &= np.isin(values.codes[:n], codes)
        excluded = [f for f in selection.filters if f.exclude]
        named = {f.dimension for f in selection.filters}
        excluded += [
            Filter(name, value, True)
            for name, value in dimensions.DEFAULT_EXCLUDED.items()
            if name not in named
        ]
        for f in excluded:
            if f.value == NONE and dimensions.source(f.dimension)[0] == "context":
                continue  # as in SQL: no session's context holds the text "(none)"
            code = c.dims[f.dimension].named(f.value)
            if code is not None:
                mask &= c.dims[f.dimension].codes[:n] != code
        return mask

    def _totals(self, selection: Selection, needed: Collection[str]) -> Raw:
        c = self.columns
        n = c.size
        mask = self._mask(selection)
        out: Raw = {}
        sums = [SOURCES[name][1] for name in needed if SOURCES[name][0] == "sum"]
        weights = mask.astype(np.float64)
        if len(sums) >= _MATRIX_FROM:
            totals = c.sums[:, :n] @ weights
            by_row = {row: float(totals[row]) for row in sums}
        else:
            by_row = {row: float(np.dot(c.sums[row, :n], weights)) for row in sums}
        for name in needed:
            kind, row = SOURCES[name]
            if kind == "count":
                out[name] = int(np.count_nonzero(mask))
            elif kind == "flag":
                out[name] = int(np.count_nonzero(c.flags[row, :n] & mask))
            elif kind == "sum":
                out[name] = by_row[row]
            else:
                codes = c.dims["viewer"].codes[:n][mask]
                known = codes[codes >= 0]
                distinct = np.count_nonzero(np.bincount(known)) if known.size else 0
                out[name] = int(distinct + (codes.size - known.size))
        return out

    def _percentiles(self, selection: Selection) -> dict[str, float | None]:
        c = self.columns
        n = c.size
        mask = self._mask(selection) & c.flags[_FLAG_AT["has:time_to_start"], :n]
        values = c.sums[_SUM_AT["time_to_start"], :n][mask]
        count = values.size
        if not count:
            return percentiles_of(())
        ranks = sorted({metrics.rank(p, count) - 1 for p in metrics.PERCENTILES})
        parted = np.partition(values, ranks)
        return {f"p{p}": float(parted[metrics.rank(p, count) - 1]) for p in metrics.PERCENTILES}

    def _keys(
        self, grouping: Grouping, slots: npt.NDArray[np.intp]
    ) -> tuple[npt.NDArray[np.int64], int, list[tuple[Any, ...]]]:
        """Each selected slot's group number, how many groups there are, and each group's
        key (bucket index and/or dimension value)."""
        c = self.columns
        dim_keys: list[Any] = ["all"]
        dim_group = np.zeros(slots.size, np.int64)
        if grouping.dimension is not None:
            values = c.dims[grouping.dimension]
            codes = values.codes[slots].astype(np.int64) + 1  # 0: no value
            if grouping.top is None:
                dim_keys = [NONE, *values.values]
                dim_group = codes
            else:
                top = list(grouping.top)
                dim_keys = [*top, OTHER]
                where = {value: i for i, value in enumerate(top)}
                table = np.full(len(values.values) + 1, len(top), np.int64)
                table[0] = where.get(NONE, len(top))
                for code, value in enumerate(values.values):
                    table[code + 1] = where.get(value, len(top))
                dim_group = table[codes]
        keys: list[tuple[Any, ...]]
        if grouping.width is None or grouping.zone is None:
            keys = [(k,) for k in dim_keys]
            return dim_group, len(dim_keys), keys
        zone = grouping.zone
        ts = c.first_ts[slots]
        at = np.searchsorted(np.asarray(zone.starts, np.int64), ts, side="right") - 1
        offsets = np.asarray(zone.offsets, np.int64)[np.clip(at, 0, None)]
        bucket = (ts + offsets) // grouping.width
        low = int(bucket.min()) if bucket.size else 0
        span = (int(bucket.max()) - low + 1) if bucket.size else 1
        width = len(dim_keys)
        group = (bucket - low) * width + dim_group
        if grouping.dimension is None:
            keys = [(low + b,) for b in range(span)]
        else:
            keys = [(low + b, k) for b in range(span) for k in dim_keys]
        return group, span * width, keys

    def _grouped(
        self, selection: Selection, grouping: Grouping, needed: Collection[str]
    ) -> list[tuple[tuple[Any, ...], Raw]]:
        c = self.columns
        slots = np.flatnonzero(self._mask(selection))
        group, count, keys = self._keys(grouping, slots)
        sizes = np.bincount(group, minlength=count)
        found: dict[str, npt.NDArray[Any]] = {}
        for name in needed:
            kind, row = SOURCES[name]
            if kind == "count":
                found[name] = sizes
            elif kind == "flag":
                found[name] = np.bincount(group[c.flags[row, slots]], minlength=count)
            elif kind == "sum":
                found[name] = np.bincount(group, weights=c.sums[row, slots], minlength=count)
            else:
                viewers = c.dims["viewer"].codes[slots].astype(np.int64)
                known = viewers >= 0
                span = int(viewers.max(initial=0)) + 1
                pairs = np.unique(group[known] * span + viewers[known])  # (group, viewer)
                distinct = np.bincount(pairs // span, minlength=count)
                found[name] = distinct + np.bincount(group[~known], minlength=count)
        out: list[tuple[tuple[Any, ...], Raw]] = []
        for g in np.flatnonzero(sizes):
            raw = {name: array[g].item() for name, array in found.items()}
            out.append((keys[g], raw))
        return out

    def _ranked(self, selection: Selection, dimension: str) -> list[str]:
        found = self._grouped(selection, Grouping(dimension), ("mediaStarts",))
        ranked = sorted(found, key=lambda item: (-int(item[1]["mediaStarts"]), str(item[0][0])))
        return [str(key[0]) for key, _ in ranked]

    # ------------------------------------------------------------------ Figures
    async def totals(self, selection: Selection, needed: Collection[str] = ALL) -> Raw:
        """The ``needed`` aggregates over the selection."""
        if not await self._ready():
            return await self.sql.totals(selection, needed)
        async with self._lock:
            await self._prepared(selection, ())
            return await self._run(self._totals, selection, needed)

    async def percentiles(self, selection: Selection) -> dict[str, float | None]:
        """``timeToStart``'s nearest-rank percentiles over the selection."""
        if not await self._ready():
            return await self.sql.percentiles(selection)
        async with self._lock:
            await self._prepared(selection, ())
            return await self._run(self._percentiles, selection)

    async def grouped(
        self, selection: Selection, grouping: Grouping, needed: Collection[str] = ALL
    ) -> list[tuple[tuple[Any, ...], Raw]]:
        """The ``needed`` aggregates per group with at least one session."""
        if not await self._ready():
            return await self.sql.grouped(selection, grouping, needed)
        named = () if grouping.dimension is None else (grouping.dimension,)
        async with self._lock:
            await self._prepared(selection, named)
            return await self._run(self._grouped, selection, grouping, needed)

    async def ranked(self, selection: Selection, dimension: str) -> list[str]:
        """Every value of ``dimension`` among the selection, most sessions first."""
        if not await self._ready():
            return await self.sql.ranked(selection, dimension)
        async with self._lock:
            await self._prepared(selection, (dimension,))
            return await self._run(self._ranked, selection, dimension)
