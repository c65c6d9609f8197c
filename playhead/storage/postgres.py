"""PostgreSQL storage: asyncpg, one writer task, group commit, bounded queue.

The group commit of :mod:`playhead.storage.batching`, on the event loop instead of a thread: a
background task takes a whole batch, writes it in one transaction with ``executemany``/``COPY``,
commits, and only then completes the batch's future. Reads queued with the batch run right after
its commit (concurrently, on other pooled connections when there are several) and before the
next batch is written, so they see exactly the writes submitted before them.

Assumption: this process is the only writer of the database (like the SQLite backend). Session
ids are reserved in memory from ``MAX(id)`` read at :meth:`PostgresStorage.start`; two servers
sharing one database would hand out the same ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import msgspec

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
)
from playhead.storage.migrate import migrate_postgres
from playhead.storage.summaries import SummaryRows, summary_rows

log = logging.getLogger(__name__)

_EVENT_COLUMNS = ("session_id", "seq", "received_ms", "body")
_SQL = {
    SESSION: "INSERT INTO sessions (id, sid, started_ms, start_ts, media_id, params, downloaded)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7)",
    EVENTS: "INSERT INTO events (session_id, seq, received_ms, body) VALUES ($1, $2, $3, $4)",
    CLOSE: "UPDATE sessions SET state = 'closed', close_reason = $1, closed_ms = $2"
    " WHERE id = $3 AND state = 'open'",
    REFUSED: "UPDATE sessions SET refused = refused + 1 WHERE id = $1",
}
_SUMMARY_COLUMNS = (
    "session_id",
    "final",
    "updated_ms",
    "first_event_ts",
    "last_event_ts",
    "media_id",
    "content_type",
    "is_played",
    "is_completed",
    "is_downloaded",
    "has_resume",
    "time_played",
    "total_time_played",
    "unique_time_played",
    "pause_count",
    "pause_time",
    "ad_count",
    "chapter_count",
    "time_to_start",
    "bitrate_average",
    "buffer_count",
    "buffer_time",
    "stall_count",
    "stall_time",
    "error_count",
    "dropped_frames",
    "is_dropped_before_start",
    "report",
    "last_seq",
)
_SUMMARY_SQL = (
    f"INSERT INTO session_summaries ({', '.join(_SUMMARY_COLUMNS)}) VALUES ("
    + ", ".join(f"${i}" for i in range(1, len(_SUMMARY_COLUMNS) + 1))
    + ") ON CONFLICT (session_id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in _SUMMARY_COLUMNS[1:]),
    "INSERT INTO ad_summaries VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    "INSERT INTO chapter_summaries VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    "INSERT INTO state_summaries VALUES ($1, $2, $3, $4)",
)
_SUMMARY_CLEAR = tuple(
    f"DELETE FROM {table} WHERE session_id = ANY($1::bigint[])"
    for table in ("ad_summaries", "chapter_summaries", "state_summaries")
)
# positions of TEXT columns whose report values are free-form JSON (``Any``): stored as text
_SESSION_TEXT = (5, 6)  # media_id, content_type
_AD_TEXT = (4, 5)  # ad_id, name
_CHAPTER_TEXT = (5,)  # friendly_name

# Events of all but the smallest batches go through COPY: measured ~1.2x (20 rows) to ~1.7x
# (10,000 rows) faster than a pipelined executemany INSERT.
_COPY_MIN_ROWS = 16

_FIND_SESSION = queries.FIND_SESSION.format(p="$1")
_FINAL_REPORT = queries.FINAL_REPORT.format(p="$1")
_SESSION_EVENTS = queries.SESSION_EVENTS.format(p="$1")
_STALE_FINALS = queries.STALE_FINALS.format(p="$1")
_encode = msgspec.json.Encoder().encode

Reader = Callable[[Any], Awaitable[Any]]


class PostgresStorage(BatchedWrites):
    """The networked store, on PostgreSQL through asyncpg.

    Args:
        url: a ``postgres://`` or ``postgresql://`` DSN (libpq URI syntax, as asyncpg takes it).
        queue_size: most session/event jobs waiting for the writer; beyond it writes are refused.
        batch_size: most jobs committed in one transaction.
        schema: if given, the ``search_path`` of every connection (tables live in that schema,
            which must exist); otherwise the server's default search path.
        pool_size: most connections: one for the writer, the others for reads.
        timeout: seconds a batch may wait for its commit before its requests get 503;
            statements that hang far longer (a lock held, a dead peer) are cancelled.
    """

    def __init__(
        self,
        url: str,
        *,
        queue_size: int,
        batch_size: int,
        schema: str | None = None,
        pool_size: int = 4,
        timeout: float = 5.0,
    ) -> None:
        super().__init__(
            queue_size=queue_size, batch_size=batch_size, threaded=False, timeout=timeout
        )
        self.url = url
        self.schema = schema
        self._pool_size = max(2, pool_size)
        self._wake = asyncio.Event()
        self._pool: Any = None
        self._conn: Any = None  # the writer's connection, held for its lifetime
        self._task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Connect, apply migrations, reserve session ids and start the writer task."""
        settings = {"search_path": self.schema} if self.schema else None
        self._pool = await asyncpg.create_pool(
            self.url,
            min_size=1,
            max_size=self._pool_size,
            server_settings=settings,
            command_timeout=max(30.0, 6 * self._timeout),
        )
        try:
            self._conn = await self._pool.acquire()
            await migrate_postgres(self._conn)
            self._next_id = (
                int(await self._conn.fetchval("SELECT COALESCE(MAX(id), 0) FROM sessions")) + 1
            )
        except BaseException:
            await self._pool.close()
            self._pool = self._conn = None
            raise
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="playhead-postgres-writer")

    async def stop(self) -> None:
        """Commit everything queued, then stop the writer and close the pool."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await self._task
        finally:
            self._task = None
            if self._conn is not None:
                with contextlib.suppress(Exception):  # a lost connection is already back
                    await self._pool.release(self._conn)
                self._conn = None
            await self._pool.close()
            self._pool = None

    def _notify(self) -> None:
        self._wake.set()

    # ------------------------------------------------------------------ reads
    async def find_session(self, sid: str) -> SessionRow | None:
        """The stored session with this public id, or ``None``."""

        async def query(conn: Any) -> SessionRow | None:
            row = await conn.fetchrow(_FIND_SESSION, sid)
            return queries.session_row(row) if row else None

        result: SessionRow | None = await self._read(query)
        return result

    async def final_report(self, sid: str) -> tuple[SessionRow, bytes | None] | None:
        """A stored session, with its final report JSON when no refusal came after it."""

        async def query(conn: Any) -> tuple[SessionRow, bytes | None] | None:
            return queries.final_report(await conn.fetchrow(_FINAL_REPORT, sid))

        result: tuple[SessionRow, bytes | None] | None = await self._read(query)
        return result

    async def session_events(self, session_id: int) -> list[StoredEvent]:
        """Every stored event of a session, in arrival order (sees every earlier write)."""

        async def query(conn: Any) -> list[StoredEvent]:
            rows = await conn.fetch(_SESSION_EVENTS, session_id)
            return [StoredEvent(seq, received, bytes(body)) for seq, received, body in rows]

        result: list[StoredEvent] = await self._read(query)
        return result

    async def query(self, fn: Reader) -> Any:
        """Run an async read-only function on a connection, after every earlier write commits."""
        return await self._read(fn)

    async def open_sessions(self) -> AsyncIterator[tuple[SessionRow, list[StoredEvent]]]:
        """Every open session with its events, streamed in session order (after earlier writes)."""
        await self._read(_nothing)
        async with self._pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
            rows = await conn.fetch(queries.OPEN_SESSIONS)
            if not rows:
                return
            by_id = {row[0]: queries.session_row(row) for row in rows}
            current: int | None = None
            events: list[StoredEvent] = []
            cursor = conn.cursor(queries.OPEN_SESSION_EVENTS, prefetch=2000)
            async for session_id, seq, received, body in cursor:
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
        """Recently closed sessions whose final summary is missing or stale, with their events."""
        await self._read(_nothing)
        async with self._pool.acquire() as conn:
            latest = await conn.fetchval(queries.LATEST_RECEIVED)
            if latest is None:
                return
            for row in await conn.fetch(_STALE_FINALS, latest - window_ms):
                rows = await conn.fetch(_SESSION_EVENTS, row[0])
                events = [StoredEvent(seq, received, bytes(body)) for seq, received, body in rows]
                if events:
                    yield queries.session_row(row), events

    # ------------------------------------------------------------------ writer task
    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            # cleared before taking: a job added from now on sets it again
            self._wake.clear()
            while (batch := self._take()) is not None:
                await self._execute(batch)
            if self._stopping and self._queued == 0:
                return

    async def _execute(self, batch: Batch) -> None:
        """Commit a batch's writes, answer them, then write its summaries and run its reads."""
        by_kind = batch.by_kind()
        failed = NONE_FAILED
        if any(kind in by_kind for kind in WRITE_ORDER):
            failed = await self._commit_writes(by_kind)
        self._settle_writes(batch, failed)
        summaries = by_kind.get(SUMMARY)
        if summaries:
            failed = failed | await self._commit_summaries(summaries)
        outcomes: list[tuple[asyncio.Future[Any], Any, Any]] = []
        reads = [(job[1], job[2]) for _, job in by_kind.get(READ, ())]
        if len(reads) == 1:
            outcomes.append(await self._run_read(reads[0][0], reads[0][1], self._conn))
        elif reads:
            outcomes += await asyncio.gather(
                *(self._run_read(fn, future, None) for fn, future in reads)
            )
        if outcomes or failed:
            self._settle_rest(batch, failed, outcomes)

    async def _commit_writes(self, by_kind: dict[int, list[tuple[int, Job]]]) -> Failed:
        """Write sessions, events, closes and refusals in one transaction; when one job's data
        is what failed, again job by job so that only that job fails."""
        positions = [p for kind in WRITE_ORDER for p, _ in by_kind.get(kind, ())]
        count = len(positions)
        try:
            conn = await self._writer()
            async with conn.transaction():
                for kind in WRITE_ORDER:
                    group = by_kind.get(kind)
                    if group:
                        await _write_group(conn, kind, [job for _, job in group])
            return NONE_FAILED
        except Exception as exc:
            if not _data_error(exc):  # connection lost, server gone, timeout: retry later
                self._log_failure(f"PostgreSQL write of {count} jobs failed", exc)
                await self._drop_if_dead()
                return frozenset(positions)
            self._log_failure(f"PostgreSQL write of {count} jobs failed; isolating", exc)
        failed: set[int] = set()
        jobs = sorted((p, job) for kind in WRITE_ORDER for p, job in by_kind.get(kind, ()))
        for position, job in jobs:
            try:
                conn = await self._writer()
                async with conn.transaction():
                    await _write_group(conn, job[0], [job])
            except Exception as exc:
                failed.add(position)
                log.warning("PostgreSQL write job %d (kind %d) refused: %r", position, job[0], exc)
                if not _data_error(exc):
                    await self._drop_if_dead()
        return frozenset(failed)

    async def _commit_summaries(self, group: list[tuple[int, Job]]) -> Failed:
        """Write summaries in their own transaction (one by one if that fails)."""
        try:
            conn = await self._writer()
            async with conn.transaction():
                await _write_summaries(conn, [summary_rows(job[1]) for _, job in group])
            return NONE_FAILED
        except Exception as exc:
            self._log_failure(f"PostgreSQL write of {len(group)} summaries failed", exc)
            if not _data_error(exc):
                await self._drop_if_dead()
                return frozenset(p for p, _ in group)
        failed: set[int] = set()
        for position, job in group:
            try:
                conn = await self._writer()
                async with conn.transaction():
                    await _write_summaries(conn, [summary_rows(job[1])])
            except Exception:
                failed.add(position)
        return frozenset(failed)

    async def _writer(self) -> Any:
        """The writer's connection (a new one when the last was lost)."""
        await self._drop_if_dead()  # known dead since the last batch: start on a fresh one
        if self._conn is None:
            self._conn = await self._pool.acquire()
        return self._conn

    async def _run_read(
        self, fn: Reader, future: asyncio.Future[Any] | None, conn: Any
    ) -> tuple[asyncio.Future[Any], Any, Any]:
        """Run one read on ``conn`` (or a pooled connection); returns its outcome."""
        assert future is not None
        try:
            if conn is not None and _alive(conn):
                return future, await fn(conn), None
            async with self._pool.acquire() as pooled:
                return future, await fn(pooled), None
        except Exception as exc:
            return future, None, exc

    async def _drop_if_dead(self) -> None:
        """Give back the writer's connection if it was closed; the next write takes a new one."""
        if self._conn is None or _alive(self._conn):
            return
        conn, self._conn = self._conn, None
        # the pool may already have taken a terminated connection back
        with contextlib.suppress(Exception):
            await self._pool.release(conn)


