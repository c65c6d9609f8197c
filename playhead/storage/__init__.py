"""Durable storage: the interface every backend implements, its records, and ``open_storage``.

Writes are *submitted* (``submit_*`` return an awaitable that completes once the write is
committed) so a backend can group many requests into one transaction; the ingest path awaits
that before it answers, which is what makes every acknowledged event durable.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator
from typing import Any, Protocol

import msgspec

from playhead.engine import SessionReport
from playhead.errors import ConfigError


class SessionRow(msgspec.Struct, frozen=True):
    """A session as stored: identity, start and lifecycle."""

    id: int
    sid: str
    started_ms: int
    start_ts: int
    state: str
    close_reason: str | None
    closed_ms: int | None
    refused: int


class NewSession(msgspec.Struct, frozen=True):
    """A session to store: ids, when it started (server and client clocks) and its params."""

    id: int
    sid: str
    started_ms: int
    start_ts: int
    params: dict[str, Any]
    downloaded: bool = False


class StoredEvent(msgspec.Struct, frozen=True):
    """One stored event: its arrival sequence in the session, server receive time and raw body."""

    seq: int
    received_ms: int
    body: bytes


class Summary(msgspec.Struct, frozen=True):
    """A session's report to store in the summary tables (``final`` once the session closed).

    ``last_seq`` is the highest arrival sequence number folded into the report: a stored
    report is current only while no stored event has a higher one. Refusals (410s) are not in
    the stored report; readers add them from the session row.
    """

    session_id: int
    final: bool
    updated_ms: int
    report: SessionReport
    last_seq: int


class WriteTicket(Protocol):
    """The outcome of one submitted write: awaiting it raises if that write failed."""

    def __await__(self) -> Generator[Any, None, None]:
        """Wait for the commit; raise :class:`~playhead.errors.StorageUnavailable` on failure."""

    async def settled(self) -> bool:
        """Wait for the real outcome, even after a timeout answered; True if committed."""


class Storage(Protocol):
    """What the server needs from a durable store."""

    async def start(self) -> None:
        """Open connections, apply migrations, start background threads."""

    async def stop(self) -> None:
        """Flush everything submitted so far and release resources."""

    def next_session_id(self) -> int:
        """A new internal session key, unique in this store."""

    def submit_session(
        self,
        session: NewSession,
        events: list[StoredEvent],
        close: tuple[str, int] | None = None,
    ) -> WriteTicket:
        """Store a new session with its first events (and its close), all in one transaction."""

    def submit_event(self, session_id: int, seq: int, received_ms: int, body: bytes) -> WriteTicket:
        """Append one event to a session's log."""

    def submit_close(self, session_id: int, reason: str, closed_ms: int) -> WriteTicket:
        """Mark a session closed (idempotent: an already closed session keeps its reason)."""

    def submit_refused(self, session_id: int) -> WriteTicket:
        """Count one event refused with 410 on a closed session."""

    def submit_summary(self, summary: Summary) -> WriteTicket:
        """Store (or replace) a session's report summary."""

    async def find_session(self, sid: str) -> SessionRow | None:
        """The stored session with this public id, or ``None``."""

    async def final_report(self, sid: str) -> tuple[SessionRow, bytes | None] | None:
        """A stored session and its final report JSON if that is still current, else ``None``."""

    async def session_events(self, session_id: int) -> list[StoredEvent]:
        """Every stored event of a session (sessionStart included), in arrival order."""

    def open_sessions(self) -> AsyncIterator[tuple[SessionRow, list[StoredEvent]]]:
        """Every open session with its events, in session order (used once, at start-up)."""

    def stale_final_summaries(
        self, window_ms: int
    ) -> AsyncIterator[tuple[SessionRow, list[StoredEvent]]]:
        """Closed sessions (with their events) whose final summary is missing or older than
        their log, among those closed within ``window_ms`` of the newest stored event (used
        once, at start-up: only those can have been in memory at a crash)."""

    def queue_depth(self) -> int:
        """Writes submitted but not yet committed."""

    def problem(self) -> str | None:
        """Why the store cannot take writes right now (e.g. its file is gone), or ``None``."""


def open_storage(
    url: str, *, queue_size: int, batch_size: int, synchronous: str, timeout: float = 5.0
) -> Storage:
    """Open the backend named by ``url``: a file path or ``sqlite:///path`` (SQLite), or a
    ``postgres://``/``postgresql://`` URL (PostgreSQL; ``synchronous`` does not apply).
    ``timeout`` bounds every call: past it, the request that waits gets a 503."""
    if url.startswith(("postgres://", "postgresql://")):
        try:
            from playhead.storage.postgres import PostgresStorage
        except ImportError as exc:
            if exc.name != "asyncpg":
                raise
            raise ConfigError(
                'PostgreSQL storage needs the "postgres" extra: pip install "playhead[postgres]"'
            ) from None
        return PostgresStorage(url, queue_size=queue_size, batch_size=batch_size, timeout=timeout)
    path = url.removeprefix("sqlite:///").removeprefix("sqlite://")
    if "://" in path:
        raise ConfigError(f"unsupported database URL {url!r}; give a SQLite file path")
    from playhead.storage.sqlite import SQLiteStorage

    return SQLiteStorage(
        path, queue_size=queue_size, batch_size=batch_size, synchronous=synchronous, timeout=timeout
    )
