"""The report process: it answers what the database answers, and when it dies the database
answers until a new one is up."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from playhead.reports import process
from playhead.reports.figures import SqlFigures
from playhead.reports.process import ProcessFigures
from playhead.reports.selection import Filter, Selection
from playhead.storage.sqlite import SQLiteStorage
from tests.reports.test_columnar import _same, _store

EVERYTHING = Selection(0, 2**40)
SHOW = Selection(0, 2**40, (Filter("media.show", "show-1"),))


async def _until_loaded(figures: ProcessFigures) -> None:
    for _ in range(600):
        await figures.totals(EVERYTHING)
        if figures.loaded:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the report process never loaded")


def test_the_report_process_answers_and_is_replaced_when_it_dies(tmp_path: Path) -> None:
    async def scenario() -> None:
        storage = SQLiteStorage(
            str(tmp_path / "p.db"), queue_size=1000, batch_size=50, synchronous="NORMAL"
        )
        await storage.start()
        figures = ProcessFigures(str(tmp_path / "p.db"), storage, min_sessions=0)
        sql = SqlFigures(storage)
        try:
            await _store(storage, range(40), random.Random(4))
            await _until_loaded(figures)
            first = figures.pid()
            assert first is not None and figures.held() == 40
            assert _same(await figures.totals(SHOW), await sql.totals(SHOW)) == []
            # sessions stored after the load are in the next answer
            await _store(storage, range(40, 50), random.Random(5))
            assert _same(await figures.totals(SHOW), await sql.totals(SHOW)) == []
            assert figures.held() == 50
            # killed: the database answers at once, and a new process takes over later
            figures._process.kill()  # what a crash would do
            figures._process.join(5)
            assert _same(await figures.totals(SHOW), await sql.totals(SHOW)) == []
            assert figures.pid() is None and not figures.loaded
            figures._retry_at = 0.0  # not wait the retry delay out
            await _until_loaded(figures)
            assert figures.pid() not in (None, first)
            assert _same(await figures.totals(SHOW), await sql.totals(SHOW)) == []
        finally:
            await figures.stop()
            await storage.stop()

    asyncio.run(scenario())


def test_a_small_store_is_asked_directly(tmp_path: Path) -> None:
    async def scenario() -> tuple[int | None, bool]:
        storage = SQLiteStorage(
            str(tmp_path / "s.db"), queue_size=1000, batch_size=50, synchronous="NORMAL"
        )
        await storage.start()
        figures = ProcessFigures(str(tmp_path / "s.db"), storage, min_sessions=100)
        try:
            await _store(storage, range(20), random.Random(6))
            found = await figures.totals(EVERYTHING)
            assert found == await SqlFigures(storage).totals(EVERYTHING)
            return figures.pid(), figures.loaded
        finally:
            await figures.stop()
            await storage.stop()

    assert asyncio.run(scenario()) == (None, False)
    assert process.MIN_SESSIONS == 10_000
