"""The stored events of one session (``GET /reports/sessions/{sid}/events``): what the player
sent, in arrival order, a page at a time.

Each event is answered as stored (its body decoded as JSON; the bytes as text if they no
longer decode) with its arrival sequence number, the server time it arrived and its wire
format, and, read from the body by the protocol that accepted it, its ``eventType``,
``playerTime.ts`` and ``playerTime.playhead`` (``null`` where the body no longer decodes).
Pages follow the sequence numbers: pass the answer's ``next`` back as ``after``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import msgspec

from playhead.errors import FieldError, InvalidBody, InvalidQuery
from playhead.protocols import decode_stored
from playhead.reports.selection import one
from playhead.storage import Storage, StoredEvent
from playhead.storage.queries import Query, stored_event

DEFAULT_LIMIT: Final = 200
MAX_LIMIT: Final = 1000
_MAX_SEQ: Final = 2**63 - 1

_decode_json = msgspec.json.Decoder().decode


def parse_page(query: Any) -> tuple[int, int]:
    """``after`` (a sequence number, default -1: from the sessionStart) and ``limit`` (1 to
    :data:`MAX_LIMIT`, default :data:`DEFAULT_LIMIT`), each a 400 naming it when malformed."""
    errors: list[FieldError] = []
    after, limit = -1, DEFAULT_LIMIT
    after_text, limit_text = one(query, "after"), one(query, "limit")
    if after_text is not None:
        if not after_text.isdigit() or int(after_text) > _MAX_SEQ:
            errors.append(FieldError("query.after", "must be a sequence number (0 or more)"))
        else:
            after = int(after_text)
    if limit_text is not None:
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_LIMIT:
            errors.append(FieldError("query.limit", f"must be an integer from 1 to {MAX_LIMIT}"))
        else:
            limit = int(limit_text)
    if errors:
        raise InvalidQuery(errors=errors)
    return after, limit


def _session(rows: Sequence[Sequence[Any]]) -> tuple[int, bool] | None:
    return (int(rows[0][0]), bool(rows[0][1])) if rows else None


def _events(rows: Sequence[Sequence[Any]]) -> list[StoredEvent]:
    return [stored_event(row) for row in rows]


def event_item(stored: StoredEvent) -> dict[str, Any]:
    """One stored event as the endpoint answers it."""
    try:
        body: Any = _decode_json(stored.body)
    except msgspec.DecodeError:
        body = stored.body.decode("utf-8", "replace")
    event_type: str | None = None
    ts: int | None = None
    playhead: float | None = None
    try:
        event = decode_stored(stored.format, stored.body)
        event_type, ts, playhead = event.type, event.ts, event.playhead
    except (InvalidBody, ValueError):
        pass
    return {
        "seq": stored.seq,
        "receivedMs": stored.received_ms,
        "format": stored.format,
        "eventType": event_type,
        "ts": ts,
        "playhead": playhead,
        "body": body,
    }


async def session_events(
    storage: Storage, sid: str, after: int, limit: int
) -> dict[str, Any] | None:
    """The page of session ``sid``'s stored events after sequence number ``after``, at most
    ``limit``, and ``next`` (the ``after`` of the following page, ``null`` on the last);
    ``None`` for an unknown session. ``eventsPurged`` says retention deleted the events."""
    found = await storage.read(
        Query("SELECT id, events_purged FROM sessions WHERE sid = ?", (sid,), _session)
    )
    if found is None:
        return None
    session_id, purged = found
    sql = (
        "SELECT seq, received_ms, body, format FROM events"
        f" WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT {int(limit) + 1}"
    )
    stored = await storage.read(Query(sql, (session_id, after), _events))
    page = stored[:limit]
    return {
        "id": sid,
        "eventsPurged": purged,
        "events": [event_item(e) for e in page],
        "next": page[-1].seq if len(stored) > limit else None,
    }
