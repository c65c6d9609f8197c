"""What only the shared (Redis) live state promises: two processes (two RedisState objects on
one Redis database) see one state, compare-and-set across them, draw one sequence per session,
take each due session once, and notice a flushed Redis. Real Redis, database 11."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from playhead.errors import Overloaded
from playhead.state import LiveSession
from tests.helpers.shared import fresh_redis, redis_client, redis_skip_reason
from tests.state.test_live_state import deadline, live

pytestmark = pytest.mark.skipif(redis_skip_reason() is not None, reason=redis_skip_reason() or "")


@pytest.fixture
def url() -> Iterator[str]:
    url = fresh_redis(11)
    redis_client(url).set(b"ph:ready", b"test")
    yield url
    redis_client(url).flushdb()


def pair(url: str, **kwargs: Any) -> tuple[Any, Any]:
    from playhead.state.redis import RedisState

    return RedisState(url, deadline, **kwargs), RedisState(url, deadline, **kwargs)


def run(*states: Any, body: Any) -> Any:
    async def main() -> Any:
        try:
            return await body
        finally:
            for state in states:
                await state.stop()

    return asyncio.run(main())


def test_a_commit_from_one_process_refuses_the_others_stale_copy(url: str) -> None:
    a, b = pair(url)

    async def body() -> None:
        await a.add(live(1))
        mine = await a.load(live(1).sid)
        theirs = await b.load(live(1).sid)
        assert mine is not None and theirs is not None
        mine.refused = 3
        assert await a.commit(mine, mine.version)
        theirs.refused = 5
        assert not await b.commit(theirs, theirs.version)  # a changed it meanwhile
        fresh = await b.load(live(1).sid)
        assert fresh is not None and fresh.refused == 3 and fresh.version == 1
        assert fresh.fold == live(1).fold  # the fold came back whole from its snapshot

    run(a, b, body=body())


def test_sequence_numbers_are_one_sequence_across_processes(url: str) -> None:
    a, b = pair(url)

    async def body() -> list[int]:
        await a.add(live(1))
        seqs = []
        for i in range(6):
            state = (a, b)[i % 2]
            while True:
                copy = await state.load(live(1).sid)
                seq = await state.reserve_seq(copy)
                if seq:
                    break
            seqs.append(seq)
        return seqs

    assert run(a, b, body=body()) == [1, 2, 3, 4, 5, 6]


def test_a_reservation_needs_the_version_it_was_loaded_at(url: str) -> None:
    a, b = pair(url)

    async def body() -> None:
        await a.add(live(1))
        old = await b.load(live(1).sid)
        current = await a.load(live(1).sid)
        assert await a.reserve_seq(current) == 1
        assert await b.reserve_seq(old) == 0  # changed since: load again
        again = await b.load(live(1).sid)
        assert again is not None and again.inflight == 1 and again.next_seq == 2

    run(a, b, body=body())


def test_each_due_session_goes_to_one_process(url: str) -> None:
    a, b = pair(url)

    async def body() -> None:
        for n in range(10):
            await a.add(live(n, received_ms=0))
        got_a, got_b = await asyncio.gather(a.due(20_000), b.due(20_000))
        ids = sorted(s.session_id for s in got_a + got_b)
        assert ids == list(range(10))
        # a process that took sessions and died: after its lease they are due again
        assert await a.due(20_000 + 9_999) == []
        assert len(await b.due(20_000 + 10_000)) == 10

    run(a, b, body=body())


def test_the_open_count_is_shared(url: str) -> None:
    a, b = pair(url)

    async def body() -> tuple[int, int, int]:
        for n in range(3):
            await (a, b)[n % 2].add(live(n))
        first = await b.count()
        closing = await b.load(live(0).sid)
        closing.close_reason, closing.closed_ms, closing.evict_ms = "idle", 6_000, 40_000
        assert await b.commit(closing, closing.version)
        after_close = await a.count()
        await a.remove(live(1).sid)
        await a.remove(live(0).sid)  # a closed one: the count stays
        return first, after_close, await b.count()

    assert run(a, b, body=body()) == (3, 2, 1)


def test_a_reservation_never_folded_in_turns_stale_and_keeps_the_session_due(url: str) -> None:
    clock = [100_000]
    a, b = pair(url, stale_ms=15_000, clock=lambda: clock[0])

    async def body() -> LiveSession:
        session = live(1, received_ms=100_000)
        await a.add(session)
        copy = await a.load(session.sid)
        assert await a.reserve_seq(copy) == 1  # ... and the process dies here
        clock[0] = 116_000
        [due] = await b.due(116_000)  # long before its idle deadline (110,000 + 10,000)
        return due

    due = run(a, b, body=body())
    assert (due.session_id, list(due.stale), due.inflight) == (1, [1], 0)


def test_a_flushed_redis_answers_503_until_rebuilt(url: str) -> None:
    a, b = pair(url)

    async def body() -> None:
        await a.add(live(1))
        redis_client(url).flushdb()
        with pytest.raises(Overloaded, match="rebuilt"):
            await b.load(live(1).sid)
        assert not await a.ready()
        assert await a.lock_rebuild("a") and not await b.lock_rebuild("b")
        await a.add(live(1))
        await a.mark_ready("a")
        assert (await b.load(live(1).sid)) is not None
        assert (await b.load(live(2).sid)) is None  # a sid Redis never held: not found

    run(a, b, body=body())


def test_redis_unreachable_is_overloaded() -> None:
    from playhead.state.redis import RedisState

    state = RedisState("redis://127.0.0.1:1/10", deadline, timeout=0.5)

    async def body() -> None:
        with pytest.raises(Overloaded, match="unavailable"):
            await state.load(live(1).sid)

    run(state, body=body())


def test_an_open_session_costs_under_a_kibibyte(url: str) -> None:
    a, _ = pair(url)

    async def body() -> int:
        await a.add(live(1))
        return int(await a.memory_usage(live(1).sid))

    size = run(a, body=body())
    assert 100 < size < 1024


def test_a_snapshot_of_another_format_is_dropped_to_be_rebuilt_from_the_log(url: str) -> None:
    a, _ = pair(url)

    async def body() -> tuple[Any, int]:
        await a.add(live(1))
        key = b"ph:s:" + bytes.fromhex(live(1).sid)
        redis_client(url).hset(key, b"b", b"\x07not ours")
        return await a.load(live(1).sid), int(redis_client(url).exists(key))

    assert run(a, body=body()) == (None, 0)


def test_take_loads_and_reserves_in_one_step_only_for_an_open_session(url: str) -> None:
    a, b = pair(url)

    async def body() -> tuple[int, int, int, int]:
        await a.add(live(1))
        taken = await a.take(live(1).sid)
        first = await a.reserve_seq(taken)  # the number reserved with the load
        other = await b.load(live(1).sid)
        second = await b.reserve_seq(other)
        taken.close_reason, taken.closed_ms, taken.evict_ms = "idle", 6_000, 40_000
        stale_copy_commit = await a.commit(taken, taken.version)  # b reserved meanwhile
        closed = await b.load(live(1).sid)
        closed.close_reason, closed.closed_ms, closed.evict_ms = "idle", 6_000, 40_000
        assert await b.commit(closed, closed.version)
        again = await a.take(live(1).sid)
        return first, second, int(stale_copy_commit), again.taken

    assert run(a, b, body=body()) == (1, 2, 0, 0)
