"""SQLite storage: one writer thread, WAL, group commit, read connections of their own.

The writer thread takes each batch (:mod:`playhead.storage.batching`), runs its writes in one
transaction, commits, and completes their futures on the event loop with one call; summaries
follow in a transaction of their own. Reads run on a small pool of read-only connections, each
on a thread of its own, so a report never waits behind the write queue (WAL readers see every
committed transaction). WAL checkpoints run on a thread of their own too.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import msgspec

from playhead.errors import ConfigError, StorageUnavailable
from playhead.events import viewer_key
from playhead.storage import deletion, dialect
from playhead.storage.base import NewSession, Query, rows_of
from playhead.storage.batching import (
    NONE_FAILED,
    Batch,
    BatchedWrites,
    Failed,
    Groups,
    log,
    write_positions,
)
from playhead.storage.jobs import (
    WRITE_ORDER,
    CallJob,
    CloseJob,
    EventJob,
    Job,
    RefusedJob,
    SessionJob,
    SummaryJob,
)
from playhead.storage.migrate import migrate_sqlite
from playhead.storage.schema import SummaryRows, summary_rows

T = TypeVar("T")
_encode = msgspec.json.Encoder().encode

# WAL bounds (passive checkpoints alone never reset a WAL that is written to all the time).
# Past _WAL_RESET_BYTES the writer completes a checkpoint itself between two batches, so the
# next transaction starts the WAL over; journal_size_limit keeps the file from growing past
# that. Measured at about 10,000 events/s (27 MB/s of WAL: each event rewrites an index page):
# with the checkpointer every 0.1 s a restart stalls the writer 5-15 ms, every 1.5 s or so;
# every 0.5 s with a 16 MiB bound it was 11-50 ms every 0.6 s, and unbounded, commits took
# up to 1.6 s once the WAL was large.
_WAL_RESET_BYTES = 40 * 1024 * 1024
_JOURNAL_SIZE_LIMIT = _WAL_RESET_BYTES
_CHECKPOINT_INTERVAL_S = 0.1
_WAL_IDLE, _WAL_WANTED, _WAL_RESTARTED = range(3)
# A WAL restart that found a reader still in the WAL is tried again this long after.
_WAL_RETRY_S = 0.05
_BUSY_TIMEOUT_MS = 5000
_READERS = 2
_RESERVE = "UPDATE id_blocks SET next = next + ? WHERE name = 'sessions' RETURNING next - ?"


def connect(path: str, synchronous: str = "NORMAL", *, create: bool = True) -> sqlite3.Connection:
    """Open a SQLite connection configured the way Playhead uses them (WAL, autocommit mode);
    with ``create=False`` a missing file is an error rather than a new empty database."""
    if create:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    else:
        uri = "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=rw"
        conn = sqlite3.connect(uri, isolation_level=None, check_same_thread=False, uri=True)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
    return conn


class SQLiteStorage(BatchedWrites):
    """The embedded default store.

    Args:
        path: the database file, created if missing (its folder must exist).
        queue_size: most jobs waiting for the writer; beyond it writes are refused (503).
        batch_size: most jobs committed in one transaction.
        synchronous: ``NORMAL`` (durable across process crashes) or ``FULL`` (power loss too).
        timeout: seconds a write or a read may take before its request gets 503.
    """

    # which SQL the report queries speak here (playhead.reports.sql)
    dialect = "sqlite"

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
        self._wal_retry_at = 0.0  # time.monotonic() before which no restart is tried
        # held by the checkpointer for each of its checkpoints, and by the writer from a WAL
        # restart until the commit after it (a checkpoint running at that commit would keep
        # it from starting the WAL over)
        self._wal_lock = threading.Lock()
        self._readers: ThreadPoolExecutor | None = None
        self._reader_local = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Open the database, apply migrations and start the writer thread and readers."""
        folder = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(folder):
            raise ConfigError(f"the folder of the database file does not exist: {folder}")
        self._conn = connect(self.path, self._synchronous)
        migrate_sqlite(self._conn)
        st = os.stat(self.path)
        self._identity = (st.st_dev, st.st_ino)
        # Checkpoints (copying the WAL into the database, with an fsync) run on a thread of
        # their own, so a commit never waits for one: that kept tail latency down under load.
        self._conn.execute("PRAGMA wal_autocheckpoint=0")
        self._conn.execute(f"PRAGMA journal_size_limit={_JOURNAL_SIZE_LIMIT}")
        self._loop = asyncio.get_running_loop()
        self._readers = ThreadPoolExecutor(_READERS, thread_name_prefix="playhead-sqlite-read")
        self._thread = threading.Thread(
            target=self._run, name="playhead-sqlite-writer", daemon=True
        )
        self._thread.start()
        self._checkpointer = threading.Thread(
            target=self._checkpoint_loop, name="playhead-sqlite-checkpoint", daemon=True
        )
        self._checkpointer.start()

    async def start_reading(self) -> None:
        """Open the read connections only (another process writes; nothing is migrated)."""
        if not os.path.exists(self.path):
            raise ConfigError(f"no database at {self.path!r}")
        self._loop = asyncio.get_running_loop()
        self._readers = ThreadPoolExecutor(_READERS, thread_name_prefix="playhead-sqlite-read")

    async def stop(self) -> None:
        """Commit everything queued, then stop the writer and close the database."""
        if self._thread is None:
            self._close_readers()  # started for reading only (or not at all)
            return
        self._stopping = True
        self._wake.set()
        self._checkpoint_stop.set()
        await asyncio.to_thread(self._thread.join)
        if self._checkpointer is not None:
            await asyncio.to_thread(self._checkpointer.join)
        self._thread = None
        self._close_readers()
        if self._conn is not None:
            try:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:  # the data is safe in the WAL; the next start replays it
                log.error("final SQLite checkpoint failed: %r", exc)
            self._conn.close()
            self._conn = None

    def _close_readers(self) -> None:
        if self._readers is not None:
            self._readers.shutdown(wait=True)
            self._readers = None
        for conn in self._reader_conns:
            conn.close()
        self._reader_conns.clear()

    def wal_bytes(self) -> int:
        """The current size of the write-ahead log file (0 when there is none)."""
        try:
            return os.stat(self.path + "-wal").st_size
        except OSError:
            return 0

    def _notify(self) -> None:
        if not self._wake.is_set():
            self._wake.set()

    # ------------------------------------------------------------------ ids, flush
    async def reserve_ids(self, count: int) -> range:
        """Reserve ``count`` session keys in the database (committed before they are used)."""

        def reserve(conn: sqlite3.Connection) -> int:
            with _transaction(conn):
                row = conn.execute(_RESERVE, (count, count)).fetchone()
            return int(row[0])

        first: int = await self._call(reserve)
        return range(first, first + count)

    async def flush(self) -> None:
        """Wait until every write submitted so far (summaries too) is committed."""
        await self._call(_nothing)

    # ------------------------------------------------------------------ deletion
    async def purge_events(self, session_ids: Sequence[int]) -> int:
        """Delete the raw events of these (closed, summarized) sessions, marking them so;
        returns how many events went."""

        def purge(conn: sqlite3.Connection) -> int:
            marks = ", ".join("?" * len(session_ids))
            with _transaction(conn):
                cursor = conn.execute(
                    f"DELETE FROM events WHERE session_id IN ({marks})", session_ids
                )
                conn.execute(
                    f"UPDATE sessions SET events_purged = 1 WHERE id IN ({marks})", session_ids
                )
            return cursor.rowcount

        if not session_ids:
            return 0
        purged: int = await self._call(purge)
        return purged

    async def delete_sessions(self, session_ids: Sequence[int]) -> tuple[int, int]:
        """Delete these sessions from every table; returns (sessions, events) deleted."""

        def delete(conn: sqlite3.Connection) -> tuple[int, int]:
            tables = [row[0] for row in conn.execute(deletion.SQLITE_SESSION_TABLES)]
            marks = ", ".join("?" * len(session_ids))
            events = 0
            with _transaction(conn):
                for table in deletion.child_tables(tables):
                    cursor = conn.execute(
                        f'DELETE FROM "{table}" WHERE session_id IN ({marks})', session_ids
                    )
                    if table == "events":
                        events = cursor.rowcount
                cursor = conn.execute(f"DELETE FROM sessions WHERE id IN ({marks})", session_ids)
            return cursor.rowcount, events

        if not session_ids:
            return 0, 0
        deleted: tuple[int, int] = await self._call(delete)
        return deleted

    # ------------------------------------------------------------------ reads
    async def read(self, query: Query[T]) -> T:
        """Run a read on one of the read connections (never behind the write queue)."""
        assert self._readers is not None and self._loop is not None, "storage not started"
        future = self._loop.run_in_executor(self._readers, self._run_read, query)
        try:
            return await asyncio.wait_for(future, self._timeout)
        except TimeoutError:
            raise StorageUnavailable() from None
        except sqlite3.Error as exc:
            self._log_failure("SQLite read failed", exc)
            raise StorageUnavailable() from None

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._reader_local, "conn", None)
        if conn is None:
            # never create the file: a reader opened after it vanished must fail, not hide it
            conn = connect(self.path, self._synchronous, create=False)
            conn.execute("PRAGMA query_only=ON")
            self._reader_local.conn = conn
            self._reader_conns.append(conn)
        return conn

    def _run_read(self, query: Query[T]) -> T:
        return query.shape(self._reader().execute(query.sql, query.args).fetchall())

    def scan(self, query: Query[Any], chunk: int = 2000) -> AsyncIterator[Sequence[Any]]:
        """Every row of ``query``, ``chunk`` rows at a time, from one read snapshot."""
        return rows_of(self.scan_chunks(query, chunk))

    async def scan_chunks(
        self, query: Query[Any], chunk: int = 2000
    ) -> AsyncGenerator[Sequence[Sequence[Any]], None]:
        """The rows of ``query`` in lists of up to ``chunk``, from one read snapshot; the next
        list is fetched (on a thread) while the caller works on this one."""
        assert self._loop is not None, "storage not started"
        conn = connect(self.path, self._synchronous, create=False)
        fetch: asyncio.Future[list[Any]] | None = None
        try:
            cursor = await asyncio.to_thread(conn.execute, query.sql, query.args)
            fetch = asyncio.ensure_future(asyncio.to_thread(cursor.fetchmany, chunk))
            while rows := await fetch:
                fetch = asyncio.ensure_future(asyncio.to_thread(cursor.fetchmany, chunk))
                yield rows
        finally:
            if fetch is not None:
                # a reader that stopped early: the thread may still be using the connection
                await asyncio.wait([fetch])
                if not fetch.cancelled():
                    fetch.exception()  # taken, so that a failed fetch ahead is not logged
            conn.close()

    # ------------------------------------------------------------------ writer thread
    def _run(self) -> None:
        assert self._conn is not None and self._loop is not None
        conn, loop = self._conn, self._loop
        while True:
            self._wake.wait()
            # cleared before taking: a job added from now on sets it again
            self._wake.clear()
            while (batch := self._take()) is not None:
                try:
                    self._execute(conn, loop, batch)
                except Exception:  # a bug: fail the batch, never the writer
                    log.exception("SQLite writer failed on a batch of %d jobs", len(batch.jobs))
                    loop.call_soon_threadsafe(self._fail_batch, batch)
            if self._stopping and self._queued == 0:
                return

    def _execute(
        self, conn: sqlite3.Connection, loop: asyncio.AbstractEventLoop, batch: Batch
    ) -> None:
        """Commit a batch's writes, answer them, then write its summaries and run its calls."""
        groups = batch.groups()
        failed = NONE_FAILED
        if any(kind in groups for kind in WRITE_ORDER):
            began = time.perf_counter()
            failed = self._commit_writes(conn, groups, batch.jobs)
            self.write_seconds.observe(time.perf_counter() - began)
            loop.call_soon_threadsafe(self._settle_writes, batch, failed)
            if self._wal_state == _WAL_RESTARTED:
                self._wal_state = _WAL_IDLE  # that commit wrote the WAL from its start
                self._wal_lock.release()
            elif (
                self._wal_state == _WAL_WANTED or self._wal_too_big()
            ) and time.monotonic() >= self._wal_retry_at:
                self._restart_wal(conn)
        else:
            loop.call_soon_threadsafe(self._settle_writes, batch, NONE_FAILED)
        summaries = groups.get(SummaryJob)
        if summaries:
            failed = failed | self._commit_summaries(conn, summaries)
        calls: list[tuple[asyncio.Future[Any], Any, Any]] = []
        for _, job in groups.get(CallJob, ()):
            assert isinstance(job, CallJob)
            try:
                calls.append((job.future, job.fn(conn), None))
            except Exception as exc:
                calls.append((job.future, None, exc))
        if calls or failed:
            loop.call_soon_threadsafe(self._settle_rest, batch, failed, calls)

    def _commit_writes(self, conn: sqlite3.Connection, groups: Groups, jobs: list[Job]) -> Failed:
        """Write sessions, events, closes and refusals in one transaction; on a failure caused
        by one job's data, again job by job so that only that job fails."""
        positions = write_positions(groups)
        problem = self._file_problem()
        if problem is not None:
            self._log_failure(f"SQLite write of {len(positions)} jobs refused: {problem}")
            return frozenset(positions)
        try:
            with _transaction(conn):
                for kind in WRITE_ORDER:
                    group = groups.get(kind)
                    if group:
                        _write_group(conn, kind, [job for _, job in group])
            return NONE_FAILED
        except sqlite3.OperationalError as exc:  # disk full, I/O error, locked: the store's trouble
            self._log_failure(f"SQLite commit of {len(positions)} jobs failed", exc)
            return frozenset(positions)
        except Exception as exc:
            self._log_failure(f"SQLite commit of {len(positions)} jobs failed; isolating", exc)
        failed: set[int] = set()
        for position in sorted(positions):
            job = jobs[position]
            try:
                with _transaction(conn):
                    _write_group(conn, type(job), [job])
            except Exception as exc:
                failed.add(position)
                log.warning(
                    "SQLite write job %d (%s) refused: %r", position, type(job).__name__, exc
                )
        return frozenset(failed)

    def _commit_summaries(self, conn: sqlite3.Connection, group: list[tuple[int, Job]]) -> Failed:
        """Write summaries in their own transaction (one by one if that fails)."""
        try:
            with _transaction(conn):
                _write_summaries(conn, [_summary_rows(job) for _, job in group])
            return NONE_FAILED
        except Exception as exc:
            self._log_failure(f"SQLite write of {len(group)} summaries failed", exc)
        failed: set[int] = set()
        for position, job in group:
            try:
                with _transaction(conn):
                    _write_summaries(conn, [_summary_rows(job)])
            except Exception:
                failed.add(position)
        return frozenset(failed)

    # ------------------------------------------------------------------ WAL and the file
    def _wal_too_big(self) -> bool:
        """Whether the WAL passed its bound (after every commit: one stat, about a µs)."""
        return self.wal_bytes() > _WAL_RESET_BYTES

    def _restart_wal(self, conn: sqlite3.Connection) -> None:
        """Checkpoint the rest of the WAL and have the next write start it over (writer thread).

        The checkpointer has just copied nearly every frame, so this is short; as this thread
        is the only writer, nothing can append meanwhile, which is what passive checkpoints
        running beside the writes could never guarantee. journal_size_limit then truncates it.

        A reader in the middle of a long query (a report over many sessions) still uses the
        WAL; rather than wait for it (the busy timeout, seconds, during which no write
        commits), the restart gives up at once and is tried again after a later commit.
        """
        self._wal_lock.acquire()  # waits for a checkpoint under way (short)
        try:
            conn.execute("PRAGMA busy_timeout=0")
            try:
                busy = conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()[0]
            finally:
                conn.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        except sqlite3.Error as exc:
            busy = 1
            self._log_failure("SQLite WAL restart failed", exc)
        if busy:
            self._wal_state = _WAL_IDLE
            self._wal_retry_at = time.monotonic() + _WAL_RETRY_S
            self._wal_lock.release()
        else:
            self._wal_state = _WAL_RESTARTED  # the lock stays held until the next commit

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
                    conn = connect(self.path, self._synchronous, create=False)
                self._file_problem()
                # while a restart is under way the checkpointer keeps away: a checkpoint
                # running at the writer's next commit would stop that commit restarting it
                if self._wal_lock.acquire(timeout=_CHECKPOINT_INTERVAL_S):
                    try:
                        if self._wal_state == _WAL_IDLE:
                            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                            if self.wal_bytes() > _WAL_RESET_BYTES:
                                self._wal_state = _WAL_WANTED
                    finally:
                        self._wal_lock.release()
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

    def problem(self) -> str | None:
        """Why the store cannot take writes right now (its file looked at afresh), or None."""
        if self._thread is not None:
            self._file_problem()
        return self._unavailable

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


