"""The live session store contract, run against every backend (memory only, so far)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from playhead.engine import Limits, SessionFold
from playhead.events import Event
from playhead.state import LiveSession, SessionStore
from playhead.state.memory import MemoryStore

BACKENDS: dict[str, Callable[[], SessionStore]] = {"memory": MemoryStore}


def live(n: int) -> LiveSession:
    sid = f"{n:064x}"
    start = Event("sessionStart", 1_000, 0.0, params={"media.id": "m", "media.length": 60})
    return LiveSession(n, sid, 5_000, SessionFold.begin(sid, start, 5_000, Limits()))


@pytest.fixture(params=sorted(BACKENDS))
def store(request: pytest.FixtureRequest) -> SessionStore:
    return BACKENDS[request.param]()


def test_add_get_remove(store: SessionStore) -> None:
    a, b = live(1), live(2)
    store.add(a)
    store.add(b)
    assert store.get(a.sid) is a
    assert len(store) == 2
    store.remove(a.sid)
    store.remove(a.sid)  # removing twice is harmless
    assert store.get(a.sid) is None
    assert len(store) == 1


def test_sessions_is_a_snapshot_safe_to_change_while_iterating(store: SessionStore) -> None:
    for n in range(5):
        store.add(live(n))
    seen = []
    for session in store.sessions():
        store.remove(session.sid)
        seen.append(session.session_id)
    assert sorted(seen) == [0, 1, 2, 3, 4]
    assert len(store) == 0


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
