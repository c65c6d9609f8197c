"""The live-state contract, run against every backend (memory, and Redis when it is reachable):
load, commit with an expected version, sequence numbers, the deadline index, counts; then what
only a shared backend promises (two processes: compare-and-set, one sequence, one sweeper per
due session, the state lost)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from playhead.engine import Limits, SessionFold
from playhead.events import Event
from playhead.state import LiveSession, LiveState
from playhead.state.memory import MemoryState
from tests.helpers.shared import fresh_redis, redis_client, redis_skip_reason

IDLE_MS = 10_000


def deadline(live: LiveSession) -> int | None:
    """As the service's: idle while open, eviction once closed."""
    if live.close_reason is None:
        return live.fold.last_received_ms + IDLE_MS
    return live.evict_ms


def _redis() -> LiveState:
    from playhead.state.redis import RedisState

    url = fresh_redis(10)
    redis_client(url).set(b"ph:ready", b"test")
    return RedisState(url, deadline)


BACKENDS: dict[str, Callable[[], LiveState]] = {
    "memory": lambda: MemoryState(deadline),
    "redis": _redis,
}


def live(n: int, received_ms: int = 5_000) -> LiveSession:
    sid = f"{n:064x}"
    start = Event("sessionStart", 1_000, 0.0, params={"media.id": "m", "media.length": 60})
    return LiveSession(n, sid, received_ms, SessionFold.begin(sid, start, received_ms, Limits()))


@pytest.fixture(params=sorted(BACKENDS))
def state(request: pytest.FixtureRequest) -> Iterator[LiveState]:
    if request.param == "redis" and (reason := redis_skip_reason()):
        pytest.skip(reason)
    made = BACKENDS[request.param]()
    _current.append(made)
    yield made
    _current.clear()


_current: list[LiveState] = []


def run(coro: Any) -> Any:
    """Run a test body; a Redis state's connections are closed on the same event loop."""

    async def main() -> Any:
        try:
            return await coro
        finally:
            for made in _current:
                stop = getattr(made, "stop", None)
                if stop is not None:
                    await stop()

    return asyncio.run(main())


def test_add_load_remove_and_count(state: LiveState) -> None:
    async def body() -> None:
        a, b = live(1), live(2)
        await state.add(a)
        await state.add(b)
        loaded = await state.load(a.sid)
        assert loaded is not None and loaded.session_id == 1
        assert await state.count() == 2
        await state.remove(a.sid)
        await state.remove(a.sid)  # removing twice is harmless
        assert await state.load(a.sid) is None
        assert await state.count() == 1

    run(body())


def test_commit_needs_the_version_it_was_loaded_at(state: LiveState) -> None:
    async def body() -> None:
        await state.add(live(1))
        first = await state.load(live(1).sid)
        assert first is not None
        version = first.version
        first.refused += 1
        assert await state.commit(first, version) is True
        assert await state.commit(first, version) is False  # that version is gone
        again = await state.load(first.sid)
        assert again is not None and again.version == version + 1 and again.refused == 1

    run(body())


def test_a_closed_session_no_longer_counts_as_open(state: LiveState) -> None:
    async def body() -> None:
        session = live(1)
        await state.add(session)
        session.close_reason, session.closed_ms, session.evict_ms = "idle", 6_000, 40_000
        assert await state.commit(session, session.version)
        assert await state.count() == 0
        assert (await state.load(session.sid)) is not None  # still held until evicted

    run(body())


def test_sequence_numbers_are_unique_per_session(state: LiveState) -> None:
    async def body() -> list[int]:
        a, b = live(1), live(2)
        await state.add(a)
        await state.add(b)
        seqs = [await state.reserve_seq(a) for _ in range(3)]
        assert await state.reserve_seq(b) == 1
        return seqs

    assert run(body()) == [1, 2, 3]


def test_due_answers_only_sessions_whose_deadline_came(state: LiveState) -> None:
    async def body() -> None:
        for n in range(5):
            await state.add(live(n, received_ms=1_000 * n))  # idle at 10,000 + 1,000 n
        assert await state.due(9_999) == []
        assert sorted(s.session_id for s in await state.due(12_000)) == [0, 1, 2]
        # answered once: a session due is looked at again when it is committed (or, shared,
        # when the lease of the process that took it runs out)
        assert await state.due(12_000) == []
        assert sorted(s.session_id for s in await state.due(20_000)) == [3, 4]

    run(body())


def test_activity_pushes_a_deadline_later_without_losing_it(state: LiveState) -> None:
    async def body() -> None:
        session = live(1, received_ms=0)
        await state.add(session)
        session.fold.last_received_ms = 8_000  # an event arrived
        assert await state.commit(session, session.version)
        assert await state.due(10_000) == []  # its idle deadline is 18,000 now
        assert [s.session_id for s in await state.due(18_000)] == [1]

    run(body())


def test_a_due_session_committed_again_is_looked_at_again(state: LiveState) -> None:
    async def body() -> None:
        session = live(1, received_ms=0)
        await state.add(session)
        [due] = await state.due(10_000)
        # the sweeper could not close it yet (events in flight): it commits it as it is
        assert await state.commit(due, due.version)
        assert [s.session_id for s in await state.due(10_001)] == [1]
        due.close_reason, due.closed_ms, due.evict_ms = "idle", 10_000, 40_000
        assert await state.commit(due, due.version)
        assert await state.due(39_999) == []
        assert [s.session_id for s in await state.due(40_000)] == [1]

    run(body())


def test_sessions_is_a_snapshot_safe_to_change_while_iterating(state: LiveState) -> None:
    async def body() -> list[int]:
        for n in range(5):
            await state.add(live(n))
        seen = []
        async for session in state.sessions():
            await state.remove(session.sid)
            seen.append(session.session_id)
        assert await state.count() == 0
        return sorted(seen)

    assert run(body()) == [0, 1, 2, 3, 4]


def test_lifecycle_of_an_open_and_a_closed_session() -> None:
    session = live(7)
    assert session.closed is False
    assert session.lifecycle().state == "open"
    session.close_reason, session.closed_ms, session.refused = "idle", 9_000, 2
    lifecycle = session.lifecycle()
    assert session.closed is True
    assert (lifecycle.state, lifecycle.close_reason, lifecycle.closed_ms, lifecycle.refused) == (
        "closed",
        "idle",
        9_000,
        2,
    )
    assert session.lifecycle(with_refusals=False).refused == 0
