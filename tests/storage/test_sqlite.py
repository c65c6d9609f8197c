"""SQLite storage: migrations, group commit, ordering of jobs, reads after writes, backpressure."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from playhead.errors import Overloaded
from playhead.storage import NewSession, StoredEvent, queries
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


def test_reads_never_wait_behind_the_write_queue(tmp_path: Path) -> None:
    """A report query answers while the writer is busy: reads have connections of their own."""

    async def scenario() -> tuple[float, float]:
        storage = make(tmp_path / "r.db")
        await storage.start()
        sid = "ab" * 32
        await storage.submit_session(NewSession(1, sid, 1000, 5, {}), [StoredEvent(0, 1, b"s")])
        busy = storage._call(lambda conn: time.sleep(0.8))  # the writer is stuck for 0.8 s
        storage.submit_event(1, 1, 2, b"queued behind it", "collection")
        began = time.monotonic()
        row = await storage.read(queries.find_session(sid))
        read_took = time.monotonic() - began
        assert row is not None and row.sid == sid
        await busy
        await storage.flush()
        flushed_after = time.monotonic() - began
        events = await storage.read(queries.session_events(1))
        assert [e.seq for e in events] == [0, 1]
        await storage.stop()
        return read_took, flushed_after

    read_took, flushed_after = run(scenario())
    assert read_took < 0.3 and flushed_after >= 0.7


def test_full_queue_refuses_writes_with_overloaded(tmp_path: Path) -> None:
    async def scenario() -> None:
        storage = make(tmp_path / "q.db", queue_size=2)
        storage._loop = asyncio.get_running_loop()  # writer deliberately not started
        storage.submit_event(1, 1, 1, b"x", "collection")
        storage.submit_event(1, 2, 2, b"x", "collection")
        with pytest.raises(Overloaded):
            storage.submit_event(1, 3, 3, b"x", "collection")
        assert storage.queue_depth() == 2
        # lifecycle bookkeeping is never refused, even with the queue full
        storage.submit_close(1, "idle", 5)
        assert storage.queue_depth() == 3

    run(scenario())


# ---------------------------------------------------------------- WAL, checkpoints, lost file
def test_the_wal_stays_bounded_under_continuous_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Passive checkpoints alone never reset a WAL written to all the time; the writer's own
    checkpoint between batches does, and journal_size_limit truncates the file back."""
    from playhead.storage import sqlite as backend

    # a small bound, so that a few seconds of writes pass it many times over
    monkeypatch.setattr(backend, "_WAL_RESET_BYTES", 4 * 2**20)
    monkeypatch.setattr(backend, "_JOURNAL_SIZE_LIMIT", 4 * 2**20)

    async def scenario() -> list[int]:
        storage = make(tmp_path / "w.db", queue_size=10_000, batch_size=200)
        await storage.start()
        await storage.submit_session(NewSession(1, "ab" * 32, 1, 1, {}), [StoredEvent(0, 1, b"s")])
        body = b"x" * 2000
        sizes = []
        seq = 1
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 6.0
        while loop.time() < deadline:  # ~50 MB of events, never a pause in the writes
            tickets = [storage.submit_event(1, seq + i, 2, body, "collection") for i in range(200)]
            seq += 200
            for ticket in tickets:
                await ticket
            sizes.append(storage.wal_bytes())
        await storage.stop()
        return sizes

    sizes = run(scenario())
    written = len(sizes) * 200 * 2000
    assert written > 40 * 2**20, "the machine was too slow to write enough for this check"
    limit = 3 * 4 * 2**20  # the bound, what arrives before the writer looks, and a restart
    assert max(sizes) < limit, (max(sizes), limit)
    assert not (tmp_path / "w.db-wal").exists() or (tmp_path / "w.db-wal").stat().st_size == 0


