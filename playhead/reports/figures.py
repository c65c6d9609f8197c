"""Where reports over many sessions get their figures: the additive aggregates of
:mod:`playhead.reports.metrics` for a selection, whole or per group, and ``timeToStart``'s
percentiles.

Two sources answer the same questions: :class:`SqlFigures` asks the database each time
(a scan of ``session_facts``), :class:`~playhead.reports.columnar.ColumnarFigures` keeps the
facts in memory as columns and follows the database's changes. The reports
(:mod:`playhead.reports.aggregate`, :mod:`playhead.reports.grouped`) are written once over
this interface, so both give the same answers, which the aggregate contract suite checks.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, Protocol

from playhead.reports import buckets, dimensions, metrics
from playhead.reports.buckets import Offsets
from playhead.reports.dimensions import Dialect
from playhead.reports.selection import Selection, where
from playhead.storage import Storage
from playhead.storage.queries import Query

FROM: Final = "FROM session_facts ss"
OTHER: Final = "(other)"
#: every aggregate (what a summary needs)
ALL: Final = frozenset(name for name, _ in metrics.AGGREGATES)

# Raw aggregates by name, as metrics.raw gives them (a name left out counts as none).
Raw = dict[str, Any]


@dataclass(frozen=True)
class Grouping:
    """How a grouped report cuts the selection: by time bucket of ``firstEventTs`` (``width``
    ms in ``zone``), by a dimension's value (``(none)`` without one), or both (bucket first).
    With ``top``, values of the dimension not in it are grouped as ``(other)``."""

    dimension: str | None = None
    top: tuple[str, ...] | None = None
    width: int | None = None
    zone: Offsets | None = None


class Figures(Protocol):
    """A source of figures over the selected sessions."""

    def start(self) -> None:
        """Begin whatever it does in the background (from a running event loop)."""

    async def stop(self) -> None:
        """Stop what :meth:`start` began."""

    def held(self) -> int:
        """How many sessions' facts it holds in memory (0: none)."""

    async def totals(self, selection: Selection, needed: Collection[str] = ALL) -> Raw:
        """The ``needed`` aggregates over every selected session."""

    async def percentiles(self, selection: Selection) -> dict[str, float | None]:
        """``timeToStart``'s nearest-rank percentiles (``p50`` ...) over the selection."""

    async def grouped(
        self, selection: Selection, grouping: Grouping, needed: Collection[str] = ALL
    ) -> list[tuple[tuple[Any, ...], Raw]]:
        """The ``needed`` aggregates per group with at least one session, keyed by the
        group's bucket index and/or dimension value."""

    async def ranked(self, selection: Selection, dimension: str) -> list[str]:
        """Every value of ``dimension`` among the selection, most sessions first (ties by
        value)."""


def dialect_of(storage: Storage) -> Dialect:
    """The SQL dialect of a store (``sqlite`` unless it says otherwise)."""
    dialect: str = getattr(storage, "dialect", "sqlite")
    return dialect


def _rows(rows: Sequence[Sequence[Any]]) -> list[Sequence[Any]]:
    return list(rows)


def _first(rows: Sequence[Sequence[Any]]) -> Sequence[Any]:
    return rows[0]


def _column(rows: Sequence[Sequence[Any]]) -> list[Any]:
    return [row[0] for row in rows]


# A SQLite range spanning more than this share of the stored sessions' time span is scanned.
SCAN_SHARE = 0.3


def percentiles_of(ordered: Sequence[float]) -> dict[str, float | None]:
    """Nearest-rank percentiles of values sorted ascending (``None`` without any)."""
    count = len(ordered)
    return {
        f"p{p}": float(ordered[metrics.rank(p, count) - 1]) if count else None
        for p in metrics.PERCENTILES
    }


async def planned(storage: Storage, selection: Selection) -> Selection:
    """``selection``, marked to scan every row when its range covers much of what is stored
    (SQLite only; PostgreSQL's planner has the statistics to choose for itself)."""
    if dialect_of(storage) != "sqlite":
        return selection
    sql = f"SELECT MIN(ss.first_event_ts), MAX(ss.first_event_ts) {FROM}"
    low, high = await storage.read(Query(sql, (), _first))
    if low is None or high is None:
        return selection
    overlap = min(selection.to_ms, high + 1) - max(selection.from_ms, low)
    wide = overlap > SCAN_SHARE * (high + 1 - low)
    return replace(selection, scan=wide) if wide != selection.scan else selection


