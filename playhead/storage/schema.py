"""The summary tables' columns, declared once: both SQL backends build their inserts and rows
from these tables, and a contract test checks them against the migrated schema.

A session's report is stored flattened into ``session_summaries`` (one row per session, with
the whole report JSON), ``session_facts`` (one narrow row per session: every figure reports
over many sessions read), ``ad_summaries``,
``chapter_summaries`` and ``state_summaries`` (one row per ad, chapter and player state).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import msgspec

from playhead.engine import AdReport, ChapterReport, SessionReport, StateReport
from playhead.events import dimension_text, session_dimensions, viewer_key
from playhead.storage.base import Summary

_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True)
class Column:
    """One column of a summary table: its name, whether it holds free-form text (a report
    value that may be any JSON type, stored as text), and how its value is read."""

    name: str
    value: Callable[[Any], Any]
    free_text: bool = False


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _dims(report: SessionReport) -> str:
    return _encode(session_dimensions(report.params, report.custom_metadata)).decode()


def _media_name(report: SessionReport) -> str | None:
    """The session's ``media.name`` as its dimension value (as ``dims`` holds it)."""
    value = report.params.get("media.name")
    return None if value is None else dimension_text(value)


def _error_ids(report: SessionReport) -> str | None:
    """The report's error ids with their source as JSON ``[["player", ID], ["external", ID],
    ...]``; ``None`` for a session that listed none (most: the errors report skips them)."""
    q = report.qoe_data_details
    if not q.player_sdk_errors and not q.external_errors:
        return None
    pairs = [("player", e) for e in q.player_sdk_errors]
    pairs += [("external", e) for e in q.external_errors]
    return _encode(pairs).decode()


# Timeline states in which a viewer is not watching (concurrency counts every other one).
NOT_WATCHING: Final = frozenset({"paused", "ended"})


def _watching(report: SessionReport) -> str:
    """The session's watching spans as JSON ``[[from_ts, to_ts], ...]``, touching ones joined."""
    spans: list[list[int]] = []
    for span in report.timeline:
        if span.state in NOT_WATCHING:
            continue
        if spans and spans[-1][1] == span.from_:
            spans[-1][1] = span.to
        else:
            spans.append([span.from_, span.to])
    return _encode(spans).decode()


def _pod(value: Any) -> str:
    """An ad's podIndex as a key for counting distinct breaks (any JSON value)."""
    return _encode(value).decode()


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


SESSION_COLUMNS: Final[tuple[Column, ...]] = (
    Column("session_id", lambda s: s.session_id),
    Column("final", lambda s: int(s.final)),
    Column("updated_ms", lambda s: s.updated_ms),
    Column("first_event_ts", lambda s: s.report.first_event_ts),
    Column("last_event_ts", lambda s: s.report.last_event_ts),
    Column("media_id", lambda s: s.report.params.get("media.id"), free_text=True),
    Column("content_type", lambda s: s.report.params.get("media.contentType"), free_text=True),
    Column("is_played", lambda s: int(s.report.session_details.is_played)),
    Column("is_completed", lambda s: int(s.report.session_details.is_completed)),
    Column("is_downloaded", lambda s: int(s.report.session_details.is_downloaded)),
    Column("has_resume", lambda s: int(s.report.session_details.has_resume)),
    Column("time_played", lambda s: s.report.session_details.time_played),
    Column("total_time_played", lambda s: s.report.session_details.total_time_played),
    Column("unique_time_played", lambda s: s.report.session_details.unique_time_played),
    Column("pause_count", lambda s: s.report.session_details.pause_count),
    Column("pause_time", lambda s: s.report.session_details.pause_time),
    Column("ad_count", lambda s: s.report.session_details.ad_count),
    Column("chapter_count", lambda s: s.report.session_details.chapter_count),
    Column("time_to_start", lambda s: s.report.qoe_data_details.time_to_start),
    Column("bitrate_average", lambda s: s.report.qoe_data_details.bitrate_average),
    Column("buffer_count", lambda s: s.report.qoe_data_details.buffer_count),
    Column("buffer_time", lambda s: s.report.qoe_data_details.buffer_time),
    Column("stall_count", lambda s: s.report.qoe_data_details.stall_count),
    Column("stall_time", lambda s: s.report.qoe_data_details.stall_time),
    Column("error_count", lambda s: s.report.qoe_data_details.error_count),
    Column("dropped_frames", lambda s: s.report.qoe_data_details.dropped_frames),
    Column("is_dropped_before_start",
           lambda s: int(s.report.qoe_data_details.is_dropped_before_start)),
    Column("report", lambda s: _encode(s.report)),
    Column("last_seq", lambda s: s.last_seq),
)  # fmt: skip

