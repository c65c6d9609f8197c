"""Closing sessions whose time is up, from the live state's deadline index (rule 9).

Each sweep asks the live state for the sessions whose deadline has come (never a scan of every
session) and, for each, closes it (idle, or the maxDuration backstop) or stops holding it once
closed and past its grace. One session's trouble (logged) never stops the sweep of the others.
"""

from __future__ import annotations

import logging

from playhead.collector import lifecycle
from playhead.collector.service import Collector

log = logging.getLogger("playhead.collector")


async def sweep(collector: Collector, now: int | None = None) -> int:
    """Close the sessions whose time is up and release closed ones; returns how many closed."""
    now = collector.clock() if now is None else now
    closed = 0
    for live in await collector.state.due(now):
        try:
            action = lifecycle.on_deadline(live, now, collector.rules)
            if isinstance(action, lifecycle.Close):
                await collector.close(live, action.reason, action.at)
                closed += 1
                log.debug("session %s closed: %s", live.sid, action.reason)
            elif action is lifecycle.EVICT:
                await collector.evict(live)
            else:  # not yet (events in flight, a re-fold): looked at again at the next sweep
                await collector.state.commit(live, live.version)
        except Exception:
            log.exception("sweeping session %s failed", live.sid)
    return closed
