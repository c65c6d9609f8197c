"""Retention: deleting old data in the background, in small batches (``--retention-days``,
``--summary-retention-days``).

- Raw events of sessions closed more than ``retention_days`` ago are deleted once their final
  summary folds all of them; the session row and its summaries stay, so its report and
  reports over old ranges keep working.
- Sessions closed more than ``summary_retention_days`` ago are deleted entirely (every table).

Each batch is one short call on the storage writer; between batches the job sleeps a moment,
so ingest never waits behind more than one batch. Fractions of days are allowed (tests use
seconds' worth).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Final

from playhead.storage import Storage
from playhead.storage.deletion import BATCH, expired, purgeable

log = logging.getLogger("playhead.ops")
DAY_MS: Final = 86_400_000
# Pause between two batches of one pass (ingest gets the writer meanwhile).
PAUSE_S: Final = 0.05


class Retention:
    """One server's retention policy; :meth:`run` is its periodic job.

    Args:
        storage: the durable store.
        retention_days: raw events kept this long after a session closed (0: forever).
        summary_retention_days: whole sessions kept this long after closing (0: forever).
        clock: the server clock, epoch ms.
        batch: sessions per batch.
    """

    def __init__(
        self,
        storage: Storage,
        retention_days: float,
        summary_retention_days: float,
        clock: Callable[[], int],
        batch: int = BATCH,
    ) -> None:
        self.storage = storage
        self.retention_days = retention_days
        self.summary_retention_days = summary_retention_days
        self.clock = clock
        self.batch = batch

    @property
    def active(self) -> bool:
        """Whether anything is ever deleted."""
        return bool(self.retention_days or self.summary_retention_days)

    async def run(self) -> tuple[int, int, int]:
        """One pass: returns (sessions whose events went, events deleted, sessions deleted)."""
        purged_sessions = purged_events = deleted = 0
        now = self.clock()
        if self.summary_retention_days:
            cutoff = now - int(self.summary_retention_days * DAY_MS)
            while ids := await self.storage.read(expired(cutoff, self.batch)):
                sessions, events = await self.storage.delete_sessions(ids)
                deleted += sessions
                purged_events += events
                if len(ids) < self.batch:
                    break
                await asyncio.sleep(PAUSE_S)
        if self.retention_days:
            cutoff = now - int(self.retention_days * DAY_MS)
            while ids := await self.storage.read(purgeable(cutoff, self.batch)):
                purged_events += await self.storage.purge_events(ids)
                purged_sessions += len(ids)
                if len(ids) < self.batch:
                    break
                await asyncio.sleep(PAUSE_S)
        if purged_sessions or deleted:
            log.info(
                "retention: raw events of %d sessions deleted, %d sessions deleted (%d events)",
                purged_sessions,
                deleted,
                purged_events,
                extra={
                    "data": {
                        "purged_sessions": purged_sessions,
                        "deleted_sessions": deleted,
                        "deleted_events": purged_events,
                    }
                },
            )
        return purged_sessions, purged_events, deleted
