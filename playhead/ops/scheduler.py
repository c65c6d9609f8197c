"""Named periodic jobs, run in the background of the server, each surviving its own failures."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

log = logging.getLogger("playhead.ops")


class PeriodicJob(NamedTuple):
    """A job run every ``every`` seconds (the first run one interval after the start)."""

    name: str
    every: float
    run: Callable[[], Awaitable[Any]]


class Scheduler:
    """Runs named periodic jobs until stopped; a failing run is logged and the job goes on.

    Usage::

        scheduler = Scheduler()
        scheduler.add("sweep", 1.0, sweep)
        await scheduler.start()
        ...
        await scheduler.stop()
    """

    def __init__(self) -> None:
        self.jobs: list[PeriodicJob] = []
        self._tasks: list[asyncio.Task[None]] = []

    def add(self, name: str, every: float, run: Callable[[], Awaitable[Any]]) -> None:
        """Add a job (before :meth:`start`)."""
        self.jobs.append(PeriodicJob(name, every, run))

    async def start(self) -> None:
        """Start every job's loop."""
        self._tasks = [
            asyncio.create_task(self._loop(job), name=f"playhead-{job.name}") for job in self.jobs
        ]

    async def stop(self) -> None:
        """Stop every job (a run in progress is cancelled)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _loop(self, job: PeriodicJob) -> None:
        while True:
            await asyncio.sleep(job.every)
            try:
                await job.run()
            except Exception:  # each loop survives every error, logs it, and tries again
                log.exception("periodic %s failed", job.name)
