"""The metrics of reports over many sessions, as SQL aggregates and the formulas over them.

Every metric is computed from additive aggregates of the summary columns (counts and sums,
and the numerator and denominator of each rate or mean), so one scan gives them all, for the
whole selection or per group. :func:`finish` turns a row of those aggregates into the metrics;
a rate or mean whose denominator is 0 is ``None`` (JSON ``null``), never NaN.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, Final

# Integer metrics: the sum of one 0/1 flag or count column each.
COUNTS: Final[dict[str, str]] = {
    "contentStarts": "is_played",
    "contentCompletes": "is_completed",
    "dropsBeforeStart": "is_dropped_before_start",
    "resumes": "has_resume",
    "downloaded": "is_downloaded",
    "progress10": "has_progress10",
    "progress25": "has_progress25",
    "progress50": "has_progress50",
    "progress75": "has_progress75",
    "progress95": "has_progress95",
    "bufferImpacted": "buffer_impacted",
    "stallImpacted": "stall_impacted",
    "errorImpacted": "error_impacted",
    "pauseImpacted": "pause_impacted",
    "bitrateChangeImpacted": "bitrate_change_impacted",
    "droppedFrameImpacted": "dropped_frame_impacted",
    "pauseCount": "pause_count",
    "bufferCount": "buffer_count",
    "stallCount": "stall_count",
    "errorCount": "error_count",
    "bitrateChangeCount": "bitrate_change_count",
    "droppedFrames": "dropped_frames",
    "estimatedStreams": "estimated_streams",
    "adBreaks": "ad_breaks",
    "adStarts": "ad_starts",
    "adCompletes": "ad_completes",
    "adSkips": "ad_skips",
    "chapterStarts": "chapter_starts",
    "chapterCompletes": "chapter_completes",
    "chapterSkips": "chapter_skips",
}
# Sums in seconds (averageMinuteAudience: viewers), of one column each.
SUMS: Final[dict[str, str]] = {
    "timePlayed": "time_played",
    "totalTimePlayed": "total_time_played",
    "uniqueTimePlayed": "unique_time_played",
    "pauseTime": "pause_time",
    "bufferTime": "buffer_time",
    "stallTime": "stall_time",
    "adTimePlayed": "ad_time_played",
    "chapterTimePlayed": "chapter_time_played",
    "averageMinuteAudience": "average_minute_audience",
}
# Means over the sessions that have a value (the experience score and its parts).
MEANS: Final[dict[str, str]] = {
    "experienceScore": "experience",
    "playbackSuccessScore": "playback_success",
    "startupScore": "startup",
    "smoothnessScore": "smoothness",
}
# Rates: numerator metric, denominator metric.
RATES: Final[dict[str, tuple[str, str]]] = {
    "contentStartRate": ("contentStarts", "mediaStarts"),
    "completionRate": ("contentCompletes", "contentStarts"),
    "dropBeforeStartRate": ("dropsBeforeStart", "mediaStarts"),
    "errorRate": ("errorImpacted", "mediaStarts"),
    "adCompletionRate": ("adCompletes", "adStarts"),
    "chapterCompletionRate": ("chapterCompletes", "chapterStarts"),
    "averageTimePlayed": ("timePlayed", "contentStarts"),
}

# The aggregates one scan computes, in select order: (name, SQL over alias ss).
AGGREGATES: Final[tuple[tuple[str, str], ...]] = (
    ("mediaStarts", "COUNT(*)"),
    (
        "uniqueViewers",
        "COUNT(DISTINCT ss.viewer_key) + SUM(CASE WHEN ss.viewer_key IS NULL THEN 1 ELSE 0 END)",
    ),
    *((name, f"SUM(ss.{column})") for name, column in COUNTS.items()),
    *((name, f"SUM(ss.{column})") for name, column in SUMS.items()),
    *((f"{name}.sum", f"SUM(ss.{column})") for name, column in MEANS.items()),
    *((f"{name}.n", f"COUNT(ss.{column})") for name, column in MEANS.items()),
    ("bitrate.num", "SUM(ss.bitrate_average * ss.total_time_played)"),
    (
        "bitrate.den",
        "SUM(CASE WHEN ss.bitrate_average IS NULL THEN 0 ELSE ss.total_time_played END)",
    ),
    ("timeToStart.n", "COUNT(ss.time_to_start)"),
    ("timeToStart.sum", "SUM(ss.time_to_start)"),
)
SELECT: Final = ", ".join(sql for _, sql in AGGREGATES)

# Every metric a grouped report (breakdown, timeseries, insights) can name, in report order.
SCALAR: Final[tuple[str, ...]] = (
    "mediaStarts",
    "uniqueViewers",
    *COUNTS,
    *SUMS,
    *RATES,
    "rebufferRatio",
    "bitrateAverage",
    *MEANS,
)
DISTRIBUTIONS: Final[tuple[str, ...]] = ("timeToStart",)
PERCENTILES: Final[tuple[int, ...]] = (50, 90, 95, 99)


def _int(value: Any) -> int:
    return 0 if value is None else int(value)


def _float(value: Any) -> float:
    return 0.0 if value is None else float(value)


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def raw(row: Sequence[Any]) -> dict[str, Any]:
    """The aggregates of one fetched row (its first ``len(AGGREGATES)`` values)."""
    return {name: value for (name, _), value in zip(AGGREGATES, row, strict=False)}


def needed(names: Iterable[str]) -> frozenset[str]:
    """The aggregates the metrics ``names`` are computed from (``mediaStarts`` always)."""
    out = {"mediaStarts"}
    for name in names:
        if name in RATES:
            out |= needed(RATES[name])
        elif name == "rebufferRatio":
            out |= {"bufferTime", "stallTime", "totalTimePlayed"}
        elif name == "bitrateAverage":
            out |= {"bitrate.num", "bitrate.den"}
        elif name in MEANS:
            out |= {f"{name}.sum", f"{name}.n"}
        else:
            out.add(name)
    return frozenset(out)


def metric(name: str, aggregates: dict[str, Any]) -> Any:
    """One scalar metric from aggregates (a missing one counts as none)."""
    a = aggregates.get
    if name in SUMS:
        return _float(a(name))
    if name in RATES:
        num, den = RATES[name]
        return _ratio(metric(num, aggregates), metric(den, aggregates))
    if name == "rebufferRatio":
        waiting = _float(a("bufferTime")) + _float(a("stallTime"))
        return _ratio(waiting, _float(a("totalTimePlayed")) + waiting)
    if name == "bitrateAverage":
        return _ratio(_float(a("bitrate.num")), _float(a("bitrate.den")))
    if name in MEANS:
        return _ratio(_float(a(f"{name}.sum")), _int(a(f"{name}.n")))
    return _int(a(name))  # mediaStarts, uniqueViewers and the COUNTS


def finish(found: dict[str, Any], names: Iterable[str] | None = None) -> dict[str, Any]:
    """The scalar metrics ``names`` (default: every one, and ``timeToStart``'s count and mean)
    from one row of aggregates (an aggregate missing from ``found`` counts as none: its
    metrics are 0 or ``None``)."""
    m = {name: metric(name, found) for name in (SCALAR if names is None else names)}
    if names is None:
        count = _int(found.get("timeToStart.n"))
        m["timeToStart"] = {
            "count": count,
            "mean": _ratio(_float(found.get("timeToStart.sum")), count),
            **{f"p{p}": None for p in PERCENTILES},
        }
    return m


def rank(p: int, count: int) -> int:
    """The 1-based nearest rank of the p-th percentile among ``count`` sorted values."""
    return max(1, -(-p * count // 100))


def plain(value: Any) -> Any:
    """A database number as a JSON-friendly Python number (PostgreSQL sums are Decimals)."""
    return float(value) if isinstance(value, Decimal) else value
