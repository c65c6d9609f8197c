"""PostgreSQL storage: asyncpg, one writer task, group commit, reads on the pool.

The group commit of :mod:`playhead.storage.batching`, on the event loop instead of a thread: a
background task takes a whole batch, writes it in one transaction with ``executemany``/``COPY``,
commits, and only then completes the batch's future; summaries follow in a transaction of their
own. Reads take any other pooled connection and never wait behind the write queue. Session ids
come from a database sequence, so any number of processes can share one database.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]
import msgspec

from playhead.errors import StorageUnavailable
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
from playhead.storage.migrate import migrate_postgres
from playhead.storage.schema import (
    FACTS_TABLE,
    ITEM_TABLES,
    SESSION_TABLE,
    SummaryRows,
    summary_rows,
)

T = TypeVar("T")
_encode = msgspec.json.Encoder().encode

# Events of all but the smallest batches go through COPY: measured ~1.2x (20 rows) to ~1.7x
# (10,000 rows) faster than a pipelined executemany INSERT.
_COPY_MIN_ROWS = 16
_INSERT_SESSION = dialect.numbered(dialect.INSERT_SESSION)
_INSERT_EVENT = dialect.numbered(dialect.INSERT_EVENT)
_CLOSE = dialect.numbered(dialect.CLOSE)
_REFUSED = dialect.numbered(dialect.REFUSED)
_UPSERT_SUMMARY = dialect.numbered(dialect.UPSERT_SUMMARY)
_UPSERT_FACTS = dialect.numbered(dialect.UPSERT_FACTS_POSTGRES)
_INSERT_ITEMS = tuple(dialect.numbered(sql) for sql in dialect.INSERT_ITEMS)
_CLEAR_ITEMS = tuple(
    f"DELETE FROM {table.name} WHERE session_id = ANY($1::bigint[])" for table in ITEM_TABLES
)
_RESERVE = "SELECT nextval('session_ids') FROM generate_series(1, $1)"
_LOCK_SUMMARIES = (
    "SELECT pg_advisory_xact_lock(1347571781, o) FROM (SELECT DISTINCT"
    " (k % 2147483647)::int AS o FROM unnest($1::bigint[]) AS k ORDER BY o) AS s"
)


class PostgresStorage(BatchedWrites):
    """The networked store, on PostgreSQL through asyncpg.

    Args:
        url: a ``postgres://`` or ``postgresql://`` DSN (libpq URI syntax, as asyncpg takes it).
        queue_size: most session/event jobs waiting for the writer; beyond it writes are refused.
        batch_size: most jobs committed in one transaction.
        schema: if given, the ``search_path`` of every connection (tables live in that schema,
            which must exist); otherwise the server's default search path.
        pool_size: most connections: one for the writer, the others for reads.
        timeout: seconds a write or a read may take before its request gets 503; statements
            that hang far longer (a lock held, a dead peer) are cancelled.
    """

    # which SQL the report queries speak here (playhead.reports.sql)
    dialect = "postgres"

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
        self._sql: dict[str, str] = {}  # query text with ? → $n, by its ? form

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Connect, apply migrations and start the writer task."""
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
        except BaseException:
            await self._pool.close()
            self._pool = self._conn = None
            raise
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="playhead-postgres-writer")

    async def start_reading(self) -> None:
        """Open a pool for reads only (another process writes; nothing is migrated)."""
        settings = {"search_path": self.schema} if self.schema else None
        self._pool = await asyncpg.create_pool(
            self.url,
            min_size=1,
            max_size=2,
            server_settings=settings,
            command_timeout=max(30.0, 6 * self._timeout),
        )
        self._loop = asyncio.get_running_loop()

    async def stop(self) -> None:
        """Commit everything queued, then stop the writer and close the pool."""
        if self._task is None:
            if self._pool is not None:  # started for reading only
                await self._pool.close()
                self._pool = None
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

    # ------------------------------------------------------------------ ids, flush, reads
    async def reserve_ids(self, count: int) -> list[int]:
        """``count`` session keys from the shared sequence (unique across processes)."""
        rows = await self.read(_Reserve(count))
        return rows

    async def flush(self) -> None:
        """Wait until every write submitted so far (summaries too) is committed."""
        await self._call(_nothing)

    # ------------------------------------------------------------------ deletion
    async def purge_events(self, session_ids: Sequence[int]) -> int:
        """Delete the raw events of these (closed, summarized) sessions, marking them so;
        returns how many events went."""

        async def purge(conn: Any) -> int:
            ids = list(session_ids)
            async with conn.transaction():
                done = await conn.execute(
                    "DELETE FROM events WHERE session_id = ANY($1::bigint[])", ids
                )
                await conn.execute(
                    "UPDATE sessions SET events_purged = 1 WHERE id = ANY($1::bigint[])", ids
                )
            return _count(done)

        if not session_ids:
            return 0
        purged: int = await self._call(purge)
        return purged

    async def delete_sessions(self, session_ids: Sequence[int]) -> tuple[int, int]:
        """Delete these sessions from every table; returns (sessions, events) deleted."""

        async def delete(conn: Any) -> tuple[int, int]:
            ids = list(session_ids)
            tables = [row[0] for row in await conn.fetch(deletion.POSTGRES_SESSION_TABLES)]
            events = 0
            async with conn.transaction():
                for table in deletion.child_tables(tables):
                    done = await conn.execute(
                        f'DELETE FROM "{table}" WHERE session_id = ANY($1::bigint[])', ids
                    )
                    if table == "events":
                        events = _count(done)
                done = await conn.execute("DELETE FROM sessions WHERE id = ANY($1::bigint[])", ids)
            return _count(done), events

        if not session_ids:
            return 0, 0
        deleted: tuple[int, int] = await self._call(delete)
        return deleted

    def _numbered(self, sql: str) -> str:
        text = self._sql.get(sql)
        if text is None:
            text = self._sql[sql] = dialect.numbered(sql)
        return text

    async def read(self, query: Query[T]) -> T:
        """Run a read on a pooled connection (never behind the write queue)."""
        assert self._pool is not None, "storage not started"
        sql = self._numbered(query.sql)

        async def run() -> T:
            async with self._pool.acquire() as conn:
                return query.shape(await conn.fetch(sql, *query.args))

        try:
            return await asyncio.wait_for(run(), self._timeout)
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            self._log_failure("PostgreSQL read failed", exc)
            raise StorageUnavailable() from None

    def scan(self, query: Query[Any], chunk: int = 2000) -> AsyncIterator[Sequence[Any]]:
        """Every row of ``query``, ``chunk`` rows at a time, from one snapshot (a cursor)."""
        return rows_of(self.scan_chunks(query, chunk))

    async def scan_chunks(
        self, query: Query[Any], chunk: int = 2000
    ) -> AsyncGenerator[Sequence[Sequence[Any]], None]:
        """The rows of ``query`` in lists of up to ``chunk``, from one snapshot (a cursor)."""
        sql = self._numbered(query.sql)
        async with self._pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
            cursor = await conn.cursor(sql, *query.args)
            while rows := await cursor.fetch(chunk):
                yield rows

    # ------------------------------------------------------------------ writer task
    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            # cleared before taking: a job added from now on sets it again
            self._wake.clear()
            while (batch := self._take()) is not None:
                try:
                    await self._execute(batch)
                except Exception:  # a bug: fail the batch, never the writer
                    log.exception("PostgreSQL writer failed on a batch of %d jobs", len(batch.jobs))
                    self._fail_batch(batch)
            if self._stopping and self._queued == 0:
                return

    async def _execute(self, batch: Batch) -> None:
        """Commit a batch's writes, answer them, then write its summaries and run its calls."""
        groups = batch.groups()
        failed = NONE_FAILED
        if any(kind in groups for kind in WRITE_ORDER):
            began = time.perf_counter()
            failed = await self._commit_writes(groups, batch.jobs)
            self.write_seconds.observe(time.perf_counter() - began)
        self._settle_writes(batch, failed)
        summaries = groups.get(SummaryJob)
        if summaries:
            failed = failed | await self._commit_summaries(summaries)
        calls: list[tuple[asyncio.Future[Any], Any, Any]] = []
        for _, job in groups.get(CallJob, ()):
            assert isinstance(job, CallJob)
            try:
                calls.append((job.future, await job.fn(await self._writer()), None))
            except Exception as exc:
                calls.append((job.future, None, exc))
        if calls or failed:
            self._settle_rest(batch, failed, calls)

    async def _commit_writes(self, groups: Groups, jobs: list[Job]) -> Failed:
        """Write sessions, events, closes and refusals in one transaction; when one job's data
        is what failed, again job by job so that only that job fails."""
        positions = write_positions(groups)
        try:
            conn = await self._writer()
            async with conn.transaction():
                for kind in WRITE_ORDER:
                    group = groups.get(kind)
                    if group:
                        await _write_group(conn, kind, [job for _, job in group])
            return NONE_FAILED
        except Exception as exc:
            if not _data_error(exc):  # connection lost, server gone, timeout: retry later
                self._log_failure(f"PostgreSQL write of {len(positions)} jobs failed", exc)
                await self._drop_if_dead()
                return frozenset(positions)
            self._log_failure(f"PostgreSQL write of {len(positions)} jobs failed; isolating", exc)
        failed: set[int] = set()
        for position in sorted(positions):
            job = jobs[position]
            try:
                conn = await self._writer()
                async with conn.transaction():
                    await _write_group(conn, type(job), [job])
            except Exception as exc:
                failed.add(position)
                log.warning(
                    "PostgreSQL write job %d (%s) refused: %r", position, type(job).__name__, exc
                )
                if not _data_error(exc):
                    await self._drop_if_dead()
        return frozenset(failed)

    async def _commit_summaries(self, group: list[tuple[int, Job]]) -> Failed:
        """Write summaries in their own transaction (one by one if that fails)."""
        try:
            conn = await self._writer()
            async with conn.transaction():
                await _write_summaries(conn, [_summary_rows(job) for _, job in group])
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
                    await _write_summaries(conn, [_summary_rows(job)])
            except Exception:
                failed.add(position)
        return frozenset(failed)

    async def _writer(self) -> Any:
        """The writer's connection (a new one when the last was lost)."""
        await self._drop_if_dead()  # known dead since the last batch: start on a fresh one
        if self._conn is None:
            self._conn = await self._pool.acquire()
        return self._conn

    async def _drop_if_dead(self) -> None:
        """Give back the writer's connection if it was closed; the next write takes a new one."""
        if self._conn is None or _alive(self._conn):
            return
        conn, self._conn = self._conn, None
        # the pool may already have taken a terminated connection back
        with contextlib.suppress(Exception):
            await self._pool.release(conn)


