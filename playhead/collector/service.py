"""The collection service: canonical events in, stored events and live session state out.

It knows no wire protocol: an adapter (the Collection API's, in :mod:`playhead.http`) decodes
and validates a request into a canonical :class:`~playhead.events.Event` and hands it over
with a :class:`~playhead.collector.received.Received` context. The lifecycle decisions are
:mod:`~playhead.collector.lifecycle`'s, re-folds :mod:`~playhead.collector.refold`'s, ids
:mod:`~playhead.collector.ids`'.

An event is folded into its live session only once it is stored, so the live state always
equals the fold of the stored log (a write that fails leaves no trace in memory).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable, Coroutine
from typing import Any

from playhead.addresses import truncate_ip
from playhead.collector import lifecycle
from playhead.collector.ids import IdBlocks, new_sid
from playhead.collector.received import Received
from playhead.collector.refold import refold
from playhead.engine import Lifecycle, Limits, SessionFold, SessionReport, fold
from playhead.errors import (
    FieldError,
    Overloaded,
    SessionClosed,
    StorageUnavailable,
    UnknownSession,
    WrongProtocol,
)
from playhead.events import Event
from playhead.state import Item, LiveSession, LiveState
from playhead.storage import NewSession, Storage, StoredEvent, Summary, WriteTicket, queries
from playhead.tally import Tally

Clock = Callable[[], int]
#: (User-Agent, client address) → the context a new session keeps (never the address itself)
Enrich = Callable[[str | None, str | None], dict[str, str]]

log = logging.getLogger("playhead.collector")
_SID = re.compile(r"[0-9a-f]{64}")
# Large downloaded batches are folded off the event loop.
_THREAD_BATCH_EVENTS = 1000


def wall_clock_ms() -> int:
    """The server clock, in epoch milliseconds."""
    return time.time_ns() // 1_000_000


class Collector:
    """Accepts sessions and events, keeps live state and storage in step.

    Args:
        storage: the durable store (started by the caller).
        state: the live session state.
        rules: the lifecycle limits (idle, grace, max duration).
        limits: the engine's event-time limits.
        max_open: most sessions open at once (past it, starts get 503).
        timeout: seconds a caller waits for a re-fold before a 503.
        clock: the server clock in epoch ms (tests pass a fake one).
        tally: where accepted events and closed sessions are counted (for the metrics).
        store_ip: keep each new session's client network (its address truncated, never as
            sent: :func:`playhead.addresses.truncate_ip`).
        enrich: builds a new session's context from its request's User-Agent and client
            address (:class:`playhead.enrichment.Enricher`); by default the User-Agent alone.
    """

    def __init__(
        self,
        storage: Storage,
        state: LiveState,
        *,
        rules: lifecycle.Rules,
        limits: Limits,
        max_open: int,
        timeout: float,
        clock: Clock = wall_clock_ms,
        tally: Tally | None = None,
        store_ip: bool = False,
        enrich: Enrich | None = None,
    ) -> None:
        self.storage = storage
        self.tally = Tally() if tally is None else tally
        self.store_ip = store_ip
        self.state = state
        self.rules = rules
        self.limits = limits
        self.max_open = max_open
        self.timeout = timeout
        self.clock = clock
        self.enrich = enrich
        self.ids = IdBlocks(storage.reserve_ids)
        #: the live session if this process holds it in memory (no I/O); else :meth:`check`
        self.held: Callable[[str], LiveSession | None] = state.peek
        self._background: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ sessions
    async def start(self, event: Event, received: Received) -> str:
        """Open a session from its (validated) sessionStart; return its sid."""
        if await self.state.count() >= self.max_open:
            raise Overloaded(f"{self.max_open} sessions are open, the most allowed; retry later.")
        now = received.server_ms
        sid = new_sid()
        session_id = await self.ids.next()
        new = NewSession(
            session_id,
            sid,
            now,
            event.ts,
            event.params,
            context=self._context(received),
            client_network=truncate_ip(received.client) if self.store_ip else None,
        )
        ticket = self.storage.submit_session(
            new, [StoredEvent(0, now, received.raw, received.format)]
        )
        fold_ = SessionFold.begin(sid, event, now, self.limits)
        live = LiveSession(session_id, sid, now, fold_, received.format)
        try:
            await ticket
        except StorageUnavailable:
            # not answered in time, but it may still be stored: then hold it (it idles out)
            self._spawn(self._hold_if_stored(live, ticket))
            raise
        await self.state.add(live)
        self.tally.accept(event.type)
        return sid

    def _context(self, received: Received) -> dict[str, str]:
        """What a new session keeps of its first request (enriched when enrichment is on)."""
        if self.enrich is None:
            return received.context()
        return self.enrich(received.user_agent, received.client)

    async def _hold_if_stored(self, live: LiveSession, ticket: WriteTicket) -> None:
        if await ticket.settled():
            await self.state.add(live)

    async def downloaded(self, items: list[tuple[Event, bytes]], received: Received) -> str:
        """Store and close a whole downloaded session (rule 7): ``items`` are its events with
        their own bodies, the sessionStart first, all validated."""
        now = received.server_ms
        sid = new_sid()
        if len(items) > _THREAD_BATCH_EVENTS:
            report = await asyncio.to_thread(self._fold_downloaded, sid, items, now)
        else:
            report = self._fold_downloaded(sid, items, now)
        start = items[0][0]
        session_id = await self.ids.next()
        stored = [
            StoredEvent(seq, now, body, received.format) for seq, (_, body) in enumerate(items)
        ]
        new = NewSession(
            session_id,
            sid,
            now,
            start.ts,
            start.params,
            downloaded=True,
            context=self._context(received),
            client_network=truncate_ip(received.client) if self.store_ip else None,
        )
        await self.storage.submit_session(new, stored, close=("downloaded", now))
        tally = self.tally
        for event, _ in items:
            tally.accept(event.type)
        tally.close("downloaded")
        # the summary is not awaited: if it fails, the report is re-folded from the log
        self.storage.submit_summary(Summary(session_id, True, now, report, len(stored) - 1))
        return sid

    def _fold_downloaded(
        self, sid: str, items: list[tuple[Event, bytes]], now: int
    ) -> SessionReport:
        """Fold a downloaded session (pure CPU work: may run on a thread)."""
        events = [(event, seq, now) for seq, (event, _) in enumerate(items) if seq]
        session = fold(sid, items[0][0], now, events, self.limits)
        return session.report(Lifecycle(state="closed", close_reason="downloaded", closed_ms=now))

    # ------------------------------------------------------------------ events
    async def check(self, sid: str) -> LiveSession:
        """The held session ``sid``; for one not held, 404 for an unknown sid, 410 (counted) for
        one closed and no longer held."""
        live = await self.state.load(sid)
        if live is not None:
            return live
        row = await self.storage.read(queries.find_session(sid)) if _SID.fullmatch(sid) else None
        if row is None:
            raise UnknownSession()
        # awaited, so that a report read after the 410 counts it (reads have connections of
        # their own); the 410 stands even if counting it failed
        with contextlib.suppress(StorageUnavailable):
            await self.storage.submit_refused(row.id)
        raise SessionClosed()

    async def append(
        self, sid: str, event: Event, received: Received, live: LiveSession | None = None
    ) -> None:
        """Accept one (validated) event for a session, or raise the error the protocol
        prescribes; returns once the event is stored and folded in. ``live`` is the session as
        :meth:`check` just answered it, if the caller has it."""
        if live is None:
            live = await self.check(sid)
        if live.format != received.format:
            raise WrongProtocol(
                errors=[FieldError("$", f"this session speaks the {live.format} protocol")]
            )
        now = received.server_ms
        decision = lifecycle.admit(live, event.ts, now, self.rules)
        if decision != lifecycle.ACCEPT:
            version = live.version
            if decision == lifecycle.IDLE:
                closing = lifecycle.idle_close(live, self.rules)
                self._close(live, closing.reason, closing.at)
            live.refused += 1
            self.storage.submit_refused(live.session_id)
            await self.state.commit(live, version)
            raise SessionClosed()
        seq = await self.state.reserve_seq(live)
        ticket = self.storage.submit_event(live.session_id, seq, now, received.raw, received.format)
        live.inflight += 1
        try:
            await ticket
        except StorageUnavailable:
            live.inflight -= 1
            # not answered in time, but it may still be stored: then it must be folded in
            self._spawn(self._apply_if_stored(sid, ticket, (event, seq, now)))
            raise
        live.inflight -= 1
        accepted = self.tally.accepted
        accepted[event.type] = accepted.get(event.type, 0) + 1
        # the usual case, folded here: in canonical order, nothing else under way
        if live.pending is None and (fold_ := live.fold).in_order(event, seq):
            version = live.version
            fold_.apply(event, seq, now)
            if seq > live.applied_seq:
                live.applied_seq = seq
            if live.close_reason is not None or fold_.close_trigger is not None:
                self._after_change(live, now)
            if await self.state.commit(live, version):
                return
            live = await self.state.load(sid)
        await self._fold_in(sid, (event, seq, now), live)

    async def _apply_if_stored(self, sid: str, ticket: WriteTicket, item: Item) -> None:
        if await ticket.settled():
            await self._fold_in(sid, item, await self.state.load(sid))

    async def _fold_in(self, sid: str, item: Item, live: LiveSession | None) -> None:
        """Fold a stored event into its live session (``live``, as last loaded): at once when
        it sorts after everything folded so far, else by a re-fold from the log (rule 11). A
        commit refused because the session changed meanwhile is redone on a fresh load."""
        while live is not None:
            version = live.version
            if live.pending is not None:
                live.pending.append(item)
            else:
                event, seq, received = item
                fold_ = live.fold
                if fold_.in_order(event, seq):
                    fold_.apply(event, seq, received)
                    if seq > live.applied_seq:
                        live.applied_seq = seq
                    if live.close_reason is not None or fold_.close_trigger is not None:
                        self._after_change(live, received)
                else:
                    live.pending = [item]
                    live.refold_task = self._spawn(self._refold(live))
            if await self.state.commit(live, version):
                return
            live = await self.state.load(sid)

    async def _refold(self, live: LiveSession) -> None:
        await refold(live, self.storage, self.limits)
        self._after_change(live, self.clock())
        await self.state.commit(live, live.version)

    def _after_change(self, live: LiveSession, now: int) -> None:
        """Close a session whose fold reached a limit; re-store a closed one's final summary
        (a straggler after sessionEnd changed it)."""
        if live.close_reason is not None:
            self.store_summary(live, final=True)
        elif live.fold.close_trigger is not None:
            self._close(live, live.fold.close_trigger, now)

    # ------------------------------------------------------------------ closing
    async def close(self, live: LiveSession, reason: str, closed_ms: int) -> None:
        """Close a live session once (idempotent), record it durably and commit it."""
        version = live.version
        self._close(live, reason, closed_ms)
        await self.state.commit(live, version)

    def _close(self, live: LiveSession, reason: str, closed_ms: int) -> None:
        """Close a live session once (idempotent) and record it durably (not committed)."""
        if live.close_reason is not None:
            return
        live.close_reason = reason
        live.closed_ms = closed_ms
        live.evict_ms = lifecycle.evict_at(reason, closed_ms, self.clock(), self.rules)
        self.storage.submit_close(live.session_id, reason, closed_ms)
        self.tally.close(reason)
        if live.refold_task is None:
            self.store_summary(live, final=True)

    async def evict(self, live: LiveSession) -> None:
        """Stop holding a closed session, storing its final summary if it changed since."""
        await self.state.remove(live.sid)
        if live.summarized != live.applied_seq:
            self.store_summary(live, final=True)

    # ------------------------------------------------------------------ summaries
    def store_summary(self, live: LiveSession, *, final: bool) -> None:
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

    async def refresh_summaries(self, *, spread: float = 0.0, closed_too: bool = False) -> int:
        """Store the report of every open session changed since its last summary.

        With ``spread`` > 0 the work is paced evenly over about that many seconds, in small
        slices, so that a large store never holds requests up for long; ``closed_too`` (at
        shutdown) also covers closed sessions still held.
        """
        due = [
            live
            async for live in self.state.sessions()
            if live.refold_task is None
            and live.summarized != live.applied_seq
            and (closed_too or live.close_reason is None)
        ]
        tick = 0.05
        per_tick = max(20, int(len(due) * tick / spread) + 1) if spread > 0 else len(due) or 1
        for i in range(0, len(due), per_tick):
            for live in due[i : i + per_tick]:
                if live.refold_task is None:
                    self.store_summary(live, final=live.closed)
            if spread > 0:
                await asyncio.sleep(tick)
        return len(due)

    # ------------------------------------------------------------------ background work
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