# One narrow row per session with every figure reports over many sessions read (migration
# 0006): kept apart from the report document, whose kilobytes would otherwise sit between a
# row's columns and make every scan read them.
_SHARED: Final = {column.name: column for column in SESSION_COLUMNS}
FACT_COLUMNS: Final[tuple[Column, ...]] = (
    *(_SHARED[name] for name in (
        "session_id", "final", "first_event_ts", "last_event_ts", "media_id", "is_played",
        "is_completed", "is_downloaded", "has_resume", "time_played", "total_time_played",
        "unique_time_played", "pause_count", "pause_time", "time_to_start", "bitrate_average",
        "buffer_count", "buffer_time", "stall_count", "stall_time", "error_count",
        "dropped_frames", "is_dropped_before_start",
    )),
    Column("state", lambda s: s.report.state),
    Column("close_reason", lambda s: s.report.close_reason),
    Column("viewer_key", lambda s: viewer_key(s.report.params)),
    Column("dims", lambda s: _dims(s.report)),
    Column("bitrate_bucket", lambda s: s.report.qoe_data_details.bitrate_average_bucket,
           free_text=True),
    Column("media_length", lambda s: _num(s.report.params.get("media.length"))),
    Column("has_progress10", lambda s: int(s.report.session_details.has_progress10)),
    Column("has_progress25", lambda s: int(s.report.session_details.has_progress25)),
    Column("has_progress50", lambda s: int(s.report.session_details.has_progress50)),
    Column("has_progress75", lambda s: int(s.report.session_details.has_progress75)),
    Column("has_progress95", lambda s: int(s.report.session_details.has_progress95)),
    Column("average_minute_audience",
           lambda s: s.report.session_details.average_minute_audience),
    Column("estimated_streams", lambda s: s.report.session_details.estimated_streams),
    Column("bitrate_change_count", lambda s: s.report.qoe_data_details.bitrate_change_count),
    Column("buffer_impacted",
           lambda s: int(s.report.qoe_data_details.has_buffer_impacted_streams)),
    Column("stall_impacted", lambda s: int(s.report.qoe_data_details.has_stall_impacted_streams)),
    Column("error_impacted", lambda s: int(s.report.qoe_data_details.has_error_impacted_streams)),
    Column("pause_impacted",
           lambda s: int(s.report.session_details.has_pause_impacted_streams)),
    Column("bitrate_change_impacted",
           lambda s: int(s.report.qoe_data_details.has_bitrate_change_impacted_streams)),
    Column("dropped_frame_impacted",
           lambda s: int(s.report.qoe_data_details.has_dropped_frame_impacted_streams)),
    Column("ad_breaks", lambda s: len({_pod(a.pod_index) for a in s.report.ads})),
    Column("ad_starts", lambda s: sum(a.is_started for a in s.report.ads)),
    Column("ad_completes", lambda s: sum(a.is_completed for a in s.report.ads)),
    Column("ad_skips", lambda s: sum(a.is_skipped for a in s.report.ads)),
    Column("ad_time_played", lambda s: float(sum(a.time_played for a in s.report.ads))),
    Column("chapter_starts", lambda s: sum(c.is_started for c in s.report.chapters)),
    Column("chapter_completes", lambda s: sum(c.is_completed for c in s.report.chapters)),
    Column("chapter_skips", lambda s: sum(c.is_skipped for c in s.report.chapters)),
    Column("chapter_time_played", lambda s: float(sum(c.time_played for c in s.report.chapters))),
    Column("experience", lambda s: s.report.scores.experience),
    Column("playback_success", lambda s: s.report.scores.playback_success),
    Column("startup", lambda s: s.report.scores.startup),
    Column("smoothness", lambda s: s.report.scores.smoothness),
    Column("watching", lambda s: _watching(s.report)),
    Column("watched", lambda s: _encode(s.report.watched_ranges).decode()),
    Column("error_ids", lambda s: _error_ids(s.report)),
    # the sessions list's own columns (migration 0014): no join, no dims parsing per row
    Column("sid", lambda s: s.report.id),
    Column("media_name", lambda s: _media_name(s.report)),
)  # fmt: skip

