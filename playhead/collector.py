"""The collection service: turns accepted bodies into stored events and live session state.

It is the one place where the protocol (decode, validate), the engine (fold), live state and
storage meet, so the HTTP layer only translates requests into these calls and errors into
statuses. Lifecycle rules 9–10 of decisions.md live here: closing by ``sessionEnd``, by the
event-time limits the engine reports, by idleness on the server clock (checked on every event
and by :meth:`Collector.sweep`), the straggler grace after ``sessionEnd``, and 404 vs 410.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

import msgspec

from playhead.config import Settings
from playhead.engine import Lifecycle, Limits, SessionFold, SessionReport, fold
from playhead.errors import FieldError, InvalidBody, Overloaded, SessionClosed, UnknownSession
from playhead.protocol.decode import decode_batch, decode_event, is_array
from playhead.protocol.types import Event
from playhead.state import LiveSession, SessionStore
from playhead.storage import NewSession, SessionRow, Storage, StoredEvent, Summary

Clock = Callable[[], int]

log = logging.getLogger("playhead.collector")
_SID = re.compile(r"[0-9a-f]{64}")
# A closed session stays in memory this long (at least) so late events get a cheap 410.
_KEEP_CLOSED_MS = 30_000


class _SidSource:
    """Session ids from the OS's cryptographic random source, read 8 KiB at a time.

    One ``os.urandom`` call per 256 ids instead of one per id: session starts are frequent
    enough for the system call to show in profiles.
    """

    def __init__(self) -> None:
        self._pool = b""
        self._at = 0

    def __call__(self) -> str:
        if self._at >= len(self._pool):
            self._pool, self._at = os.urandom(8192), 0
        chunk = self._pool[self._at : self._at + 32]
        self._at += 32
        return chunk.hex()


new_sid = _SidSource()


def wall_clock_ms() -> int:
    """The server clock, in epoch milliseconds."""
    return time.time_ns() // 1_000_000


def _decode_stored(events: Iterable[StoredEvent]) -> list[tuple[Event, int, int]]:
    """Decode stored raw events (accepted before, so lenient rules apply).

    An event that no longer decodes (it could only come from another version's rules) is
    skipped with a log line rather than stopping a re-fold or the server's start.
    """
    decoded = []
    for e in events:
        try:
            decoded.append((decode_event(e.body), e.seq, e.received_ms))
        except InvalidBody as exc:
            log.error("stored event %d no longer decodes, skipped: %s", e.seq, exc.errors)
    return decoded


class Collector:
    """Accepts sessions and events, keeps live state and storage in step.

    Args:
        settings: limits (idle, stall, max duration, grace) and strictness.
        storage: the durable store (started by the caller).
        store: the live session store.
        clock: the server clock in epoch ms (tests pass a fake one).
    """

    def __init__(
        self,
        settings: Settings,
        storage: Storage,
        store: SessionStore,
        clock: Clock = wall_clock_ms,
    ) -> None:
        self.storage = storage
        self.store = store
        self.clock = clock
        self.strict = settings.strict
        self.limits = Limits(
            stall_timeout_ms=int(settings.stall_timeout * 1000),
            max_duration_ms=int(settings.max_duration * 1000),
        )
        self.idle_ms = int(settings.idle_timeout * 1000)
        self.grace_ms = int(settings.end_grace * 1000)
        self._background: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ sessions
    async def start_session(self, raw: bytes, *, batch_path: bool = False) -> str:
        """Open a session from a sessionStart body (or a downloaded batch); return its sid."""
        if batch_path or is_array(raw):
            return await self._downloaded(raw, via_sessions=not batch_path)
        event = decode_event(raw, strict=self.strict)
        if event.type != "sessionStart":
            raise InvalidBody(errors=[FieldError("$.eventType", "expected sessionStart here")])
        if event.params.get("media.downloaded") is True:
            raise InvalidBody(
                errors=[
                    FieldError(
                        '$.params["media.downloaded"]',
                        "true only for downloaded batches (POST an array to /api/v1/downloaded)",
                    )
                ]
            )
        now = self.clock()
        sid = new_sid()
        session_id = self.storage.next_session_id()
        written = self.storage.submit_session(
            NewSession(session_id, sid, now, event.ts, event.params), [StoredEvent(0, now, raw)]
        )
        live = LiveSession(session_id, sid, now, SessionFold.begin(sid, event, now, self.limits))
        self.store.add(live)
        try:
            await written
        except Exception:
            self.store.remove(sid)
            raise Overloaded("Could not store the session; retry.") from None
        return sid

    async def _downloaded(self, raw: bytes, *, via_sessions: bool) -> str:
        """Store and close a whole downloaded session (decisions.md rule 7): all or nothing."""
        events = decode_batch(raw, strict=self.strict)
        start = events[0]
        if start.type != "sessionStart":
            raise InvalidBody(
                errors=[FieldError("$[0].eventType", "a batch starts with sessionStart")]
            )
        for i, event in enumerate(events[1:], 1):
            if event.type == "sessionStart":
                raise InvalidBody(errors=[FieldError(f"$[{i}].eventType", "one session per batch")])
        if via_sessions and start.params.get("media.downloaded") is not True:
            raise InvalidBody(
                errors=[
                    FieldError(
                        '$[0].params["media.downloaded"]',
                        "an array on /api/v1/sessions needs media.downloaded: true",
                    )
                ]
            )
        # Store each event's own bytes so a re-fold decodes exactly what was accepted.
        bodies = [msgspec.json.encode(item) for item in msgspec.json.decode(raw)]
        now = self.clock()
        sid = new_sid()
        session_id = self.storage.next_session_id()
        stored = [StoredEvent(seq, now, body) for seq, body in enumerate(bodies)]
        session = fold(
            sid, start, now, [(e, seq, now) for seq, e in enumerate(events) if seq], self.limits
        )
        report = session.report(Lifecycle(state="closed", close_reason="downloaded", closed_ms=now))
        written = self.storage.submit_session(
            NewSession(session_id, sid, now, start.ts, start.params, downloaded=True),
            stored,
            close=("downloaded", now),
        )
        summarized = self.storage.submit_summary(Summary(session_id, True, now, report))
        await written
        await summarized
        return sid

    # ------------------------------------------------------------------ events
    async def add_event(self, sid: str, raw: bytes) -> None:
        """Accept one event for a session, or raise the error the protocol prescribes."""
        live = self.store.get(sid)
        if live is None:
            await self._refuse_unheld(sid)
            return
        event = decode_event(raw, strict=self.strict)
        if event.type == "sessionStart":
            raise InvalidBody(
                errors=[
                    FieldError("$.eventType", "sessionStart opens a session: POST /api/v1/sessions")
                ]
            )
        now = self.clock()
        fold_ = live.fold
        if live.close_reason is not None:
            if not self._straggler(live, event, now):
                self._count_refused(live)
                raise SessionClosed()
        elif now - fold_.last_received_ms >= self.idle_ms:
            self._close(live, "idle", fold_.last_received_ms + self.idle_ms)
            self._count_refused(live)
            raise SessionClosed()

        seq = live.next_seq
        written = self.storage.submit_event(live.session_id, seq, now, raw)
        live.next_seq = seq + 1
        if live.pending is not None:
            live.pending.append((event, seq, now))
        elif fold_.in_order(event, seq):
            fold_.apply(event, seq, now)
            if fold_.close_trigger is not None and live.close_reason is None:
                self._close(live, fold_.close_trigger, now)
        else:
            live.pending = [(event, seq, now)]
            live.refold_task = self._spawn(self._refold(live))
        try:
            await written
        except Exception:
            # The live state saw an event the disk did not take: rebuild it from storage.
            if live.pending is None:
                live.pending = []
                live.refold_task = self._spawn(self._refold(live))
            raise Overloaded("Could not store the event; retry.") from None

    def _straggler(self, live: LiveSession, event: Event, now: int) -> bool:
        """Rule 10: shortly after a sessionEnd, events stamped no later than it still count."""
        end_ts = live.fold.end_ts
        return (
            live.close_reason == "sessionEnd"
            and live.closed_ms is not None
            and now <= live.closed_ms + self.grace_ms
            and end_ts is not None
            and event.ts <= end_ts
        )

    async def _refuse_unheld(self, sid: str) -> None:
        """404 for an unknown sid, 410 (counted) for one closed and no longer held in memory."""
        row = await self.storage.find_session(sid) if _SID.fullmatch(sid) else None
        if row is None:
            raise UnknownSession()
        self.storage.submit_refused(row.id)
        raise SessionClosed()

    def _count_refused(self, live: LiveSession) -> None:
        live.refused += 1
        self.storage.submit_refused(live.session_id)

    async def _refold(self, live: LiveSession, attempts: int = 3) -> None:
        """Re-fold a session from its stored log plus whatever arrived meanwhile (rule 11)."""
        merged: dict[int, tuple[Event, int, int]] = {}
        for attempt in range(1, attempts + 1):
            try:
                merged = {
                    item[1]: item
                    for item in _decode_stored(await self.storage.session_events(live.session_id))
                }
                break
            except Exception:  # storage trouble: never leave the session stuck mid-re-fold
                log.exception("re-fold of session %s failed (attempt %d)", live.sid, attempt)
                await asyncio.sleep(0.05 * attempt)
        for item in live.pending or ():
            merged.setdefault(item[1], item)
        if 0 in merged:
            start = merged.pop(0)
            live.fold = fold(live.sid, start[0], start[2], merged.values(), self.limits)
        else:  # the log could not be read: keep the fold, add what arrived in order
            for event, seq, received in sorted(merged.values(), key=lambda e: e[1]):
                if live.fold.in_order(event, seq):
                    live.fold.apply(event, seq, received)
        live.pending = None
        live.refold_task = None
        trigger = live.fold.close_trigger
        if trigger is not None and live.close_reason is None:
            self._close(live, trigger, self.clock())

    # ------------------------------------------------------------------ closing
    def _close(self, live: LiveSession, reason: str, closed_ms: int) -> None:
        """Close a live session once (idempotent) and record it durably."""
        if live.close_reason is not None:
            return
        live.close_reason = reason
        live.closed_ms = closed_ms
        grace = self.grace_ms if reason == "sessionEnd" else 0
        now = self.clock()
        live.evict_ms = max(closed_ms, now) + max(grace, _KEEP_CLOSED_MS)
        self.storage.submit_close(live.session_id, reason, closed_ms)
        if live.refold_task is None:
            self.storage.submit_summary(self._summary(live, final=True))

    async def sweep(self, now: int | None = None, chunk: int = 2000) -> int:
        """Close sessions whose time is up and release closed ones; returns how many closed."""
        now = self.clock() if now is None else now
        closed = 0
        for i, live in enumerate(self.store.sessions()):
            if i and i % chunk == 0:
                await asyncio.sleep(0)  # let requests through on large stores
            if live.close_reason is None:
                if live.refold_task is not None:
                    continue
                last = live.fold.last_received_ms
                if now - last >= self.idle_ms:
                    self._close(live, "idle", last + self.idle_ms)
                    closed += 1
                elif now - live.started_ms >= self.limits.max_duration_ms + self.idle_ms:
                    self._close(live, "maxDuration", now)  # backstop of rule 9
                    closed += 1
            elif live.evict_ms is not None and now >= live.evict_ms and live.refold_task is None:
                self.store.remove(live.sid)
                self.storage.submit_summary(self._summary(live, final=True))
        return closed

    async def refresh_summaries(self, *, spread: float = 0.0, closed_too: bool = False) -> int:
        """Store the report of every open session changed since its last summary.

        With ``spread`` > 0 the work is paced evenly over about that many seconds, in small
        slices, so that a large store never holds requests up for long; ``closed_too`` (at
        shutdown) also covers closed sessions still held.
        """
        due = [
            live
            for live in self.store.sessions()
            if live.refold_task is None
            and live.summarized != live.next_seq
            and (closed_too or live.close_reason is None)
        ]
        tick = 0.05
        per_tick = max(20, int(len(due) * tick / spread) + 1) if spread > 0 else len(due) or 1
        for i in range(0, len(due), per_tick):
            for live in due[i : i + per_tick]:
                if live.refold_task is None:
                    self.storage.submit_summary(self._summary(live, final=live.closed))
            if spread > 0:
                await asyncio.sleep(tick)
        return len(due)

    def _summary(self, live: LiveSession, *, final: bool) -> Summary:
        live.summarized = live.next_seq
        report = live.fold.report(live.lifecycle())
        return Summary(live.session_id, final, self.clock(), report, refused=live.refused)

    # ------------------------------------------------------------------ reports
    async def report(self, sid: str) -> SessionReport | bytes | None:
        """The session report (open or closed), or ``None`` for an unknown sid.

        A closed session no longer held in memory answers its stored final report, already
        encoded as JSON, unless something changed since it was written (then it is re-folded
        from its events).
        """
        live = self.store.get(sid)
        if live is not None:
            if live.refold_task is not None:
                await asyncio.shield(live.refold_task)
            return live.fold.report(live.lifecycle())
        found = await self.storage.final_report(sid)
        if found is None:
            return None
        row, stored = found
        if stored is not None:
            return stored
        return fold_stored(row, await self.storage.session_events(row.id), self.limits)

    # ------------------------------------------------------------------ start-up
    async def restore(self) -> int:
        """Rebuild live state of every open session from storage (at start-up)."""
        count = 0
        async for row, stored in self.storage.open_sessions():
            events = _decode_stored(stored)
            if not events or events[0][1] != 0:
                log.error("session %s: its sessionStart does not decode; not restored", row.sid)
                continue
            start = events[0]
            live = LiveSession(
                row.id,
                row.sid,
                row.started_ms,
                fold(row.sid, start[0], start[2], events[1:], self.limits),
            )
            live.next_seq = stored[-1].seq + 1
            live.refused = row.refused
            self.store.add(live)
            trigger = live.fold.close_trigger
            if trigger is not None:
                self._close(live, trigger, live.fold.last_received_ms)
            count += 1
        return count

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def drain(self) -> None:
        """Wait for background re-folds (used at shutdown and by tests)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    async def shutdown(self) -> None:
        """Finish re-folds and store every held session's summary (before storage stops)."""
        await self.drain()
        await self.refresh_summaries(closed_too=True)


def fold_stored(row: SessionRow, stored: list[StoredEvent], limits: Limits) -> SessionReport:
    """The report of a stored session, folded from its log (closed sessions, exports)."""
    events = _decode_stored(stored)
    start = events[0]
    session = fold(row.sid, start[0], start[2], events[1:], limits)
    lifecycle = (
        Lifecycle(refused=row.refused)
        if row.state == "open"
        else Lifecycle(
            state="closed",
            close_reason=row.close_reason,
            closed_ms=row.closed_ms,
            refused=row.refused,
        )
    )
    return session.report(lifecycle)
