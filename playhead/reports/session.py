"""The report of one session (reports.md): live while it is held, from storage otherwise."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import msgspec

from playhead.engine import Limits, SessionReport, with_refusals
from playhead.errors import StorageUnavailable
from playhead.reports.replay import fold_stored
from playhead.state import LiveState
from playhead.storage import Storage, Summary, queries

_decode_report = msgspec.json.Decoder(SessionReport).decode


class SessionReports:
    """Answers session reports.

    A held session answers its live fold (after any re-fold under way, within ``timeout``).
    A closed session no longer held answers its stored final report, already encoded as JSON,
    unless an event was stored after it: then it is folded from its events and stored again.
    Refusals (410s) are added from the session row, so a late event never makes a read
    re-fold the log.

    Args:
        state: the live session state.
        storage: the durable store.
        limits: the engine's event-time limits (for folding from the log).
        timeout: seconds to wait for a re-fold before a 503.
        clock: the server clock (epoch ms), for summaries stored again.
    """

    def __init__(
        self,
        state: LiveState,
        storage: Storage,
        limits: Limits,
        timeout: float,
        clock: Callable[[], int],
    ) -> None:
        self.state = state
        self.storage = storage
        self.limits = limits
        self.timeout = timeout
        self.clock = clock

    async def report(self, sid: str) -> SessionReport | bytes | None:
        """The session report (open or closed), as a report or its JSON; ``None`` if unknown."""
        live = await self.state.load(sid)
        if live is not None:
            if live.refold_task is not None:
                try:
                    await asyncio.wait_for(asyncio.shield(live.refold_task), self.timeout)
                except TimeoutError:
                    raise StorageUnavailable() from None
            return live.fold.report(live.lifecycle())
        found = await self.storage.read(queries.final_report(sid))
        if found is None:
            return None
        row, stored = found
        if stored is not None:
            return with_refusals(_decode_report(stored), row.refused) if row.refused else stored
        events = await self.storage.read(queries.session_events(row.id))
        report = fold_stored(row, events, self.limits)
        if row.state == "closed" and events:
            summary = Summary(row.id, True, self.clock(), report, events[-1].seq)
            self.storage.submit_summary(summary)
        return with_refusals(report, row.refused)
