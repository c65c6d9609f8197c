"""SQLite storage: one writer thread, WAL, group commit, bounded queue.

Every write is a small job appended to the *open batch*; all writes of one batch share one
future. The writer thread takes a whole batch (at most ``batch_size`` jobs), runs it in one
transaction, commits, and only then completes the batch's future on the event loop — so a
request is answered after its event is on disk, and a burst of requests costs one commit and
one wake-up of the loop, not one each (group commit). Reads that must see every earlier write
(a session's events for a re-fold) are jobs too, run right after their batch commits, each with
its own future. When more than ``queue_size`` jobs wait, ``submit_*`` raises
:class:`~playhead.errors.Overloaded` (503); lifecycle bookkeeping (closes, refusals, summaries,
reads) is never refused.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec

from playhead.errors import Overloaded
from playhead.storage import NewSession, SessionRow, StoredEvent, Summary
from playhead.storage.migrate import migrate_sqlite
from playhead.storage.summaries import SummaryRows, summary_rows

# Job kinds, executed within one transaction in this order so that, for example, a session
# inserted and closed in the same batch ends up closed.
_SESSION, _EVENTS, _CLOSE, _REFUSED, _SUMMARY, _READ = range(6)

_SQL = {
    _SESSION: "INSERT INTO sessions (id, sid, started_ms, start_ts, media_id, params, downloaded)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)",
    _EVENTS: "INSERT INTO events (session_id, seq, received_ms, body) VALUES (?, ?, ?, ?)",
    _CLOSE: "UPDATE sessions SET state = 'closed', close_reason = ?, closed_ms = ?"
    " WHERE id = ? AND state = 'open'",
    _REFUSED: "UPDATE sessions SET refused = refused + 1 WHERE id = ?",
}
_SUMMARY_SQL = (
    "INSERT OR REPLACE INTO session_summaries VALUES (" + ", ".join("?" * 29) + ")",
    "INSERT INTO ad_summaries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "INSERT INTO chapter_summaries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "INSERT INTO state_summaries VALUES (?, ?, ?, ?)",
)
_SUMMARY_CLEAR = tuple(
    f"DELETE FROM {table} WHERE session_id = ?"
    for table in ("ad_summaries", "chapter_summaries", "state_summaries")
)
_SESSION_COLUMNS = "id, sid, started_ms, start_ts, state, close_reason, closed_ms, refused"
_SESSION_COLUMNS_S = ", ".join("s." + c for c in _SESSION_COLUMNS.split(", "))

_encode = msgspec.json.Encoder().encode

# (kind, payload, own future): only reads have their own future, writes share their batch's
Job = tuple[int, Any, "asyncio.Future[Any] | None"]


class _Batch:
    """Jobs committed together, and the one future their writers await."""

    __slots__ = ("future", "jobs", "limited")

    def __init__(self, future: asyncio.Future[None]) -> None:
        self.future = future
        self.jobs: list[Job] = []
        self.limited = 0  # jobs that count against queue_size (sessions and events)


def connect(path: str, synchronous: str = "NORMAL") -> sqlite3.Connection:
    """Open a SQLite connection configured the way Playhead uses them (WAL, autocommit mode)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


