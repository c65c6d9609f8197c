"""Curves from the session timelines: concurrent viewers over time, audience retention along
the content, and the viewers watching right now.

Concurrency and retention read each selected session's watching spans and watched ranges
(``session_facts.watching`` / ``watched``, from its report's ``timeline`` and
``watchedRanges``), so both curves follow from the per-session reports alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import msgspec

from playhead.engine.model import BUFFERING, PAUSED, PLAYING, STARTING
from playhead.errors import InvalidQuery
from playhead.reports.aggregate import FROM, dialect_of, planned
from playhead.reports.selection import Selection, filter_conditions, one, where
from playhead.state import LiveState
from playhead.storage import Storage
from playhead.storage.queries import Query

MAX_STEPS: Final = 2000
MIN_STEP_S: Final = 10
MAX_STEP_S: Final = 86_400
RECENT_MS: Final = 30_000  # concurrency/now: a last event within this long counts
MAX_POINTS: Final = 1000

_decode_pairs = msgspec.json.Decoder(list[tuple[float, float]]).decode


def _rows(rows: Sequence[Sequence[Any]]) -> list[Sequence[Any]]:
    return list(rows)


def parse_int(query: Any, name: str, default: int, low: int, high: int) -> int:
    """An integer parameter from ``low`` to ``high``."""
    text = one(query, name)
    if text is None:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise InvalidQuery.of(name, f"must be an integer from {low} to {high}")
    return int(text)


async def concurrency(storage: Storage, selection: Selection, step_s: int) -> dict[str, Any]:
    """``GET /reports/concurrency``: per step of ``[from, to)``, the sessions with a watching
    span overlapping it and the seconds of those spans inside it. Sessions are selected by
    their timeline overlapping the range (and the filters), not by their start."""
    step = step_s * 1000
    start, end = selection.from_ms, selection.to_ms
    count = -(-(end - start) // step)
    if count > MAX_STEPS:
        raise InvalidQuery.of("step", f"gives {count} steps; at most {MAX_STEPS}")
    conditions, args = filter_conditions(selection.filters, dialect_of(storage))
    sql = (
        f"SELECT ss.watching {FROM} WHERE ss.first_event_ts < ? AND ss.last_event_ts > ?"
        f" AND ss.watching IS NOT NULL{''.join(' AND ' + c for c in conditions)}"
    )
    rows = await storage.read(Query(sql, (end, start, *args), _rows))
    viewers = [0] * count
    watched = [0] * count  # ms
    for (body,) in rows:
        last_counted = -1
        for lo, hi in _decode_pairs(body):
            lo, hi = max(int(lo), start), min(int(hi), end)
            if hi <= lo:
                continue
            for i in range((lo - start) // step, (hi - 1 - start) // step + 1):
                t = start + i * step
                watched[i] += min(hi, t + step) - max(lo, t)
                if i != last_counted:
                    viewers[i] += 1
                    last_counted = i
    points = [
        {"t": start + i * step, "viewers": viewers[i], "watchTime": watched[i] / 1000}
        for i in range(count)
    ]
    return {"step": step_s, "points": points}


async def retention(storage: Storage, selection: Selection, points: int) -> dict[str, Any]:
    """``GET /reports/retention``: the share of the selected sessions that played whose
    watched ranges contain each of ``points`` positions along the longest ``media.length``."""
    selection = await planned(storage, selection)
    condition, args = where(selection, dialect_of(storage))
    sql = f"SELECT ss.media_length, ss.watched {FROM} WHERE {condition} AND ss.is_played = 1"
    rows = await storage.read(Query(sql, args, _rows))
    lengths = [float(length) for length, _ in rows if length is not None and length > 0]
    if not lengths:
        return {"length": None, "sessions": len(rows), "points": []}
    length = max(lengths)
    positions = [(i + 0.5) * length / points for i in range(points)]
    covered = [0] * points
    for _, body in rows:
        if body is None:
            continue
        for lo, hi in _decode_pairs(body):
            first = max(0, int(lo * points / length - 0.5) - 1)
            for i in range(first, points):
                if positions[i] > hi:
                    break
                if positions[i] >= lo:
                    covered[i] += 1
    return {
        "length": length,
        "sessions": len(rows),
        "points": [
            {"position": p, "share": covered[i] / len(rows)} for i, p in enumerate(positions)
        ],
    }


async def now(state: LiveState, now_ms: int) -> dict[str, Any]:
    """``GET /reports/concurrency/now``: open sessions whose last event arrived within the
    last 30 s, by their playback state (``ad`` while playing inside an ad break)."""
    by_state = {"playing": 0, "ad": 0, "buffering": 0, "paused": 0, "starting": 0}
    since = now_ms - RECENT_MS
    async for live in state.sessions():
        fold = live.fold
        if live.close_reason is not None or fold.last_received_ms < since:
            continue
        st = fold.playback_state
        if st == PLAYING:
            by_state["ad" if fold.in_break else "playing"] += 1
        elif st == PAUSED:
            by_state["paused"] += 1
        elif st == BUFFERING:
            by_state["buffering"] += 1
        elif st == STARTING:
            by_state["starting"] += 1
    viewers = sum(n for name, n in by_state.items() if name != "paused")
    return {"t": now_ms, "viewers": viewers, "byState": by_state}
