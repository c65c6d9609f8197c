"""Fixtures of the aggregate contract suite: one app per backend with a replayed audience.

PostgreSQL runs at ``$TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``)
in a database created for the run and dropped after it; without asyncpg or a reachable server
its tests are skipped, saying why.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from playhead.app import create_app
from playhead.config import load_settings
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


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The ``db`` setting of a fresh database of each backend."""
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
def audience_app(db_url: str) -> Iterator[tuple[TestClient, Audience]]:
    """An app over ``db_url`` with the test audience replayed into it and summarized."""
    clock = FakeClock()
    app = create_app(load_settings({"db": db_url}), clock=clock)
    with TestClient(app, raise_server_exceptions=True) as client:
        audience = replay(client, clock)
        yield client, audience


@pytest.fixture
def reports_client(audience_app: tuple[TestClient, Audience]) -> TestClient:
    """The client of :func:`audience_app`."""
    return audience_app[0]
