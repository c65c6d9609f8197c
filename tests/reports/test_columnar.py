"""The columns in memory answer exactly what the database answers, and keep answering it while
sessions arrive, change and are deleted (the database's own answer is the oracle)."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest

from playhead.engine import Lifecycle, Limits, SessionReport, fold
from playhead.protocols.collection.decode import decode_event
from playhead.reports import buckets
from playhead.reports.columnar import ColumnarFigures
from playhead.reports.figures import Figures, Grouping, SqlFigures
from playhead.reports.selection import Filter, Selection
from playhead.simulator import simulate_sessions
from playhead.storage import NewSession, StoredEvent, Summary
from playhead.storage.queries import Query
from playhead.storage.sqlite import SQLiteStorage

START = 1_764_608_400_000
HOUR = 3_600_000


def _templates() -> list[SessionReport]:
    out = []
    for i, bodies in enumerate(simulate_sessions(3, 12, start_ts=START, spacing_ms=0)):
        events = [decode_event(msgspec.json.encode(b)) for b in bodies]
        items = [(e, j + 1, 1000 + j) for j, e in enumerate(events[1:])]
        folded = fold(f"{i:064x}", events[0], 1000, items, Limits())
        closed = i % 4 != 0  # some stay open
        out.append(
            folded.report(Lifecycle("closed", "sessionEnd", 10**13) if closed else Lifecycle())
        )
    return out


TEMPLATES = _templates()


def _report(i: int, rng: random.Random) -> SessionReport:
    t = TEMPLATES[i % len(TEMPLATES)]
    shift = rng.randrange(0, 48 * HOUR)
    params = dict(t.params)
    params["media.show"] = f"show-{rng.randrange(4)}"
    if i % 5 == 0:
        params.pop("media.show")  # (none)
    params["visitor.marketingCloudUserId"] = f"v{rng.randrange(9)}"
    if i % 6 == 0:
        params.pop("visitor.marketingCloudUserId")  # a viewer of its own
    meta = {"tier": ("free", "pro")[i % 2]} if i % 3 else {}
    return msgspec.structs.replace(
        t,
        id=f"{i:064x}",
        first_event_ts=t.first_event_ts + shift,
        last_event_ts=t.last_event_ts + shift,
        params=params,
        custom_metadata=meta,
    )


async def _store(storage: SQLiteStorage, ids: range, rng: random.Random, stored: int = 0) -> None:
    """Sessions ``ids`` and a summary each (sessions below ``stored`` exist: summaries only)."""
    for i in ids:
        if i < stored:
            continue
        r = _report(i, rng)
        context = {"isBot": "true"} if i % 11 == 0 else {"device.type": ("tv", "phone")[i % 2]}
        new = NewSession(i + 1, r.id, 1, r.first_event_ts, r.params, context=context)
        await storage.submit_session(new, [StoredEvent(0, 1, b"{}")])
    for i in ids:
        r = _report(i, rng)
        await storage.submit_summary(Summary(i + 1, r.state == "closed", 5, r, 1))
    await storage.flush()


SELECTIONS = [
    Selection(0, 2**40),
    Selection(START + 6 * HOUR, START + 30 * HOUR),
    Selection(0, 2**40, (Filter("media.show", "show-1"), Filter("media.show", "(none)"))),
    Selection(0, 2**40, (Filter("media.show", "show-2", True), Filter("meta.tier", "pro"))),
    Selection(0, 2**40, (Filter("isBot", "true"),)),
    Selection(0, 2**40, (Filter("device.type", "tv"), Filter("viewer", "v3", True))),
    Selection(0, 2**40, (Filter("media.show", "no-such-show"),)),
    Selection(0, 2**40, (Filter("meta.tier", "no-such-tier", True),)),
]


def _near(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(float(a) - float(b)) <= 1e-6 * max(1, abs(b))
    return bool(a == b)


def _same(got: dict[str, Any], want: dict[str, Any]) -> list[str]:
    return [
        f"{k}: {got.get(k)!r} != {v!r}"
        for k, v in want.items()
        if not (_near(got.get(k), v) or (not got.get(k) and not v))
    ]


async def _compare(columns: Figures, sql: Figures) -> None:
    zone = buckets.offsets(ZoneInfo("Asia/Kolkata"), START - 48 * HOUR, START + 96 * HOUR)
    for selection in SELECTIONS:
        assert _same(await columns.totals(selection), await sql.totals(selection)) == []
        assert await columns.percentiles(selection) == await sql.percentiles(selection)
        assert await columns.ranked(selection, "media.show") == await sql.ranked(
            selection, "media.show"
        )
        for grouping in (
            Grouping("media.show"),
            Grouping("viewer"),
            Grouping(width=HOUR, zone=zone),
            Grouping("meta.tier", ("pro",), 86_400_000, zone),
        ):
            got = dict(await columns.grouped(selection, grouping))
            want = dict(await sql.grouped(selection, grouping))
            assert set(got) == set(want), grouping
            for key, raw in want.items():
                assert _same(got[key], raw) == [], (grouping, key)


@pytest.fixture
def storage(tmp_path: Path) -> SQLiteStorage:
    return SQLiteStorage(
        str(tmp_path / "c.db"), queue_size=1000, batch_size=50, synchronous="NORMAL"
    )


def test_columns_answer_what_the_database_answers_as_sessions_come_change_and_go(
    storage: SQLiteStorage,
) -> None:
    async def scenario() -> None:
        await storage.start()
        try:
            rng = random.Random(1)
            await _store(storage, range(60), rng)
            columns, sql = ColumnarFigures(storage), SqlFigures(storage)
            await _compare(columns, sql)
            assert columns.loaded
            # new sessions, and later summaries of stored ones (open ones closing)
            await _store(storage, range(40, 100), rng, stored=60)
            await _compare(columns, sql)
            # retention and erasure delete sessions
            await storage.delete_sessions([3, 4, 5, 50, 99, 100])
            await _compare(columns, sql)
            await _store(storage, range(100, 110), rng)
            await _compare(columns, sql)
        finally:
            await storage.stop()

    asyncio.run(scenario())


def test_a_change_stamp_is_never_given_twice_even_after_the_newest_is_deleted(
    storage: SQLiteStorage,
) -> None:
    def newest(rows: Any) -> tuple[int, int]:
        return int(rows[0][0]), int(rows[0][1])

    async def scenario() -> tuple[int, int]:
        await storage.start()
        try:
            rng = random.Random(2)
            await _store(storage, range(5), rng)
            query = Query(
                "SELECT session_id, changed FROM session_facts ORDER BY changed DESC LIMIT 1",
                (),
                newest,
            )
            sid, stamp = await storage.read(query)
            await storage.delete_sessions([sid])
            await _store(storage, range(5, 6), rng)
            _, after = await storage.read(query)
            return stamp, after
        finally:
            await storage.stop()

    deleted, following = asyncio.run(scenario())
    assert following > deleted


def test_until_the_first_load_finishes_the_database_answers(storage: SQLiteStorage) -> None:
    async def scenario() -> None:
        await storage.start()
        try:
            await _store(storage, range(30), random.Random(3))
            columns = ColumnarFigures(storage, wait_s=0.0)
            sql = SqlFigures(storage)
            selection = Selection(0, 2**40)
            assert _same(await columns.totals(selection), await sql.totals(selection)) == []
            for _ in range(100):
                if columns.loaded:
                    break
                await asyncio.sleep(0.02)
            assert columns.loaded
            assert _same(await columns.totals(selection), await sql.totals(selection)) == []
        finally:
            await storage.stop()

    asyncio.run(scenario())
