"""Errors over many sessions (``GET /reports/errors``): which error ids, from which source,
hit how many of the selected sessions.

A session report lists the distinct error ids its ``error`` events carried, by source
(``qoeDataDetails.playerSdkErrors`` and ``externalErrors``, at most
:data:`playhead.engine.limits.MAX_ERROR_IDS` each); nothing stores how often each id recurred
within a session, so the report counts sessions, not occurrences. The ids are read from the
stored report of each selected session that had an error (``session_facts.error_count > 0``:
a session without one is never opened), with the database's JSON functions, so the grouping
runs in SQL on both backends.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from playhead.errors import InvalidQuery
from playhead.reports.aggregate import FROM, described, dialect_of, planned
from playhead.reports.dimensions import Dialect
from playhead.reports.selection import Selection, one, where
from playhead.storage import Storage
from playhead.storage.queries import Query

SOURCES: Final = ("player", "external")
DEFAULT_LIMIT: Final = 20
MAX_LIMIT: Final = 1000


def parse_source(query: Any) -> str | None:
    """The ``source`` parameter: ``player``, ``external`` or absent (both)."""
    source = one(query, "source")
    if source is not None and source not in SOURCES:
        raise InvalidQuery.of("source", "must be player or external")
    return source


def _ids(dialect: Dialect) -> tuple[str, str, str]:
    """``FROM``-clause items giving one row per error id per selected session (each report
    parsed once), and the SQL of that row's id and source."""
    if dialect == "postgres":
        # json, not jsonb: only two keys are read, and json keeps any text jsonb refuses
        return (
            "CROSS JOIN LATERAL (SELECT convert_from(sm.report, 'UTF8')::json -> 'qoeDataDetails'"
            " AS q) r CROSS JOIN LATERAL ("
            "SELECT 'player' AS source, x AS error_id"
            " FROM json_array_elements_text(r.q -> 'playerSdkErrors') x"
            " UNION ALL SELECT 'external', x"
            " FROM json_array_elements_text(r.q -> 'externalErrors') x) e",
            "e.error_id",
            "e.source",
        )
    # A BLOB is not JSON to SQLite: the report is read as the text it is. CROSS JOIN keeps the
    # order (each selected session once, then its report's two lists of ids).
    return (
        "CROSS JOIN json_each(CAST(sm.report AS TEXT), '$.qoeDataDetails') q"
        " CROSS JOIN json_each(q.value) j",
        "j.value",
        "CASE q.key WHEN 'playerSdkErrors' THEN 'player' ELSE 'external' END",
    )


def errors_query(
    selection: Selection, dialect: Dialect, source: str | None, limit: int
) -> tuple[str, tuple[Any, ...]]:
    """SQL and arguments of ``(error_id, source, sessions)`` rows, most sessions first (ties
    by id, then source), at most ``limit``."""
    condition, args = where(selection, dialect)
    items, id_column, source_column = _ids(dialect)
    # the cheap test first: the sessions without an error are never opened
    condition = f"ss.error_count > 0 AND {condition}"
    if dialect != "postgres":
        keys = ("playerSdkErrors",) if source == "player" else ("externalErrors",)
        wanted = ("playerSdkErrors", "externalErrors") if source is None else keys
        condition += " AND q.key IN (" + ", ".join(f"'{k}'" for k in wanted) + ")"
    elif source is not None:
        condition += f" AND {source_column} = ?"
        args = (*args, source)
    join = "JOIN" if dialect == "postgres" else "CROSS JOIN"
    sql = (
        f"SELECT {id_column} AS error_id, {source_column} AS source, COUNT(*) AS sessions"
        f" {FROM} {join} session_summaries sm ON sm.session_id = ss.session_id {items}"
        f" WHERE {condition} GROUP BY 1, 2"
        f" ORDER BY sessions DESC, error_id, source LIMIT {int(limit)}"
    )
    return sql, args


def _rows(rows: Sequence[Sequence[Any]]) -> list[tuple[str, str, int]]:
    return [(str(error_id), str(source), int(n)) for error_id, source, n in rows]


def _count(rows: Sequence[Sequence[Any]]) -> int:
    return int(rows[0][0]) if rows else 0


async def errors(
    storage: Storage, selection: Selection, source: str | None, limit: int
) -> dict[str, Any]:
    """``GET /reports/errors``: the selection, its number of sessions, and its error ids by
    source with the sessions each hit and their share of the selection."""
    selection = await planned(storage, selection)
    dialect = dialect_of(storage)
    condition, args = where(selection, dialect)
    total = await storage.read(Query(f"SELECT COUNT(*) {FROM} WHERE {condition}", args, _count))
    sql, args = errors_query(selection, dialect, source, limit)
    found = await storage.read(Query(sql, args, _rows))
    return {
        **described(selection),
        "sessions": total,
        "errors": [
            {
                "errorId": error_id,
                "source": src,
                "sessions": n,
                "share": n / total if total else 0.0,
            }
            for error_id, src, n in found
        ],
    }
