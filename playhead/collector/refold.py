"""The re-fold of a held session from its stored log (an event arrived out of canonical
order, rule 11); folding a log itself is :mod:`playhead.reports.replay`'s."""

from __future__ import annotations

import asyncio
import logging

from playhead.engine import Limits
from playhead.reports.replay import decode_log, fold_items
from playhead.state import LiveSession
from playhead.storage import SessionRow, Storage, queries

# A session rebuilt into a shared state from its log numbers its next events this far past its
# last stored one: a process that reserved numbers before the state was lost may still be
# storing them, and the (session, seq) key must not refuse either.
SEQ_GAP = 1000

log = logging.getLogger("playhead.collector")


async def refold(live: LiveSession, storage: Storage, limits: Limits) -> None:
    """Re-fold a held session from its stored log plus whatever was stored meanwhile (rule 11).

    While it runs, events stored for the session are appended to ``live.pending``; they are
    merged in by sequence number. A failed read of the log is retried (with a growing pause)
    until it succeeds: the session's events keep being stored meanwhile and are folded in
    afterwards.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            stored = await storage.read(queries.session_events(live.session_id))
            break
        except Exception as exc:
            if attempt == 1 or attempt % 20 == 0:
                log.error("re-fold of session %s: reading its log failed (attempt %d): %r",
                          live.sid, attempt, exc)  # fmt: skip
            await asyncio.sleep(min(5.0, 0.05 * 2**attempt))
    merged = {item[1]: item for item in decode_log(stored)}
    for item in live.pending or ():
        merged.setdefault(item[1], item)
    applied = max(merged, default=0)
    folded = fold_items(live.sid, merged, limits)
    if folded is None:  # its sessionStart no longer decodes: keep what was folded
        log.error("re-fold of session %s: its sessionStart is unreadable", live.sid)
    else:
        live.fold = folded
        live.applied_seq = applied
    live.pending = None
    live.refold_task = None


async def rebuild_session(
    row: SessionRow, storage: Storage, limits: Limits, gap: int = 0
) -> LiveSession | None:
    """A session's live state folded again from its stored log (``None``: it does not fold)."""
    stored = await storage.read(queries.session_events(row.id))
    if not stored:
        return None
    items = {item[1]: item for item in decode_log(stored)}
    folded = fold_items(row.sid, items, limits)
    if folded is None:
        log.error("session %s: its sessionStart does not decode; not rebuilt", row.sid)
        return None
    live = LiveSession(row.id, row.sid, row.started_ms, folded, stored[0].format)
    live.next_seq = stored[-1].seq + 1 + gap
    live.applied_seq = stored[-1].seq
    live.refused = row.refused
    if row.state == "closed" and row.close_reason is not None and row.closed_ms is not None:
        live.close_reason, live.closed_ms = row.close_reason, row.closed_ms
    return live
