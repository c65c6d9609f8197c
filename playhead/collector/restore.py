"""Start-up: rebuild every open session's live state from the stored log (the source of
truth), and store again the final summaries a crash may have left behind their log."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import msgspec

from playhead.collector.lifecycle import KEEP_CLOSED_MS
from playhead.collector.refold import SEQ_GAP
from playhead.collector.service import Collector
from playhead.engine import SessionReport
from playhead.engine.scores import session_scores
from playhead.reports.replay import decode_log, fold_items, fold_stored
from playhead.state import LiveSession
from playhead.storage import SessionRow, StoredEvent, Summary, queries

log = logging.getLogger("playhead.collector")

# A session closed within this long of the newest stored event may have been in memory at a
# crash, with a straggler stored after its final summary: start-up checks those summaries.
REPAIR_WINDOW_MS = KEEP_CLOSED_MS + 120_000
_decode_report = msgspec.json.Decoder(SessionReport).decode


async def _sessions(
    rows: AsyncIterator[Sequence[Any]],
) -> AsyncIterator[tuple[SessionRow, list[StoredEvent]]]:
    """Group rows of (session columns, event columns) into sessions with their events."""
    current: SessionRow | None = None
    events: list[StoredEvent] = []
    async for row in rows:
        session = queries.session_row(row)
        if current is None or session.id != current.id:
            if current is not None:
                yield current, events
            current, events = session, []
        events.append(queries.stored_event(row))
    if current is not None:
        yield current, events


async def restore(
    collector: Collector, keep_alive: Callable[[], Awaitable[object]] | None = None
) -> int:
    """Hold every open session again, folded from its log; returns how many. A shared state
    keeps the sessions it already holds as they are; ``keep_alive`` is awaited every thousand
    sessions (the rebuild lock's renewal)."""
    count = 0
    shared = collector.state.shared
    storage = collector.storage
    async for row, stored in _sessions(storage.scan(queries.open_session_events())):
        items = {item[1]: item for item in decode_log(stored)}
        session = fold_items(row.sid, items, collector.limits)
        if session is None:
            log.error("session %s: its sessionStart does not decode; not restored", row.sid)
            continue
        live = LiveSession(row.id, row.sid, row.started_ms, session, stored[0].format)
        live.next_seq = stored[-1].seq + 1 + (SEQ_GAP if shared else 0)
        live.applied_seq = stored[-1].seq
        live.refused = row.refused
        await collector.state.add(live)
        trigger = session.close_trigger
        if trigger is not None:
            held = await collector.state.load(row.sid) if shared else live
            if held is not None:
                await collector.close(held, trigger, session.last_received_ms)
        count += 1
        if keep_alive is not None and count % 1000 == 0:
            await keep_alive()
    await _repair_final_summaries(collector)
    await _fill_aggregate_columns(collector)
    return count


async def _fill_aggregate_columns(collector: Collector) -> None:
    """Store again, from their own report, the summaries stored before migration 0006 gave
    every summary its row of facts (with the scores those reports did not carry yet; their
    timeline is empty until the session's summary is stored again)."""
    storage = collector.storage
    async for session_id, final, updated_ms, body, last_seq in storage.scan(
        queries.summaries_without_facts()
    ):
        try:
            report = _decode_report(bytes(body))
        except msgspec.DecodeError:
            log.exception("summary of session %d does not decode; left as it is", session_id)
            continue
        sd, q = report.session_details, report.qoe_data_details
        scores = session_scores(report.first_event_ts, report.last_event_ts, sd, q)
        report = msgspec.structs.replace(report, scores=scores)
        storage.submit_summary(Summary(session_id, bool(final), updated_ms, report, last_seq))


async def _repair_final_summaries(collector: Collector) -> None:
    storage = collector.storage
    latest = await storage.read(queries.latest_received_ms())
    if latest is None:
        return
    stale = storage.scan(queries.stale_final_events(latest - REPAIR_WINDOW_MS))
    async for row, stored in _sessions(stale):
        try:
            report = fold_stored(row, stored, collector.limits)
        except Exception:
            log.exception("session %s: its log does not fold; summary left as it is", row.sid)
            continue
        storage.submit_summary(Summary(row.id, True, collector.clock(), report, stored[-1].seq))


async def rebuild_shared(collector: Collector, owner: str) -> bool:
    """If the shared live state was lost (Redis flushed or restarted empty), rebuild it from the
    log: one process at a time (a lock in the state), the others answer 503 meanwhile. True if
    this process rebuilt it."""
    state: Any = collector.state
    if await state.ready() or not await state.lock_rebuild(owner):
        return False
    log.warning("live state lost: rebuilding it from the log (node %s)", owner)
    count = await restore(collector, lambda: state.lock_rebuild(owner))
    await state.mark_ready(owner)
    log.warning("live state rebuilt: %d open sessions (node %s)", count, owner)
    return True
