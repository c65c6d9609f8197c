"""Rules 9–10 of the session lifecycle as pure decisions (no I/O, time passed in).

- An event for a held session is accepted, refused (``410``, counted), or shows that the
  session idled out first (close it as ``idle``, then refuse).
- For 10 s (the grace) after a ``sessionEnd``, events stamped no later than it still count.
- A session's deadline is when the sweeper must look at it: its idle close (server clock), the
  backstop of 24 h plus the idle timeout after its start, or, once closed, its eviction.
- At its deadline a session is closed (idle, maxDuration backstop) or evicted.

The event-time limits (stalled playhead, 24 h of event time) are the engine's: its fold reports
them as ``close_trigger`` and the service closes the session right after that event.
"""

from __future__ import annotations

from typing import Final

import msgspec

from playhead.state import LiveSession

ACCEPT: Final = 0
REFUSE: Final = 1
IDLE: Final = 2
# A closed session stays held this long (at least) so that late events get a cheap 410.
KEEP_CLOSED_MS: Final = 30_000


class Rules(msgspec.Struct, frozen=True):
    """The lifecycle settings, in milliseconds."""

    idle_ms: int
    grace_ms: int
    max_duration_ms: int
    keep_closed_ms: int = KEEP_CLOSED_MS


class Close(msgspec.Struct, frozen=True):
    """Close the session for ``reason`` as of ``at`` (epoch ms)."""

    reason: str
    at: int


class Evict(msgspec.Struct, frozen=True):
    """Stop holding the closed session."""


EVICT: Final = Evict()


def admit(live: LiveSession, event_ts: int, now: int, rules: Rules) -> int:
    """Whether an event stamped ``event_ts`` arriving at ``now`` is accepted (:data:`ACCEPT`),
    refused with 410 (:data:`REFUSE`), or finds the session idle (:data:`IDLE`: close, refuse)."""
    if live.close_reason is not None:
        return ACCEPT if is_straggler(live, event_ts, now, rules) else REFUSE
    if live.inflight == 0 and now - live.fold.last_received_ms >= rules.idle_ms:
        return IDLE
    return ACCEPT


def is_straggler(live: LiveSession, event_ts: int, now: int, rules: Rules) -> bool:
    """Rule 10: shortly after a sessionEnd, events stamped no later than it still count."""
    end_ts = live.fold.end_ts
    return (
        live.close_reason == "sessionEnd"
        and live.closed_ms is not None
        and now <= live.closed_ms + rules.grace_ms
        and end_ts is not None
        and event_ts <= end_ts
    )


def idle_close(live: LiveSession, rules: Rules) -> Close:
    """The close of a session that received nothing for the idle timeout."""
    return Close("idle", live.fold.last_received_ms + rules.idle_ms)


def evict_at(reason: str, closed_ms: int, now: int, rules: Rules) -> int:
    """When a session closed at ``closed_ms`` (noticed at ``now``) stops being held."""
    grace = rules.grace_ms if reason == "sessionEnd" else 0
    return max(closed_ms, now) + max(grace, rules.keep_closed_ms)


def deadline(live: LiveSession, rules: Rules) -> int | None:
    """When the sweeper must look at the session next (``None``: it need not)."""
    if live.close_reason is None:
        idle = live.fold.last_received_ms + rules.idle_ms
        backstop = live.started_ms + rules.max_duration_ms + rules.idle_ms
        return min(idle, backstop)
    return live.evict_ms


def on_deadline(live: LiveSession, now: int, rules: Rules) -> Close | Evict | None:
    """What to do with a session whose deadline may have come (rule 9 and its backstop)."""
    if live.refold_task is not None or live.inflight:
        return None  # looked at again once its events are folded in
    if live.close_reason is None:
        if now - live.fold.last_received_ms >= rules.idle_ms:
            return idle_close(live, rules)
        if now - live.started_ms >= rules.max_duration_ms + rules.idle_ms:
            return Close("maxDuration", now)
        return None
    if live.evict_ms is not None and now >= live.evict_ms:
        return EVICT
    return None
