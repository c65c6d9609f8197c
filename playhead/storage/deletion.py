"""Deleting stored data: retention (raw events of old sessions, then whole old sessions) and
erasing one viewer's sessions, written once for both SQL backends.

Deletions run as calls on the storage writer (after every write submitted before them), in
small batches, so ingest keeps flowing between two batches. A session is deleted from every
table that has a ``session_id`` column (found in the schema, so tables added later are
covered too), then from ``sessions``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from playhead.storage.queries import Query

#: Sessions handled per retention batch (one short transaction each).
BATCH: Final = 500

# Closed before the cutoff, events still stored, and a final summary that folds all of them
# (the stored report then stands for the log: nothing is lost but the raw bodies).
_PURGEABLE: Final = (
    "SELECT s.id FROM sessions s WHERE s.state = 'closed' AND s.events_purged = 0"
    " AND s.closed_ms < ? AND EXISTS (SELECT 1 FROM session_summaries ss"
    " WHERE ss.session_id = s.id AND ss.final = 1 AND ss.last_seq >="
    " COALESCE((SELECT MAX(e.seq) FROM events e WHERE e.session_id = s.id), -1))"
    " ORDER BY s.closed_ms LIMIT ?"
)
_EXPIRED: Final = (
    "SELECT id FROM sessions WHERE state = 'closed' AND closed_ms < ? ORDER BY closed_ms LIMIT ?"
)
_VIEWER: Final = "SELECT id FROM sessions WHERE viewer_key = ? ORDER BY id"
SQLITE_SESSION_TABLES: Final = (
    "SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) c"
    " WHERE m.type = 'table' AND c.name = 'session_id' ORDER BY m.name"
)
POSTGRES_SESSION_TABLES: Final = (
    "SELECT table_name FROM information_schema.columns WHERE column_name = 'session_id'"
    " AND table_schema = current_schema() ORDER BY table_name"
)


def _ids(rows: Sequence[Sequence[Any]]) -> list[int]:
    return [int(row[0]) for row in rows]


def purgeable(before_ms: int, limit: int = BATCH) -> Query[list[int]]:
    """Closed sessions (before ``before_ms``) whose raw events may go, oldest first."""
    return Query(_PURGEABLE, (before_ms, limit), _ids)


def expired(before_ms: int, limit: int = BATCH) -> Query[list[int]]:
    """Sessions closed before ``before_ms``, oldest first (whole sessions to delete)."""
    return Query(_EXPIRED, (before_ms, limit), _ids)


def viewer_sessions(viewer_key: str) -> Query[list[int]]:
    """The internal keys of every stored session of one viewer."""
    return Query(_VIEWER, (viewer_key,), _ids)


def child_tables(tables: Sequence[str]) -> list[str]:
    """The tables to delete a session's rows from before its ``sessions`` row: summaries'
    item tables first, ``session_summaries`` and ``events`` last (what references them)."""
    last = ("session_summaries", "events")
    return [t for t in tables if t not in last and t != "sessions"] + [
        t for t in last if t in tables
    ]
