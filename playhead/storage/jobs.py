"""The write jobs a backend's writer runs, one small typed record each.

The field order of :class:`EventJob`, :class:`CloseJob` and :class:`RefusedJob` is the
parameter order of their SQL statements, so a writer hands a group of them to ``executemany``
as they are.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, NamedTuple

from playhead.storage.base import NewSession, Summary


class EventJob(NamedTuple):
    """Append one event to a session's log."""

    session_id: int
    seq: int
    received_ms: int
    body: bytes
    format: str


class CloseJob(NamedTuple):
    """Mark a session closed (a session already closed keeps its first reason)."""

    reason: str
    closed_ms: int
    session_id: int


class SessionJob(NamedTuple):
    """Store a new session with its first events (and its close) in one transaction."""

    session: NewSession
    events: list[EventJob]
    close: CloseJob | None


class RefusedJob(NamedTuple):
    """Count one event refused with 410 on a closed session."""

    session_id: int


class SummaryJob(NamedTuple):
    """Store or replace one session's summary; ``attempt`` counts tries (it is retried)."""

    summary: Summary
    attempt: int = 1


class CallJob(NamedTuple):
    """Run ``fn`` on the writer's connection after every write before it is committed, and
    complete ``future`` with its result (a barrier, or a write of its own such as reserving
    ids)."""

    fn: Callable[[Any], Any]
    future: asyncio.Future[Any]


Job = EventJob | CloseJob | SessionJob | RefusedJob | SummaryJob | CallJob

# The writes of one transaction, in this order: a session inserted and closed in the same
# batch ends up closed, an event's session exists before the event.
WRITE_ORDER: tuple[type[Job], ...] = (SessionJob, EventJob, CloseJob, RefusedJob)
# Jobs retried when they fail: they never depend on what a client sent.
BOOKKEEPING: tuple[type[Job], ...] = (CloseJob, RefusedJob, SummaryJob)
