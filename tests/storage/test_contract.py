"""The storage contract, run against every backend: SQLite (a temporary file) and PostgreSQL.

PostgreSQL tests use the server at ``$TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``), each in a fresh schema dropped afterwards. When
asyncpg is missing or the server is unreachable they are skipped, saying why.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import pytest
from starlette.testclient import TestClient

from playhead.app import create_app
from playhead.config import load_settings
from playhead.engine import Lifecycle, Limits, fold
from playhead.errors import ConfigError, Overloaded, StorageUnavailable
from playhead.protocols.collection.decode import decode_event
from playhead.storage import NewSession, StoredEvent, Summary, open_storage, queries
from playhead.storage.migrate import migrate_sqlite, migration_files
from playhead.storage.sqlite import SQLiteStorage, connect
from tests.helpers import TS0, ev, start_body

try:
    import asyncpg
except ImportError:  # pragma: no cover - the test extra installs it
    asyncpg = None

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
T = TypeVar("T")
_pg_unavailable: list[str] = []  # the reason, once probed (cached for the session)


def run(coro: Awaitable[T]) -> T:
    """Run a coroutine on a fresh event loop."""

    async def main() -> T:
        return await coro

    return asyncio.run(main())


def _postgres_skip_reason() -> str | None:
    """Why PostgreSQL tests cannot run here, or ``None`` when they can."""
    if asyncpg is None:
        return 'asyncpg is not installed (pip install "playhead[postgres]")'
    if not _pg_unavailable:

        async def probe() -> None:
            conn = await asyncpg.connect(PG_URL, timeout=5)
            await conn.close()

        try:
            run(probe())
            _pg_unavailable.append("")
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            _pg_unavailable.append(f"PostgreSQL not reachable at {PG_URL}: {exc!r}")
    return _pg_unavailable[0] or None


async def _pg(sql: str, *args: Any, schema: str | None = None) -> list[tuple[Any, ...]]:
    """Rows of one statement on a new connection (in ``schema`` if given)."""
    settings = {"search_path": schema} if schema else None
    conn = await asyncpg.connect(PG_URL, server_settings=settings)
    try:
        return [tuple(row) for row in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


async def _pg_script(sql: str, schema: str) -> None:
    """Run several statements (no parameters) in ``schema``."""
    conn = await asyncpg.connect(PG_URL, server_settings={"search_path": schema})
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


class Backend:
    """One store under test: makes storage objects over the same database, and peeks at tables."""

    def __init__(self, name: str, tmp_path: Path) -> None:
        self.name = name
        self.path = tmp_path / "contract.db"
        self.schema = f"t_{secrets.token_hex(6)}"

    def make(self, queue_size: int = 100, batch_size: int = 50, timeout: float = 5.0) -> Any:
        """A new (unstarted) storage object over this backend's database."""
        if self.name == "sqlite":
            return SQLiteStorage(
                str(self.path),
                queue_size=queue_size,
                batch_size=batch_size,
                synchronous="NORMAL",
                timeout=timeout,
            )
        from playhead.storage.postgres import PostgresStorage

        return PostgresStorage(
            PG_URL,
            queue_size=queue_size,
            batch_size=batch_size,
            schema=self.schema,
            timeout=timeout,
        )

    @property
    def url(self) -> str:
        """The ``db`` setting that opens this database."""
        if self.name == "sqlite":
            return str(self.path)
        return f"{PG_URL}?options=-csearch_path%3D{self.schema}"

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows of a read-only query (no parameters; portable SQL)."""
        if self.name == "sqlite":
            conn = sqlite3.connect(self.path)
            try:
                return [tuple(row) for row in conn.execute(sql)]
            finally:
                conn.close()
        return run(_pg(sql, schema=self.schema))

    def migrate(self) -> list[str]:
        """Apply pending migrations directly and return their names."""
        if self.name == "sqlite":
            conn = connect(str(self.path))
            try:
                return migrate_sqlite(conn)
            finally:
                conn.close()
        from playhead.storage.migrate import migrate_postgres

        async def apply() -> list[str]:
            conn = await asyncpg.connect(PG_URL, server_settings={"search_path": self.schema})
            try:
                return await migrate_postgres(conn)
            finally:
                await conn.close()

        return run(apply())


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Each backend in turn; PostgreSQL in a schema of its own, dropped at teardown."""
    store = Backend(request.param, tmp_path)
    if store.name == "sqlite":
        yield store
        return
    reason = _postgres_skip_reason()
    if reason:
        pytest.skip(reason)
    run(_pg(f"CREATE SCHEMA {store.schema}"))
    try:
        yield store
    finally:
        run(_pg(f"DROP SCHEMA {store.schema} CASCADE"))


