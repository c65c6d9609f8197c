"""The session report document of reports.md as msgspec Structs (exact camelCase field names)."""

from __future__ import annotations

from typing import Any

import msgspec


class SessionDetails(msgspec.Struct, rename="camel"):
    """Content-level flags, durations (seconds) and counts of one session."""

    is_viewed: bool
    is_played: bool
    is_completed: bool
    has_resume: bool
    is_downloaded: bool
    has_segment_view: bool
    time_played: float
    total_time_played: float
    unique_time_played: float
    average_minute_audience: float | None
    estimated_streams: int
    has_progress10: bool
    has_progress25: bool
    has_progress50: bool
    has_progress75: bool
    has_progress95: bool
    pause_count: int
    pause_time: float
    has_pause_impacted_streams: bool
    ad_count: int
    chapter_count: int
    seconds_since_last_call: float


class QoeDataDetails(msgspec.Struct, rename="camel"):
    """Quality-of-experience figures of one session."""

    time_to_start: float | None
    bitrate_average: float | None
    bitrate_average_bucket: str | None
    bitrate_change_count: int
    has_bitrate_change_impacted_streams: bool
    buffer_count: int
    buffer_time: float
    has_buffer_impacted_streams: bool
    stall_count: int
    stall_time: float
    has_stall_impacted_streams: bool
    dropped_frames: int
    has_dropped_frame_impacted_streams: bool
    error_count: int
    has_error_impacted_streams: bool
    player_sdk_errors: list[str]
    external_errors: list[str]
    is_dropped_before_start: bool


class AdReport(msgspec.Struct, rename="camel"):
    """One ad started inside an ad break."""

    pod_index: Any
    pod_second: Any
    pod_friendly_name: Any
    pod_position: Any
    id: Any
    name: Any
    length: Any
    time_played: float
    is_started: bool
    is_completed: bool
    is_skipped: bool
    params: dict[str, Any]
    custom_metadata: dict[str, str]


class ChapterReport(msgspec.Struct, rename="camel"):
    """One chapter started in the session."""

    index: Any
    offset: Any
    length: Any
    friendly_name: Any
    time_played: float
    is_started: bool
    is_completed: bool
    is_skipped: bool
    custom_metadata: dict[str, str]


class StateReport(msgspec.Struct, rename="camel"):
    """One player state: whether it was set, how often it started and its total time (s)."""

    name: str
    is_set: bool
    count: int
    time: float


class Diagnostic(msgspec.Struct, rename="camel"):
    """One sequence problem met while folding (decisions.md rule 6)."""

    ts: int
    event_type: str | None
    problem: str


class Span(msgspec.Struct, rename="camel"):
    """One span of the session timeline: event time credited with one state."""

    from_: int = msgspec.field(name="from")
    to: int = 0
    state: str = "starting"
    playhead_from: float = 0.0
    playhead_to: float = 0.0


class Scores(msgspec.Struct, rename="camel"):
    """The session's experience score and its parts, 0-100 (``None`` where a part does not
    apply): see :mod:`playhead.engine.scores`."""

    experience: float | None = None
    playback_success: float | None = None
    startup: float | None = None
    smoothness: float | None = None


class SessionReport(msgspec.Struct, rename="camel"):
    """The whole session report of reports.md."""

    id: str
    state: str
    close_reason: str | None
    first_event_ts: int
    last_event_ts: int
    params: dict[str, Any]
    custom_metadata: dict[str, str]
    session_details: SessionDetails
    qoe_data_details: QoeDataDetails
    ads: list[AdReport]
    chapters: list[ChapterReport]
    states: list[StateReport]
    diagnostics: list[Diagnostic]
    # reports stored before scores existed decode with all parts null
    scores: Scores = msgspec.field(default_factory=Scores)
    timeline: list[Span] = msgspec.field(default_factory=list)
    watched_ranges: list[tuple[float, float]] = msgspec.field(default_factory=list)
