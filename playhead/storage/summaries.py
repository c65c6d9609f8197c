"""Flattens a session report into the rows of the normalized summary tables (any SQL backend)."""

from __future__ import annotations

from typing import Any

import msgspec

from playhead.engine import SessionReport
from playhead.storage import Summary

_encode = msgspec.json.Encoder().encode


class SummaryRows(msgspec.Struct, frozen=True):
    """The rows one session's summary occupies: its own, and one per ad, chapter and state."""

    session_id: int
    session: tuple[Any, ...]
    ads: list[tuple[Any, ...]]
    chapters: list[tuple[Any, ...]]
    states: list[tuple[Any, ...]]


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def summary_rows(summary: Summary) -> SummaryRows:
    """Rows for the session, ad, chapter and state summary tables."""
    r: SessionReport = summary.report
    sd, qoe = r.session_details, r.qoe_data_details
    sid = summary.session_id
    session = (
        sid, int(summary.final), summary.updated_ms, r.first_event_ts, r.last_event_ts,
        r.params.get("media.id"), r.params.get("media.contentType"),
        int(sd.is_played), int(sd.is_completed), int(sd.is_downloaded), int(sd.has_resume),
        sd.time_played, sd.total_time_played, sd.unique_time_played,
        sd.pause_count, sd.pause_time, sd.ad_count, sd.chapter_count,
        qoe.time_to_start, qoe.bitrate_average, qoe.buffer_count, qoe.buffer_time,
        qoe.stall_count, qoe.stall_time, qoe.error_count, qoe.dropped_frames,
        int(qoe.is_dropped_before_start), _encode(r), summary.last_seq,
    )  # fmt: skip
    ads = [
        (sid, i, _int(a.pod_index), _int(a.pod_position), a.id, a.name, _num(a.length),
         a.time_played, int(a.is_completed), int(a.is_skipped))
        for i, a in enumerate(r.ads)
    ]  # fmt: skip
    chapters = [
        (sid, i, _int(c.index), _num(c.offset), _num(c.length), c.friendly_name,
         c.time_played, int(c.is_completed), int(c.is_skipped))
        for i, c in enumerate(r.chapters)
    ]  # fmt: skip
    states = [(sid, s.name, s.count, s.time) for s in r.states]
    return SummaryRows(sid, session, ads, chapters, states)
