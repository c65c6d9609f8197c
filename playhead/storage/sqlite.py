"""SQLite storage: one writer thread, WAL, group commit (:mod:`playhead.storage.batching`).

The writer thread takes each batch, runs it in one transaction, commits, and completes its
futures on the event loop with one call; reads queued with the batch run right after the commit
on the same connection, so they see every earlier write. WAL checkpoints run on a thread of
their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import msgspec

from playhead.errors import ConfigError
from playhead.storage import NewSession, SessionRow, StoredEvent, queries
from playhead.storage.batching import (
    CLOSE,
    EVENTS,
    NONE_FAILED,
    READ,
    REFUSED,
    SESSION,
    SUMMARY,
    WRITE_ORDER,
    Batch,
    BatchedWrites,
    Failed,
    Job,
    log,
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
_STALE_FINALS = queries.STALE_FINALS.format(p="?")
_encode = msgspec.json.Encoder().encode


def connect(path: str, synchronous: str = "NORMAL") -> sqlite3.Connection:
    """Open a SQLite connection configured the way Playhead uses them (WAL, autocommit mode)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


# WAL bounds (issue: passive checkpoints alone never reset a WAL that is written to all the
# time). Past _WAL_RESET_BYTES the writer completes a checkpoint itself between two batches, so
# the next transaction starts the WAL over; journal_size_limit truncates the file back.
_WAL_RESET_BYTES = 16 * 1024 * 1024
_JOURNAL_SIZE_LIMIT = 16 * 1024 * 1024
_CHECKPOINT_INTERVAL_S = 0.5
_WAL_IDLE, _WAL_WANTED, _WAL_RESTARTED = range(3)


