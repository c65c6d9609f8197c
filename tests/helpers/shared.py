"""Real Redis and PostgreSQL for the tests of the shared deployment (skipped, with the reason,
when either is absent). Each test takes a Redis database number of its own (10-15; FLUSHDB at
the start) and a PostgreSQL schema of its own (dropped at the end)."""

from __future__ import annotations

import asyncio
import os
import secrets
from typing import Any

REDIS_HOST = os.environ.get("TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("TEST_REDIS_PORT", "6379"))
PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
# the Redis database numbers these tests may use (others share this Redis server)
REDIS_DBS = (10, 11, 12, 13, 14, 15)
_probed: dict[str, str] = {}


def redis_skip_reason() -> str | None:
    """Why Redis tests cannot run here, or ``None`` when they can."""
    if "redis" not in _probed:
        try:
            import redis
        except ImportError:
            _probed["redis"] = 'redis-py is not installed (pip install "playhead[redis]")'
        else:
            try:
                redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_timeout=3).ping()
                _probed["redis"] = ""
            except (redis.RedisError, OSError) as exc:
                _probed["redis"] = f"Redis not reachable at {REDIS_HOST}:{REDIS_PORT}: {exc!r}"
    return _probed["redis"] or None


def postgres_skip_reason() -> str | None:
    """Why PostgreSQL tests cannot run here, or ``None`` when they can."""
    if "pg" not in _probed:
        try:
            import asyncpg  # type: ignore[import-untyped]
        except ImportError:
            _probed["pg"] = 'asyncpg is not installed (pip install "playhead[postgres]")'
        else:

            async def probe() -> None:
                conn = await asyncpg.connect(PG_URL, timeout=5)
                await conn.close()

            try:
                asyncio.run(probe())
                _probed["pg"] = ""
            except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
                _probed["pg"] = f"PostgreSQL not reachable at {PG_URL}: {exc!r}"
    return _probed["pg"] or None


def fresh_redis(db: int) -> str:
    """The URL of Redis database ``db`` (10-15), emptied."""
    import redis

    assert db in REDIS_DBS, "tests use only Redis databases 10-15"
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=db)
    client.flushdb()
    client.close()
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/{db}"


def redis_client(url: str) -> Any:
    """A synchronous client on ``url`` (for peeking and flushing)."""
    import redis

    return redis.Redis.from_url(url)


class PgSchema:
    """A PostgreSQL schema of its own for one test (created now, dropped by :meth:`drop`)."""

    def __init__(self) -> None:
        self.name = f"t_{secrets.token_hex(6)}"
        self._run(f"CREATE SCHEMA {self.name}")

    @property
    def url(self) -> str:
        """The ``db`` setting that opens this schema."""
        return f"{PG_URL}?options=-csearch_path%3D{self.name}"

    def rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        """Rows of one query in the schema."""
        return self._run(sql, *args)

    def drop(self) -> None:
        """Drop the schema and everything in it."""
        self._run(f"DROP SCHEMA IF EXISTS {self.name} CASCADE")

    def _run(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        import asyncpg

        async def go() -> list[tuple[Any, ...]]:
            conn = await asyncpg.connect(PG_URL, server_settings={"search_path": self.name})
            try:
                return [tuple(row) for row in await conn.fetch(sql, *args)]
            finally:
                await conn.close()

        return asyncio.run(go())


def needs_redis_and_postgres() -> Any:
    """A skip mark for tests of a shared deployment, naming the service that is missing."""
    import pytest

    reason = redis_skip_reason() or postgres_skip_reason()
    return pytest.mark.skipif(reason is not None, reason=reason or "")
