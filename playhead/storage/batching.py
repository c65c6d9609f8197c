"""Group commit, shared by the SQL backends: write jobs gathered into batches, one future each.

Every write is a small job appended to the *open batch*; all writes of one batch share one
future. A backend's writer (a thread for SQLite, a task for PostgreSQL) takes a whole batch (at
most ``batch_size`` jobs), runs its session and event jobs in one transaction and only then
completes the batch's future, so a request is answered after its event is on disk and a burst of
requests costs one commit. Summaries are written afterwards in a transaction of their own, so a
summary can never fail an acknowledged event; calls that must see every earlier write (a flush,
reserving ids) are jobs too, each with a future of its own, run after both. The jobs are the
typed records of :mod:`playhead.storage.jobs`.

Failure isolation: when a batch's transaction fails because of one job's data, the writer runs
the batch again job by job, so only that job fails (the others commit). A submitter awaits a
:class:`Ticket`, which raises :class:`~playhead.errors.StorageUnavailable` for its own job only.
Lifecycle bookkeeping (closes, refusals, summaries) that fails is submitted again later: it
never depends on what a client sent. A batch not settled ``timeout`` seconds after it opened is
answered as failed (503) at once; :meth:`Ticket.settled` still tells the real outcome later.

When more than ``queue_size`` session and event jobs wait, submitting another raises
:class:`~playhead.errors.Overloaded` (503); bookkeeping and calls are never refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Generator
from typing import Any, Final

from playhead.errors import Overloaded, StorageUnavailable
from playhead.storage.base import NewSession, StoredEvent, Summary
from playhead.storage.jobs import (
    BOOKKEEPING,
    WRITE_ORDER,
    CallJob,
    CloseJob,
    EventJob,
    Job,
    RefusedJob,
    SessionJob,
    SummaryJob,
)
from playhead.tally import Histogram

log = logging.getLogger("playhead.storage")

# A summary that keeps failing is given up after this many attempts (it is rebuilt from the
# log when the session is next read); closes and refusals are retried until they succeed.
SUMMARY_ATTEMPTS: Final = 5
RETRY_DELAY_S: Final = 0.5
MAX_RETRY_DELAY_S: Final = 30.0

#: A batch outcome: the positions of the jobs that failed (empty: every job committed).
Failed = frozenset[int]
NONE_FAILED: Final[Failed] = frozenset()
#: A batch's jobs with their positions, grouped by job type, in submission order.
Groups = dict[type, list[tuple[int, Job]]]


class Batch:
    """Jobs committed together, and the one future their writers await."""

    __slots__ = ("future", "jobs", "limited", "outcome", "settled", "timer")

    def __init__(self, future: asyncio.Future[Failed]) -> None:
        self.future = future
        self.jobs: list[Job] = []
        self.limited = 0  # jobs that count against queue_size (sessions and events)
        self.timer: asyncio.TimerHandle | None = None
        # the writer's real outcome once known (also after the timeout answered the future),
        # and a future for whoever waits for it
        self.outcome: Failed | None = None
        self.settled: asyncio.Future[Failed] | None = None

    def groups(self) -> Groups:
        """The batch's jobs with their positions, grouped by type, in submission order."""
        groups: Groups = {}
        for position, job in enumerate(self.jobs):
            groups.setdefault(type(job), []).append((position, job))
        return groups


def write_positions(groups: Groups) -> list[int]:
    """Positions of the jobs of one write transaction (sessions, events, closes, refusals)."""
    return [p for kind in WRITE_ORDER for p, _ in groups.get(kind, ())]


class Ticket:
    """The awaitable outcome of one submitted write: raises only if *this* job failed."""

    __slots__ = ("batch", "position")

    def __init__(self, batch: Batch, position: int) -> None:
        self.batch = batch
        self.position = position

    def __await__(self) -> Generator[Any, None, None]:
        failed = yield from self.batch.future.__await__()
        if self.position in failed:
            raise StorageUnavailable()

    async def settled(self) -> bool:
        """Wait for the writer's real outcome (also after a timeout); True if committed."""
        batch = self.batch
        failed = batch.outcome
        if failed is None:
            if batch.settled is None:
                batch.settled = asyncio.get_running_loop().create_future()
            failed = await batch.settled
        return self.position not in failed


