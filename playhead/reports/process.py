"""Figures from the columns held by a process of their own, so reports never take CPU or the
interpreter lock from ingest.

The server's process answers HTTP and writes events; a child process (``playhead-reports``,
at a lower CPU priority) opens the same database for reading, holds the session facts as
columns (:class:`~playhead.reports.columnar.ColumnarFigures`) and answers the questions the
reports ask, one at a time, over a pipe. On a machine whose cores ingest keeps busy, the
scheduler gives reports what ingest leaves; on an idle one, all they want.

The child starts with the first report question (or at start-up when the store already holds
many sessions, so their columns are ready by the first look). Until it answers, and
whenever it is gone, this process asks the database itself (:class:`SqlFigures`); a child
that died is started again at a later question.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import time
from collections.abc import Collection
from multiprocessing.connection import Connection
from typing import Any, Final

from playhead.errors import StorageUnavailable
from playhead.reports.figures import ALL, FROM, Grouping, Raw, SqlFigures
from playhead.reports.selection import Selection
from playhead.storage import Storage, open_storage
from playhead.storage.queries import Query

log = logging.getLogger("playhead.reports")

#: the child's niceness: ingest's threads always come first
NICENESS: Final = 10
#: a store with fewer sessions is asked directly (a scan of them takes milliseconds)
MIN_SESSIONS: Final = 10_000
#: seconds between two counts of a store found too small for the child
RECOUNT_S: Final = 60.0
#: seconds before a child that failed to start or died is started again
RETRY_S: Final = 5.0
#: seconds an answer may take (the first use of a dimension over millions of sessions, at low
#: priority on a busy machine, takes a while) before the child is taken for hung
ANSWER_TIMEOUT_S: Final = 120.0


class ProcessFigures:
    """Figures asked of a child process holding the columns (see the module docstring).

    ``db`` and ``schema`` name the store the child reads; ``storage`` is this process's own
    (for the answers given while the child is not there); ``min_sessions``: how many sessions
    the store holds before the child is worth its memory (below, the database answers in
    milliseconds); ``wait_s`` is how long a question waits for a child still starting before
    the database answers it here.
    """

    def __init__(
        self,
        db: str,
        storage: Storage,
        *,
        timeout: float = 5.0,
        min_sessions: int = MIN_SESSIONS,
        wait_s: float = 0.0,
    ) -> None:
        self.db = db
        self.min_sessions = min_sessions
        self.schema: str | None = getattr(storage, "schema", None)
        self.timeout = timeout
        self.wait_s = wait_s
        self.sql = SqlFigures(storage)
        self._process: Any = None
        self._conn: Connection | None = None
        self._ready: asyncio.Future[Any] | None = None
        self._lock = asyncio.Lock()
        self._held = 0
        self._loaded = False
        self._retry_at = 0.0
        self._recount_at = 0.0
        self._eager: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ the child
    def start(self) -> None:
        """Start the child now if the store already holds enough sessions."""
        if self._eager is None:
            self._eager = asyncio.create_task(self._start_if_large(), name="playhead-reports")

    async def _start_if_large(self) -> None:
        if self._process is None and await self._large_enough():
            self._spawn()

    async def _large_enough(self) -> bool:
        """Whether the store holds :attr:`min_sessions` sessions (counted at most every
        :data:`RECOUNT_S` while it does not)."""
        if self.min_sessions <= 0:
            return True
        if time.monotonic() < self._recount_at:
            return False
        sql = f"SELECT COUNT(*) FROM (SELECT 1 {FROM} LIMIT {self.min_sessions}) AS s"
        try:
            found = await self.sql.storage.read(Query(sql, (), lambda rows: int(rows[0][0])))
        except Exception as exc:  # the store's trouble: the reports will say so
            log.warning("could not count stored sessions: %r", exc)
            found = 0
        if found < self.min_sessions:
            self._recount_at = time.monotonic() + RECOUNT_S
            return False
        return True

    def _spawn(self) -> None:
        """Start the child process (it tells when it is ready); once."""
        if self._process is not None:
            return  # started meanwhile (at start-up and by a question at once)
        context = multiprocessing.get_context("spawn")  # never fork a threaded server
        parent, child = context.Pipe()
        self._process = context.Process(
            target=serve,
            args=(child, self.db, self.schema, self.timeout),
            name="playhead-reports",
            daemon=True,
        )
        self._process.start()
        child.close()
        self._conn = parent
        loop = asyncio.get_running_loop()
        self._ready = asyncio.ensure_future(loop.run_in_executor(None, parent.recv))  # "ready"
        log.info("report process started (pid %d)", self._process.pid)

    async def stop(self) -> None:
        """Stop the child (it exits when its pipe closes; it is killed if it lingers)."""
        if self._eager is not None and not self._eager.done():
            self._eager.cancel()
        process, conn, ready = self._process, self._conn, self._ready
        self._process = self._conn = self._ready = None
        if conn is not None:
            conn.close()
        if process is not None:
            if ready is None or not ready.done():
                process.kill()  # still starting: nothing of it to keep
            await asyncio.to_thread(process.join, 5.0)
            if process.is_alive():
                process.kill()
                await asyncio.to_thread(process.join, 5.0)

    def _gone(self, why: str) -> None:
        """The child failed: forget it, answer here, try again in a while."""
        log.error("report process failed (%s); the database answers reports meanwhile", why)
        process, conn = self._process, self._conn
        self._process = self._conn = self._ready = None
        self._loaded, self._held = False, 0
        self._retry_at = time.monotonic() + RETRY_S
        if conn is not None:
            conn.close()
        if process is not None and process.is_alive():
            process.kill()

    def pid(self) -> int | None:
        """The child's process id (``None`` while there is none)."""
        return None if self._process is None else int(self._process.pid)

    def held(self) -> int:
        """Sessions in the child's columns (0 until its first load finishes)."""
        return self._held

    @property
    def loaded(self) -> bool:
        """Whether the child's columns answer (its first load finished)."""
        return self._loaded

    async def _ask(self, name: str, *args: Any) -> Any:
        """The child's answer to one question (the database's, here, when it cannot)."""
        here = getattr(self.sql, name)
        if self._process is None:
            if time.monotonic() < self._retry_at or not await self._large_enough():
                return await here(*args)
            try:
                self._spawn()
            except Exception as exc:
                self._gone(f"could not start: {exc!r}")
                return await here(*args)
        ready = self._ready
        assert ready is not None
        if not ready.done():
            await asyncio.wait({ready}, timeout=self.wait_s)
            if not ready.done():
                return await here(*args)
        if ready.exception() is not None:
            self._gone(f"exited at start: {ready.exception()!r}")
            return await here(*args)
        # shielded: a request cancelled meanwhile must not leave its answer in the pipe for
        # the next question to read
        reply = await asyncio.shield(asyncio.ensure_future(self._exchange(name, args)))
        if reply is None:
            return await here(*args)
        status, answer = reply
        if status == "error":
            log.error("report process could not answer %s: %s", name, answer)
            raise StorageUnavailable()
        return answer

    async def _exchange(self, name: str, args: tuple[Any, ...]) -> tuple[str, Any] | None:
        """Send one question and read its answer, one question at a time (``None``: the
        child is gone)."""
        async with self._lock:
            conn = self._conn
            if conn is None:
                return None
            try:
                conn.send((name, args))
                loop = asyncio.get_running_loop()
                status, answer, self._held, self._loaded = await asyncio.wait_for(
                    loop.run_in_executor(None, conn.recv), ANSWER_TIMEOUT_S
                )
            except (EOFError, OSError) as exc:
                self._gone(repr(exc))
                return None
            except TimeoutError:  # a child that hangs is replaced (killing it ends the read)
                self._gone(f"no answer to {name} in {ANSWER_TIMEOUT_S:g} s")
                return None
            return status, answer

    # ------------------------------------------------------------------ Figures
    async def totals(self, selection: Selection, needed: Collection[str] = ALL) -> Raw:
        """The ``needed`` aggregates over the selection."""
        found: Raw = await self._ask("totals", selection, needed)
        return found

    async def percentiles(self, selection: Selection) -> dict[str, float | None]:
        """``timeToStart``'s nearest-rank percentiles over the selection."""
        found: dict[str, float | None] = await self._ask("percentiles", selection)
        return found

    async def grouped(
        self, selection: Selection, grouping: Grouping, needed: Collection[str] = ALL
    ) -> list[tuple[tuple[Any, ...], Raw]]:
        """The ``needed`` aggregates per group with at least one session."""
        found: list[tuple[tuple[Any, ...], Raw]] = await self._ask(
            "grouped", selection, grouping, needed
        )
        return found

    async def ranked(self, selection: Selection, dimension: str) -> list[str]:
        """Every value of ``dimension`` among the selection, most sessions first."""
        found: list[str] = await self._ask("ranked", selection, dimension)
        return found


