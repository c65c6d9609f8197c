"""Reports for a terminal: the summary and a breakdown as aligned text tables (what
``playhead report`` prints), and query parameters built from command-line options."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# The summary's lines in the order a reader scans them: (label, metric, format).
SUMMARY_LINES: tuple[tuple[str, str, str], ...] = (
    ("Media starts", "mediaStarts", "int"),
    ("Unique viewers", "uniqueViewers", "int"),
    ("Content starts", "contentStarts", "int"),
    ("Content start rate", "contentStartRate", "pct"),
    ("Completes", "contentCompletes", "int"),
    ("Completion rate", "completionRate", "pct"),
    ("Drops before start", "dropsBeforeStart", "int"),
    ("Error rate", "errorRate", "pct"),
    ("Time played", "timePlayed", "dur"),
    ("Average time played", "averageTimePlayed", "dur"),
    ("Rebuffer ratio", "rebufferRatio", "pct"),
    ("Time to start p50", "timeToStart.p50", "sec"),
    ("Time to start p95", "timeToStart.p95", "sec"),
    ("Average bitrate", "bitrateAverage", "num"),
    ("Ad starts", "adStarts", "int"),
    ("Ad completion rate", "adCompletionRate", "pct"),
    ("Experience score", "experienceScore", "num"),
)


class Params:
    """Query parameters from options, read the way a request's are (``getlist``)."""

    def __init__(self, values: Mapping[str, Sequence[str]]) -> None:
        self.values = {k: list(v) for k, v in values.items() if v}

    def getlist(self, name: str) -> list[str]:
        """Every value of ``name``."""
        return list(self.values.get(name, []))


def fmt(value: Any, kind: str) -> str:
    """A metric's value as the table shows it (``-`` for null)."""
    if value is None:
        return "-"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "pct":
        return f"{value * 100:.1f}%"
    if kind == "sec":
        return f"{value:.2f} s"
    if kind == "dur":
        seconds = round(value)
        hours, rest = divmod(seconds, 3600)
        return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
    return f"{value:,.2f}" if isinstance(value, float) else str(value)


def _metric(metrics: dict[str, Any], name: str) -> Any:
    head, _, tail = name.partition(".")
    value = metrics.get(head)
    return value.get(tail) if tail and isinstance(value, dict) else value


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns aligned (the first to the left, the others to the right)."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        first = str(cells[0]).ljust(widths[0])
        rest = [str(c).rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def summary_table(body: dict[str, Any]) -> str:
    """The summary as a two-column table."""
    metrics = body["metrics"]
    rows = [(label, fmt(_metric(metrics, name), kind)) for label, name, kind in SUMMARY_LINES]
    return table(("Metric", "Value"), rows)


def _kind(name: str) -> str:
    if name.endswith("Rate") or name == "rebufferRatio":
        return "pct"
    if name.endswith(("Time", "TimePlayed")) or name == "timePlayed":
        return "dur"
    return "num"


def breakdown_table(body: dict[str, Any], names: Sequence[str]) -> str:
    """A breakdown as one row per value and one column per metric, then the total."""
    rows = [
        [
            row["value"],
            *(fmt(row[n], "int" if isinstance(row[n], int) else _kind(n)) for n in names),
        ]
        for row in body["rows"]
    ]
    total = body["total"]
    rows.append(
        [
            "(total)",
            *(fmt(total[n], "int" if isinstance(total[n], int) else _kind(n)) for n in names),
        ]
    )
    return table((body["dimension"], *names), rows)
