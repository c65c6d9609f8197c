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


def insert(table: Table) -> str:
    """``INSERT INTO table (...) VALUES (?, ...)`` in the table's column order."""
    names = table.names
    columns = ", ".join(quoted(n) for n in names)
    return f"INSERT INTO {table.name} ({columns}) VALUES ({', '.join('?' * len(names))})"


def upsert_session_summary(table: Table = SESSION_TABLE) -> str:
    """Insert a session's row of ``table``, or replace every column of the one it has."""
    names = table.names
    updates = ", ".join(f"{quoted(n)} = excluded.{quoted(n)}" for n in names[1:])
    return f"{insert(table)} ON CONFLICT (session_id) DO UPDATE SET {updates}"


UPSERT_SUMMARY: Final = upsert_session_summary()
UPSERT_FACTS: Final = upsert_session_summary(FACTS_TABLE)
INSERT_ITEMS: Final = tuple(insert(table) for table in ITEM_TABLES)
CLEAR_ITEMS: Final = tuple(
    f"DELETE FROM {table.name} WHERE session_id = ?" for table in ITEM_TABLES
)

_PLACEHOLDER = re.compile(r"\?")


def numbered(sql: str) -> str:
    """``sql`` with each ``?`` placeholder numbered for PostgreSQL (``$1``, ``$2``, …)."""
    count = iter(range(1, 10_000))
    return _PLACEHOLDER.sub(lambda _: f"${next(count)}", sql)
