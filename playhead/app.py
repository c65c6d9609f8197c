"""Assembles the server: storage, live state, collector, background sweeper and HTTP routes."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette

from playhead.collector import Clock, Collector, wall_clock_ms
from playhead.config import Settings
from playhead.errors import ClientError
from playhead.http import routes
from playhead.http.collection import CollectionApp
from playhead.http.reports import client_error
from playhead.state.memory import MemoryStore
from playhead.storage import open_storage

log = logging.getLogger("playhead")


async def _every(seconds: float, action: str, collector: Collector) -> None:
    """Run a periodic duty until cancelled; a failure is logged, never fatal."""
    while True:
        await asyncio.sleep(seconds)
        try:  # each loop survives every error, logs it, and tries again next time
            if action == "sweep":
                await collector.sweep()
            elif action == "summaries":
                await collector.refresh_summaries(spread=seconds * 0.8)
            else:
                settle_garbage()
        except Exception:
            log.exception("periodic %s failed", action)


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


def create_app(
    settings: Settings, clock: Clock = wall_clock_ms, *, manage_gc: bool = False
) -> CollectionApp:
    """Build the ASGI application for ``settings``.

    ``manage_gc`` (set by ``playhead serve``, which owns its process) runs
    :func:`settle_garbage` after start-up and every 5 seconds.

    Usage::

        app = create_app(load_settings({"db": "/tmp/playhead.db"}))
        uvicorn.run(app)
    """
    storage = open_storage(
        settings.db,
        queue_size=settings.queue_size,
        batch_size=settings.batch_size,
        synchronous=settings.sqlite_sync,
        timeout=settings.storage_timeout,
    )
    collector = Collector(settings, storage, MemoryStore(), clock=clock)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await storage.start()
        restored = await collector.restore()
        # timeouts that fell due while the server was down are applied now (rule 9)
        await collector.sweep()
        if restored:
            log.info("restored %d open sessions", restored)
        tasks = [
            asyncio.create_task(_every(settings.sweep_interval, "sweep", collector)),
            asyncio.create_task(_every(settings.summary_interval, "summaries", collector)),
        ]
        if manage_gc:
            settle_garbage()
            tasks.append(asyncio.create_task(_every(5.0, "gc", collector)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await collector.shutdown()
            await storage.stop()

    web = Starlette(
        routes=routes(), lifespan=lifespan, exception_handlers={ClientError: client_error}
    )
    web.state.collector = collector
    web.state.settings = settings
    return CollectionApp(
        collector,
        web,
        prefix=settings.prefix,
        max_event_bytes=settings.max_event_bytes,
        max_batch_bytes=settings.max_batch_bytes,
    )
