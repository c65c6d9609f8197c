"""In-memory live session store: a dict in the one worker process."""

from __future__ import annotations

from collections.abc import Iterator

from playhead.state import LiveSession


class MemoryStore:
    """Holds live sessions in a dict; the default, and valid for a single worker only."""

    def __init__(self) -> None:
        self._sessions: dict[str, LiveSession] = {}

    def get(self, sid: str) -> LiveSession | None:
        """The live session with this public id, if held."""
        return self._sessions.get(sid)

    def add(self, session: LiveSession) -> None:
        """Hold a new live session."""
        self._sessions[session.sid] = session

    def remove(self, sid: str) -> None:
        """Stop holding a session."""
        self._sessions.pop(sid, None)

    def sessions(self) -> Iterator[LiveSession]:
        """A snapshot of every held session."""
        return iter(list(self._sessions.values()))

    def __len__(self) -> int:
        """How many sessions are held."""
        return len(self._sessions)
