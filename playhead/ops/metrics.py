"""Prometheus metrics (``GET /metrics``) from the hot-path tallies of :mod:`playhead.tally`.

The request path only adds to plain integers; :meth:`Metrics.flush` moves what was added since
its last call into ``prometheus-client`` metrics, and :meth:`Metrics.render` (the scrape) reads
the gauges, flushes and encodes. With several worker processes, ``prometheus-client``'s
multi-process mode is used (``PROMETHEUS_MULTIPROC_DIR`` set before the library is first
imported, a clean folder per start): each process writes its values to files there, flushed
every few seconds by a periodic job, and any worker's scrape adds them up. Gauges: the write
queue depth is per process (summed); open sessions and viewers now come from the live state,
which several workers share, so the largest live value is shown.

Histograms are flushed bucket by bucket into ``prometheus-client``'s own per-bucket values
(``_buckets``/``_sum``, not public API, pinned by a test of the exposition): replaying each
observation through ``observe()`` would cost the process what the tallies saved.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess

from playhead.events import VIEWER_KEY_PARAMS
from playhead.ops.multiproc import MULTIPROC_ENV
from playhead.reports.figures import Figures
from playhead.state import LiveState
from playhead.storage import Storage
from playhead.tally import LATENCY_BOUNDS, REFUSALS, ROUTES, Tally
from playhead.tally import Histogram as Buckets

CONTENT_TYPE = CONTENT_TYPE_LATEST


def multiprocess_dir() -> str | None:
    """The multi-process metrics folder, when this process runs in that mode."""
    return os.environ.get(MULTIPROC_ENV) or None


class _HistogramFlush:
    """Moves one tally histogram's new observations into one prometheus histogram child."""

    __slots__ = ("child", "sent_counts", "sent_total", "source")

    def __init__(self, source: Buckets, child: Any) -> None:
        self.source = source
        self.child = child
        self.sent_counts = [0] * len(source.counts)
        self.sent_total = 0.0

    def flush(self) -> None:
        counts, sent = self.source.counts, self.sent_counts
        buckets = self.child._buckets  # per-bucket (not cumulative) values, +Inf last
        for i, count in enumerate(counts):
            delta = count - sent[i]
            if delta:
                buckets[i].inc(delta)
                sent[i] = count
        total = self.source.total
        if total != self.sent_total:
            self.child._sum.inc(total - self.sent_total)
            self.sent_total = total


class _CounterFlush:
    """Moves one tally dictionary's increments into a labelled prometheus counter."""

    __slots__ = ("counter", "key", "sent", "source")

    def __init__(
        self, source: dict[Any, int], counter: Counter, key: Callable[[Any], tuple[str, ...]]
    ) -> None:
        self.source = source
        self.counter = counter
        self.key = key
        self.sent: dict[Any, int] = {}

    def flush(self) -> None:
        sent = self.sent
        for name, count in list(self.source.items()):
            delta = count - sent.get(name, 0)
            if delta:
                self.counter.labels(*self.key(name)).inc(delta)
                sent[name] = count


