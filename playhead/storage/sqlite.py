"""SQLite storage: one writer thread, WAL, group commit (:mod:`playhead.storage.batching`).

The writer thread takes each batch, runs it in one transaction, commits, and completes its
futures on the event loop with one call; reads queued with the batch run right after the commit
on the same connection, so they see every earlier write. WAL checkpoints run on a thread of
their own.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec

from playhead.storage import NewSession, SessionRow, StoredEvent, queries
from playhead.storage.batching import (
    CLOSE,
    EVENTS,
    READ,
    REFUSED,
    SESSION,
    SUMMARY,
    WRITE_ORDER,
    Batch,
    BatchedWrites,
)
from playhead.storage.migrate import migrate_sqlite
from playhead.storage.summaries import SummaryRows, summary_rows

_SQL = {
    SESSION: "INSERT INTO sessions (id, sid, started_ms, start_ts, media_id, params, downloaded)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)",
    EVENTS: "INSERT INTO events (session_id, seq, received_ms, body) VALUES (?, ?, ?, ?)",
    CLOSE: "UPDATE sessions SET state = 'closed', close_reason = ?, closed_ms = ?"
    " WHERE id = ? AND state = 'open'",
    REFUSED: "UPDATE sessions SET refused = refused + 1 WHERE id = ?",
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

_FIND_SESSION = queries.FIND_SESSION.format(p="?")
_FINAL_REPORT = queries.FINAL_REPORT.format(p="?")
_SESSION_EVENTS = queries.SESSION_EVENTS.format(p="?")
_encode = msgspec.json.Encoder().encode


def connect(path: str, synchronous: str = "NORMAL") -> sqlite3.Connection:
    """Open a SQLite connection configured the way Playhead uses them (WAL, autocommit mode)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


class SQLiteStorage(BatchedWrites):
    """The embedded default store.

    Args:
        path: the database file, created (with its folder) if missing.
        queue_size: most jobs waiting for the writer; beyond it writes are refused (503).
        batch_size: most jobs committed in one transaction.
        synchronous: ``NORMAL`` (durable across process crashes) or ``FULL`` (power loss too).
    """

    def __init__(self, path: str, *, queue_size: int, batch_size: int, synchronous: str) -> None:
        super().__init__(queue_size=queue_size, batch_size=batch_size, threaded=True)
        self.path = path
        self._wake = threading.Event()
        self._checkpoint_stop = threading.Event()
        self._checkpointer: threading.Thread | None = None
        self._synchronous = synchronous
        self._conn: sqlite3.Connection | None = None
        self._thread: threading.Thread | None = None

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

    def _notify(self) -> None:
        if not self._wake.is_set():
            self._wake.set()

    # ------------------------------------------------------------------ reads
    async def find_session(self, sid: str) -> SessionRow | None:
        """The stored session with this public id, or ``None``."""

        def query(conn: sqlite3.Connection) -> SessionRow | None:
            row = conn.execute(_FIND_SESSION, (sid,)).fetchone()
            return queries.session_row(row) if row else None

        result: SessionRow | None = await self._read(query)
        return result

    async def final_report(self, sid: str) -> tuple[SessionRow, bytes | None] | None:
        """A stored session, with its final report JSON when no refusal came after it."""

        def query(conn: sqlite3.Connection) -> tuple[SessionRow, bytes | None] | None:
            return queries.final_report(conn.execute(_FINAL_REPORT, (sid,)).fetchone())

        result: tuple[SessionRow, bytes | None] | None = await self._read(query)
        return result

    async def session_events(self, session_id: int) -> list[StoredEvent]:
        """Every stored event of a session, in arrival order (sees every earlier write)."""

        def query(conn: sqlite3.Connection) -> list[StoredEvent]:
            return [
                StoredEvent(seq, received, bytes(body))
                for seq, received, body in conn.execute(_SESSION_EVENTS, (session_id,))
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
        rows = conn.execute(queries.OPEN_SESSIONS).fetchall()
        if not rows:
            return
        by_id = {row[0]: queries.session_row(row) for row in rows}
        current: int | None = None
        events: list[StoredEvent] = []
        cursor = conn.execute(queries.OPEN_SESSION_EVENTS)
        for session_id, seq, received, body in cursor:
            if session_id != current:
                if current is not None:
                    yield by_id[current], events
                current, events = session_id, []
            events.append(StoredEvent(seq, received, bytes(body)))
        if current is not None:
            yield by_id[current], events

    # ------------------------------------------------------------------ writer thread
    def _run(self) -> None:
        assert self._conn is not None and self._loop is not None
        conn, loop = self._conn, self._loop
        while True:
            self._wake.wait()
            # cleared before taking: a job added from now on sets it again
            self._wake.clear()
            while (batch := self._take()) is not None:
                error, reads = self._execute(conn, batch)
                loop.call_soon_threadsafe(_complete, batch.future, error, reads)
            if self._stopping and self._queued == 0:
                return

    def _execute(
        self, conn: sqlite3.Connection, batch: Batch
    ) -> tuple[BaseException | None, list[tuple[asyncio.Future[Any], Any, Any]]]:
        """Run a batch in one transaction; returns the write error and each read's outcome."""
        by_kind = batch.by_kind()
        error: BaseException | None = None
        try:
            conn.execute("BEGIN")
            for kind in WRITE_ORDER:
                group = by_kind.get(kind)
                if not group:
                    continue
                if kind == SESSION:
                    conn.executemany(_SQL[kind], [_session_row(j[1][0]) for j in group])
                    conn.executemany(_SQL[EVENTS], [r for j in group for r in j[1][1]])
                    closes = [j[1][2] for j in group if j[1][2] is not None]
                    if closes:
                        conn.executemany(_SQL[CLOSE], closes)
                elif kind == SUMMARY:
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
        for _, fn, future in by_kind.get(READ, ()):
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