class _Reserve:
    """The read that draws ``count`` values from the session id sequence."""

    sql = _RESERVE

    def __init__(self, count: int) -> None:
        self.args = (count,)

    def shape(self, rows: Sequence[Sequence[Any]]) -> list[int]:
        return [int(row[0]) for row in rows]


def _count(status: str) -> int:
    """The row count of a command status such as ``DELETE 12``."""
    return int(status.rsplit(" ", 1)[-1])


def _alive(conn: Any) -> bool:
    """Whether a pooled connection is still usable (a lost one may be detached from its proxy)."""
    try:
        return not conn.is_closed()
    except asyncpg.InterfaceError:
        return False


async def _nothing(conn: Any) -> None:
    """A call that does nothing: awaiting it waits for every earlier write."""


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
    return (s.id, s.sid, s.started_ms, s.start_ts, media_id, _encode(s.params).decode(),
            int(s.downloaded), _encode(s.context).decode(), viewer_key(s.params),
            s.client_network)  # fmt: skip


async def _write_group(conn: Any, kind: type, jobs: list[Job]) -> None:
    """Run the write jobs of one type."""
    if kind is SessionJob:
        sessions = [job for job in jobs if isinstance(job, SessionJob)]
        await conn.executemany(_INSERT_SESSION, [_session_row(job.session) for job in sessions])
        await _insert_events(conn, [e for job in sessions for e in job.events])
        closes = [job.close for job in sessions if job.close is not None]
        if closes:
            await conn.executemany(_CLOSE, closes)
    elif kind is EventJob:
        await _insert_events(conn, [job for job in jobs if isinstance(job, EventJob)])
    elif kind is CloseJob:
        await conn.executemany(_CLOSE, jobs)
    elif kind is RefusedJob:
        await conn.executemany(_REFUSED, jobs)


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