def scenario(backend: Backend, body: Callable[[Any], Awaitable[T]], **kw: Any) -> T:
    """Start a storage object, run ``body`` with it, stop it (on failure too)."""

    async def main() -> T:
        storage = backend.make(**kw)
        await storage.start()
        try:
            return await body(storage)
        finally:
            await storage.stop()

    return asyncio.run(main())


SID = "ab" * 32
START = StoredEvent(0, 1000, b'{"eventType":"sessionStart"}')


def new_session(session_id: int, sid: str = SID, **params: Any) -> NewSession:
    """A session to store with the usual test ids and params."""
    return NewSession(session_id, sid, 1000, 5, {"media.id": "m", **params})


def report_summary(session_id: int, *, final: bool, last_seq: int = 0) -> Summary:
    """A summary with a real report: one ad, one chapter and one player state."""
    bodies = [
        ev("play", TS0 + 1000, 0),
        ev("adBreakStart", TS0 + 2000, 1, params={"media.ad.podIndex": 1, "media.ad.podSecond": 1}),
        ev(
            "adStart",
            TS0 + 2000,
            1,
            params={
                "media.ad.id": "ad-1",
                "media.ad.name": "First ad",
                "media.ad.length": 15,
                "media.ad.podPosition": 1,
                "media.ad.playerName": "p",
            },
        ),
        ev("play", TS0 + 2000, 1),
        ev("adComplete", TS0 + 17000, 1),
        ev("adBreakComplete", TS0 + 17000, 1),
        ev(
            "chapterStart",
            TS0 + 17000,
            1,
            params={
                "media.chapter.index": 1,
                "media.chapter.offset": 1,
                "media.chapter.length": 30,
            },
        ),
        ev("statesUpdate", TS0 + 18000, 2, params={"statesStart": [{"media.state.name": "mute"}]}),
        ev("chapterComplete", TS0 + 30000, 14),
    ]
    start = decode_event(msgspec.json.encode(start_body()))
    events = [(decode_event(msgspec.json.encode(b)), i + 1, 2000 + i) for i, b in enumerate(bodies)]
    folded = fold(SID, start, 1000, events, Limits())
    lifecycle = Lifecycle("closed", "sessionEnd", 9000) if final else Lifecycle()
    return Summary(session_id, final, 9000, folded.report(lifecycle), last_seq)


# ---------------------------------------------------------------------------------- contract
def test_migrations_apply_once_and_are_recorded(backend: Backend) -> None:
    dialect = "sqlite" if backend.name == "sqlite" else "postgres"
    names = [name for _, name, _ in migration_files(dialect)]
    assert names == [
        "0001_init.sql",
        "0002_summaries.sql",
        "0003_summary_currency.sql",
        "0004_formats_context_ids.sql",
        "0005_viewer_key.sql",
        "0006_session_facts.sql",
        "0007_bot_sessions.sql",
        "0010_retention.sql",
        "0011_client_network.sql",
        "0012_facts_changes.sql",
        "0013_error_ids.sql",
        "0014_facts_list_columns.sql",
    ]
    assert backend.migrate() == names
    assert backend.migrate() == []
    versions = backend.rows("SELECT version, name FROM schema_migrations ORDER BY version")
    assert versions == [(int(name[:4]), name) for name in names]
    # the storage object applies nothing more, and its tables are usable
    assert scenario(backend, lambda s: s.read(queries.find_session(SID))) is None


