"""The reads, written once for both SQL backends as typed :class:`Query` objects.

SQL uses ``?`` placeholders (SQLite's); the PostgreSQL backend numbers them ``$1, $2, …``.
Each query turns its fetched rows into a typed value with its ``shape``, so callers never see
rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from playhead.storage.base import SessionRow, StoredEvent

T = TypeVar("T")

_COLUMNS = ("id", "sid", "started_ms", "start_ts", "state", "close_reason", "closed_ms", "refused")
_SESSION = ", ".join(_COLUMNS)
_S_SESSION = ", ".join("s." + c for c in _COLUMNS)
_EVENT = "seq, received_ms, body, format"


class Query(Generic[T]):
    """A read: ``sql`` with ``?`` placeholders, its ``args``, and ``shape`` (rows → value)."""

    __slots__ = ("_shape", "args", "sql")

    def __init__(
        self, sql: str, args: tuple[Any, ...], shape: Callable[[Sequence[Sequence[Any]]], T]
    ) -> None:
        self.sql = sql
        self.args = args
        self._shape = shape

    def shape(self, rows: Sequence[Sequence[Any]]) -> T:
        """The result of the query from its fetched rows."""
        return self._shape(rows)


def session_row(row: Sequence[Any]) -> SessionRow:
    """A :class:`SessionRow` from the session columns, in their order, at the start of a row."""
    return SessionRow(*row[: len(_COLUMNS)])


def stored_event(row: Sequence[Any]) -> StoredEvent:
    """A :class:`StoredEvent` from ``seq, received_ms, body, format`` at the end of a row."""
    seq, received, body, wire_format = row[-4:]
    return StoredEvent(seq, received, bytes(body), wire_format)


def _first_session(rows: Sequence[Sequence[Any]]) -> SessionRow | None:
    return session_row(rows[0]) if rows else None


def _events(rows: Sequence[Sequence[Any]]) -> list[StoredEvent]:
    return [stored_event(row) for row in rows]


def find_session(sid: str) -> Query[SessionRow | None]:
    """The stored session with this public id, or ``None``."""
    return Query(f"SELECT {_SESSION} FROM sessions WHERE sid = ?", (sid,), _first_session)


def session_events(session_id: int) -> Query[list[StoredEvent]]:
    """Every stored event of a session (sessionStart included), in arrival order."""
    sql = f"SELECT {_EVENT} FROM events WHERE session_id = ? ORDER BY seq"
    return Query(sql, (session_id,), _events)


def _final_report(rows: Sequence[Sequence[Any]]) -> tuple[SessionRow, bytes | None] | None:
    if not rows:
        return None
    row = rows[0]
    session = session_row(row)
    report, current = row[len(_COLUMNS)], row[len(_COLUMNS) + 1]
    fresh = session.state == "closed" and report is not None and bool(current)
    return session, bytes(report) if fresh else None


def final_report(sid: str) -> Query[tuple[SessionRow, bytes | None] | None]:
    """A stored session and its final report JSON, the report only if it folds every stored
    event (a straggler committed after it, with a crash before its rewrite, makes it stale);
    once retention deleted the raw events, the stored report is the session's record."""
    sql = (
        f"SELECT {_S_SESSION}, ss.report, (s.events_purged = 1"
        " OR ss.last_seq >= (SELECT MAX(e.seq) FROM events e WHERE e.session_id = s.id))"
        " FROM sessions s"
        " LEFT JOIN session_summaries ss ON ss.session_id = s.id AND ss.final = 1"
        " WHERE s.sid = ?"
    )
    return Query(sql, (sid,), _final_report)


def _scalar(rows: Sequence[Sequence[Any]]) -> Any:
    return rows[0][0] if rows else None


def latest_received_ms() -> Query[int | None]:
    """The server time of the newest stored event (events are appended in arrival order)."""
    return Query("SELECT received_ms FROM events ORDER BY id DESC LIMIT 1", (), _scalar)


def _rows(rows: Sequence[Sequence[Any]]) -> Sequence[Sequence[Any]]:
    return rows


def open_session_events() -> Query[Sequence[Sequence[Any]]]:
    """Rows of every open session's events, ordered by session then arrival: the session
    columns, then ``seq, received_ms, body, format`` (read them with :func:`session_row` and
    :func:`stored_event`)."""
    sql = (
        f"SELECT {_S_SESSION}, e.{_EVENT.replace(', ', ', e.')} FROM sessions s"
        " JOIN events e ON e.session_id = s.id WHERE s.state = 'open'"
        " ORDER BY s.id, e.seq"
    )
    return Query(sql, (), _rows)


def stale_final_events(since_ms: int) -> Query[Sequence[Sequence[Any]]]:
    """Rows (as :func:`open_session_events`) of the sessions closed since ``since_ms`` whose
    final summary is missing or older than their log."""
    sql = (
        f"SELECT {_S_SESSION}, e.{_EVENT.replace(', ', ', e.')} FROM sessions s"
        " JOIN events e ON e.session_id = s.id"
        " LEFT JOIN session_summaries ss ON ss.session_id = s.id AND ss.final = 1"
        " WHERE s.state = 'closed' AND s.closed_ms >= ? AND (ss.session_id IS NULL"
        " OR ss.last_seq < (SELECT MAX(x.seq) FROM events x WHERE x.session_id = s.id))"
        " ORDER BY s.id, e.seq"
    )
    return Query(sql, (since_ms,), _rows)


def summaries_without_facts() -> Query[Sequence[Sequence[Any]]]:
    """``session_id, final, updated_ms, report, last_seq`` of every summary stored before
    migration 0006 (no row in ``session_facts``)."""
    sql = (
        "SELECT ss.session_id, ss.final, ss.updated_ms, ss.report, ss.last_seq"
        " FROM session_summaries ss LEFT JOIN session_facts f ON f.session_id = ss.session_id"
        " WHERE f.session_id IS NULL ORDER BY ss.session_id"
    )
    return Query(sql, (), _rows)
