"""Live session state: what the server keeps in memory for each open (or just closed) session.

A :class:`LiveSession` is a cache of the engine's fold over the session's stored events plus
its lifecycle; a :class:`SessionStore` holds them. The in-memory store is the only backend so
far, which is why ``--workers`` above 1 is refused: several processes need a shared store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Protocol

from playhead.engine import Lifecycle, SessionFold
from playhead.events import Event


class LiveSession:
    """One session's live state: its fold, arrival counter and lifecycle."""

    __slots__ = (
        "applied_seq",
        "close_reason",
        "closed_ms",
        "evict_ms",
        "fold",
        "inflight",
        "next_seq",
        "pending",
        "refold_task",
        "refused",
        "session_id",
        "sid",
        "started_ms",
        "summarized",
    )

    def __init__(self, session_id: int, sid: str, started_ms: int, fold: SessionFold) -> None:
        self.session_id = session_id
        self.sid = sid
        self.started_ms = started_ms
        self.fold = fold
        self.next_seq = 1
        # the highest sequence number folded in; events are folded only once stored, so the
        # fold always equals the fold of the stored log
        self.applied_seq = 0
        self.inflight = 0  # events submitted to storage and not yet settled
        self.close_reason: str | None = None
        self.closed_ms: int | None = None
        self.evict_ms: int | None = None
        self.refused = 0
        # events that arrived while a re-fold from storage was under way, by arrival
        self.pending: list[tuple[Event, int, int]] | None = None
        self.refold_task: asyncio.Task[None] | None = None
        # applied_seq of the last stored summary (nothing new since then: no need to redo it)
        self.summarized = -1

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


class SessionStore(Protocol):
    """Where live sessions are kept between requests."""

    def get(self, sid: str) -> LiveSession | None:
        """The live session with this public id, if it is held."""

    def add(self, session: LiveSession) -> None:
        """Hold a new live session."""

    def remove(self, sid: str) -> None:
        """Stop holding a session (after it closed and its grace passed)."""

    def sessions(self) -> Iterator[LiveSession]:
        """Every held session (a snapshot, safe to modify the store while iterating)."""

    def __len__(self) -> int:
        """How many sessions are held."""
