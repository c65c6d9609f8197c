"""The write statements both SQL backends run, written once with ``?`` placeholders.

The summary statements are built from :mod:`playhead.storage.schema`; :func:`numbered` turns
``?`` into PostgreSQL's ``$1, $2, …``.
"""

from __future__ import annotations

import re
from typing import Final

from playhead.storage.schema import FACTS_TABLE, ITEM_TABLES, SESSION_TABLE, Table, quoted

SESSION_COLUMNS: Final = (
    "id", "sid", "started_ms", "start_ts", "media_id", "params", "downloaded", "context",
    "viewer_key", "client_network",
)  # fmt: skip
EVENT_COLUMNS: Final = ("session_id", "seq", "received_ms", "body", "format")

INSERT_SESSION: Final = (
    f"INSERT INTO sessions ({', '.join(SESSION_COLUMNS)})"
    f" VALUES ({', '.join('?' * len(SESSION_COLUMNS))})"
)
INSERT_EVENT: Final = (
    f"INSERT INTO events ({', '.join(EVENT_COLUMNS)})"
    f" VALUES ({', '.join('?' * len(EVENT_COLUMNS))})"
)
CLOSE: Final = (
    "UPDATE sessions SET state = 'closed', close_reason = ?, closed_ms = ?"
    " WHERE id = ? AND state = 'open'"
)
REFUSED: Final = "UPDATE sessions SET refused = refused + 1 WHERE id = ?"


def insert(table: Table, stamp: str | None = None) -> str:
    """``INSERT INTO table (...) VALUES (?, ...)`` in the table's column order (with
    ``stamp``, a last column ``changed`` taking that SQL expression's value)."""
    columns = ", ".join(quoted(n) for n in table.names)
    values = ", ".join("?" * len(table.names))
    if stamp is not None:
        columns, values = f"{columns}, changed", f"{values}, {stamp}"
    return f"INSERT INTO {table.name} ({columns}) VALUES ({values})"


def upsert_session_summary(table: Table = SESSION_TABLE, stamp: str | None = None) -> str:
    """Insert a session's row of ``table``, or replace every column of the one it has; with
    ``stamp``, its ``changed`` column takes that SQL expression's value too."""
    updated = [quoted(n) for n in table.names[1:]] + (["changed"] if stamp else [])
    updates = ", ".join(f"{n} = excluded.{n}" for n in updated)
    return f"{insert(table, stamp)} ON CONFLICT (session_id) DO UPDATE SET {updates}"


# Each write of a session's facts takes the next change stamp (migration 0012): the writer is
# alone on SQLite, so the largest stamp stored or deleted, plus one, is always the next one.
SQLITE_FACTS_STAMP: Final = (
    "(SELECT MAX(COALESCE((SELECT MAX(changed) FROM session_facts), 0),"
    " (SELECT floor FROM facts_changes)) + 1)"
)
POSTGRES_FACTS_STAMP: Final = "nextval('session_facts_changes')"
UPSERT_SUMMARY: Final = upsert_session_summary()
UPSERT_FACTS: Final = upsert_session_summary(FACTS_TABLE, SQLITE_FACTS_STAMP)
UPSERT_FACTS_POSTGRES: Final = upsert_session_summary(FACTS_TABLE, POSTGRES_FACTS_STAMP)
INSERT_ITEMS: Final = tuple(insert(table) for table in ITEM_TABLES)
CLEAR_ITEMS: Final = tuple(
    f"DELETE FROM {table.name} WHERE session_id = ?" for table in ITEM_TABLES
)

_PLACEHOLDER = re.compile(r"\?")


def numbered(sql: str) -> str:
    """``sql`` with each ``?`` placeholder numbered for PostgreSQL (``$1``, ``$2``, …)."""
    count = iter(range(1, 10_000))
    return _PLACEHOLDER.sub(lambda _: f"${next(count)}", sql)