async def _insert_events(conn: Any, rows: list[EventJob]) -> None:
    if len(rows) >= _COPY_MIN_ROWS:
        await conn.copy_records_to_table("events", records=rows, columns=dialect.EVENT_COLUMNS)
    elif rows:
        await conn.executemany(_INSERT_EVENT, rows)


def _summary_rows(job: Job) -> SummaryRows:
    assert isinstance(job, SummaryJob)
    return summary_rows(job.summary)


async def _write_summaries(conn: Any, rows: list[SummaryRows]) -> None:
    """Replace the summary rows of each session (later summaries of one session win)."""
    latest = {r.session_id: r for r in rows}.values()
    keys = [r.session_id for r in latest]
    # several processes may rewrite one session's summary at once (stragglers folded on two
    # nodes): a lock per session, taken in one order, makes their delete-and-insert take turns
    await conn.execute(_LOCK_SUMMARIES, keys)
    for clear in _CLEAR_ITEMS:
        await conn.execute(clear, keys)
    await conn.executemany(
        _UPSERT_SUMMARY, [_texts(r.session, SESSION_TABLE.free_text) for r in latest]
    )
    await conn.executemany(_UPSERT_FACTS, [_texts(r.facts, FACTS_TABLE.free_text) for r in latest])
    for i, insert in enumerate(_INSERT_ITEMS):
        text = ITEM_TABLES[i].free_text
        items = [_texts(item, text) for r in latest for item in r.items[i]]
        if items:
            await conn.executemany(insert, items)
