"""The dimensions sessions are filtered and broken down by, as SQL over ``session_facts``.

A dimension is a name and the SQL expression giving a session's value of it as text (``NULL``
when the session has none; callers write that ``(none)``). Most come from the session's
``dims`` column, a JSON object of every sessionStart ``params`` key and every custom-metadata
key as ``meta.KEY`` (:func:`playhead.events.session_dimensions`), so any such key is a
dimension without an entry here; :data:`NAMED` holds the others, one entry each.

Adding a dimension is one entry in :data:`NAMED`. Enrichment's dimensions (``device.type``,
``browser.name``, ``os.name``, ``geo.country``, ``isBot``, ...) are read from the session's
context (``sessions.context``, written at sessionStart). A dimension whose sessions are left
out unless asked for has an entry in :data:`DEFAULT_EXCLUDED`: ``{"isBot": "true"}`` excludes
sessions flagged as bots from every selection that does not itself filter on ``isBot``
(``filter=isBot:true`` shows only them; ``filter=!isBot:true`` or ``filter=isBot:false`` is
the default made explicit).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from playhead.enrichment import DIMENSIONS as ENRICHED

# SQL dialects the expressions are written for ("sqlite" or "postgres").
Dialect = str

NONE: Final = "(none)"


@dataclass(frozen=True)
class Dimension:
    """A dimension: its name and its SQL value expression for a dialect (``ss`` is the
    ``session_facts`` alias)."""

    name: str
    sql: Callable[[Dialect], str]


def _column(expression: str) -> Callable[[Dialect], str]:
    return lambda dialect: expression


def context_value(name: str, dialect: Dialect, alias: str = "x") -> str:
    """SQL of a value enrichment keeps in a session's context (``sessions.context``)."""
    if dialect == "postgres":
        return f"({alias}.context::jsonb ->> '{name}')"
    return f"json_extract({alias}.context, '$.\"{name}\"')"


def _context(name: str) -> Callable[[Dialect], str]:
    def sql(dialect: Dialect) -> str:
        value = context_value(name, dialect)
        return f"(SELECT {value} FROM sessions x WHERE x.id = ss.session_id)"

    return sql


def excluding(name: str, dialect: Dialect, literal: str | None = None) -> str:
    """A condition leaving out the sessions whose ``name`` has a value: ``literal`` written in
    the SQL (so a partial index on it can serve), else one ``?``. For a context dimension it
    reads the set of such sessions once rather than each session's context."""
    value = "?" if literal is None else "'" + literal.replace("'", "''") + "'"
    if name in ENRICHED:
        return (
            f"ss.session_id NOT IN (SELECT x.id FROM sessions x"
            f" WHERE {context_value(name, dialect)} = {value})"
        )
    return f"{valued(name, dialect)} <> {value}"


# Dimensions that are a column of session_facts: name → column. media.id has its own
# indexed column (the same text as in dims: media.id is always a string).
COLUMNS: Final[dict[str, str]] = {
    "state": "state",
    "closeReason": "close_reason",
    "bitrateBucket": "bitrate_bucket",
    "viewer": "viewer_key",
    "media.id": "media_id",
}
NAMED: Final[dict[str, Dimension]] = {
    d.name: d
    for d in (
        *(Dimension(name, _column(f"ss.{column}")) for name, column in COLUMNS.items()),
        # what enrichment learnt from the session's first request
        *(Dimension(name, _context(name)) for name in ENRICHED),
    )
}


def source(name: str) -> tuple[str, str]:
    """Where a session's value of dimension ``name`` is kept: ``("column", COLUMN)`` of
    ``session_facts``, ``("context", KEY)`` of ``sessions.context`` or ``("dims", KEY)``."""
    if name in COLUMNS:
        return "column", COLUMNS[name]
    if name in ENRICHED:
        return "context", name
    return "dims", name


# dimension → value: sessions with that value are left out unless the selection filters on
# the dimension (enrichment's bot flag goes here: {"isBot": "true"}).
DEFAULT_EXCLUDED: dict[str, str] = {"isBot": "true"}

# A params key or meta.KEY: printable, without quotes or backslashes (they would need
# escaping in a JSON path), at most 256 characters.
_KEY = re.compile(r"[^\"'\\\x00-\x1f\x7f]{1,256}")


def problem(name: str) -> str | None:
    """Why ``name`` is not a dimension name, or ``None`` when it is one."""
    if name in NAMED:
        return None
    if not _KEY.fullmatch(name) or name.strip() != name:
        return "is not a dimension: a params key, meta.KEY or one of " + ", ".join(NAMED)
    if name == "meta." or name.endswith("."):
        return "names no key"
    return None


def expression(name: str, dialect: Dialect) -> str:
    """The SQL giving a session's value of dimension ``name`` (checked by :func:`problem`)."""
    named = NAMED.get(name)
    if named is not None:
        return named.sql(dialect)
    if dialect == "postgres":
        return f"(ss.dims ->> '{name}')"
    return f"json_extract(ss.dims, '$.\"{name}\"')"


def valued(name: str, dialect: Dialect) -> str:
    """:func:`expression` with ``(none)`` for a session without a value."""
    return f"COALESCE({expression(name, dialect)}, '{NONE}')"
