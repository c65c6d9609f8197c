"""Errors over many sessions (``GET /reports/errors``): which error ids, from which source,
hit how many of the selected sessions.

A session report lists the distinct error ids its ``error`` events carried, by source
(``qoeDataDetails.playerSdkErrors`` and ``externalErrors``, at most
:data:`playhead.engine.limits.MAX_ERROR_IDS` each); nothing stores how often each id recurred
within a session, so the report counts sessions, not occurrences. Each session's ids are in its
row of ``session_facts`` (``error_ids``, JSON ``[[SOURCE, ID], ...]``, NULL when it listed
none: most sessions, which the query skips first), and are grouped in SQL with
the database's JSON functions on both backends.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from playhead.errors import InvalidQuery
from playhead.reports.aggregate import described
from playhead.reports.dimensions import Dialect
from playhead.reports.figures import FROM, dialect_of, planned
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
    """The ``FROM``-clause item giving one row per error id per selected session, and the SQL
    of that row's id and source (one set-returning function: PostgreSQL's planner guesses 100
    rows for each, so two nested ones would look costly enough to compile the query first)."""
    if dialect == "postgres":
        return (
            "CROSS JOIN LATERAL json_array_elements(ss.error_ids::json) j(pair)",
            "(j.pair ->> 1)",
            "(j.pair ->> 0)",
        )
    return (
        "CROSS JOIN json_each(ss.error_ids) j",
        "json_extract(j.value, '$[1]')",
        "json_extract(j.value, '$[0]')",
    )


def errors_query(
    selection: Selection, dialect: Dialect, source: str | None, limit: int
) -> tuple[str, tuple[Any, ...]]:
    """SQL and arguments of ``(error_id, source, sessions)`` rows, most sessions first (ties
    by id, then source), at most ``limit``."""
    condition, args = where(selection, dialect)
    item, id_column, source_column = _ids(dialect)
    # the cheap test first: the sessions that listed no error id are never opened
    condition = f"ss.error_ids IS NOT NULL AND {condition}"
    if source is not None:
        condition += f" AND {source_column} = ?"
        args = (*args, source)
    sql = (
        f"SELECT {id_column} AS error_id, {source_column} AS source, COUNT(*) AS sessions"
        f" {FROM} {item} WHERE {condition} GROUP BY 1, 2"
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
