"""Plain in-process counters for the hot path, read by the metrics exporter.

Counting an event must cost next to nothing (the ingest path pays at most 3 % of its throughput
for metrics), so the request path only adds to integers in dictionaries and lists it holds;
:mod:`playhead.ops.metrics` turns the differences since its last look into Prometheus metrics,
off the request path. Nothing here locks: counters are changed on the event loop, except a
storage writer thread's batch timings, which only that thread changes.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Final

from playhead.errors import (
    BodyTooLarge,
    ClientError,
    InvalidBody,
    Overloaded,
    SessionClosed,
    UnknownSession,
)

#: Upper bounds (seconds) of the latency histograms: ingest answers take about a millisecond.
LATENCY_BOUNDS: Final = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip

#: The routes requests are counted under.
ROUTES: Final = ("collection", "edge", "reports", "other")
#: Why events are refused (``playhead_events_refused_total``'s ``reason``).
REFUSALS: Final = ("invalid", "unknown_session", "closed", "too_large", "overloaded")


class Histogram:
    """Observations counted per bucket (``counts[i]``: at most ``bounds[i]``; the last: above
    every bound), and their sum."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: tuple[float, ...] = LATENCY_BOUNDS) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.total = 0.0

    def observe(self, value: float) -> None:
        """Count one observation."""
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value


class RouteTally:
    """Requests of one route: a count per status code and a latency histogram."""

    __slots__ = ("duration", "statuses")

    def __init__(self) -> None:
        self.statuses: dict[int, int] = {}
        self.duration = Histogram()

    def record(self, status: int, seconds: float) -> None:
        """Count one answered request."""
        statuses = self.statuses
        statuses[status] = statuses.get(status, 0) + 1
        duration = self.duration
        duration.counts[bisect_left(duration.bounds, seconds)] += 1
        duration.total += seconds


def refusal(exc: ClientError) -> str | None:
    """The refusal reason an error stands for, or ``None`` if it refuses no event."""
    if isinstance(exc, InvalidBody):
        return "invalid"
    if isinstance(exc, UnknownSession):
        return "unknown_session"
    if isinstance(exc, SessionClosed):
        return "closed"
    if isinstance(exc, BodyTooLarge):
        return "too_large"
    if isinstance(exc, Overloaded):
        return "overloaded"
    return None


class Tally:
    """Every hot-path counter of one process.

    Attributes:
        accepted: events stored, by event type.
        refused: events refused, by reason (:data:`REFUSALS`).
        closed: sessions closed, by close reason.
        routes: requests by route (:data:`ROUTES`).
        writes: seconds each storage write batch took to commit.
    """

    __slots__ = ("accepted", "closed", "refused", "routes", "writes")

    def __init__(self) -> None:
        self.accepted: dict[str, int] = {}
        self.refused: dict[str, int] = dict.fromkeys(REFUSALS, 0)
        self.closed: dict[str, int] = {}
        self.routes: dict[str, RouteTally] = {route: RouteTally() for route in ROUTES}
        self.writes = Histogram()

    def accept(self, event_type: str, count: int = 1) -> None:
        """Count stored events of one type."""
        accepted = self.accepted
        accepted[event_type] = accepted.get(event_type, 0) + count

    def refuse(self, exc: ClientError) -> None:
        """Count an event refused with ``exc`` (errors that refuse no event are not counted)."""
        reason = refusal(exc)
        if reason is not None:
            self.refused[reason] += 1

    def close(self, reason: str) -> None:
        """Count one session closed for ``reason``."""
        closed = self.closed
        closed[reason] = closed.get(reason, 0) + 1

    def events_accepted(self) -> int:
        """Every event accepted so far (for the periodic log line)."""
        return sum(self.accepted.values())
