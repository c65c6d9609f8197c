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
from playhead.engine import Lifecycle, Limits, SessionFold, SessionReport, fold, with_refusals
from playhead.errors import (
    FieldError,
    InvalidBody,
    Overloaded,
    SessionClosed,
    StorageUnavailable,
    UnknownSession,
)
from playhead.events import Event
from playhead.protocols.collection.decode import decode_batch, decode_event, is_array
from playhead.state import LiveSession, SessionStore
from playhead.storage import (
    NewSession,
    SessionRow,
    Storage,
    StoredEvent,
    Summary,
    WriteTicket,
)

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


Item = tuple[Event, int, int]  # an event, its arrival sequence number, its server receive time

# A session closed within this long of the newest stored event may have been in memory at a
# crash, with a straggler stored after its final summary: start-up checks those summaries.
_REPAIR_WINDOW_MS = _KEEP_CLOSED_MS + 120_000
# Large downloaded batches are decoded and folded off the event loop.
_THREAD_BATCH_BYTES = 65_536


class Collector:
    """Accepts sessions and events, keeps live state and storage in step.

    An event is folded into its live session only once it is stored, so the live state always
    equals the fold of the stored log (a write that fails leaves no trace in memory).

    Args:
        settings: limits (idle, stall, max duration, grace, open sessions) and strictness.
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
        self.max_open = settings.max_open_sessions
        self.timeout = settings.storage_timeout
        self.open_count = 0  # sessions held and not closed
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
        if self.open_count >= self.max_open:
            raise Overloaded(f"{self.max_open} sessions are open, the most allowed; retry later.")
        now = self.clock()
        sid = new_sid()
        session_id = self.storage.next_session_id()
        ticket = self.storage.submit_session(
            NewSession(session_id, sid, now, event.ts, event.params), [StoredEvent(0, now, raw)]
        )
        live = LiveSession(session_id, sid, now, SessionFold.begin(sid, event, now, self.limits))
        try:
            await ticket
        except StorageUnavailable:
            # not answered in time, but it may still be stored: then hold it (it idles out)
            self._spawn(self._hold_if_stored(live, ticket))
            raise
        self._hold(live)
        return sid

    def _hold(self, live: LiveSession) -> None:
        self.store.add(live)
        self.open_count += 1

    async def _hold_if_stored(self, live: LiveSession, ticket: WriteTicket) -> None:
        if await ticket.settled():
            self._hold(live)

    async def _downloaded(self, raw: bytes, *, via_sessions: bool) -> str:
        """Store and close a whole downloaded session (decisions.md rule 7): all or nothing."""
        now = self.clock()
        if len(raw) > _THREAD_BATCH_BYTES:
            prepared = await asyncio.to_thread(self._prepare_downloaded, raw, via_sessions, now)
        else:
            prepared = self._prepare_downloaded(raw, via_sessions, now)
        start, stored, report = prepared
        sid = report.id
        session_id = self.storage.next_session_id()
        written = self.storage.submit_session(
            NewSession(session_id, sid, now, start.ts, start.params, downloaded=True),
            stored,
            close=("downloaded", now),
        )
        await written
        # the summary is not awaited: if it fails, the report is re-folded from the log
        self.storage.submit_summary(Summary(session_id, True, now, report, len(stored) - 1))
        return sid

    def _prepare_downloaded(
        self, raw: bytes, via_sessions: bool, now: int
    ) -> tuple[Event, list[StoredEvent], SessionReport]:
        """Decode, check and fold a downloaded batch (pure CPU work: may run on a thread)."""
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
        sid = new_sid()
        stored = [StoredEvent(seq, now, body) for seq, body in enumerate(bodies)]
        session = fold(
            sid, start, now, [(e, seq, now) for seq, e in enumerate(events) if seq], self.limits
        )
        report = session.report(Lifecycle(state="closed", close_reason="downloaded", closed_ms=now))
        return start, stored, report

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
        if live.close_reason is not None:
            if not self._straggler(live, event, now):
                self._count_refused(live)
                raise SessionClosed()
        elif live.inflight == 0 and now - live.fold.last_received_ms >= self.idle_ms:
            self._close(live, "idle", live.fold.last_received_ms + self.idle_ms)
            self._count_refused(live)
            raise SessionClosed()

        seq = live.next_seq
        ticket = self.storage.submit_event(live.session_id, seq, now, raw)
        live.next_seq = seq + 1
        live.inflight += 1
        try:
            await ticket
        except StorageUnavailable:
            live.inflight -= 1
            # not answered in time, but it may still be stored: then it must be folded in
            self._spawn(self._apply_if_stored(live, ticket, (event, seq, now)))
            raise
        live.inflight -= 1
        self._apply(live, (event, seq, now))

    async def _apply_if_stored(self, live: LiveSession, ticket: WriteTicket, item: Item) -> None:
        if await ticket.settled():
            self._apply(live, item)

    def _apply(self, live: LiveSession, item: Item) -> None:
        """Fold a stored event into its live session: at once when it sorts after everything
        folded so far, else by a re-fold from the log (rule 11)."""
        if live.pending is not None:
            live.pending.append(item)
            return
        event, seq, received = item
        fold_ = live.fold
        if not fold_.in_order(event, seq):
            live.pending = [item]
            live.refold_task = self._spawn(self._refold(live))
            return
        fold_.apply(event, seq, received)
        live.applied_seq = max(live.applied_seq, seq)
        self._after_change(live, received)

    def _after_change(self, live: LiveSession, now: int) -> None:
        """Close a session whose fold reached a limit; re-store a closed one's final summary
        (a straggler after sessionEnd changed it)."""
        if live.close_reason is not None:
            self._store_summary(live, final=True)
        elif live.fold.close_trigger is not None:
            self._close(live, live.fold.close_trigger, now)

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

    async def _refold(self, live: LiveSession) -> None:
        """Re-fold a session from its stored log plus whatever was stored meanwhile (rule 11).

        A failed read of the log is retried (with a growing pause) until it succeeds: the
        session's events keep being stored meanwhile and are folded in afterwards.
        """
        attempt = 0
        while True:
            attempt += 1
            try:
                stored = await self.storage.session_events(live.session_id)
                break
            except Exception as exc:
                if attempt == 1 or attempt % 20 == 0:
                    log.error("re-fold of session %s: reading its log failed (attempt %d): %r",
                              live.sid, attempt, exc)  # fmt: skip
                await asyncio.sleep(min(5.0, 0.05 * 2**attempt))
        merged = {item[1]: item for item in _decode_stored(stored)}
        for item in live.pending or ():
            merged.setdefault(item[1], item)
        start = merged.pop(0, None)
        if start is None:  # its sessionStart no longer decodes: keep what was folded
            log.error("re-fold of session %s: its sessionStart is unreadable", live.sid)
        else:
            live.fold = fold(live.sid, start[0], start[2], merged.values(), self.limits)
            live.applied_seq = max(merged, default=0)
        live.pending = None
        live.refold_task = None
        self._after_change(live, self.clock())

    # ------------------------------------------------------------------ closing
    def _close(self, live: LiveSession, reason: str, closed_ms: int) -> None:
        """Close a live session once (idempotent) and record it durably."""
        if live.close_reason is not None:
            return
        live.close_reason = reason
        live.closed_ms = closed_ms
        self.open_count -= 1
        grace = self.grace_ms if reason == "sessionEnd" else 0
        now = self.clock()
        live.evict_ms = max(closed_ms, now) + max(grace, _KEEP_CLOSED_MS)
        self.storage.submit_close(live.session_id, reason, closed_ms)
        if live.refold_task is None:
            self._store_summary(live, final=True)

    async def sweep(self, now: int | None = None, chunk: int = 2000) -> int:
        """Close sessions whose time is up and release closed ones; returns how many closed.

        One session's trouble (logged) never stops the sweep of the others.
        """
        now = self.clock() if now is None else now
        closed = 0
        for i, live in enumerate(self.store.sessions()):
            if i and i % chunk == 0:
                await asyncio.sleep(0)  # let requests through on large stores
            try:
                closed += self._sweep_one(live, now)
            except Exception:
                log.exception("sweeping session %s failed", live.sid)
        return closed

    def _sweep_one(self, live: LiveSession, now: int) -> int:
        if live.refold_task is not None or live.inflight:
            return 0
        if live.close_reason is None:
            last = live.fold.last_received_ms
            if now - last >= self.idle_ms:
                self._close(live, "idle", last + self.idle_ms)
                return 1
            if now - live.started_ms >= self.limits.max_duration_ms + self.idle_ms:
                self._close(live, "maxDuration", now)  # backstop of rule 9
                return 1
        elif live.evict_ms is not None and now >= live.evict_ms:
            self.store.remove(live.sid)
            if live.summarized != live.applied_seq:
                self._store_summary(live, final=True)
        return 0

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
            and live.summarized != live.applied_seq
            and (closed_too or live.close_reason is None)
        ]
        tick = 0.05
        per_tick = max(20, int(len(due) * tick / spread) + 1) if spread > 0 else len(due) or 1
        for i in range(0, len(due), per_tick):
            for live in due[i : i + per_tick]:
                if live.refold_task is None:
                    self._store_summary(live, final=live.closed)
            if spread > 0:
                await asyncio.sleep(tick)
        return len(due)

    def _store_summary(self, live: LiveSession, *, final: bool) -> None:
        """Submit the session's report for the summary tables (a failure is logged, and only
        this session's summary waits for the next chance)."""
        try:
            report = live.fold.report(live.lifecycle(with_refusals=False))
            self.storage.submit_summary(
                Summary(live.session_id, final, self.clock(), report, live.applied_seq)
            )
        except Exception:
            log.exception("summary of session %s failed", live.sid)
            return
        live.summarized = live.applied_seq

    # ------------------------------------------------------------------ reports
    async def report(self, sid: str) -> SessionReport | bytes | None:
        """The session report (open or closed), or ``None`` for an unknown sid.

        A closed session no longer held in memory answers its stored final report, already
        encoded as JSON, unless an event was stored after it (then it is re-folded from its
        events, and stored again). Refusals (410s) are added from the session row.
        """
        live = self.store.get(sid)
        if live is not None:
            if live.refold_task is not None:
                try:
                    await asyncio.wait_for(asyncio.shield(live.refold_task), self.timeout)
                except TimeoutError:
                    raise StorageUnavailable() from None
            return live.fold.report(live.lifecycle())
        found = await self.storage.final_report(sid)
        if found is None:
            return None
        row, stored = found
        if stored is not None:
            if row.refused:
                return with_refusals(_decode_report(stored), row.refused)
            return stored
        events = await self.storage.session_events(row.id)
        report = fold_stored(row, events, self.limits)
        if row.state == "closed" and events:
            self.storage.submit_summary(Summary(row.id, True, self.clock(), report, events[-1].seq))
        return with_refusals(report, row.refused)

    # ------------------------------------------------------------------ start-up
    async def restore(self) -> int:
        """Rebuild live state of every open session from storage (at start-up), and store
        again the final summaries that a crash may have left behind their log."""
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
            live.applied_seq = stored[-1].seq
            live.refused = row.refused
            self._hold(live)
            trigger = live.fold.close_trigger
            if trigger is not None:
                self._close(live, trigger, live.fold.last_received_ms)
            count += 1
        async for row, stored in self.storage.stale_final_summaries(_REPAIR_WINDOW_MS):
            try:
                report = fold_stored(row, stored, self.limits)
            except Exception:
                log.exception("session %s: its log does not fold; summary left as it is", row.sid)
                continue
            self.storage.submit_summary(Summary(row.id, True, self.clock(), report, stored[-1].seq))
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

    async def shutdown(self, timeout: float = 10.0) -> None:
        """Finish re-folds and store every held session's summary (before storage stops).

        Re-folds still waiting for an unreachable database after ``timeout`` are given up:
        their events are stored, and the next start folds them.
        """
        try:
            await asyncio.wait_for(self.drain(), timeout)
        except TimeoutError:
            for task in list(self._background):
                task.cancel()
            await asyncio.gather(*list(self._background), return_exceptions=True)
        await self.refresh_summaries(closed_too=True)


def _decode_report(body: bytes) -> SessionReport:
    return msgspec.json.decode(body, type=SessionReport)


def fold_stored(row: SessionRow, stored: list[StoredEvent], limits: Limits) -> SessionReport:
    """The report of a stored session, folded from its log, without refusals (closed sessions,
    exports)."""
    events = _decode_stored(stored)
    start = events[0]
    session = fold(row.sid, start[0], start[2], events[1:], limits)
    lifecycle = (
        Lifecycle()
        if row.state == "open"
        else Lifecycle(state="closed", close_reason=row.close_reason, closed_ms=row.closed_ms)
    )
    return session.report(lifecycle)
