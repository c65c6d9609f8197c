"""The read queries both SQL backends run, written once; ``{p}`` stands for a parameter.

SQLite takes ``?`` and PostgreSQL ``$1``: each backend formats these with its own placeholder.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from playhead.storage import SessionRow

_COLUMNS = ("id", "sid", "started_ms", "start_ts", "state", "close_reason", "closed_ms", "refused")

FIND_SESSION = f"SELECT {', '.join(_COLUMNS)} FROM sessions WHERE sid = {{p}}"
# the stored final report, and whether every stored event is folded into it
FINAL_REPORT = (
    f"SELECT {', '.join('s.' + c for c in _COLUMNS)}, ss.report,"
    " ss.last_seq >= (SELECT MAX(e.seq) FROM events e WHERE e.session_id = s.id)"
    " FROM sessions s"
    " LEFT JOIN session_summaries ss ON ss.session_id = s.id AND ss.final = 1"
    " WHERE s.sid = {p}"
)
SESSION_EVENTS = "SELECT seq, received_ms, body FROM events WHERE session_id = {p} ORDER BY seq"
# closed sessions whose final summary is missing or older than their log, closed since {p}
STALE_FINALS = (
    f"SELECT {', '.join('s.' + c for c in _COLUMNS)} FROM sessions s"
    " LEFT JOIN session_summaries ss ON ss.session_id = s.id AND ss.final = 1"
    " WHERE s.state = 'closed' AND s.closed_ms >= {p} AND (ss.session_id IS NULL"
    " OR ss.last_seq < (SELECT MAX(e.seq) FROM events e WHERE e.session_id = s.id))"
    " ORDER BY s.id"
)
# the server time of the newest stored event (events are appended in arrival order)
LATEST_RECEIVED = "SELECT received_ms FROM events ORDER BY id DESC LIMIT 1"
OPEN_SESSIONS = f"SELECT {', '.join(_COLUMNS)} FROM sessions WHERE state = 'open' ORDER BY id"
OPEN_SESSION_EVENTS = (
    "SELECT e.session_id, e.seq, e.received_ms, e.body FROM events e"
    " JOIN sessions s ON s.id = e.session_id WHERE s.state = 'open'"
    " ORDER BY e.session_id, e.seq"
)


def session_row(row: Sequence[Any]) -> SessionRow:
    """A :class:`SessionRow` from the columns the queries above select, in their order."""
    return SessionRow(*row[: len(_COLUMNS)])


def final_report(row: Sequence[Any] | None) -> tuple[SessionRow, bytes | None] | None:
    """Interpret a ``FINAL_REPORT`` row: the stored report only if it folds every stored event
    (a straggler committed after it, with a crash before its rewrite, makes it stale)."""
    if row is None:
        return None
    session = session_row(row)
    report, current = row[len(_COLUMNS)], row[len(_COLUMNS) + 1]
    fresh = session.state == "closed" and report is not None and bool(current)
    return session, bytes(report) if fresh else None