def test_session_events_and_close_in_one_batch_read_back_in_order(backend: Backend) -> None:
    async def body(storage: Any) -> None:
        first, second = await storage.reserve_ids(2)
        assert second == first + 1
        # not awaited in between: one batch
        written = storage.submit_session(new_session(first), [START])
        storage.submit_event(first, 2, 1002, b"b", "collection")  # seq order is read back
        storage.submit_event(first, 1, 1001, b"a", "collection")
        storage.submit_close(first, "sessionEnd", 1003)
        assert storage.queue_depth() == 4
        await storage.flush()
        assert written.batch.future.done() and storage.queue_depth() == 0
        events = await storage.read(queries.session_events(first))
        assert [(e.seq, e.received_ms, e.body) for e in events] == [
            (0, 1000, START.body),
            (1, 1001, b"a"),
            (2, 1002, b"b"),
        ]
        row = await storage.read(queries.find_session(SID))
        assert row is not None
        assert (row.id, row.sid, row.started_ms, row.start_ts) == (first, SID, 1000, 5)
        assert (row.state, row.close_reason, row.closed_ms, row.refused) == (
            "closed",
            "sessionEnd",
            1003,
            0,
        )
        assert await storage.read(queries.find_session("cd" * 32)) is None
        assert await storage.read(queries.session_events(first + 1)) == []

    scenario(backend, body)
    assert backend.rows("SELECT media_id, downloaded FROM sessions") == [("m", 0)]


def test_session_stored_closed_in_the_same_transaction(backend: Backend) -> None:
    async def body(storage: Any) -> Any:
        await storage.submit_session(new_session(1), [START], close=("downloaded", 1500))
        return await storage.read(queries.find_session(SID))

    row = scenario(backend, body)
    assert (row.state, row.close_reason, row.closed_ms) == ("closed", "downloaded", 1500)


def test_close_is_idempotent_first_reason_wins(backend: Backend) -> None:
    async def body(storage: Any) -> Any:
        storage.submit_session(new_session(1), [START])
        storage.submit_close(1, "sessionEnd", 2000)
        storage.submit_close(1, "idle", 2500)  # same batch
        await storage.submit_close(1, "maxDuration", 3000)  # a later batch
        await storage.flush()
        return await storage.read(queries.find_session(SID))

    row = scenario(backend, body)
    assert (row.state, row.close_reason, row.closed_ms) == ("closed", "sessionEnd", 2000)


def test_refused_counter(backend: Backend) -> None:
    async def body(storage: Any) -> list[int]:
        storage.submit_session(new_session(1), [START])
        storage.submit_close(1, "sessionEnd", 2000)
        seen = []
        for _ in range(3):
            storage.submit_refused(1)
            await storage.flush()
            row = await storage.read(queries.find_session(SID))
            seen.append(row.refused)
        return seen

    assert scenario(backend, body) == [1, 2, 3]


def test_final_report_is_current_until_a_later_event_is_stored(backend: Backend) -> None:
    async def body(storage: Any) -> None:
        async def final() -> Any:
            await storage.flush()
            return await storage.read(queries.final_report(SID))

        assert await final() is None
        storage.submit_session(new_session(1), [START])
        storage.submit_summary(report_summary(1, final=False))
        row, report = await final()
        assert (row.state, report) == ("open", None)  # open: no final report

        storage.submit_close(1, "sessionEnd", 9000)
        summary = report_summary(1, final=True)
        storage.submit_summary(summary)
        row, report = await final()
        assert row.state == "closed"
        assert report == msgspec.json.encode(summary.report)

        storage.submit_refused(1)  # refusals do not make the stored report stale any more
        row, report = await final()
        assert (row.refused, report) == (1, msgspec.json.encode(summary.report))

        storage.submit_event(1, 1, 9100, b"a straggler", "collection")  # not in the summary
        row, report = await final()
        assert report is None

        again = report_summary(1, final=True, last_seq=1)
        storage.submit_summary(again)
        row, report = await final()
        assert report == msgspec.json.encode(again.report)

    scenario(backend, body)


