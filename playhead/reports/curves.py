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
from playhead.reports.figures import FROM, dialect_of, planned
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
    viewers, watched = _step_totals([_decode_pairs(body) for (body,) in rows], start, end, step)
    points = [
        {"t": start + i * step, "viewers": viewers[i], "watchTime": watched[i] / 1000}
        for i in range(count)
    ]
    return {"step": step_s, "points": points}


def _step_totals(
    sessions: Sequence[Sequence[tuple[float, float]]], start: int, end: int, step: int
) -> tuple[list[int], list[int]]:
    """Per step of ``[start, end)``: the sessions with a watching span overlapping it, and
    the ms of those spans inside it. Each span costs the same however many steps it covers:
    it marks where its steps begin and end, and running sums fill in the steps between."""
    count = -(-(end - start) // step)
    viewers = [0] * (count + 1)  # differences: +1 where a session's steps begin, -1 after
    full = [0] * (count + 1)  # differences of the steps a span covers from edge to edge
    watched = [0] * count  # ms of the partly covered first and last steps
    for spans in sessions:
        last_counted = -1  # a session counts once per step (its spans come in time order)
        for lo_, hi_ in spans:
            lo, hi = max(int(lo_), start), min(int(hi_), end)
            if hi <= lo:
                continue
            first, last = (lo - start) // step, (hi - 1 - start) // step
            if first == last:
                watched[first] += hi - lo
            else:
                watched[first] += start + (first + 1) * step - lo
                watched[last] += hi - (start + last * step)
                full[first + 1] += 1
                full[last] -= 1
            begin = max(first, last_counted + 1)
            if begin <= last:
                viewers[begin] += 1
                viewers[last + 1] -= 1
                last_counted = last
    running_viewers = running_full = 0
    for i in range(count):
        running_viewers += viewers[i]
        running_full += full[i]
        viewers[i] = running_viewers
        watched[i] += running_full * step
    return viewers[:count], watched


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
