"""Reports over many sessions: the summary (from a :class:`~playhead.reports.figures.Figures`
source) and the sessions list (a read on the store's read connections, which never wait
behind the write queue).

Each selected session counts through its row of ``session_facts``: closed sessions with
their final report, open ones with their report as of their latest summary (refreshed every
``--summary-interval``; decisions.md rule 12).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any, Final

from playhead.errors import InvalidQuery
from playhead.reports import metrics
from playhead.reports.dimensions import Dialect
from playhead.reports.figures import FROM, Figures, dialect_of
from playhead.reports.selection import Selection, one, where
from playhead.storage import Storage
from playhead.storage.queries import Query


async def metrics_of(figures: Figures, selection: Selection) -> dict[str, Any]:
    """Every metric of the selected sessions (aggregates, then timeToStart's percentiles)."""
    result = metrics.finish(await figures.totals(selection))
    if result["timeToStart"]["count"]:
        result["timeToStart"].update(await figures.percentiles(selection))
    return result


def described(selection: Selection) -> dict[str, Any]:
    """The range and filters of a selection as a report repeats them."""
    return {
        "from": selection.from_ms,
        "to": selection.to_ms,
        "filters": [f.text() for f in selection.filters],
    }


async def summary(figures: Figures, selection: Selection) -> dict[str, Any]:
    """``GET /reports/summary``: every metric, and the previous range's with ``compare``."""
    body = {**described(selection), "metrics": await metrics_of(figures, selection)}
    if selection.compare:
        before = selection.previous()
        body["previous"] = {
            "from": before.from_ms,
            "to": before.to_ms,
            "metrics": await metrics_of(figures, before),
        }
    return body


# ----------------------------------------------------------------------------- sessions list
LIST_FIELDS = (
    "id", "state", "closeReason", "firstEventTs", "lastEventTs", "media.id", "media.name",
    "viewer", "timePlayed", "isCompleted", "errorCount", "experience",
)  # fmt: skip
_ORDERS = {"-firstEventTs": "DESC", "firstEventTs": "ASC"}
MAX_LIMIT = 1000


# The SQL of each of the sessions list's columns, in LIST_FIELDS order (all kept in
# session_facts, migration 0014: the same in both dialects).
LIST_EXPRESSIONS: Final = (
    "ss.sid", "ss.state", "ss.close_reason", "ss.first_event_ts", "ss.last_event_ts",
    "ss.media_id", "ss.media_name", "ss.viewer_key", "ss.time_played", "ss.is_completed",
    "ss.error_count", "ss.experience",
)  # fmt: skip
LIST_COLUMNS: Final = ", ".join((*LIST_EXPRESSIONS, "ss.session_id"))


def list_row(row: Sequence[Any]) -> dict[str, Any]:
    """One session of the list from a row of :func:`list_columns`."""
    item = dict(zip(LIST_FIELDS, row, strict=False))
    item["isCompleted"] = bool(item["isCompleted"])
    item["errorCount"] = int(item["errorCount"])
    item["timePlayed"] = float(item["timePlayed"])
    return item


def encode_cursor(first_event_ts: int, session_id: int) -> str:
    """An opaque cursor naming the position after one session of the list."""
    return base64.urlsafe_b64encode(f"{first_event_ts}.{session_id}".encode()).decode()


def decode_cursor(text: str) -> tuple[int, int]:
    """The position a cursor names (a 400 for anything that is not one)."""
    try:
        ts, _, sid = base64.urlsafe_b64decode(text.encode("ascii")).decode().partition(".")
        position = int(ts), int(sid)
    except (ValueError, UnicodeError, binascii.Error):
        raise InvalidQuery.of("cursor", "is not a cursor this server gave") from None
    if not all(0 <= n < 2**63 for n in position):
        raise InvalidQuery.of("cursor", "is not a cursor this server gave")
    return position


def parse_limit(query: Any, default: int, most: int) -> int:
    """The ``limit`` parameter: an integer from 1 to ``most``."""
    text = one(query, "limit")
    if text is None:
        return default
    if not text.isdigit() or not 1 <= int(text) <= most:
        raise InvalidQuery.of("limit", f"must be an integer from 1 to {most}")
    return int(text)


def parse_order(query: Any) -> str:
    """The sessions list's ``order``: ``-firstEventTs`` (newest first) or ``firstEventTs``."""
    order = one(query, "order") or "-firstEventTs"
    if order not in _ORDERS:
        raise InvalidQuery.of("order", "must be -firstEventTs or firstEventTs")
    return order


def sessions_query(
    selection: Selection,
    dialect: Dialect,
    order: str,
    after: tuple[int, int] | None,
    limit: int | None,
) -> tuple[str, tuple[Any, ...]]:
    """SQL and arguments listing the selected sessions in ``order`` after a position."""
    condition, args = where(selection, dialect)
    direction = _ORDERS[order]
    if after is not None:
        comparison = "<" if direction == "DESC" else ">"
        condition += f" AND (ss.first_event_ts, ss.session_id) {comparison} (?, ?)"
        args = (*args, *after)
    sql = (
        f"SELECT {LIST_COLUMNS} {FROM}"
        f" WHERE {condition} ORDER BY ss.first_event_ts {direction}, ss.session_id {direction}"
    )
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return sql, args


async def sessions_page(
    storage: Storage, selection: Selection, order: str, cursor: str | None, limit: int
) -> dict[str, Any]:
    """``GET /reports/sessions``: one page of the selected sessions and the next cursor."""
    after = None if cursor is None else decode_cursor(cursor)
    sql, args = sessions_query(selection, dialect_of(storage), order, after, limit + 1)
    rows = await storage.read(Query(sql, args, lambda rows: list(rows)))
    page = rows[:limit]
    following = None
    if len(rows) > limit:
        last = page[-1]
        following = encode_cursor(int(last[3]), int(last[-1]))
    return {"sessions": [list_row(row) for row in page], "next": following}
