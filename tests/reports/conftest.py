"""Fixtures of the aggregate contract suite: one app per backend with a replayed audience.

PostgreSQL runs at ``$TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``)
in a database created for the run and dropped after it; without asyncpg or a reachable server
its tests are skipped, saying why.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from playhead.app import create_app, services_of
from playhead.config import load_settings
from playhead.reports.figures import SqlFigures
from playhead.reports.process import ProcessFigures
from tests.helpers import FakeClock
from tests.reports.audience import Audience, replay

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_URL, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="module", params=["columns", "sql"])
def report_engine(request: pytest.FixtureRequest) -> str:
    """Where the reports get their figures: the columns in memory, or the database."""
    engine: str = request.param
    return engine


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, report_engine: str
) -> Iterator[str]:
    """The ``db`` setting of a fresh database of each backend (one per report engine)."""
    if request.param == "sqlite":
        yield str(tmp_path_factory.mktemp("reports") / "reports.db")
        return
    try:
        import asyncpg
    except ImportError:
        pytest.skip('asyncpg is not installed (pip install "playhead[postgres]")')
    name = f"playhead_reports_{secrets.token_hex(4)}"
    try:
        asyncio.run(_admin(f"CREATE DATABASE {name}"))
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {exc!r}")
    try:
        yield PG_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        asyncio.run(_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(scope="module")
def audience_app(db_url: str, report_engine: str) -> Iterator[tuple[TestClient, Audience]]:
    """An app over ``db_url`` with the test audience replayed into it and summarized."""
    clock = FakeClock()
    settings = {"db": db_url, "report_engine": report_engine, "report_columns_from": 0}
    app = create_app(load_settings(settings), clock=clock)
    with TestClient(app, raise_server_exceptions=True) as client:
        audience = replay(client, clock)
        figures = services_of(app).figures
        if report_engine == "columns":
            # the report process's columns answer every question of the suite, not the
            # database meanwhile
            assert isinstance(figures, ProcessFigures)
            deadline = time.monotonic() + 60
            while not figures.loaded and time.monotonic() < deadline:
                assert client.get("/reports/summary", params={"from": 0}).status_code == 200
                time.sleep(0.05)
            assert figures.loaded
        else:
            assert isinstance(figures, SqlFigures)
        yield client, audience


@pytest.fixture
def reports_client(audience_app: tuple[TestClient, Audience]) -> TestClient:
    """The client of :func:`audience_app`."""
    return audience_app[0]