async def grouped(storage: Any, query: Any) -> list[tuple[str, list[int]]]:
    """(last sid character, seqs) of each session in a scan of session + event rows."""
    out: list[tuple[str, list[int]]] = []
    async for row in storage.scan(query, chunk=2):
        session, event = queries.session_row(row), queries.stored_event(row)
        if not out or out[-1][0] != session.sid:
            out.append((session.sid, []))
        out[-1][1].append(event.seq)
    return [(sid[-1], seqs) for sid, seqs in out]


def test_stale_final_summaries_are_found_near_the_newest_event(backend: Backend) -> None:
    async def body(storage: Any) -> list[tuple[str, list[int]]]:
        for n in range(4):
            sid = f"{n:064x}"
            storage.submit_session(new_session(n + 1, sid), [StoredEvent(0, 1000 * n, b"s")])
            storage.submit_close(n + 1, "sessionEnd", 1000 * n + 10)
        storage.submit_event(2, 1, 1500, b"x", "collection")  # after its final summary below
        for n in (0, 1, 2):  # session 4 has no final summary at all
            storage.submit_summary(report_summary(n + 1, final=True, last_seq=0))
        storage.submit_event(3, 1, 3000, b"y", "collection")  # the newest event, and covered:
        storage.submit_summary(report_summary(3, final=True, last_seq=1))
        await storage.flush()
        assert await storage.read(queries.latest_received_ms()) == 3000
        return await grouped(storage, queries.stale_final_events(3000 - 2500))

    # session 1 closed at 10, before 3000 - 2500; session 2 is stale; 4 has none
    assert scenario(backend, body) == [("1", [0, 1]), ("3", [0])]


def test_open_session_events_exclude_closed_sessions_in_seq_order(backend: Backend) -> None:
    async def body(storage: Any) -> list[tuple[str, list[int]]]:
        for n in range(4):
            sid = f"{n:064x}"
            events = [StoredEvent(i, 10 + i, b"x") for i in range(n + 1)]
            storage.submit_session(NewSession(n + 1, sid, 10, 1, {}), events[:1])
            for e in reversed(events[1:]):  # arrival order differs from seq order
                storage.submit_event(n + 1, e.seq, e.received_ms, e.body, e.format)
        storage.submit_close(2, "idle", 99)
        await storage.flush()
        return await grouped(storage, queries.open_session_events())

    assert scenario(backend, body) == [("0", [0]), ("2", [0, 1, 2]), ("3", [0, 1, 2, 3])]


def test_scan_chunks_are_the_scans_rows_in_lists_and_may_stop_early(backend: Backend) -> None:
    async def body(storage: Any) -> tuple[list[int], list[Any], int]:
        for n in range(7):
            storage.submit_session(new_session(n + 1, f"{n:064x}"), [StoredEvent(0, 10, b"x")])
        await storage.flush()
        query = queries.open_session_events()
        rows = [tuple(row) async for row in storage.scan(query, chunk=3)]
        sizes, chunked = [], []
        async for chunk in storage.scan_chunks(query, 3):
            sizes.append(len(chunk))
            chunked.extend(tuple(row) for row in chunk)
        chunks = storage.scan_chunks(query, 2)
        async for _ in chunks:
            break  # a reader gone after one list (the next may be on its way)
        await chunks.aclose()
        # the store reads on afterwards
        return sizes, [chunked == rows, len(rows)], await storage.read(queries.latest_received_ms())

    assert scenario(backend, body) == ([3, 3, 1], [True, 7], 10)


def test_reserved_ids_never_repeat_across_restarts(backend: Backend) -> None:
    async def reserve(storage: Any) -> list[int]:
        return [*await storage.reserve_ids(3), *await storage.reserve_ids(2)]

    first = scenario(backend, reserve)
    second = scenario(backend, reserve)
    assert len(set(first + second)) == 10
    assert first == sorted(first) and min(second) > max(first)


def test_stored_events_keep_their_wire_format_and_sessions_their_context(
    backend: Backend,
) -> None:
    async def body(storage: Any) -> list[str]:
        new = NewSession(1, SID, 1000, 5, {"media.id": "m"}, context={"userAgent": "UA/1"})
        storage.submit_session(new, [START])
        storage.submit_event(1, 1, 1001, b"{}", "edge")
        await storage.flush()
        return [e.format for e in await storage.read(queries.session_events(1))]

    assert scenario(backend, body) == ["collection", "edge"]
    assert backend.rows("SELECT context FROM sessions") == [('{"userAgent":"UA/1"}',)]


