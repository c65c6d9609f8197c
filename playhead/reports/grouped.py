"""Reports of metrics per group: breakdown by a dimension, time series, insights.

Every group's metrics come from the same additive aggregates as the summary
(:mod:`playhead.reports.metrics`), grouped by the database, so a group's figures are exactly
the summary's formulas over its sessions. Only scalar metrics can be grouped (not the
``timeToStart`` distribution).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from playhead.errors import InvalidQuery
from playhead.reports import buckets, dimensions, metrics
from playhead.reports.figures import OTHER, Figures, Grouping
from playhead.reports.selection import DAY_MS, Selection, one

TOP_GROUPS: Final = 10
# Insights: the metrics they rank by, +1 where higher is worse, -1 where higher is better.
INSIGHT_METRICS: Final[dict[str, int]] = {
    "rebufferRatio": 1,
    "errorRate": 1,
    "dropBeforeStartRate": 1,
    "completionRate": -1,
    "contentStartRate": -1,
    "experienceScore": -1,
}
INSIGHT_DIMENSIONS: Final = (
    "media.id", "media.show", "media.channel", "media.playerName", "media.contentType",
    "bitrateBucket",
)  # fmt: skip
EMPTY: Final = metrics.finish({})


def parse_metrics(query: Any, default: Sequence[str] = ("mediaStarts",)) -> list[str]:
    """The ``metric`` parameters: scalar metric names (``default`` when none is given)."""
    names = list(dict.fromkeys(query.getlist("metric"))) or list(default)
    for name in names:
        if name not in metrics.SCALAR:
            problem = (
                "is a distribution: see /reports/summary"
                if name in metrics.DISTRIBUTIONS
                else "is not a metric"
            )
            raise InvalidQuery.of("metric", f"{name!r} {problem}")
    return names


def parse_dimension(query: Any, name: str, *, required: bool) -> str | None:
    """A dimension parameter (``dimension``, ``groupBy``)."""
    value = one(query, name)
    if value is None:
        if required:
            raise InvalidQuery.of(name, "is required")
        return None
    problem = dimensions.problem(value)
    if problem is not None:
        raise InvalidQuery.of(name, f"{value!r} {problem}")
    return value


def pick(m: dict[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """The named metrics of a full metrics dict."""
    return {name: m[name] for name in names}


async def by_group(
    figures: Figures, selection: Selection, grouping: Grouping, names: Sequence[str]
) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    """The metrics ``names`` (and ``mediaStarts``) per group."""
    found = await figures.grouped(selection, grouping, metrics.needed(names))
    wanted = list(dict.fromkeys(("mediaStarts", *names)))
    return [(key, metrics.finish(raw, wanted)) for key, raw in found]


async def whole(figures: Figures, selection: Selection, names: Sequence[str]) -> dict[str, Any]:
    """The metrics ``names`` of the whole selection."""
    return metrics.finish(await figures.totals(selection, metrics.needed(names)), names)


def _sort_key(order: str, row: dict[str, Any]) -> tuple[Any, ...]:
    name = order.lstrip("-")
    value = row[name]
    if value is None:
        return (1, 0, row["value"])
    return (0, -value if order.startswith("-") else value, row["value"])


async def breakdown(
    figures: Figures,
    selection: Selection,
    dimension: str,
    names: Sequence[str],
    order: str,
    limit: int,
) -> dict[str, Any]:
    """``GET /reports/breakdown``: the metrics per value of ``dimension``."""
    wanted = [*names, order.lstrip("-")]
    grouped = await by_group(figures, selection, Grouping(dimension), wanted)
    every = [{"value": key[0], **m} for key, m in grouped]
    every.sort(key=lambda row: _sort_key(order, row))
    rows = [{"value": row["value"], **pick(row, names)} for row in every[:limit]]
    total = pick(await whole(figures, selection, names), names)
    return {"dimension": dimension, "rows": rows, "total": total}


def parse_dimensions(query: Any, name: str, default: Sequence[str]) -> list[str]:
    """A repeatable dimension parameter (``default`` when none is given)."""
    found = list(dict.fromkeys(query.getlist(name))) or list(default)
    for value in found:
        problem = dimensions.problem(value)
        if problem is not None:
            raise InvalidQuery.of(name, f"{value!r} {problem}")
    return found


def parse_order(query: Any, names: Sequence[str]) -> str:
    """The breakdown's ``order``: a metric name, ``-`` first for descending."""
    order = one(query, "order") or "-mediaStarts"
    if order.lstrip("-") not in metrics.SCALAR or order.startswith("--"):
        raise InvalidQuery.of("order", f"{order!r} is not a metric (with '-' for descending)")
    return order


async def timeseries(
    figures: Figures,
    selection: Selection,
    names: Sequence[str],
    bucket: str,
    group_by: str | None,
) -> dict[str, Any]:
    """``GET /reports/timeseries``: the metrics per time bucket (and per top group)."""
    bucket = buckets.choose(bucket, selection.from_ms, selection.to_ms)
    width = buckets.WIDTHS[bucket]
    zone = buckets.offsets(
        selection.tz, max(0, selection.from_ms - DAY_MS), selection.to_ms + DAY_MS
    )
    slots = buckets.buckets(width, zone, selection.from_ms, selection.to_ms)
    groups: list[str | None] = [None]
    grouping = Grouping(width=width, zone=zone)
    if group_by is not None:
        ranked = await figures.ranked(selection, group_by)
        top = tuple(ranked[:TOP_GROUPS])
        groups = [*top, *([OTHER] if len(ranked) > TOP_GROUPS else [])]
        grouping = Grouping(group_by, top, width, zone)
    found = {
        (int(k[0]), None if group_by is None else str(k[1])): m
        for k, m in await by_group(figures, selection, grouping, names)
    }
    series = [
        {
            "group": group,
            "points": [
                {"t": start, **pick(found.get((index, group), EMPTY), names)}
                for index, start in slots
            ],
        }
        for group in groups
    ]
    return {"bucket": bucket, "series": series}


def parse_bucket(query: Any) -> str:
    """The ``bucket`` parameter: ``auto`` (the default), ``minute``, ``hour`` or ``day``."""
    bucket = one(query, "bucket") or "auto"
    if bucket != "auto" and bucket not in buckets.WIDTHS:
        raise InvalidQuery.of("bucket", "must be auto, minute, hour or day")
    return bucket


async def insights(
    figures: Figures,
    selection: Selection,
    metric: str,
    dims: Sequence[str],
    min_sessions: int,
    limit: int,
) -> dict[str, Any]:
    """``GET /reports/insights``: the dimension values whose sessions fare worst on
    ``metric``, by ``impact = n · (M(value) − M(all)) · s``."""
    overall = (await whole(figures, selection, [metric]))[metric]
    sign = INSIGHT_METRICS[metric]
    rows: list[dict[str, Any]] = []
    if overall is not None:
        for name in dims:
            for key, m in await by_group(figures, selection, Grouping(name), [metric]):
                n, value = m["mediaStarts"], m[metric]
                if n < min_sessions or value is None:
                    continue
                impact = n * (value - overall) * sign
                if impact > 0:
                    rows.append(
                        {
                            "dimension": name,
                            "value": key[0],
                            "sessions": n,
                            "metricValue": value,
                            "overallValue": overall,
                            "impact": impact,
                        }
                    )
    rows.sort(key=lambda r: (-r["impact"], r["dimension"], r["value"]))
    return {"metric": metric, "overall": overall, "rows": rows[:limit]}