def _nothing(conn: sqlite3.Connection) -> None:
    """A call that does nothing: awaiting it waits for every earlier write."""


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


def _write_group(conn: sqlite3.Connection, kind: type, jobs: list[Job]) -> None:
    """Run the write jobs of one type."""
    if kind is SessionJob:
        sessions = [job for job in jobs if isinstance(job, SessionJob)]
        conn.executemany(dialect.INSERT_SESSION, [_session_row(job.session) for job in sessions])
        conn.executemany(dialect.INSERT_EVENT, [e for job in sessions for e in job.events])
        closes = [job.close for job in sessions if job.close is not None]
        if closes:
            conn.executemany(dialect.CLOSE, closes)
    elif kind is EventJob:
        conn.executemany(dialect.INSERT_EVENT, jobs)
    elif kind is CloseJob:
        conn.executemany(dialect.CLOSE, jobs)
    elif kind is RefusedJob:
        conn.executemany(dialect.REFUSED, jobs)


def _session_row(s: NewSession) -> tuple[Any, ...]:
    media_id = s.params.get("media.id")
    return (s.id, s.sid, s.started_ms, s.start_ts, media_id, _encode(s.params).decode(),
            int(s.downloaded), _encode(s.context).decode(), viewer_key(s.params),
            s.client_network)  # fmt: skip


def _summary_rows(job: Job) -> SummaryRows:
    assert isinstance(job, SummaryJob)
    return summary_rows(job.summary)


def _write_summaries(conn: sqlite3.Connection, rows: list[SummaryRows]) -> None:
    """Replace the summary rows of each session (later summaries of one session win)."""
    keys = [(r.session_id,) for r in rows]
    for clear in dialect.CLEAR_ITEMS:
        conn.executemany(clear, keys)
    latest = {r.session_id: r for r in rows}.values()
    conn.executemany(dialect.UPSERT_SUMMARY, [r.session for r in latest])
    conn.executemany(dialect.UPSERT_FACTS, [r.facts for r in latest])
    for i, insert in enumerate(dialect.INSERT_ITEMS):
        items = [item for r in latest for item in r.items[i]]
        if items:
            conn.executemany(insert, items)
