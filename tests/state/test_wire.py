"""The pipelined Redis connection of the hot path: replies in order, errors, the database
selected, and a Redis that never answers failing within the timeout. Real Redis, database 12."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from playhead.state.wire import RedisDown, ReplyError, Wire
from tests.helpers.shared import fresh_redis, redis_client, redis_skip_reason


@pytest.mark.skipif(redis_skip_reason() is not None, reason=redis_skip_reason() or "")
def test_many_commands_in_flight_get_their_own_replies_in_the_selected_database() -> None:
    url = fresh_redis(12)

    async def body() -> tuple[list[int], bytes, str]:
        wire = Wire(url, timeout=2.0)
        try:
            counts = await asyncio.gather(*(wire.call("INCR", b"k") for _ in range(50)))
            await wire.call("SET", b"s", b"v\r\nw")
            value = await wire.call("GET", b"s")
            with pytest.raises(ReplyError) as caught:
                await wire.call("EVALSHA", "0" * 40, 0)
            return counts, value, str(caught.value)
        finally:
            await wire.close()

    counts, value, error = asyncio.run(body())
    assert sorted(counts) == list(range(1, 51)) and counts == sorted(counts)
    assert value == b"v\r\nw"
    assert error.startswith("NOSCRIPT")
    assert redis_client(url).get(b"k") == b"50"  # database 12, not 0
    redis_client(url).flushdb()


def test_a_redis_that_never_answers_fails_within_the_timeout() -> None:
    silent = socket.create_server(("127.0.0.1", 0))
    port = silent.getsockname()[1]

    async def body() -> float:
        wire = Wire(f"redis://127.0.0.1:{port}/0", timeout=0.5)
        started = time.monotonic()
        try:
            with pytest.raises(RedisDown):
                await wire.call("PING")
            return time.monotonic() - started
        finally:
            await wire.close()

    try:
        assert asyncio.run(body()) < 2.0
    finally:
        silent.close()


def test_nothing_listening_is_redis_down() -> None:
    async def body() -> None:
        wire = Wire("redis://127.0.0.1:1/0", timeout=0.5)
        try:
            with pytest.raises(RedisDown, match="cannot connect"):
                await wire.call("PING")
        finally:
            await wire.close()

    asyncio.run(body())