class Metrics:
    """Every metric of one process, fed from its tallies, the storage and the live state.

    Args:
        tally: the process's hot-path counters.
        storage: for the write queue depth and its batch timings.
        state: for the open sessions and viewers now.
        figures: for the sessions the reports hold in memory.
    """

    def __init__(
        self, tally: Tally, storage: Storage, state: LiveState, figures: Figures | None = None
    ) -> None:
        self.storage = storage
        self.state = state
        self.figures = figures
        self.directory = multiprocess_dir()
        # in multi-process mode values live in files; a scrape builds a registry over them
        self.registry: CollectorRegistry | None = None if self.directory else CollectorRegistry()
        reg = self.registry
        requests = Counter(
            "playhead_http_requests", "HTTP requests answered.", ["route", "status"], registry=reg
        )
        duration = Histogram(
            "playhead_http_request_duration_seconds",
            "Seconds from a request's arrival to its answer.",
            ["route"],
            buckets=LATENCY_BOUNDS,
            registry=reg,
        )
        accepted = Counter(
            "playhead_events_accepted", "Events stored.", ["event_type"], registry=reg
        )
        refused = Counter(
            "playhead_events_refused", "Events refused, by reason.", ["reason"], registry=reg
        )
        closed = Counter(
            "playhead_sessions_closed", "Sessions closed, by reason.", ["reason"], registry=reg
        )
        self.sessions_open = Gauge(
            "playhead_sessions_open",
            "Sessions open now.",
            registry=reg,
            multiprocess_mode="livemax",
        )
        self.queue_depth = Gauge(
            "playhead_write_queue_depth",
            "Writes waiting for the storage writer.",
            registry=reg,
            multiprocess_mode="livesum",
        )
        self.viewers_now = Gauge(
            "playhead_viewers_now",
            "Distinct viewers with an open session now.",
            registry=reg,
            multiprocess_mode="livemax",
        )
        self.report_columns = Gauge(
            "playhead_report_columns_sessions",
            "Sessions whose facts reports hold in memory (0 until the first load finishes).",
            registry=reg,
            multiprocess_mode="livemax",
        )
        batches = Histogram(
            "playhead_write_batch_seconds",
            "Seconds each storage write transaction took.",
            buckets=LATENCY_BOUNDS,
            registry=reg,
        )
        for reason in REFUSALS:  # present (as 0) before the first refusal
            refused.labels(reason)
        self._flushes: list[_HistogramFlush | _CounterFlush] = []
        for route in ROUTES:
            routed = tally.routes[route]
            self._flushes.append(_CounterFlush(routed.statuses, requests, _route_status(route)))
            self._flushes.append(_HistogramFlush(routed.duration, duration.labels(route)))
        self._flushes.append(_CounterFlush(tally.accepted, accepted, lambda t: (t,)))
        self._flushes.append(_CounterFlush(tally.refused, refused, lambda r: (r,)))
        self._flushes.append(_CounterFlush(tally.closed, closed, lambda r: (r,)))
        writes: Buckets | None = getattr(storage, "write_seconds", None)
        if writes is not None:
            self._flushes.append(_HistogramFlush(writes, batches))

    def flush(self) -> None:
        """Move every tally's increments since the last flush into the metrics."""
        for flush in self._flushes:
            flush.flush()

    async def update(self) -> None:
        """Read the gauges and flush the counters (periodically, and at every scrape)."""
        self.sessions_open.set(await self.state.count())
        self.viewers_now.set(await viewers_now(self.state))
        self.queue_depth.set(self.storage.queue_depth())
        if self.figures is not None:
            self.report_columns.set(self.figures.held())
        self.flush()

    async def render(self) -> bytes:
        """The Prometheus text exposition of every metric (of every process, multi-process)."""
        await self.update()
        if self.directory is None:
            assert self.registry is not None
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry, path=self.directory)  # type: ignore[no-untyped-call]
        return generate_latest(registry)

    def periodic(self) -> tuple[float, Callable[[], Awaitable[None]]] | None:
        """The job keeping other processes' view current (multi-process mode only)."""
        return (5.0, self.update) if self.directory else None


def _route_status(route: str) -> Callable[[Any], tuple[str, ...]]:
    """The labels of a request counter child: its route and status code."""
    return lambda status: (route, str(status))


async def viewers_now(state: LiveState) -> int:
    """Distinct viewers with an open session held now (a session naming none is one of its
    own)."""
    keys: set[str] = set()
    anonymous = 0
    async for live in state.sessions():
        if live.close_reason is not None:
            continue
        params = live.fold.start_params
        for name in VIEWER_KEY_PARAMS:  # as events.viewer_key, without copying the params
            value = params.get(name)
            if isinstance(value, str) and value:
                keys.add(value)
                break
        else:
            anonymous += 1
    return len(keys) + anonymous
