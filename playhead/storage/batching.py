"""Group commit, shared by the SQL backends: write jobs gathered into batches, one future each.

Every write is a small job appended to the *open batch*; all writes of one batch share one
future. A backend's writer (a thread for SQLite, a task for PostgreSQL) takes a whole batch (at
most ``batch_size`` jobs), runs it in one transaction and only then completes the batch's
future, so a request is answered after its event is on disk and a burst of requests costs one
commit. Reads that must see every earlier write are jobs too, each with a future of its own.
When more than ``queue_size`` session and event jobs wait, submitting another raises
:class:`~playhead.errors.Overloaded` (503); lifecycle bookkeeping (closes, refusals, summaries,
reads) is never refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from typing import Any

from playhead.errors import Overloaded
from playhead.storage import NewSession, StoredEvent, Summary

# Job kinds. Writers run a batch's writes kind by kind in WRITE_ORDER so that, for example, a
# session inserted and closed in the same batch ends up closed; reads run after the commit.
SESSION, EVENTS, CLOSE, REFUSED, SUMMARY, READ = range(6)
WRITE_ORDER = (SESSION, EVENTS, CLOSE, REFUSED, SUMMARY)

# (kind, payload, own future): only reads have their own future, writes share their batch's
Job = tuple[int, Any, "asyncio.Future[Any] | None"]


class Batch:
    """Jobs committed together, and the one future their writers await."""

    __slots__ = ("future", "jobs", "limited")

    def __init__(self, future: asyncio.Future[None]) -> None:
        self.future = future
        self.jobs: list[Job] = []
        self.limited = 0  # jobs that count against queue_size (sessions and events)

    def by_kind(self) -> dict[int, list[Job]]:
        """The batch's jobs grouped by kind, each group in submission order."""
        groups: dict[int, list[Job]] = {}
        for job in self.jobs:
            groups.setdefault(job[0], []).append(job)
        return groups


class BatchedWrites:
    """The submitting half of a storage backend; subclasses run the batches and wake a writer.

    Args:
        queue_size: most session and event jobs waiting for the writer.
        batch_size: most jobs in one batch (one transaction).
        threaded: True when the writer is another thread (submissions then take a lock).
    """

    def __init__(self, *, queue_size: int, batch_size: int, threaded: bool) -> None:
        self._max_queued = queue_size
        self._batch_size = batch_size
        self._lock: contextlib.AbstractContextManager[Any] = (
            threading.Lock() if threaded else contextlib.nullcontext()
        )
        self._sealed: deque[Batch] = deque()
        self._open: Batch | None = None
        self._queued = 0  # jobs not yet taken by the writer
        self._limited = 0  # of which sessions and events, bounded by queue_size
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._next_id = 1

    def _notify(self) -> None:
        """Wake the writer: a job is waiting."""
        raise NotImplementedError

    def next_session_id(self) -> int:
        """A new internal session key (this process is the only inserter, so a counter suffices)."""
        value = self._next_id
        self._next_id += 1
        return value

    def queue_depth(self) -> int:
        """Jobs submitted and not yet taken by the writer."""
        return self._queued

    def _submit(self, kind: int, payload: Any, force: bool = False) -> asyncio.Future[Any]:
        """Add a job to the open batch; returns the future that completes after its commit."""
        loop = self._loop
        assert loop is not None, "storage not started"
        own = loop.create_future() if kind == READ else None
        with self._lock:
            if not force:
                if self._limited >= self._max_queued:
                    raise Overloaded()
                self._limited += 1
            batch = self._open
            if batch is None:
                batch = self._open = Batch(loop.create_future())
            batch.jobs.append((kind, payload, own))
            batch.limited += not force
            self._queued += 1
            if len(batch.jobs) >= self._batch_size:
                self._sealed.append(batch)
                self._open = None
        self._notify()
        return own if own is not None else batch.future

    def _take(self) -> Batch | None:
        """The oldest batch waiting, or ``None`` (called by the writer)."""
        with self._lock:
            if self._sealed:
                batch = self._sealed.popleft()
            elif self._open is not None:
                batch, self._open = self._open, None
            else:
                return None
            self._queued -= len(batch.jobs)
            self._limited -= batch.limited
            return batch

    def submit_session(
        self,
        session: NewSession,
        events: list[StoredEvent],
        close: tuple[str, int] | None = None,
    ) -> asyncio.Future[None]:
        """Store a new session row with its first events (and its close), all in one transaction."""
        rows = [(session.id, e.seq, e.received_ms, e.body) for e in events]
        closing = None if close is None else (close[0], close[1], session.id)
        return self._submit(SESSION, (session, rows, closing))

    def submit_event(
        self, session_id: int, seq: int, received_ms: int, body: bytes
    ) -> asyncio.Future[None]:
        """Append one event to a session's log."""
        return self._submit(EVENTS, (session_id, seq, received_ms, body))

    def submit_close(self, session_id: int, reason: str, closed_ms: int) -> asyncio.Future[None]:
        """Mark a session closed; a session already closed keeps its first reason."""
        return self._submit(CLOSE, (reason, closed_ms, session_id), force=True)

    def submit_refused(self, session_id: int) -> asyncio.Future[None]:
        """Count one event refused with 410."""
        return self._submit(REFUSED, (session_id,), force=True)

    def submit_summary(self, summary: Summary) -> asyncio.Future[None]:
        """Store or replace one session's report summary (flattened by the writer)."""
        return self._submit(SUMMARY, summary, force=True)

    def _read(self, fn: Any) -> asyncio.Future[Any]:
        """Queue a read that runs after every write submitted before it is committed."""
        return self._submit(READ, fn, force=True)
