"""What every durable store implements (:class:`Storage`), and the records it keeps.

Writes are *submitted* (``submit_*`` return a :class:`WriteTicket` that settles once the write
is committed) so a backend can group many requests into one transaction; the ingest path
awaits it before it answers, which is what makes every acknowledged event durable. Reads are
typed :class:`~playhead.storage.queries.Query` objects, written once for both SQL dialects,
that run on read connections of their own and never wait behind the write queue.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Sequence
from typing import Any, Protocol, TypeVar

import msgspec

from playhead.engine import SessionReport

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


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
    """A session to store: ids, when it started (server and client clocks), its params, and
    the request's context (the User-Agent and the like, for enrichment)."""

    id: int
    sid: str
    started_ms: int
    start_ts: int
    params: dict[str, Any]
    downloaded: bool = False
    context: dict[str, str] = {}
    #: the client's network (``--store-ip truncated``), never its address as sent
    client_network: str | None = None


class StoredEvent(msgspec.Struct, frozen=True):
    """One stored event: its arrival sequence in the session, server receive time, raw body
    and the wire format it came in (how :func:`playhead.protocols.decode_stored` reads it)."""

    seq: int
    received_ms: int
    body: bytes
    format: str = "collection"


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


class Query(Protocol[T_co]):
    """A read: SQL with ``?`` placeholders, its arguments, and how its rows become a value."""

    @property
    def sql(self) -> str:
        """The SQL text, with ``?`` placeholders."""

    @property
    def args(self) -> tuple[Any, ...]:
        """The values of the placeholders."""

    def shape(self, rows: Sequence[Sequence[Any]]) -> T_co:
        """The result of the query from its fetched rows."""


class Storage(Protocol):
    """What the server needs from a durable store."""

    async def start(self) -> None:
        """Open connections, apply migrations, start background threads."""

    async def start_reading(self) -> None:
        """Open read connections only, for a process that reads what another writes."""

    async def stop(self) -> None:
        """Flush everything submitted so far and release resources."""

    async def reserve_ids(self, count: int) -> Sequence[int]:
        """Reserve ``count`` internal session keys no other process can ever be given."""

    def submit_session(
        self,
        session: NewSession,
        events: list[StoredEvent],
        close: tuple[str, int] | None = None,
    ) -> WriteTicket:
        """Store a new session with its first events (and its close), all in one transaction."""

    def submit_event(
        self, session_id: int, seq: int, received_ms: int, body: bytes, wire_format: str
    ) -> WriteTicket:
        """Append one event (arrival ``seq``, server time, raw body, wire format) to a log."""

    def submit_close(self, session_id: int, reason: str, closed_ms: int) -> WriteTicket:
        """Mark a session closed (idempotent: an already closed session keeps its reason)."""

    def submit_refused(self, session_id: int) -> WriteTicket:
        """Count one event refused with 410 on a closed session."""

    def submit_summary(self, summary: Summary) -> WriteTicket:
        """Store (or replace) a session's report summary."""

    async def flush(self) -> None:
        """Wait until every write submitted so far (summaries too) is committed."""

    async def read(self, query: Query[T]) -> T:
        """Run a read on a read connection (it sees every write committed before it)."""

    def scan(self, query: Query[Any], chunk: int = 2000) -> AsyncIterator[Sequence[Any]]:
        """Every row of a large read, a chunk at a time, from one consistent snapshot."""

    def scan_chunks(
        self, query: Query[Any], chunk: int = 2000
    ) -> AsyncGenerator[Sequence[Sequence[Any]], None]:
        """:meth:`scan`'s rows in lists of up to ``chunk`` (for readers that work a list at a
        time: no per-row step between the store and them)."""

    async def purge_events(self, session_ids: Sequence[int]) -> int:
        """Delete the raw events of closed, summarized sessions (retention); how many went."""

    async def delete_sessions(self, session_ids: Sequence[int]) -> tuple[int, int]:
        """Delete sessions from every table; returns (sessions, events) deleted."""

    def queue_depth(self) -> int:
        """Writes submitted but not yet committed."""

    def write_backlog(self) -> int:
        """Session and event writes waiting (past ``queue_size`` they are refused with 503)."""

    def problem(self) -> str | None:
        """Why the store cannot take writes right now (e.g. its file is gone), or ``None``."""


async def rows_of(chunks: AsyncGenerator[Sequence[Sequence[Any]], None]) -> AsyncIterator[Any]:
    """Every row of a backend's ``scan_chunks``, one at a time (closing it when stopped early)."""
    async with contextlib.aclosing(chunks) as lists:
        async for rows in lists:
            for row in rows:
                yield row