def test_a_long_reader_never_holds_up_the_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader inside one long read transaction (a report scanning many sessions) keeps the
    WAL from restarting; the writer gives the restart up at once rather than waiting out the
    busy timeout, so writes keep committing, and the WAL restarts once the reader is done."""
    import sqlite3

    from playhead.storage import sqlite as backend

    monkeypatch.setattr(backend, "_WAL_RESET_BYTES", 2**20)
    monkeypatch.setattr(backend, "_JOURNAL_SIZE_LIMIT", 2**20)

    async def scenario() -> tuple[float, int, int]:
        path = tmp_path / "r.db"
        storage = make(path, queue_size=10_000, batch_size=100)
        await storage.start()
        await storage.submit_session(NewSession(1, "ab" * 32, 1, 1, {}), [StoredEvent(0, 1, b"s")])
        reader = sqlite3.connect(path, isolation_level=None)
        reader.execute("BEGIN")
        reader.execute("SELECT COUNT(*) FROM events").fetchone()  # holds its snapshot
        body, seq, slowest = b"x" * 2000, 1, 0.0
        loop = asyncio.get_running_loop()
        for _ in range(30):  # ~6 MB: past the bound several times while the reader holds
            began = loop.time()
            tickets = [storage.submit_event(1, seq + i, 2, body, "collection") for i in range(100)]
            seq += 100
            for ticket in tickets:
                await ticket
            slowest = max(slowest, loop.time() - began)
        held = storage.wal_bytes()
        reader.execute("COMMIT")
        reader.close()
        for _ in range(20):  # the reader gone, the next restart succeeds
            tickets = [storage.submit_event(1, seq + i, 2, body, "collection") for i in range(100)]
            seq += 100
            for ticket in tickets:
                await ticket
            await asyncio.sleep(0.06)
        after = storage.wal_bytes()
        await storage.stop()
        return slowest, held, after

    slowest, held, after = run(scenario())
    assert held > 2**20, "the reader should have kept the WAL from restarting"
    # before the fix each restart attempt waited the 5 s busy timeout for the reader
    assert slowest < 2.0, slowest
    assert after < held, (after, held)


def test_the_checkpointer_survives_errors_and_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from playhead.storage import sqlite as backend

    monkeypatch.setattr(backend, "_CHECKPOINT_INTERVAL_S", 0.02)
    real_connect = backend.connect
    calls = {"n": 0}

    def flaky_connect(path: str, synchronous: str = "NORMAL", **kw: Any) -> sqlite3.Connection:
        calls["n"] += 1
        if 2 <= calls["n"] <= 5:  # the writer's own connect is the first call
            raise sqlite3.OperationalError("disk I/O error")
        return real_connect(path, synchronous, **kw)

    monkeypatch.setattr(backend, "connect", flaky_connect)

    async def scenario() -> int:
        storage = make(tmp_path / "c.db")
        await storage.start()
        await storage.submit_session(NewSession(1, "ab" * 32, 1, 1, {}), [StoredEvent(0, 1, b"s")])
        for _ in range(100):  # until the checkpointer connected again
            await asyncio.sleep(0.02)
            if calls["n"] > 5:
                break
        await asyncio.sleep(0.1)
        await storage.submit_event(1, 1, 2, b"after", "collection")
        assert storage._checkpointer is not None and storage._checkpointer.is_alive()
        await storage.stop()  # the final checkpoint works too
        return calls["n"]

    assert run(scenario()) > 5
    assert "SQLite checkpoint failed" in caplog.text
    assert "SQLite checkpoints work again" in caplog.text


def test_writes_are_refused_once_the_database_file_is_deleted(tmp_path: Path) -> None:
    """Writes into an unlinked file would vanish at the next start: refuse them (503)."""
    from playhead.errors import StorageUnavailable

    async def scenario() -> tuple[str | None, str | None]:
        storage = make(tmp_path / "d.db")
        await storage.start()
        await storage.submit_session(NewSession(1, "ab" * 32, 1, 1, {}), [StoredEvent(0, 1, b"s")])
        before = storage.problem()
        (tmp_path / "d.db").unlink()
        with pytest.raises(StorageUnavailable):
            await storage.submit_event(1, 1, 2, b"lost?", "collection")
        with pytest.raises(StorageUnavailable):  # now refused at once
            storage.submit_event(1, 2, 3, b"lost?", "collection")
        after = storage.problem()
        await storage.stop()
        return before, after

    before, after = run(scenario())
    assert before is None
    assert after == f"the database file {tmp_path / 'd.db'} is gone"
