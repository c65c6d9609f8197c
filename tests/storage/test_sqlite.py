"""SQLite storage: migrations, group commit, ordering of jobs, reads after writes, backpressure."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from playhead.errors import Overloaded
from playhead.storage import NewSession, StoredEvent
from playhead.storage.migrate import migrate_sqlite, migration_files
from playhead.storage.sqlite import SQLiteStorage, connect


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def make(path: Path, **kw: int) -> SQLiteStorage:
    return SQLiteStorage(str(path), queue_size=kw.get("queue_size", 100),
                         batch_size=kw.get("batch_size", 50), synchronous="NORMAL")  # fmt: skip


def test_migrations_apply_once_and_are_recorded(tmp_path: Path) -> None:
    conn = connect(str(tmp_path / "m.db"))
    names = [name for _, name, _ in migration_files("sqlite")]
    assert migrate_sqlite(conn) == names
    assert migrate_sqlite(conn) == []
    versions = [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]
    assert versions == [int(n.split("_")[0]) for n in names]
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"sessions", "events", "session_summaries", "ad_summaries"} <= tables
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_session_events_close_and_reads_see_earlier_writes(tmp_path: Path) -> None:
    async def scenario() -> None:
        storage = make(tmp_path / "s.db")
        await storage.start()
        sid = "ab" * 32
        first = storage.next_session_id()
        assert storage.next_session_id() == first + 1
        start = StoredEvent(0, 1000, b'{"eventType":"sessionStart"}')
        # not awaited in between: one batch, and the read still sees all of it
        storage.submit_session(NewSession(first, sid, 1000, 5, {"media.id": "m"}), [start])
        storage.submit_event(first, 1, 1001, b"a")
        storage.submit_event(first, 2, 1002, b"b")
        storage.submit_close(first, "sessionEnd", 1003)
        storage.submit_close(first, "idle", 1004)  # idempotent: the first reason stays
        storage.submit_refused(first)
        events = await storage.session_events(first)
        row = await storage.find_session(sid)
        assert [(e.seq, e.received_ms, e.body) for e in events] == [
            (0, 1000, start.body), (1, 1001, b"a"), (2, 1002, b"b")]  # fmt: skip
        assert row is not None
        assert (row.state, row.close_reason, row.closed_ms, row.refused) == (
            "closed",
            "sessionEnd",
            1003,
            1,
        )
        assert await storage.find_session("cd" * 32) is None
        await storage.stop()

    run(scenario())

    # a new process sees the same rows, and session ids continue after the largest
    async def reopen() -> None:
        storage = make(tmp_path / "s.db")
        await storage.start()
        assert storage.next_session_id() == 2  # continues after the largest stored id
        assert [item async for item in storage.open_sessions()] == []
        await storage.stop()

    run(reopen())


def test_open_sessions_streams_each_open_session_with_its_events(tmp_path: Path) -> None:
    async def scenario() -> list[tuple[str, list[int]]]:
        storage = make(tmp_path / "o.db")
        await storage.start()
        for n in range(3):
            sid = f"{n:064x}"
            events = [StoredEvent(i, 10 + i, b"x") for i in range(n + 1)]
            storage.submit_session(NewSession(n + 1, sid, 10, 1, {}), events)
        await storage.submit_close(2, "idle", 99)
        found = [
            (row.sid, [e.seq for e in events]) async for row, events in storage.open_sessions()
        ]
        await storage.stop()
        return found

    assert run(scenario()) == [(f"{0:064x}", [0]), (f"{2:064x}", [0, 1, 2])]


def test_full_queue_refuses_writes_with_overloaded(tmp_path: Path) -> None:
    async def scenario() -> None:
        storage = make(tmp_path / "q.db", queue_size=2)
        storage._loop = asyncio.get_running_loop()  # writer deliberately not started
        storage.submit_event(1, 1, 1, b"x")
        storage.submit_event(1, 2, 2, b"x")
        with pytest.raises(Overloaded):
            storage.submit_event(1, 3, 3, b"x")
        assert storage.queue_depth() == 2
        # lifecycle bookkeeping is never refused, even with the queue full
        storage.submit_close(1, "idle", 5)
        assert storage.queue_depth() == 3

    run(scenario())
