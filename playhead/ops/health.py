"""Liveness and readiness: what a load balancer asks before it sends a node traffic.

Liveness is the process answering at all. Readiness checks, each bounded in time, that the
store answers a read and can take writes (its file is still there), that the live state
answers, and that the write queue is below its limit; every failing part is named, so the
operator reading a ``503`` knows where to look.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, NamedTuple

from playhead.state import LiveState
from playhead.storage import Storage

# How long one check may take before its part counts as not answering.
CHECK_TIMEOUT_S = 2.0


class Failing(NamedTuple):
    """One part that is not ready, and why."""

    part: str
    problem: str


class _Ping:
    """The cheapest read there is (a store that answers it is reachable)."""

    sql = "SELECT 1"
    args: tuple[Any, ...] = ()

    def shape(self, rows: Sequence[Sequence[Any]]) -> int:
        return int(rows[0][0])


async def readiness(
    storage: Storage, state: LiveState, queue_size: int, timeout: float = CHECK_TIMEOUT_S
) -> list[Failing]:
    """The parts that are not ready (empty: ready to take traffic)."""
    failing: list[Failing] = []
    problem = storage.problem()
    if problem is not None:
        failing.append(Failing("storage", problem))
    else:
        try:
            await asyncio.wait_for(storage.read(_Ping()), timeout)
        except Exception as exc:  # timeouts, StorageUnavailable, a dropped connection
            failing.append(Failing("storage", f"does not answer a read ({type(exc).__name__})"))
    try:
        await asyncio.wait_for(state.count(), timeout)
    except Exception as exc:
        failing.append(Failing("live state", f"does not answer ({type(exc).__name__})"))
    depth = storage.write_backlog()
    if depth >= queue_size:
        failing.append(Failing("write queue", f"full ({depth} of {queue_size} jobs waiting)"))
    return failing