def _alive(conn: Any) -> bool:
    """Whether a pooled connection is still usable (a lost one may be detached from its proxy)."""
    try:
        return not conn.is_closed()
    except asyncpg.InterfaceError:
        return False


async def _nothing(conn: Any) -> None:
    """A read that reads nothing: awaiting it waits for every earlier write."""


def _text(value: Any) -> str | None:
    """A free-form report value for a TEXT column (asyncpg takes only ``str`` there)."""
    if value is None or isinstance(value, str):
        return value
    return _encode(value).decode()


def _texts(row: tuple[Any, ...], positions: Sequence[int]) -> tuple[Any, ...]:
    if all(row[i] is None or isinstance(row[i], str) for i in positions):
        return row
    values = list(row)
    for i in positions:
        values[i] = _text(values[i])
    return tuple(values)


def _session_row(s: NewSession) -> tuple[Any, ...]:
    media_id = _text(s.params.get("media.id"))
    params = _encode(s.params).decode()
    return (s.id, s.sid, s.started_ms, s.start_ts, media_id, params, int(s.downloaded))


async def _write_group(conn: Any, kind: int, jobs: list[Job]) -> None:
    """Run the write jobs of one kind."""
    if kind == SESSION:
        await conn.executemany(_SQL[kind], [_session_row(j[1][0]) for j in jobs])
        await _insert_events(conn, [r for j in jobs for r in j[1][1]])
        closes = [j[1][2] for j in jobs if j[1][2] is not None]
        if closes:
            await conn.executemany(_SQL[CLOSE], closes)
    elif kind == EVENTS:
        await _insert_events(conn, [j[1] for j in jobs])
    else:
        await conn.executemany(_SQL[kind], [j[1] for j in jobs])


