"""Live session state: what the server keeps for each open (or just closed) session.

A :class:`LiveSession` is a cache of the engine's fold over the session's stored events plus
its lifecycle; a :class:`LiveState` holds them behind an async, transition-shaped seam:

- :meth:`~LiveState.load` a session, change it, :meth:`~LiveState.commit` it with the version
  it was loaded at (a backend shared by several processes refuses a commit whose session
  changed meanwhile, and the caller loads it again and redoes its change);
- :meth:`~LiveState.reserve_seq` hands out the session's next arrival sequence number;
- :meth:`~LiveState.due` answers the sessions whose next deadline (idle close, eviction) has
  come, from a deadline index, so the sweeper never scans every session;
- :meth:`~LiveState.count` is the number of open sessions.

The in-memory backend (:mod:`playhead.state.memory`) holds the objects themselves, so a load
and a commit cost nothing, for one process. The Redis backend (:mod:`playhead.state.redis`)
is shared by any number of processes: a load is a copy, a commit a compare-and-set, and
:meth:`~LiveState.reserve_seq` may answer 0 (the session changed since it was loaded: load it
again). Backends shared between processes have ``shared = True``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Protocol

from playhead.engine import Lifecycle, SessionFold
from playhead.events import Event

# An event to fold in: the event, its arrival sequence number, its server receive time.
Item = tuple[Event, int, int]


class LiveSession:
    """One session's live state: its fold, arrival counter and lifecycle."""

    __slots__ = (
        "applied_seq",
        "close_reason",
        "closed_ms",
        "counted",
        "effects",
        "evict_ms",
        "fold",
        "format",
        "inflight",
        "next_seq",
        "pending",
        "refold_task",
        "refused",
        "reserved",
        "scheduled",
        "session_id",
        "settled",
        "sid",
        "stale",
        "started_ms",
        "summarized",
        "taken",
        "version",
    )

    def __init__(
        self,
        session_id: int,
        sid: str,
        started_ms: int,
        fold: SessionFold,
        wire_format: str = "collection",
    ) -> None:
        self.session_id = session_id
        self.sid = sid
        self.started_ms = started_ms
        self.fold = fold
        self.format = wire_format  # the protocol the session speaks (events may not mix them)
        self.next_seq = 1
        # the highest sequence number folded in; events are folded only once stored, so the
        # fold always equals the fold of the stored log
        self.applied_seq = 0
        self.inflight = 0  # events submitted to storage and not yet settled (this process)
        self.close_reason: str | None = None
        self.closed_ms: int | None = None
        self.evict_ms: int | None = None
        self.refused = 0
        # events stored while a re-fold from storage was under way, by arrival (this process)
        self.pending: list[Item] | None = None
        self.refold_task: asyncio.Task[None] | None = None
        # applied_seq of the last stored summary (nothing new since then: no need to redo it)
        self.summarized = -1
        self.version = 0  # bumped by every commit
        self.scheduled: int | None = None  # when the deadline index looks at it next
        self.counted = False  # counted as open by the live state
        # a shared backend's bookkeeping, empty in memory: the sequence numbers reserved and not
        # yet folded in (seq -> when reserved), those of them reserved so long ago that their
        # process is taken to be gone, and those the next commit marks folded in
        self.reserved: dict[int, int] | None = None
        self.stale: Sequence[int] = ()
        self.settled: Sequence[int] = ()
        self.taken = 0  # a sequence number reserved with the load, not yet handed out
        # what to do once the change under way is committed (a close's writes, a summary)
        self.effects: list[Callable[[], object]] | None = None

    @property
    def closed(self) -> bool:
        """True once the session no longer takes events (stragglers aside)."""
        return self.close_reason is not None

    def lifecycle(self, *, with_refusals: bool = True) -> Lifecycle:
        """The lifecycle facts the engine's report needs (stored summaries leave refusals out:
        readers add them from the session row)."""
        refused = self.refused if with_refusals else 0
        if self.close_reason is None:
            return Lifecycle(refused=refused)
        return Lifecycle(
            state="closed",
            close_reason=self.close_reason,
            closed_ms=self.closed_ms,
            refused=refused,
        )


# When the sweeper must look at a session next (epoch ms), or None: never on its own.
Deadline = Callable[[LiveSession], int | None]


class LiveState(Protocol):
    """Where live sessions are kept between requests."""

    #: True when other processes share the state (a load is then a copy, not the object)
    shared: bool

    async def load(self, sid: str) -> LiveSession | None:
        """The live session with this public id, if it is held."""

    def peek(self, sid: str) -> LiveSession | None:
        """The live session if this process holds it in its own memory, at no cost (a shared
        backend answers ``None`` and callers :meth:`load`); for the hot path's first look."""

    async def add(self, session: LiveSession) -> None:
        """Hold a new live session."""

    async def commit(self, session: LiveSession, expected: int) -> bool:
        """Store a changed session loaded at version ``expected``; False (nothing stored) when
        it changed meanwhile."""

    async def remove(self, sid: str) -> None:
        """Stop holding a session (after it closed and its grace passed)."""

    async def reserve_seq(self, session: LiveSession) -> int:
        """The session's next arrival sequence number (unique within the session), or 0 when a
        shared backend finds the session changed since it was loaded."""

    async def due(self, now: int) -> list[LiveSession]:
        """The held sessions whose deadline is ``now`` or earlier."""

    async def count(self) -> int:
        """How many held sessions are open."""

    def sessions(self) -> AsyncIterator[LiveSession]:
        """Every held session (a snapshot, safe to change the state while iterating)."""
