"""The public shape of a session's fold: what it keeps between events (decisions.md 9-23).

These msgspec Structs are plain data: the report renderer (``engine/render.py``) reads them, a
snapshot (``engine/snapshot.py``) is their msgpack encoding, and the rules that change them
are the methods of :class:`playhead.engine.session.SessionFold`, a subclass of
:class:`FoldState`. Everything here is mutable, ``array_like`` (a snapshot is an array, not a
map of field names) and untracked by the garbage collector (``gc=False``): a fold only holds
numbers, strings, containers of them and these Structs, none of which refers back to its
holder, so it can never be part of a reference cycle.

Nothing the fold changes is reachable twice: containers a session may never need are ``None``
until first used (rather than one shared empty container; live sessions are many,
bench/memory.py), and an open ad or chapter is an index into its list rather than a second
reference to the same object. So a decoded fold, in which no two fields share an object,
behaves exactly as the one encoded (the params dicts kept from events are only ever read).
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from playhead.engine.ranges import PlayedRanges
from playhead.engine.record import Record
from playhead.engine.report import Diagnostic
from playhead.engine.states import PlayerStates

# The snapshot layout's version, the first item of every snapshot. Change it with any change to
# the fields below (their order or types: a snapshot holds no names), so that an older snapshot
# fails to decode (the fold is then rebuilt from the stored events) instead of decoding into the
# wrong fields; tests/engine/test_snapshot.py pins the layout to remind you.
LAYOUT_VERSION: Final = 2

# Playback states (rule 13): FoldState.playback_state.
STARTING: Final = 0
PLAYING: Final = 1
PAUSED: Final = 2
BUFFERING: Final = 3
ENDED: Final = 4

# FoldState.ad and FoldState.chapter when no index applies.
# The states a timeline span is credited with (aggregates: the session timeline).
SPAN_STATES: Final = (
    "starting", "playing", "ad", "adBreak", "paused", "buffering", "stalled", "ended",
)  # fmt: skip
SPAN_STARTING, SPAN_PLAYING, SPAN_AD, SPAN_BREAK, SPAN_PAUSED, SPAN_BUFFERING = range(6)
SPAN_STALLED, SPAN_ENDED = 6, 7
# Most spans one timeline keeps; later time extends the last one (and is named in a diagnostic).
MAX_SPANS: Final = 2000

NONE_OPEN: Final = -1  # none is open
UNLISTED: Final = -2  # one is open past the listed cap: counted, its own figures not kept


class Ad(msgspec.Struct, array_like=True, gc=False):
    """One ad started inside an ad break and what it accrued.

    Attributes:
        break_params: the params of its adBreakStart.
        params: the params of its adStart.
        custom_metadata: the customMetadata of its adStart.
        time_ms: event time played in it (ms).
        completed: an adComplete ended it.
        skipped: an adSkip ended it.
    """

    break_params: dict[str, Any]
    params: dict[str, Any]
    custom_metadata: dict[str, str]
    time_ms: int = 0
    completed: bool = False
    skipped: bool = False


class Chapter(msgspec.Struct, array_like=True, gc=False):
    """One chapter started in the session and what it accrued.

    Attributes:
        params: the params of its chapterStart.
        custom_metadata: the customMetadata of its chapterStart.
        time_ms: event time of main content played in it (ms).
        completed: a chapterComplete ended it.
        skipped: a chapterSkip ended it.
    """

    params: dict[str, Any]
    custom_metadata: dict[str, str]
    time_ms: int = 0
    completed: bool = False
    skipped: bool = False


class FoldState(msgspec.Struct, kw_only=True, array_like=True, gc=False, tag=LAYOUT_VERSION):
    """Everything the fold of one session keeps, as public fields.

    Times are event-time milliseconds (``ts``), playheads seconds. Built by
    :meth:`SessionFold.begin <playhead.engine.session.SessionFold.begin>`, changed only by its
    ``apply``.

    Attributes:
        sid: the session's id.
        start_ts: the sessionStart's ts.
        start_params: the sessionStart's params (for the report).
        start_metadata: the sessionStart's customMetadata (for the report).
        stall_limit_ms: event time with an unchanged playhead that closes the session (rule 9).
        max_ts: the ts from which the session closes for its maximum duration (rule 9).
        close_trigger: the close reason an applied event triggered (rule 9), else ``None``.
        end_ts: the ts of the sessionEnd, once applied; later events change nothing.
        completed: a sessionComplete was applied.
        last_received_ms: the latest server receive time of an applied event.
        last_key: the canonical primary key (ts and rank, packed) of the last applied event.
        last_seq: the arrival sequence number of the last applied event.
        last_ts: the ts of the last event that counted (effective: never before start_ts).
        last_playhead: its playhead.
        playhead_since: the ts since which the playhead has not moved (rule 9).
        length: ``media.length`` in seconds, 0 when not sent.
        resume: ``media.resume`` is true.
        playback_state: :data:`STARTING`, :data:`PLAYING`, :data:`PAUSED`, :data:`BUFFERING`
            or :data:`ENDED` (rule 13).
        main_played: main content was played (a play outside an ad break).
        first_play_ts: the ts playback first started (main content or ad), else ``None``.
        time_to_start: the client's timeToStart that counts (ms; rule 19), else ``None``.
        reported_tts: ``(value, ts, eventType)`` of the last non-zero timeToStart the client
            sent (for the seconds warning of rule 19), else ``None``.
        time_ms: main content played (rule 14).
        total_ms: main content and ads played.
        pause_count, pause_ms: pauses and their time.
        buffer_count, buffer_ms: buffering and its time.
        in_break: an ad break is open.
        break_params: the open ad break's params, else ``None``.
        ads: the ads started, at most ``MAX_ADS`` (``None`` until the first).
        ad: the open ad's index in ``ads``, :data:`NONE_OPEN` or :data:`UNLISTED`.
        extra_ads: ads started past the cap (counted, not listed).
        chapters: the chapters started, at most ``MAX_CHAPTERS`` (``None`` until the first).
        chapter: the open chapter's index in ``chapters``, :data:`NONE_OPEN` or
            :data:`UNLISTED`.
        extra_chapters: chapters started past the cap.
        ranges: the playhead ranges of main content played (rule 17).
        markers_set: progress markers reached (bit i for the i-th of 10, 25, 50, 75, 95 %).
        markers_done: markers set or passed before a resumed session's first play (rule 16).
        next_marker: the playhead that reaches the next marker not done (inf when none).
        run_pings: pings in the current run at one playhead while playing (rule 15).
        run_counted: the current run is a stall already counted.
        run_playhead: the playhead of the current run.
        journal: ``(ms, chapter index, bitrate)`` spans of the current run credited as played,
            taken back if it becomes a stall; ``None`` (or empty) when there are none.
        stall_count, stall_ms: stalls (rule 15) and their time.
        bitrate: the bitrate in force, else ``None``.
        bitrate_sum: the sum of bitrate × ms played under it (rule 18).
        bitrate_ms: the ms played under a known bitrate.
        bitrate_changes: bitrateChange events.
        dropped_frames: the dropped-frame count in force, else ``None``.
        error_count: error events.
        player_errors, external_errors: distinct error ids by source, at most
            ``MAX_ERROR_IDS`` each (``None`` until the first).
        states: the player states (rule 22), ``None`` until the first state event.
        diagnostics: the sequence problems met, at most ``MAX_DIAGNOSTICS`` (``None`` until the
            first).
        dropped_diagnostics: problems met past that cap.
        spans: the timeline so far, ``[from_ts, to_ts, state, playhead_from, playhead_to]``
            lists in order, ``state`` one of :data:`SPAN_STATES`' indexes; adjacent spans of
            one state merged, at most ``MAX_SPANS`` (``None`` until time first passes).
    """

    sid: str
    start_ts: int
    start_params: Record
    start_metadata: Record
    stall_limit_ms: int
    max_ts: int

    close_trigger: str | None = None
    end_ts: int | None = None
    completed: bool = False
    last_received_ms: int

    last_key: int
    last_seq: int = 0

    last_ts: int
    last_playhead: float
    playhead_since: int
    length: float = 0.0
    resume: bool = False
    playback_state: int = STARTING
    main_played: bool = False
    first_play_ts: int | None = None
    time_to_start: float | None = None
    reported_tts: tuple[float, int, str] | None = None
    time_ms: int = 0
    total_ms: int = 0
    pause_count: int = 0
    pause_ms: int = 0
    buffer_count: int = 0
    buffer_ms: int = 0

    in_break: bool = False
    break_params: dict[str, Any] | None = None
    ads: list[Ad] | None = None
    ad: int = NONE_OPEN
    extra_ads: int = 0
    chapters: list[Chapter] | None = None
    chapter: int = NONE_OPEN
    extra_chapters: int = 0

    ranges: PlayedRanges
    markers_set: int = 0
    markers_done: int = 0
    next_marker: float = float("inf")

    run_pings: int = 0
    run_counted: bool = False
    run_playhead: float = 0.0
    journal: list[tuple[int, int, float | None]] | None = None
    stall_count: int = 0
    stall_ms: int = 0

    bitrate: float | None = None
    bitrate_sum: float = 0.0
    bitrate_ms: int = 0
    bitrate_changes: int = 0
    dropped_frames: float | None = None
    error_count: int = 0
    player_errors: list[str] | None = None
    external_errors: list[str] | None = None

    states: PlayerStates | None = None
    diagnostics: list[Diagnostic] | None = None
    dropped_diagnostics: int = 0

    spans: list[list[Any]] | None = None