# The per-item tables: their rows are (session_id, position-or-name, ...) built from one item.
AD_COLUMNS: Final[tuple[Column, ...]] = (
    Column("pod_index", lambda a: _int(a.pod_index)),
    Column("pod_position", lambda a: _int(a.pod_position)),
    Column("ad_id", lambda a: a.id, free_text=True),
    Column("name", lambda a: a.name, free_text=True),
    Column("length", lambda a: _num(a.length)),
    Column("time_played", lambda a: a.time_played),
    Column("is_completed", lambda a: int(a.is_completed)),
    Column("is_skipped", lambda a: int(a.is_skipped)),
)
CHAPTER_COLUMNS: Final[tuple[Column, ...]] = (
    Column("chapter_index", lambda c: _int(c.index)),
    Column("offset", lambda c: _num(c.offset)),
    Column("length", lambda c: _num(c.length)),
    Column("friendly_name", lambda c: c.friendly_name, free_text=True),
    Column("time_played", lambda c: c.time_played),
    Column("is_completed", lambda c: int(c.is_completed)),
    Column("is_skipped", lambda c: int(c.is_skipped)),
)
STATE_COLUMNS: Final[tuple[Column, ...]] = (
    Column("count", lambda s: s.count),
    Column("time", lambda s: s.time),
)


@dataclass(frozen=True)
class Table:
    """A summary table: its name, its key columns and its value columns."""

    name: str
    keys: tuple[str, ...]
    columns: tuple[Column, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """Every column name, keys first, in insert order."""
        return (*self.keys, *(c.name for c in self.columns))

    @property
    def free_text(self) -> tuple[int, ...]:
        """Positions (in :attr:`names`) of the free-form text columns."""
        first = len(self.keys)
        return tuple(first + i for i, c in enumerate(self.columns) if c.free_text)


SESSION_TABLE: Final = Table("session_summaries", (), SESSION_COLUMNS)
FACTS_TABLE: Final = Table("session_facts", (), FACT_COLUMNS)
AD_TABLE: Final = Table("ad_summaries", ("session_id", "position"), AD_COLUMNS)
CHAPTER_TABLE: Final = Table("chapter_summaries", ("session_id", "position"), CHAPTER_COLUMNS)
STATE_TABLE: Final = Table("state_summaries", ("session_id", "name"), STATE_COLUMNS)
ITEM_TABLES: Final = (AD_TABLE, CHAPTER_TABLE, STATE_TABLE)


class SummaryRows(msgspec.Struct, frozen=True):
    """The rows one session's summary occupies: its own, and one per ad, chapter and state."""

    session_id: int
    session: tuple[Any, ...]
    facts: tuple[Any, ...]
    items: tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]


def summary_rows(summary: Summary) -> SummaryRows:
    """Rows for the session, ad, chapter and state summary tables, in column order."""
    report = summary.report
    sid = summary.session_id
    session = tuple(column.value(summary) for column in SESSION_COLUMNS)
    ads = [_item(sid, i, ad, AD_COLUMNS) for i, ad in enumerate(report.ads)]
    chapters = [_item(sid, i, ch, CHAPTER_COLUMNS) for i, ch in enumerate(report.chapters)]
    states = [_item(sid, state.name, state, STATE_COLUMNS) for state in report.states]
    facts = tuple(column.value(summary) for column in FACT_COLUMNS)
    return SummaryRows(sid, session, facts, (ads, chapters, states))


def _item(
    session_id: int,
    key: int | str,
    item: AdReport | ChapterReport | StateReport,
    columns: tuple[Column, ...],
) -> tuple[Any, ...]:
    return (session_id, key, *(column.value(item) for column in columns))


def quoted(name: str) -> str:
    """A column name as SQL (``offset`` is a reserved word in PostgreSQL)."""
    return f'"{name}"' if name == "offset" else name