def _data_error(exc: BaseException) -> bool:
    """Whether a failed write failed because of the values of a job (not the connection)."""
    return isinstance(
        exc,
        (
            asyncpg.DataError,
            asyncpg.IntegrityConstraintViolationError,
            OverflowError,
            ValueError,
            TypeError,
            UnicodeError,
        ),
    ) and not isinstance(exc, asyncpg.InterfaceError)


async def _insert_events(conn: Any, rows: list[tuple[int, int, int, bytes]]) -> None:
    if len(rows) >= _COPY_MIN_ROWS:
        await conn.copy_records_to_table("events", records=rows, columns=_EVENT_COLUMNS)
    elif rows:
        await conn.executemany(_SQL[EVENTS], rows)


async def _write_summaries(conn: Any, rows: list[SummaryRows]) -> None:
    """Replace the summary rows of each session (later summaries of one session win)."""
    latest = {r.session_id: r for r in rows}.values()
    keys = [r.session_id for r in latest]
    for clear in _SUMMARY_CLEAR:
        await conn.execute(clear, keys)
    await conn.executemany(_SUMMARY_SQL[0], [_texts(r.session, _SESSION_TEXT) for r in latest])
    ads = [_texts(a, _AD_TEXT) for r in latest for a in r.ads]
    if ads:
        await conn.executemany(_SUMMARY_SQL[1], ads)
    chapters = [_texts(c, _CHAPTER_TEXT) for r in latest for c in r.chapters]
    if chapters:
        await conn.executemany(_SUMMARY_SQL[2], chapters)
    states = [s for r in latest for s in r.states]
    if states:
        await conn.executemany(_SUMMARY_SQL[3], states)