def test_a_duplicate_arrival_sequence_number_is_never_stored(backend: Backend) -> None:
    async def body(storage: Any) -> str:
        storage.submit_session(new_session(1), [START])
        await storage.submit_event(1, 1, 1001, b"first", "collection")
        try:
            await storage.submit_event(1, 1, 1002, b"again", "collection")
        except StorageUnavailable:
            return "503"
        return "stored"

    assert scenario(backend, body) == "503"
    assert backend.rows("SELECT seq, body FROM events WHERE seq = 1") == [(1, b"first")]


def test_summary_columns_are_declared_once_and_match_the_schema(backend: Backend) -> None:
    from playhead.storage.schema import FACTS_TABLE, ITEM_TABLES, SESSION_TABLE

    async def nothing(storage: Any) -> None:
        return None

    scenario(backend, nothing)
    for table in (SESSION_TABLE, FACTS_TABLE, *ITEM_TABLES):
        if backend.name == "sqlite":
            found = [row[1] for row in backend.rows(f"PRAGMA table_info({table.name})")]
        else:
            found = [
                row[0]
                for row in backend.rows(
                    "SELECT column_name FROM information_schema.columns"
                    f" WHERE table_name = '{table.name}' AND table_schema = '{backend.schema}'"
                    " ORDER BY ordinal_position"
                )
            ]
        # the facts' change stamp is the database's to write (dialect.*_FACTS_STAMP)
        if table is FACTS_TABLE:
            assert "changed" in found
            found.remove("changed")
        assert found == list(table.names), table.name


def test_full_queue_refuses_sessions_and_events_but_never_bookkeeping(backend: Backend) -> None:
    async def body() -> None:
        storage = backend.make(queue_size=2)
        storage._loop = asyncio.get_running_loop()  # writer deliberately not started
        storage.submit_event(1, 1, 1, b"x", "collection")
        storage.submit_event(1, 2, 2, b"x", "collection")
        with pytest.raises(Overloaded):
            storage.submit_event(1, 3, 3, b"x", "collection")
        with pytest.raises(Overloaded):
            storage.submit_session(new_session(2), [START])
        assert storage.queue_depth() == 2
        # lifecycle bookkeeping is never refused, even with the queue full
        storage.submit_close(1, "idle", 5)
        storage.submit_refused(1)
        storage.submit_summary(report_summary(1, final=True))
        assert storage.queue_depth() == 5

    run(body())


def test_summaries_fill_all_four_tables_and_a_new_one_replaces_the_old(backend: Backend) -> None:
    async def body(storage: Any) -> None:
        storage.submit_session(new_session(1), [START])
        storage.submit_summary(report_summary(1, final=False))
        await storage.submit_summary(report_summary(1, final=False))  # same batch: one wins
        storage.submit_close(1, "sessionEnd", 9000)
        await storage.submit_summary(report_summary(1, final=True))

    scenario(backend, body)
    assert backend.rows("SELECT session_id, final, media_id, ad_count FROM session_summaries") == [
        (1, 1, "test-1", 1)
    ]
    assert backend.rows("SELECT position, ad_id, name, length FROM ad_summaries") == [
        (0, "ad-1", "First ad", 15.0)
    ]
    assert backend.rows("SELECT position, chapter_index, length FROM chapter_summaries") == [
        (0, 1, 30.0)
    ]
    states = backend.rows("SELECT name, count FROM state_summaries ORDER BY name")
    assert ("mute", 1) in states
    assert len(states) == len({name for name, _ in states})


# ---------------------------------------------------------------------------------- PostgreSQL
def test_open_storage_picks_postgres_for_postgres_urls() -> None:
    if asyncpg is None:
        pytest.skip('asyncpg is not installed (pip install "playhead[postgres]")')
    from playhead.storage.postgres import PostgresStorage

    for url in ("postgres://u@h/db", "postgresql://u@h/db"):
        storage = open_storage(url, queue_size=5, batch_size=3, synchronous="NORMAL")
        assert isinstance(storage, PostgresStorage)


