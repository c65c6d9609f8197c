"""In-memory live state: the session objects in a dict, with a heap of deadlines, in one process.

Loading returns the held object itself and committing only bumps its version, so the hot path
pays nothing for the seam. The deadline index is a heap with at most one entry per session:
an entry may come early (the session's deadline moved later since, as each event pushes its
idle deadline on), and :meth:`MemoryState.due` then puts it back at the real deadline, so
events never touch the heap and the sweeper only looks at sessions whose time may have come.
"""

from __future__ import annotations

import heapq
from collections.abc import AsyncIterator

from playhead.state import Deadline, LiveSession


class MemoryState:
    """Holds live sessions in a dict; the default, and valid for a single worker only.

    Args:
        deadline: when the sweeper must look at a session next (``None``: never).
    """

    shared = False

    def __init__(self, deadline: Deadline) -> None:
        self._sessions: dict[str, LiveSession] = {}
        self._heap: list[tuple[int, str]] = []
        self._deadline = deadline
        self._open = 0
        # sessions counted in _open carry LiveSession.counted (one flag each costs less than a
        # set of their sids)

    async def load(self, sid: str) -> LiveSession | None:
        """The live session with this public id, if held."""
        return self._sessions.get(sid)

    def peek(self, sid: str) -> LiveSession | None:
        """The live session with this public id, if held (the same as :meth:`load`)."""
        return self._sessions.get(sid)

    async def add(self, session: LiveSession) -> None:
        """Hold a new live session."""
        self._sessions[session.sid] = session
        if session.close_reason is None and not session.counted:
            session.counted = True
            self._open += 1
        self._schedule(session)

    async def commit(self, session: LiveSession, expected: int) -> bool:
        """Record a change (always current here: the object itself is what is held)."""
        if session.version != expected:
            return False
        session.version = expected + 1
        if session.close_reason is not None:
            if session.counted:
                session.counted = False
                self._open -= 1
            self._schedule(session)
        elif session.scheduled is None:
            self._schedule(session)
        # else: an open session's deadline only ever moves later, and its entry comes early
        return True

    async def remove(self, sid: str) -> None:
        """Stop holding a session."""
        session = self._sessions.pop(sid, None)
        if session is not None and session.counted:
            session.counted = False
            self._open -= 1

    async def reserve_seq(self, session: LiveSession) -> int:
        """The session's next arrival sequence number."""
        seq = session.next_seq
        session.next_seq = seq + 1
        return seq

    async def due(self, now: int) -> list[LiveSession]:
        """Sessions whose deadline has come; the others met on the way are put back."""
        heap = self._heap
        found = []
        while heap and heap[0][0] <= now:
            at, sid = heapq.heappop(heap)
            session = self._sessions.get(sid)
            if session is None or session.scheduled != at:
                continue  # removed, or scheduled again since
            session.scheduled = None
            deadline = self._deadline(session)
            if deadline is None:
                continue
            if deadline <= now:
                found.append(session)
            else:
                session.scheduled = deadline
                heapq.heappush(heap, (deadline, sid))
        return found

    def _schedule(self, session: LiveSession) -> None:
        """Make sure the index looks at the session no later than its deadline."""
        deadline = self._deadline(session)
        if deadline is None or (session.scheduled is not None and session.scheduled <= deadline):
            return
        session.scheduled = deadline
        heapq.heappush(self._heap, (deadline, session.sid))

    async def count(self) -> int:
        """How many held sessions are open."""
        return self._open

    async def sessions(self) -> AsyncIterator[LiveSession]:
        """A snapshot of every held session."""
        for session in list(self._sessions.values()):
            yield session

    def __len__(self) -> int:
        """How many sessions are held (open or recently closed)."""
        return len(self._sessions)
