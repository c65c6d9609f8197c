"""The periodic traffic line and overload warnings, from the hot-path tallies.

Every ``--stats-interval`` seconds an ``info`` line says how many events per second were
accepted, how many sessions are open and how deep the write queue is (so a first user sees
their player reaching the server). A once-a-second look at the refusals logs a ``warning`` when
events were refused with 503 (overload), at most once per :data:`OVERLOAD_LOG_EVERY_S`.
"""

from __future__ import annotations

import logging
import time
from typing import Final

from playhead.state import LiveState
from playhead.storage import Storage
from playhead.tally import Tally

log = logging.getLogger("playhead.ops")
OVERLOAD_LOG_EVERY_S: Final = 10.0


class TrafficLog:
    """The periodic info line and the overload warning of one process."""

    def __init__(self, tally: Tally, storage: Storage, state: LiveState) -> None:
        self.tally = tally
        self.storage = storage
        self.state = state
        self._events = tally.events_accepted()
        self._since = time.monotonic()
        self._overloaded = tally.refused["overloaded"]
        self._overload_logged = 0.0
        self._overload_unlogged = 0

    async def traffic(self) -> None:
        """Log the traffic since the last line (info)."""
        now = time.monotonic()
        events = self.tally.events_accepted()
        rate = (events - self._events) / max(1e-9, now - self._since)
        self._events, self._since = events, now
        sessions = await self.state.count()
        depth = self.storage.queue_depth()
        log.info(
            "traffic: %.1f events/s, %d sessions open, write queue %d",
            rate,
            sessions,
            depth,
            extra={
                "data": {
                    "events_per_s": round(rate, 1),
                    "sessions_open": sessions,
                    "queue_depth": depth,
                }
            },
        )

    async def overload(self) -> None:
        """Warn when events were refused with 503 since the last look (rate-limited)."""
        refused = self.tally.refused["overloaded"]
        self._overload_unlogged += refused - self._overloaded
        self._overloaded = refused
        now = time.monotonic()
        if self._overload_unlogged and now - self._overload_logged >= OVERLOAD_LOG_EVERY_S:
            log.warning(
                "overloaded: %d events refused with 503 (write queue %d, sessions open %d)",
                self._overload_unlogged,
                self.storage.queue_depth(),
                await self.state.count(),
                extra={"data": {"refused": self._overload_unlogged}},
            )
            self._overload_logged = now
            self._overload_unlogged = 0