class SQLiteStorage(BatchedWrites):
    """The embedded default store.

    Args:
        path: the database file, created if missing (its folder must exist).
        queue_size: most jobs waiting for the writer; beyond it writes are refused (503).
        batch_size: most jobs committed in one transaction.
        synchronous: ``NORMAL`` (durable across process crashes) or ``FULL`` (power loss too).
        timeout: seconds a batch may wait for its commit before its requests get 503.
    """

    def __init__(
        self,
        path: str,
        *,
        queue_size: int,
        batch_size: int,
        synchronous: str,
        timeout: float = 5.0,
    ) -> None:
        super().__init__(
            queue_size=queue_size, batch_size=batch_size, threaded=True, timeout=timeout
        )
        self.path = path
        self._wake = threading.Event()
        self._checkpoint_stop = threading.Event()
        self._checkpointer: threading.Thread | None = None
        self._synchronous = synchronous
        self._conn: sqlite3.Connection | None = None
        self._thread: threading.Thread | None = None
        self._identity: tuple[int, int] = (0, 0)
        # WAL restart: _WAL_IDLE; _WAL_WANTED (set by the checkpointer, which then pauses);
        # _WAL_RESTARTED (the writer checkpointed it all: its next commit starts it over)
        self._wal_state = _WAL_IDLE
        self._wal_checked = 0.0

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Open the database, apply migrations and start the writer thread."""
        folder = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(folder):
            raise ConfigError(f"the folder of the database file does not exist: {folder}")
        self._conn = connect(self.path, self._synchronous)
        migrate_sqlite(self._conn)
        st = os.stat(self.path)
        self._identity = (st.st_dev, st.st_ino)
        row = self._conn.execute("SELECT COALESCE(MAX(id), 0) FROM sessions").fetchone()
        self._next_id = int(row[0]) + 1
        # Checkpoints (copying the WAL into the database, with an fsync) run on a thread of
        # their own, so a commit never waits for one: that kept tail latency down under load.
        self._conn.execute("PRAGMA wal_autocheckpoint=0")
        self._conn.execute(f"PRAGMA journal_size_limit={_JOURNAL_SIZE_LIMIT}")
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
            try:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:  # the data is safe in the WAL; the next start replays it
                log.error("final SQLite checkpoint failed: %r", exc)
            self._conn.close()
            self._conn = None

    def wal_bytes(self) -> int:
        """The current size of the write-ahead log file (0 when there is none)."""
        try:
            return os.stat(self.path + "-wal").st_size
        except OSError:
            return 0

    def _checkpoint_loop(self) -> None:
        """Checkpoint the WAL often from a separate connection; survive every error.

        A failure (disk full, I/O error) is logged and retried at the next tick, on a new
        connection if the old one broke, so checkpoints resume when the cause goes away.
        """
        conn: sqlite3.Connection | None = None
        failing = False
        while not self._checkpoint_stop.wait(_CHECKPOINT_INTERVAL_S):
            try:
                if conn is None:
                    conn = connect(self.path, self._synchronous)
                self._file_problem()
                # while a restart is under way the checkpointer keeps away: a checkpoint
                # running at the writer's next commit would stop that commit restarting it
                if self._wal_state == _WAL_IDLE:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    if self.wal_bytes() > _WAL_RESET_BYTES:
                        self._wal_state = _WAL_WANTED
                if failing:
                    log.warning("SQLite checkpoints work again")
                    failing = False
            except Exception as exc:
                if not failing:
                    log.error("SQLite checkpoint failed (retrying every %g s): %r",
                              _CHECKPOINT_INTERVAL_S, exc)  # fmt: skip
                    failing = True
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.close()
                    conn = None
        if conn is not None:
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

    async def stale_final_summaries(
        self, window_ms: int
    ) -> AsyncIterator[tuple[SessionRow, list[StoredEvent]]]:
        """Recently closed sessions whose final summary is missing or stale, with their events.

        Reads on the calling thread: it runs once, at start-up, before any request is served.
        """
        assert self._conn is not None
        conn = self._conn
        latest = conn.execute(queries.LATEST_RECEIVED).fetchone()
        if latest is None:
            return
        for row in conn.execute(_STALE_FINALS, (latest[0] - window_ms,)).fetchall():
            events = [
                StoredEvent(seq, received, bytes(body))
                for seq, received, body in conn.execute(_SESSION_EVENTS, (row[0],))
            ]
            if events:
                yield queries.session_row(row), events

    # ------------------------------------------------------------------ writer thread
    def _run(self) -> None:
        assert self._conn is not None and self._loop is not None
        conn, loop = self._conn, self._loop
        while True:
            self._wake.wait()
            # cleared before taking: a job added from now on sets it again
            self._wake.clear()
            while (batch := self._take()) is not None:
                self._execute(conn, loop, batch)
            if self._stopping and self._queued == 0:
                return

    def _execute(
        self, conn: sqlite3.Connection, loop: asyncio.AbstractEventLoop, batch: Batch
    ) -> None:
        """Commit a batch's writes, answer them, then write its summaries and run its reads."""
        by_kind = batch.by_kind()
        failed = NONE_FAILED
        if any(kind in by_kind for kind in WRITE_ORDER):
            failed = self._commit_writes(conn, by_kind)
            loop.call_soon_threadsafe(self._settle_writes, batch, failed)
            if self._wal_state == _WAL_RESTARTED:
                self._wal_state = _WAL_IDLE  # that commit wrote the WAL from its start
            elif self._wal_state == _WAL_WANTED or self._wal_too_big():
                self._restart_wal(conn)
        else:
            loop.call_soon_threadsafe(self._settle_writes, batch, NONE_FAILED)
        summaries = by_kind.get(SUMMARY)
        if summaries:
            failed = failed | self._commit_summaries(conn, summaries)
        reads: list[tuple[asyncio.Future[Any], Any, Any]] = []
        for _, (_, fn, future, _) in by_kind.get(READ, ()):
            assert future is not None
            try:
                reads.append((future, fn(conn), None))
            except Exception as exc:
                reads.append((future, None, exc))
        if reads or failed:
            loop.call_soon_threadsafe(self._settle_rest, batch, failed, reads)

    def _commit_writes(
        self, conn: sqlite3.Connection, by_kind: dict[int, list[tuple[int, Job]]]
    ) -> Failed:
        """Write sessions, events, closes and refusals in one transaction; on a failure caused
        by one job's data, again job by job so that only that job fails."""
        positions = [p for kind in WRITE_ORDER for p, _ in by_kind.get(kind, ())]
        problem = self._file_problem()
        if problem is not None:
            self._log_failure(f"SQLite write of {len(positions)} jobs refused: {problem}")
            return frozenset(positions)
        try:
            with _transaction(conn):
                for kind in WRITE_ORDER:
                    group = by_kind.get(kind)
                    if group:
                        _write_group(conn, kind, [job for _, job in group])
            return NONE_FAILED
        except sqlite3.OperationalError as exc:  # disk full, I/O error, locked: the store's trouble
            self._log_failure(f"SQLite commit of {len(positions)} jobs failed", exc)
            return frozenset(positions)
        except Exception as exc:
            self._log_failure(f"SQLite commit of {len(positions)} jobs failed; isolating", exc)
        failed: set[int] = set()
        jobs = sorted((p, job) for kind in WRITE_ORDER for p, job in by_kind.get(kind, ()))
        for position, job in jobs:
            try:
                with _transaction(conn):
                    _write_group(conn, job[0], [job])
            except Exception as exc:
                failed.add(position)
                log.warning("SQLite write job %d (kind %d) refused: %r", position, job[0], exc)
        return frozenset(failed)

    def _commit_summaries(self, conn: sqlite3.Connection, group: list[tuple[int, Job]]) -> Failed:
        """Write summaries in their own transaction (one by one if that fails)."""
        try:
            with _transaction(conn):
                _write_summaries(conn, [summary_rows(job[1]) for _, job in group])
            return NONE_FAILED
        except Exception as exc:
            self._log_failure(f"SQLite write of {len(group)} summaries failed", exc)
        failed: set[int] = set()
        for position, job in group:
            try:
                with _transaction(conn):
                    _write_summaries(conn, [summary_rows(job[1])])
            except Exception:
                failed.add(position)
        return frozenset(failed)

    def _wal_too_big(self) -> bool:
        """Whether the WAL passed its bound (looked at no more than every 50 ms; writer)."""
        now = time.monotonic()
        if now - self._wal_checked < 0.05:
            return False
        self._wal_checked = now
        return self.wal_bytes() > _WAL_RESET_BYTES

    def _restart_wal(self, conn: sqlite3.Connection) -> None:
        """Checkpoint the rest of the WAL and have the next write start it over (writer thread).

        The checkpointer has just copied nearly every frame, so this is short; as this thread
        is the only writer, nothing can append meanwhile, which is what passive checkpoints
        running beside the writes could never guarantee. journal_size_limit then truncates it.
        """
        try:
            conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            self._wal_state = _WAL_RESTARTED
        except sqlite3.Error as exc:
            self._wal_state = _WAL_IDLE
            self._log_failure("SQLite WAL restart failed", exc)

    def _file_problem(self) -> str | None:
        """Why the database file cannot be trusted with writes (deleted, replaced), or None."""
        try:
            st = os.stat(self.path)
        except OSError:
            self._unavailable = f"the database file {self.path} is gone"
            return self._unavailable
        if (st.st_dev, st.st_ino) != self._identity:
            self._unavailable = f"the database file {self.path} was replaced"
            return self._unavailable
        return None


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN … COMMIT, rolled back if anything fails (autocommit connections)."""
    conn.execute("BEGIN")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise


def _write_group(conn: sqlite3.Connection, kind: int, jobs: list[Job]) -> None:
    """Run the write jobs of one kind."""
    if kind == SESSION:
        conn.executemany(_SQL[kind], [_session_row(j[1][0]) for j in jobs])
        conn.executemany(_SQL[EVENTS], [r for j in jobs for r in j[1][1]])
        closes = [j[1][2] for j in jobs if j[1][2] is not None]
        if closes:
            conn.executemany(_SQL[CLOSE], closes)
    else:
        conn.executemany(_SQL[kind], [j[1] for j in jobs])


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
