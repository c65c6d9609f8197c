"""The composition root: settings in, the assembled server out.

:func:`build_services` chooses the storage and live-state backends from the settings and wires
the collection service, the reports and the periodic jobs; :func:`create_app` puts the HTTP
adapters in front of them. A later capability (metrics, health, another protocol, another
backend) is new modules plus a line here.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware

from playhead.collector import Clock, Collector, lifecycle, wall_clock_ms
from playhead.collector.restore import rebuild_shared, restore
from playhead.collector.sweeper import sweep
from playhead.config import Settings
from playhead.engine import Limits
from playhead.enrichment import Enricher, GeoDatabase
from playhead.errors import ClientError, ConfigError
from playhead.http.access import GUARDED_PREFIXES, Access, ReadGuard
from playhead.http.collection_api import CollectionAPI
from playhead.http.drain import shutdown_budget
from playhead.http.edge_api import EdgeAPI
from playhead.http.forwarded import ClientResolver, parse_networks
from playhead.http.ingest import IngestApp
from playhead.http.reports import client_error
from playhead.http.routes import routes
from playhead.ops.metrics import Metrics
from playhead.ops.retention import Retention
from playhead.ops.scheduler import Scheduler
from playhead.ops.stats import TrafficLog
from playhead.reports.figures import Figures, open_figures
from playhead.reports.session import SessionReports
from playhead.state import LiveSession, LiveState
from playhead.state.memory import MemoryState
from playhead.storage import Storage, open_storage
from playhead.tally import Tally

log = logging.getLogger("playhead")


@dataclasses.dataclass
class Services:
    """Everything the HTTP adapters and the lifespan use, built once from the settings."""

    settings: Settings
    storage: Storage
    state: LiveState
    collector: Collector
    reports: SessionReports
    scheduler: Scheduler
    metrics: Metrics
    #: where reports over many sessions get their figures
    figures: Figures
    #: set once a shutdown began (readiness then answers 503)
    draining: bool = False
    #: when the shutdown signal arrived (monotonic seconds), if one did
    signalled_at: float | None = None

    def begin_drain(self) -> None:
        """A shutdown signal arrived: answer readiness with 503 from now on."""
        if not self.draining:
            self.draining = True
            self.signalled_at = time.monotonic()
            log.info("draining: shutdown signal received")


def settle_garbage() -> None:
    """Collect what is garbage now, then exempt every surviving object from later GC passes.

    Live sessions are many and long-lived; a full collection walks all of them (130 ms stalls
    with tens of thousands open, measured). After ``gc.freeze()`` each pass walks only objects
    made since the last call; frozen ones are still freed by reference counting, and sessions
    hold no reference cycles. The automatic oldest-generation pass is turned off: this call,
    made every few seconds, takes its place.
    """
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, 1_000_000_000)
    gc.collect()
    gc.freeze()


def build_services(
    settings: Settings, clock: Clock = wall_clock_ms, *, manage_gc: bool = False
) -> Services:
    """The services of one server, wired from ``settings`` (nothing started yet)."""
    storage = open_storage(
        settings.db,
        queue_size=settings.queue_size,
        batch_size=settings.batch_size,
        synchronous=settings.sqlite_sync,
        timeout=settings.storage_timeout,
    )
    rules = lifecycle.Rules(
        idle_ms=int(settings.idle_timeout * 1000),
        grace_ms=int(settings.end_grace * 1000),
        max_duration_ms=int(settings.max_duration * 1000),
    )
    limits = Limits(
        stall_timeout_ms=int(settings.stall_timeout * 1000),
        max_duration_ms=int(settings.max_duration * 1000),
    )
    state = open_state(settings, rules, clock)
    tally = Tally()
    geo = GeoDatabase(settings.geoip_db) if settings.geoip_db else None
    collector = Collector(
        storage,
        state,
        rules=rules,
        limits=limits,
        max_open=settings.max_open_sessions,
        timeout=settings.storage_timeout,
        clock=clock,
        tally=tally,
        store_ip=settings.store_ip == "truncated",
        enrich=Enricher(geo).context,
    )
    reports = SessionReports(state, storage, limits, settings.storage_timeout, clock)
    scheduler = Scheduler()
    scheduler.add("sweep", settings.sweep_interval, lambda: sweep(collector))
    interval = settings.summary_interval
    scheduler.add("summaries", interval, lambda: collector.refresh_summaries(spread=interval * 0.8))
    if manage_gc:
        scheduler.add("gc", 5.0, _settle_garbage_async)
    figures = open_figures(
        settings.report_engine,
        storage,
        settings.db,
        settings.storage_timeout,
        settings.report_columns_from,
    )
    metrics = Metrics(tally, storage, state, figures)
    if (job := metrics.periodic()) is not None:
        scheduler.add("metrics", *job)
    retention = Retention(storage, settings.retention_days, settings.summary_retention_days, clock)
    if retention.active:
        scheduler.add("retention", settings.retention_interval, retention.run)
    traffic = TrafficLog(tally, storage, state)
    scheduler.add("traffic log", settings.stats_interval, traffic.traffic)
    scheduler.add("overload log", 1.0, traffic.overload)
    if state.shared:
        owner = node_id(settings)
        scheduler.add("rebuild", 1.0, lambda: _rebuild(collector, owner))
    return Services(settings, storage, state, collector, reports, scheduler, metrics, figures)


def _storage_name(db: str) -> str:
    """The store as a log line may show it: a PostgreSQL URL without its credentials."""
    if "://" not in db:
        return f"SQLite {db}"
    scheme, rest = db.split("://", 1)
    return f"PostgreSQL {scheme}://{rest.rsplit('@', 1)[-1]}"


def services_of(app: IngestApp) -> Services:
    """The services behind an app :func:`create_app` built."""
    found: Services = app.fallback.state.services  # type: ignore[attr-defined]
    return found


async def _shut_down(services: Services) -> None:
    """Stop the periodic jobs, store every held session's summary, commit the queue."""
    await services.scheduler.stop()
    await services.collector.shutdown(timeout=services.settings.drain_timeout / 2)
    await services.figures.stop()
    await services.storage.stop()
    if services.state.shared:
        await services.state.stop()  # type: ignore[attr-defined]