class BatchedWrites:
    """The submitting half of a storage backend; subclasses run the batches and wake a writer.

    Args:
        queue_size: most session and event jobs waiting for the writer.
        batch_size: most jobs in one batch (one transaction).
        threaded: True when the writer is another thread (submissions then take a lock).
        timeout: seconds after which a batch still not committed is answered as failed.
    """

    def __init__(
        self, *, queue_size: int, batch_size: int, threaded: bool, timeout: float = 5.0
    ) -> None:
        self._max_queued = queue_size
        self._batch_size = batch_size
        self._timeout = timeout
        self._lock: contextlib.AbstractContextManager[Any] = (
            threading.Lock() if threaded else contextlib.nullcontext()
        )
        self._sealed: deque[Batch] = deque()
        self._open: Batch | None = None
        self._queued = 0  # jobs not yet taken by the writer
        self._limited = 0  # of which sessions and events, bounded by queue_size
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        # why writes cannot succeed now (the database file vanished, ...), or None
        self._unavailable: str | None = None
        self._last_failure_log = 0.0
        self._failures = 0  # batches failed in a row (how long bookkeeping retries wait)
        #: seconds each write transaction took (changed only by the writer)
        self.write_seconds = Histogram()

    def _notify(self) -> None:
        """Wake the writer: a job is waiting."""
        raise NotImplementedError

    def queue_depth(self) -> int:
        """Jobs submitted and not yet taken by the writer."""
        return self._queued

    def write_backlog(self) -> int:
        """Session and event jobs waiting for the writer (what ``queue_size`` bounds)."""
        return self._limited

    def problem(self) -> str | None:
        """Why the store cannot take writes right now, or ``None`` when it can."""
        return self._unavailable

    def _submit(self, job: Job, limited: bool = False) -> Ticket:
        """Add a job to the open batch; returns the ticket that settles after its commit.

        ``limited`` jobs (sessions and events) count against ``queue_size``: past it they are
        refused with 503, as they are while the store cannot take writes at all.
        """
        loop = self._loop
        assert loop is not None, "storage not started"
        if limited and self._unavailable is not None:
            raise StorageUnavailable(f"Storage unavailable ({self._unavailable}); retry later.")
        with self._lock:
            if limited:
                if self._limited >= self._max_queued:
                    raise Overloaded()
                self._limited += 1
            batch = self._open
            if batch is None:
                batch = self._open = Batch(loop.create_future())
                new = True
            else:
                new = False
            position = len(batch.jobs)
            batch.jobs.append(job)
            batch.limited += limited
            self._queued += 1
            if position + 1 >= self._batch_size:
                self._sealed.append(batch)
                self._open = None
        if new:
            batch.timer = loop.call_later(self._timeout, self._expire, batch)
        self._notify()
        return Ticket(batch, position)

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

    # ------------------------------------------------------------------ outcomes (event loop)
    def _expire(self, batch: Batch) -> None:
        """The batch took too long: answer its waiters now (the writer may still commit it)."""
        batch.timer = None
        if batch.future.done():
            return
        batch.future.set_result(frozenset(range(len(batch.jobs))))
        for job in batch.jobs:
            if isinstance(job, CallJob) and not job.future.done():
                job.future.set_exception(StorageUnavailable())
        self._log_failure(
            f"a write batch of {len(batch.jobs)} jobs is not committed after {self._timeout:g} s"
            " (answered 503)"
        )

    def _settle_writes(self, batch: Batch, failed: Failed) -> None:
        """Complete the batch's future with its writes' outcome (runs on the event loop)."""
        if batch.timer is not None:
            batch.timer.cancel()
            batch.timer = None
        batch.outcome = failed
        self._failures = self._failures + 1 if failed else 0
        if not batch.future.done():
            batch.future.set_result(failed)
        if batch.settled is not None and not batch.settled.done():
            batch.settled.set_result(failed)

    def _fail_batch(self, batch: Batch) -> None:
        """Answer every job of a batch the writer could not run as failed (runs on the loop)."""
        failed = frozenset(range(len(batch.jobs)))
        self._settle_writes(batch, failed)
        self._settle_rest(batch, failed, [])
        for job in batch.jobs:
            if isinstance(job, CallJob) and not job.future.done():
                job.future.set_exception(StorageUnavailable())

    def _settle_rest(
        self, batch: Batch, failed: Failed, calls: list[tuple[asyncio.Future[Any], Any, Any]]
    ) -> None:
        """Retry failed bookkeeping, then complete the calls (runs on the event loop)."""
        for position in failed:
            job = batch.jobs[position]
            if isinstance(job, BOOKKEEPING):
                self._retry(job)
        for future, result, error in calls:
            if future.done():
                continue
            if error is not None:
                future.set_exception(StorageUnavailable() if _transient(error) else error)
            else:
                future.set_result(result)

    def _retry(self, job: Job) -> None:
        """Submit a failed bookkeeping job again after a delay (summaries a few times only)."""
        attempt = job.attempt if isinstance(job, SummaryJob) else self._failures
        if isinstance(job, SummaryJob):
            if job.attempt >= SUMMARY_ATTEMPTS:
                log.error(
                    "a session summary failed %d times; it is rebuilt on its next read",
                    job.attempt,
                )
                return
            job = job._replace(attempt=job.attempt + 1)
        if self._stopping or self._loop is None:
            return
        delay = min(MAX_RETRY_DELAY_S, RETRY_DELAY_S * 2 ** max(0, attempt - 1))
        self._loop.call_later(delay, self._resubmit, job)

    def _resubmit(self, job: Job) -> None:
        if not self._stopping:
            self._submit(job)

    def _log_failure(self, message: str, exc: BaseException | None = None) -> None:
        """Log a storage failure as one line, at most once a second."""
        now = time.monotonic()
        if now - self._last_failure_log >= 1.0:
            self._last_failure_log = now
            log.error("%s%s", message, f": {exc!r}" if exc is not None else "")

    # ------------------------------------------------------------------ submissions
    def submit_session(
        self,
        session: NewSession,
        events: list[StoredEvent],
        close: tuple[str, int] | None = None,
    ) -> Ticket:
        """Store a new session row with its first events (and its close), all in one transaction."""
        sid = session.id
        rows = [EventJob(sid, e.seq, e.received_ms, e.body, e.format) for e in events]
        closing = None if close is None else CloseJob(close[0], close[1], sid)
        return self._submit(SessionJob(session, rows, closing), limited=True)

    def submit_event(
        self, session_id: int, seq: int, received_ms: int, body: bytes, wire_format: str
    ) -> Ticket:
        """Append one event (arrival ``seq``, server time, raw body, wire format) to a log."""
        # tuple.__new__ skips the named tuple's Python-level constructor (the ingest hot path)
        job = tuple.__new__(EventJob, (session_id, seq, received_ms, body, wire_format))
        return self._submit(job, limited=True)

    def submit_close(self, session_id: int, reason: str, closed_ms: int) -> Ticket:
        """Mark a session closed; a session already closed keeps its first reason."""
        return self._submit(CloseJob(reason, closed_ms, session_id))

    def submit_refused(self, session_id: int) -> Ticket:
        """Count one event refused with 410."""
        return self._submit(RefusedJob(session_id))

    def submit_summary(self, summary: Summary) -> Ticket:
        """Store or replace one session's report summary (flattened by the writer).

        Its ticket settles with the writes of its batch, before the summary itself is written:
        a summary that fails is retried (and logged), never reported to the submitter.
        """
        return self._submit(SummaryJob(summary))

    def _call(self, fn: Callable[[Any], Any]) -> asyncio.Future[Any]:
        """Run ``fn`` on the writer's connection once every write submitted before it is
        committed; the future completes with its result."""
        assert self._loop is not None, "storage not started"
        future: asyncio.Future[Any] = self._loop.create_future()
        self._submit(CallJob(fn, future))
        return future


def _transient(error: BaseException) -> bool:
    """Whether an error is the store's trouble (503) rather than a bug to report as it is."""
    return not isinstance(error, (AssertionError, TypeError, AttributeError, NameError))
