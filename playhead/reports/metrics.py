"""The metrics of reports over many sessions, as SQL aggregates and the formulas over them.

Every metric is computed from additive aggregates of the summary columns (counts and sums,
and the numerator and denominator of each rate or mean), so one scan gives them all, for the
whole selection or per group. :func:`finish` turns a row of those aggregates into the metrics;
a rate or mean whose denominator is 0 is ``None`` (JSON ``null``), never NaN.
"""

from __future__ import annotations

from collections.abc import Sequence
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


def finish(aggregates: dict[str, Any]) -> dict[str, Any]:
    """Every scalar metric (and ``timeToStart``'s count and mean) from one row of aggregates."""
    m: dict[str, Any] = {
        "mediaStarts": _int(aggregates["mediaStarts"]),
        "uniqueViewers": _int(aggregates["uniqueViewers"]),
    }
    for name in COUNTS:
        m[name] = _int(aggregates[name])
    for name in SUMS:
        m[name] = _float(aggregates[name])
    for name, (num, den) in RATES.items():
        m[name] = _ratio(m[num], m[den])
    waiting = m["bufferTime"] + m["stallTime"]
    m["rebufferRatio"] = _ratio(waiting, m["totalTimePlayed"] + waiting)
    m["bitrateAverage"] = _ratio(
        _float(aggregates["bitrate.num"]), _float(aggregates["bitrate.den"])
    )
    for name in MEANS:
        m[name] = _ratio(_float(aggregates[f"{name}.sum"]), _int(aggregates[f"{name}.n"]))
    count = _int(aggregates["timeToStart.n"])
    m["timeToStart"] = {
        "count": count,
        "mean": _ratio(_float(aggregates["timeToStart.sum"]), count),
        **{f"p{p}": None for p in PERCENTILES},
    }
    return m


def rank(p: int, count: int) -> int:
    """The 1-based nearest rank of the p-th percentile among ``count`` sorted values."""
    return max(1, -(-p * count // 100))


def with_percentiles(metrics: dict[str, Any], ordered: Sequence[float]) -> dict[str, Any]:
    """``metrics`` with ``timeToStart``'s percentiles from its values sorted ascending."""
    count = len(ordered)
    if count:
        distribution = metrics["timeToStart"]
        for p in PERCENTILES:
            distribution[f"p{p}"] = float(ordered[rank(p, count) - 1])
    return metrics


def plain(value: Any) -> Any:
    """A database number as a JSON-friendly Python number (PostgreSQL sums are Decimals)."""
    return float(value) if isinstance(value, Decimal) else value