class SQLiteStorage:
    """The embedded default store.

    Args:
        path: the database file, created (with its folder) if missing.
        queue_size: most jobs waiting for the writer; beyond it writes are refused (503).
        batch_size: most jobs committed in one transaction.
        synchronous: ``NORMAL`` (durable across process crashes) or ``FULL`` (power loss too).
    """

    def __init__(self, path: str, *, queue_size: int, batch_size: int, synchronous: str) -> None:
        self.path = path
        self._max_queued = queue_size
        self._batch_size = batch_size
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._sealed: deque[_Batch] = deque()
        self._open: _Batch | None = None
        self._queued = 0  # jobs not yet taken by the writer
        self._limited = 0  # of which sessions and events, bounded by queue_size
        self._stopping = False
        self._checkpoint_stop = threading.Event()
        self._checkpointer: threading.Thread | None = None
        self._synchronous = synchronous
        self._conn: sqlite3.Connection | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._next_id = 1

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Open the database, apply migrations and start the writer thread."""
        folder = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(folder, exist_ok=True)
        self._conn = connect(self.path, self._synchronous)
        migrate_sqlite(self._conn)
        row = self._conn.execute("SELECT COALESCE(MAX(id), 0) FROM sessions").fetchone()
        self._next_id = int(row[0]) + 1
        # Checkpoints (copying the WAL into the database, with an fsync) run on a thread of
        # their own, so a commit never waits for one: that kept tail latency down under load.
        self._conn.execute("PRAGMA wal_autocheckpoint=0")
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(
            target=self._run, name="playhead-sqlite-writer", daemon=True
        )
        self._thread.start()
        self._checkpointer = threading.Thread(
            target=self._checkpoint_loop, name="playhead-sqlite-checkpoint", daemon=True
        )
        self._checkpointer.start()

    async def stop(self) -> None:
        """Commit everything queued, then stop the writer and close the database."""
        if self._thread is None:
            return
        self._stopping = True
        self._wake.set()
        self._checkpoint_stop.set()
        await asyncio.to_thread(self._thread.join)
        if self._checkpointer is not None:
            await asyncio.to_thread(self._checkpointer.join)
        self._thread = None
        if self._conn is not None:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._conn.close()
            self._conn = None

    def _checkpoint_loop(self, interval: float = 1.0) -> None:
        """Checkpoint the WAL every ``interval`` seconds from a separate connection."""
        conn = connect(self.path, self._synchronous)
        try:
            while not self._checkpoint_stop.wait(interval):
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()

    def next_session_id(self) -> int:
        """A new internal session key (the writer is the only inserter, so a counter suffices)."""
        value = self._next_id
        self._next_id += 1
        return value

    def queue_depth(self) -> int:
        """Jobs submitted and not yet taken by the writer."""
        return self._queued

    # ------------------------------------------------------------------ writes
    def _submit(self, kind: int, payload: Any, force: bool = False) -> asyncio.Future[Any]:
        """Add a job to the open batch; returns the future that completes after its commit."""
        loop = self._loop
        assert loop is not None, "storage not started"
        own = loop.create_future() if kind == _READ else None
        with self._lock:
            if not force:
                if self._limited >= self._max_queued:
                    raise Overloaded()
                self._limited += 1
            batch = self._open
            if batch is None:
                batch = self._open = _Batch(loop.create_future())
            batch.jobs.append((kind, payload, own))
            batch.limited += not force
            self._queued += 1
            if len(batch.jobs) >= self._batch_size:
                self._sealed.append(batch)
                self._open = None
        if not self._wake.is_set():
            self._wake.set()
        return own if own is not None else batch.future

    def submit_session(
        self,
        session: NewSession,
        events: list[StoredEvent],
        close: tuple[str, int] | None = None,
    ) -> asyncio.Future[None]:
        """Store a new session row with its first events (and its close), all in one transaction."""
        rows = [(session.id, e.seq, e.received_ms, e.body) for e in events]
        closing = None if close is None else (close[0], close[1], session.id)
        return self._submit(_SESSION, (session, rows, closing))

    def submit_event(
        self, session_id: int, seq: int, received_ms: int, body: bytes
    ) -> asyncio.Future[None]:
        """Append one event to a session's log."""
        return self._submit(_EVENTS, (session_id, seq, received_ms, body))

    def submit_close(self, session_id: int, reason: str, closed_ms: int) -> asyncio.Future[None]:
        """Mark a session closed; a session already closed keeps its first reason."""
        return self._submit(_CLOSE, (reason, closed_ms, session_id), force=True)

    def submit_refused(self, session_id: int) -> asyncio.Future[None]:
        """Count one event refused with 410."""
        return self._submit(_REFUSED, (session_id,), force=True)

    def submit_summary(self, summary: Summary) -> asyncio.Future[None]:
        """Store or replace one session's report summary (flattened off the event loop)."""
        return self._submit(_SUMMARY, summary, force=True)

    # ------------------------------------------------------------------ reads
    def _read(self, fn: Callable[[sqlite3.Connection], Any]) -> asyncio.Future[Any]:
        return self._submit(_READ, fn, force=True)

    async def find_session(self, sid: str) -> SessionRow | None:
        """The stored session with this public id, or ``None``."""

        def query(conn: sqlite3.Connection) -> SessionRow | None:
            row = conn.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE sid = ?", (sid,)
            ).fetchone()
            return SessionRow(*row) if row else None

        result: SessionRow | None = await self._read(query)
        return result

    async def final_report(self, sid: str) -> tuple[SessionRow, bytes | None] | None:
        """A stored session, with its final report JSON when no refusal came after it."""

        def query(conn: sqlite3.Connection) -> tuple[SessionRow, bytes | None] | None:
            row = conn.execute(
                f"SELECT {_SESSION_COLUMNS_S}, ss.refused, ss.report FROM sessions s"
                " LEFT JOIN session_summaries ss ON ss.session_id = s.id AND ss.final = 1"
                " WHERE s.sid = ?",
                (sid,),
            ).fetchone()
            if row is None:
                return None
            session = SessionRow(*row[:8])
            current = session.state == "closed" and row[9] is not None and row[8] == session.refused
            return session, bytes(row[9]) if current else None

        result: tuple[SessionRow, bytes | None] | None = await self._read(query)
        return result

    async def session_events(self, session_id: int) -> list[StoredEvent]:
        """Every stored event of a session, in arrival order (sees every earlier write)."""

        def query(conn: sqlite3.Connection) -> list[StoredEvent]:
            return [
                StoredEvent(seq, received, bytes(body))
                for seq, received, body in conn.execute(
                    "SELECT seq, received_ms, body FROM events WHERE session_id = ? ORDER BY seq",
                    (session_id,),
                )
            ]

        result: list[StoredEvent] = await self._read(query)
        return result

    async def query(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run a read-only function on the writer's connection, after every earlier write."""
        return await self._read(fn)

    async def open_sessions(self) -> AsyncIterator[tuple[SessionRow, list[StoredEvent]]]:
        """Every open session with its events, streamed in session order.

        Reads on the calling thread: it runs once, at start-up, before any request is served.
        """
        assert self._conn is not None
        conn = self._conn
        rows = conn.execute(
            f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE state = 'open' ORDER BY id"
        ).fetchall()
        if not rows:
            return
        by_id = {row[0]: SessionRow(*row) for row in rows}
        current: int | None = None
        events: list[StoredEvent] = []
        cursor = conn.execute(
            "SELECT e.session_id, e.seq, e.received_ms, e.body FROM events e"
            " JOIN sessions s ON s.id = e.session_id WHERE s.state = 'open'"
            " ORDER BY e.session_id, e.seq"
        )
        for session_id, seq, received, body in cursor:
            if session_id != current:
                if current is not None:
                    yield by_id[current], events
                current, events = session_id, []
            events.append(StoredEvent(seq, received, bytes(body)))
        if current is not None:
            yield by_id[current], events

    # ------------------------------------------------------------------ writer thread
    def _take(self) -> _Batch | None:
        """The oldest batch waiting, or ``None``."""
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

    def _run(self) -> None:
        assert self._conn is not None and self._loop is not None
        conn, loop = self._conn, self._loop
        while True:
            self._wake.wait()
            # cleared before taking: a job added from now on sets it again
            self._wake.clear()
            while (batch := self._take()) is not None:
                error, reads = self._execute(conn, batch.jobs)
                loop.call_soon_threadsafe(_complete, batch.future, error, reads)
            if self._stopping and self._queued == 0:
                return

    def _execute(
        self, conn: sqlite3.Connection, jobs: list[Job]
    ) -> tuple[BaseException | None, list[tuple[asyncio.Future[Any], Any, Any]]]:
        """Run a batch in one transaction; returns the write error and each read's outcome."""
        by_kind: dict[int, list[Job]] = {}
        for job in jobs:
            by_kind.setdefault(job[0], []).append(job)
        error: BaseException | None = None
        try:
            conn.execute("BEGIN")
            for kind in (_SESSION, _EVENTS, _CLOSE, _REFUSED, _SUMMARY):
                group = by_kind.get(kind)
                if not group:
                    continue
                if kind == _SESSION:
                    conn.executemany(_SQL[kind], [_session_row(j[1][0]) for j in group])
                    conn.executemany(_SQL[_EVENTS], [r for j in group for r in j[1][1]])
                    closes = [j[1][2] for j in group if j[1][2] is not None]
                    if closes:
                        conn.executemany(_SQL[_CLOSE], closes)
                elif kind == _SUMMARY:
                    _write_summaries(conn, [summary_rows(j[1]) for j in group])
                else:
                    conn.executemany(_SQL[kind], [j[1] for j in group])
            conn.execute("COMMIT")
        except Exception as exc:  # pragma: no cover - disk full, I/O error
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            error = exc
        # reads run after the commit so they see every write queued before them
        reads: list[tuple[asyncio.Future[Any], Any, Any]] = []
        for _, fn, future in by_kind.get(_READ, ()):
            assert future is not None
            try:
                reads.append((future, fn(conn), None))
            except Exception as exc:  # pragma: no cover - defensive
                reads.append((future, None, exc))
        return error, reads


def _session_row(s: NewSession) -> tuple[Any, ...]:
    media_id = s.params.get("media.id")
    return (s.id, s.sid, s.started_ms, s.start_ts, media_id, _encode(s.params), int(s.downloaded))


def _write_summaries(conn: sqlite3.Connection, rows: list[SummaryRows]) -> None:
    """Replace the summary rows of each session (later summaries of one session win)."""
    keys = [(r.session_id,) for r in rows]
    for clear in _SUMMARY_CLEAR:
        conn.executemany(clear, keys)
    latest = {r.session_id: r for r in rows}.values()
    conn.executemany(_SUMMARY_SQL[0], [r.session for r in latest])
    conn.executemany(_SUMMARY_SQL[1], [a for r in latest for a in r.ads])
    conn.executemany(_SUMMARY_SQL[2], [c for r in latest for c in r.chapters])
    conn.executemany(_SUMMARY_SQL[3], [s for r in latest for s in r.states])


def _complete(
    future: asyncio.Future[None],
    error: BaseException | None,
    reads: list[tuple[asyncio.Future[Any], Any, Any]],
) -> None:
    """Complete a committed batch's future and its reads' futures (runs on the event loop)."""
    if not future.done():
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(None)
    for read, result, read_error in reads:
        if read.done():
            continue
        if read_error is not None:
            read.set_exception(read_error)
        else:
            read.set_result(result)