class SqlFigures:
    """Figures asked of the database for each report: one aggregate query per question, on
    the store's read connections (they never wait behind the write queue)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.dialect = dialect_of(storage)

    def start(self) -> None:
        """Nothing to begin: every question goes to the database."""

    async def stop(self) -> None:
        """Nothing to stop."""

    def held(self) -> int:
        """None: the database holds them."""
        return 0

    async def _where(self, selection: Selection) -> tuple[str, tuple[Any, ...]]:
        return where(await planned(self.storage, selection), self.dialect)

    async def totals(self, selection: Selection, needed: Collection[str] = ALL) -> Raw:
        """Every aggregate over the selection (one scan computes them all)."""
        condition, args = await self._where(selection)
        sql = f"SELECT {metrics.SELECT} {FROM} WHERE {condition}"
        return metrics.raw(await self.storage.read(Query(sql, args, _first)))

    async def percentiles(self, selection: Selection) -> dict[str, float | None]:
        """``timeToStart``'s percentiles from its values read in order."""
        condition, args = await self._where(selection)
        sql = (
            f"SELECT ss.time_to_start {FROM} WHERE {condition}"
            " AND ss.time_to_start IS NOT NULL ORDER BY ss.time_to_start"
        )
        return percentiles_of(await self.storage.read(Query(sql, args, _column)))

    async def grouped(
        self, selection: Selection, grouping: Grouping, needed: Collection[str] = ALL
    ) -> list[tuple[tuple[Any, ...], Raw]]:
        """Every aggregate per group, grouped by the database."""
        exprs: list[str] = []
        args: tuple[Any, ...] = ()
        if grouping.width is not None and grouping.zone is not None:
            exprs.append(buckets.key_sql("ss.first_event_ts", grouping.width, grouping.zone))
        if grouping.dimension is not None:
            expr = dimensions.valued(grouping.dimension, self.dialect)
            if grouping.top is None:
                exprs.append(expr)
            elif grouping.top:
                marks = ", ".join("?" * len(grouping.top))
                exprs.append(f"CASE WHEN {expr} IN ({marks}) THEN {expr} ELSE '{OTHER}' END")
                args = tuple(grouping.top)
            else:
                exprs.append(f"'{OTHER}'")
        exprs = exprs or ["'all'"]
        condition, where_args = await self._where(selection)
        positions = ", ".join(str(i + 1) for i in range(len(exprs)))
        sql = (
            f"SELECT {', '.join(exprs)}, {metrics.SELECT} {FROM} WHERE {condition}"
            f" GROUP BY {positions}"
        )
        rows = await self.storage.read(Query(sql, (*args, *where_args), _rows))
        n = len(exprs)
        return [(tuple(row[:n]), metrics.raw(row[n:])) for row in rows]

    async def ranked(self, selection: Selection, dimension: str) -> list[str]:
        """Every value of ``dimension``, counted by the database."""
        expr = dimensions.valued(dimension, self.dialect)
        condition, args = await self._where(selection)
        sql = f"SELECT {expr}, COUNT(*) {FROM} WHERE {condition} GROUP BY 1"
        rows = await self.storage.read(Query(sql, args, _rows))
        return [str(row[0]) for row in sorted(rows, key=lambda r: (-int(r[1]), str(r[0])))]


def open_figures(
    engine: str, storage: Storage, db: str, timeout: float = 5.0, min_sessions: int = 10_000
) -> Figures:
    """The figures source ``--report-engine`` names: ``columns`` (in memory, in a process of
    their own, following the database ``db``, once it holds ``min_sessions`` sessions) or
    ``sql`` (the database for every question)."""
    if engine == "sql":
        return SqlFigures(storage)
    from playhead.reports.process import ProcessFigures

    return ProcessFigures(db, storage, timeout=timeout, min_sessions=min_sessions)
