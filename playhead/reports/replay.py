"""Folding a stored log: at start-up, at a re-fold, and for reports of sessions no longer held.

Every stored event is read back with :func:`playhead.protocols.decode_stored`, whatever wire
format it came in. One that no longer decodes (it could only come from another version's
rules) is skipped with a log line, never stopping a re-fold or the server's start.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from playhead.engine import Lifecycle, Limits, SessionFold, SessionReport, fold
from playhead.errors import InvalidBody
from playhead.protocols import decode_stored
from playhead.state import Item
from playhead.storage import SessionRow, StoredEvent

log = logging.getLogger("playhead.reports")


def decode_log(stored: Iterable[StoredEvent]) -> list[Item]:
    """The stored events as ``(event, seq, received_ms)``, undecodable ones skipped (logged)."""
    items: list[Item] = []
    for e in stored:
        try:
            items.append((decode_stored(e.format, e.body), e.seq, e.received_ms))
        except (InvalidBody, ValueError) as exc:
            problem = getattr(exc, "errors", exc)
            log.error("stored event %d no longer decodes, skipped: %s", e.seq, problem)
    return items


def fold_items(sid: str, items: dict[int, Item], limits: Limits) -> SessionFold | None:
    """The fold of a session's items keyed by seq (``None`` when its sessionStart is missing)."""
    start = items.pop(0, None)
    if start is None:
        return None
    return fold(sid, start[0], start[2], items.values(), limits)


def fold_stored(row: SessionRow, stored: list[StoredEvent], limits: Limits) -> SessionReport:
    """The report of a stored session, folded from its log, without refusals (closed sessions,
    exports)."""
    session = fold_items(row.sid, {item[1]: item for item in decode_log(stored)}, limits)
    if session is None:
        raise ValueError(f"session {row.sid}: its sessionStart does not decode")
    lifecycle = (
        Lifecycle()
        if row.state == "open"
        else Lifecycle(state="closed", close_reason=row.close_reason, closed_ms=row.closed_ms)
    )
    return session.report(lifecycle)