def open_state(settings: Settings, rules: lifecycle.Rules, clock: Clock) -> LiveState:
    """The live-state backend ``settings.state`` names (Redis needs the ``redis`` extra)."""

    def deadline(live: LiveSession) -> int | None:
        return lifecycle.deadline(live, rules)

    if settings.state == "memory":
        return MemoryState(deadline)
    try:
        from playhead.state.redis import RedisState
    except ImportError:
        raise ConfigError(
            '--state redis:// needs the "redis" extra: pip install "playhead[redis]"'
        ) from None
    return RedisState(settings.state, deadline, timeout=settings.storage_timeout, clock=clock)


def node_id(settings: Settings) -> str:
    """This process's name in logs: ``--node-id``, else host name and port."""
    return settings.node_id or f"{socket.gethostname()}:{settings.port}"


async def _settle_garbage_async() -> None:
    settle_garbage()


async def _rebuild(collector: Collector, owner: str) -> None:
    await rebuild_shared(collector, owner)


def create_app(
    settings: Settings, clock: Clock = wall_clock_ms, *, manage_gc: bool = False
) -> IngestApp:
    """Build the ASGI application for ``settings``.

    ``manage_gc`` (set by ``playhead serve``, which owns its process) runs
    :func:`settle_garbage` after start-up and every 5 seconds.

    Usage::

        app = create_app(load_settings({"db": "/tmp/playhead.db"}))
        uvicorn.run(app)
    """
    services = build_services(settings, clock, manage_gc=manage_gc)
    storage, collector = services.storage, services.collector

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await storage.start()
        shared: Any = services.state if services.state.shared else None
        if shared is not None:
            await shared.start()
            await rebuild_shared(collector, node_id(settings))  # if lost; logged there
            restored = 0
        else:
            restored = await restore(collector)
        # timeouts that fell due while the server was down are applied now (rule 9)
        await sweep(collector)
        if restored:
            log.info("restored %d open sessions", restored)
        log.info(
            "started: storage %s, %d open sessions",
            _storage_name(settings.db),
            restored,
            extra={"data": {"event": "start", "open_sessions": restored}},
        )
        if manage_gc:
            settle_garbage()
        await services.scheduler.start()
        services.figures.start()
        try:
            yield
        finally:
            budget = shutdown_budget(settings.drain_timeout, services.signalled_at)
            began = time.monotonic()
            held = await services.state.count()
            try:
                await asyncio.wait_for(_shut_down(services), budget)
                log.info(
                    "stopped: queue committed, summaries of %d open sessions stored in %.2f s",
                    held,
                    time.monotonic() - began,
                    extra={"data": {"event": "stop", "open_sessions": held}},
                )
            except TimeoutError:
                # acknowledged events are committed already; what is lost is summaries and
                # bookkeeping, which the next start rebuilds from the log
                log.error(
                    "shutdown did not finish within the drain timeout (%d writes queued)",
                    storage.queue_depth(),
                )

    access = Access.from_settings(settings)
    web = Starlette(
        routes=routes(),
        lifespan=lifespan,
        exception_handlers={ClientError: client_error},
        middleware=[Middleware(ReadGuard, access=access, prefixes=GUARDED_PREFIXES)],
    )
    web.state.services = services
    web.state.access = access
    strict, event_bytes, batch_bytes = (
        settings.strict,
        settings.max_event_bytes,
        settings.max_batch_bytes,
    )
    client = ClientResolver(parse_networks(settings.trusted_proxies))
    collection = CollectionAPI(
        collector,
        strict=strict,
        max_event_bytes=event_bytes,
        max_batch_bytes=batch_bytes,
        client=client,
    )
    edge = EdgeAPI(
        collector,
        strict=strict,
        max_event_bytes=event_bytes,
        max_batch_bytes=batch_bytes,
        client=client,
        credentials=settings.edge_cors_credentials,  # the Web SDK's credentialed fetches
    )
    return IngestApp(collection, edge, web, prefix=settings.prefix)