def test_open_storage_without_asyncpg_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "asyncpg", None)
    monkeypatch.delitem(sys.modules, "playhead.storage.postgres", raising=False)
    with pytest.raises(ConfigError, match=r'pip install "playhead\[postgres\]"'):
        open_storage("postgresql://u@h/db", queue_size=5, batch_size=3, synchronous="NORMAL")


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[Backend]:
    """A PostgreSQL backend in a fresh schema (skipped, saying why, when unavailable)."""
    reason = _postgres_skip_reason()
    if reason:
        pytest.skip(reason)
    store = Backend("postgres", tmp_path)
    run(_pg(f"CREATE SCHEMA {store.schema}"))
    try:
        yield store
    finally:
        run(_pg(f"DROP SCHEMA {store.schema} CASCADE"))


def test_http_app_runs_on_postgres(postgres: Backend) -> None:
    app = create_app(load_settings({"db": postgres.url}))
    with TestClient(app, raise_server_exceptions=True) as client:
        response = client.post("/api/v1/sessions", json=start_body())
        assert response.status_code == 201, response.text
        sid = response.headers["location"].rsplit("/", 1)[1]
        url = f"/api/v1/sessions/{sid}/events"
        for body in (
            ev("play", TS0 + 1000, 0),
            ev("pauseStart", TS0 + 11000, 10),
            ev("play", TS0 + 16000, 10),
            ev("sessionEnd", TS0 + 20000, 14),
        ):
            assert client.post(url, json=body).status_code == 204
        report = client.get(f"/reports/sessions/{sid}").json()
        details = report["sessionDetails"]
        assert report["state"] == "closed"
        assert report["closeReason"] == "sessionEnd"
        assert (details["pauseCount"], details["pauseTime"], details["timePlayed"]) == (
            1,
            5.0,
            14.0,
        )
        assert client.post(url, json=ev("ping", TS0 + 30000, 14)).status_code == 410
    rows = postgres.rows("SELECT sid, state, close_reason, refused FROM sessions")
    assert rows == [(sid, "closed", "sessionEnd", 1)]
    events = postgres.rows("SELECT seq FROM events ORDER BY seq")
    assert events == [(i,) for i in range(5)]
    finals = postgres.rows("SELECT final, time_played FROM session_summaries")
    assert finals == [(1, 14.0)]


# every insert into events fails until the trigger is dropped
_FAIL_ONCE = """
CREATE FUNCTION fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'injected write failure';
END $$;
CREATE TRIGGER fail_once BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION fail_once();
"""


def test_a_write_that_fails_is_refused_and_its_retry_folded_once(
    postgres: Backend,
) -> None:
    """The live state always equals the fold of the stored log, on PostgreSQL too."""
    app = create_app(load_settings({"db": postgres.url}))
    with TestClient(app, raise_server_exceptions=True) as client:
        response = client.post("/api/v1/sessions", json=start_body())
        sid = response.headers["location"].rsplit("/", 1)[1]
        url = f"/api/v1/sessions/{sid}/events"
        pod = {"media.ad.podIndex": 1, "media.ad.podSecond": 0}
        for body in (ev("play", TS0 + 100), ev("adBreakStart", TS0 + 200, params=pod)):
            assert client.post(url, json=body).status_code == 204
        ad = ev("adStart", TS0 + 300, params={"media.ad.id": "a", "media.ad.length": 5,
                "media.ad.podPosition": 1, "media.ad.playerName": "p"})  # fmt: skip
        # the next write fails once in the database (as a lost connection or a full disk would)
        run(_pg_script(_FAIL_ONCE, schema=postgres.schema))
        refused = client.post(url, json=ad)
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        report = client.get(f"/reports/sessions/{sid}").json()
        assert report["sessionDetails"]["adCount"] == 0
        run(_pg("DROP TRIGGER fail_once ON events", schema=postgres.schema))
        assert client.post(url, json=ad).status_code == 204  # the client's retry
        report = client.get(f"/reports/sessions/{sid}").json()
        assert report["sessionDetails"]["adCount"] == 1
    stored = postgres.rows(
        "SELECT COUNT(*) FROM events WHERE convert_from(body, 'UTF8') LIKE '%adStart%'"
    )
    assert stored == [(1,)]