def serve(conn: Connection, db: str, schema: str | None, timeout: float) -> None:
    """The child process: answer questions from the pipe until it closes."""
    with contextlib.suppress(OSError):
        os.nice(NICENESS)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(_serve(conn, db, schema, timeout))


async def _serve(conn: Connection, db: str, schema: str | None, timeout: float) -> None:
    from playhead.reports.columnar import ColumnarFigures

    storage = open_storage(db, queue_size=1, batch_size=1, synchronous="NORMAL", timeout=timeout)
    if schema is not None:
        storage.schema = schema  # type: ignore[attr-defined]
    await storage.start_reading()
    figures = ColumnarFigures(storage)
    figures.start()
    loop = asyncio.get_running_loop()
    conn.send("ready")
    try:
        while True:
            try:
                name, args = await loop.run_in_executor(None, conn.recv)
            except (EOFError, OSError):
                return  # the server closed the pipe, or died
            try:
                answer = await getattr(figures, name)(*args)
                message: tuple[Any, ...] = ("ok", answer, figures.held(), figures.loaded)
            except Exception as exc:  # the asking request gets a 503
                message = ("error", repr(exc), figures.held(), figures.loaded)
            try:
                conn.send(message)
            except (OSError, ValueError):
                return
    finally:
        await figures.stop()
        await storage.stop()