def test_writer_replaces_a_terminated_connection(postgres: Backend) -> None:
    async def body(storage: Any) -> list[int]:
        await storage.submit_session(new_session(1), [START])
        pid = await storage._conn.fetchval("SELECT pg_backend_pid()")
        await _pg("SELECT pg_terminate_backend($1)", pid)
        await asyncio.sleep(0.2)  # the writer's connection notices it was closed
        await storage.submit_event(1, 1, 2, b"a", "collection")
        return [e.seq for e in await storage.read(queries.session_events(1))]

    assert scenario(postgres, body) == [0, 1]


# ---------------------------------------------------------------------------------- write rate
def write_rate(backend: Backend, n: int = 10_000, batch_size: int = 0) -> float:
    """Events per second for ``n`` events submitted at once (``batch_size`` 0: one transaction)."""

    async def body(storage: Any) -> float:
        await storage.submit_session(new_session(1), [START])
        began = time.perf_counter()
        futures = [
            storage.submit_event(1, i + 1, 2000, b'{"eventType":"ping"}', "collection")
            for i in range(n)
        ]
        await asyncio.gather(*futures)
        return n / (time.perf_counter() - began)

    return scenario(backend, body, queue_size=n + 10, batch_size=batch_size or n + 10)


def test_a_burst_of_events_is_committed(backend: Backend) -> None:
    rate = write_rate(backend, 2_000)
    assert backend.rows("SELECT COUNT(*) FROM events") == [(2_001,)]
    assert rate > 0


# ---------------------------------------------------------------------------------- isolation
def test_one_job_the_database_cannot_store_fails_alone(backend: Backend) -> None:
    """A value past the column's range fails only its own job; the batch's others commit."""

    async def body(storage: Any) -> list[str]:
        storage.submit_session(new_session(1), [START])
        tickets = [storage.submit_event(1, seq, 1000 + seq, b"ok", "collection") for seq in (1, 2)]
        bad = storage.submit_event(
            2**70, 3, 1003, b"overflow", "collection"
        )  # no 64-bit column holds it
        tickets.append(storage.submit_event(1, 4, 1004, b"ok", "collection"))
        tickets.append(storage.submit_close(1, "sessionEnd", 1005))
        outcomes = []
        for ticket in [*tickets[:2], bad, *tickets[2:]]:
            try:
                await ticket
                outcomes.append("ok")
            except StorageUnavailable:
                outcomes.append("503")
        return outcomes

    assert scenario(backend, body) == ["ok", "ok", "503", "ok", "ok"]
    assert backend.rows("SELECT seq FROM events ORDER BY seq") == [(0,), (1,), (2,), (4,)]
    assert backend.rows("SELECT state FROM sessions") == [("closed",)]


def test_a_summary_that_fails_never_fails_the_events_of_its_batch(backend: Backend) -> None:
    good = report_summary(1, final=False)
    ad = msgspec.structs.replace(good.report.ads[0], pod_index=2**70)
    bad = msgspec.structs.replace(good, report=msgspec.structs.replace(good.report, ads=[ad]))

    async def body(storage: Any) -> list[str]:
        storage.submit_session(new_session(1), [START])
        event = storage.submit_event(1, 1, 1001, b"e", "collection")
        failing = storage.submit_summary(bad)
        outcomes = []
        for ticket in (event, failing):
            try:
                await ticket
                outcomes.append("ok")
            except StorageUnavailable:
                outcomes.append("503")
        await storage.read(queries.session_events(1))
        return outcomes

    # the event is acknowledged; the summary alone fails (its ticket settles with the writes,
    # and the summary is retried, then dropped)
    assert scenario(backend, body) == ["ok", "ok"]
    assert backend.rows("SELECT seq FROM events ORDER BY seq") == [(0,), (1,)]
    assert backend.rows("SELECT COUNT(*) FROM session_summaries") == [(0,)]


def test_a_batch_not_committed_in_time_is_answered_503_and_settles_later(
    backend: Backend, tmp_path: Path
) -> None:
    """A database that hangs (a lock held elsewhere) gets 503 after the timeout, not a hang."""

    async def body(storage: Any) -> tuple[float, bool, bool]:
        await storage.submit_session(new_session(1), [START])
        async with _lock_events(backend):
            began = time.monotonic()
            ticket = storage.submit_event(1, 1, 1001, b"slow", "collection")
            with pytest.raises(StorageUnavailable):
                await ticket
            waited = time.monotonic() - began
        stored = await ticket.settled()  # the lock is gone: the write went through after all
        nxt = storage.submit_event(1, 2, 1002, b"next", "collection")
        await nxt
        return waited, stored, await nxt.settled()

    waited, stored, next_stored = scenario(backend, body, timeout=0.3)
    assert 0.25 <= waited < 2.0
    assert (stored, next_stored) == (True, True)
    assert backend.rows("SELECT seq, body FROM events WHERE seq > 0 ORDER BY seq") == [
        (1, b"slow"),
        (2, b"next"),
    ]


@contextlib.asynccontextmanager
async def _lock_events(backend: Backend) -> AsyncIterator[None]:
    """Hold a write lock on the events table from another connection for 1.2 s at most."""
    if backend.name == "sqlite":
        conn = sqlite3.connect(backend.path, isolation_level=None, check_same_thread=False)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            await asyncio.sleep(0.9)
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    conn = await asyncpg.connect(PG_URL, server_settings={"search_path": backend.schema})
    try:
        tx = conn.transaction()
        await tx.start()
        await conn.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
        try:
            yield
            await asyncio.sleep(0.9)
        finally:
            await tx.rollback()
    finally:
        await conn.close()


# ---------------------------------------------------------------------------------- viewer key
def test_sessions_store_their_viewer_key(backend: Backend) -> None:
    async def body(storage: Any) -> None:
        a, b, c = await storage.reserve_ids(3)
        await storage.submit_session(
            new_session(a, "a" * 64, **{"analytics.visitorId": "v1", "analytics.aid": "x"}), [START]
        )
        await storage.submit_session(
            new_session(
                b, "b" * 64, **{"visitor.marketingCloudUserId": "", "analytics.aid": "aid"}
            ),
            [START],
        )
        await storage.submit_session(new_session(c, "c" * 64), [START])

    scenario(backend, body)
    assert backend.rows("SELECT sid, viewer_key FROM sessions ORDER BY sid") == [
        ("a" * 64, "v1"),
        ("b" * 64, "aid"),
        ("c" * 64, None),
    ]


def test_migration_0005_fills_the_viewer_key_of_stored_sessions(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    import playhead.storage.migrate as migrate

    dialect = "sqlite" if backend.name == "sqlite" else "postgres"
    every = migration_files(dialect)
    monkeypatch.setattr(migrate, "migration_files", lambda d: [m for m in every if m[0] < 5])
    backend.migrate()
    params = [
        '{"visitor.marketingCloudUserId": "mc", "analytics.visitorId": "v"}',
        '{"visitor.marketingCloudUserId": "", "analytics.visitorId": "v"}',
        '{"analytics.aid": "aid", "analytics.visitorId": 5}',
        '{"media.id": "m"}',
    ]
    values = ", ".join(f"({i + 1}, '{i + 1:064x}', 0, 0, '{p}')" for i, p in enumerate(params))
    insert = f"INSERT INTO sessions (id, sid, started_ms, start_ts, params) VALUES {values}"
    if backend.name == "sqlite":
        conn = sqlite3.connect(backend.path)
        with conn:
            conn.execute(insert)
        conn.close()
    else:
        run(_pg_script(insert, backend.schema))
    monkeypatch.setattr(migrate, "migration_files", lambda d: every)
    assert backend.migrate()[0] == "0005_viewer_key.sql"
    assert backend.rows("SELECT id, viewer_key FROM sessions ORDER BY id") == [
        (1, "mc"),
        (2, "v"),
        (3, "aid"),
        (4, None),
    ]
