"""The live fold state of one session and how each event changes it (decisions.md rules 9-23)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final

from playhead.engine.limits import (
    MAX_ADS,
    MAX_CHAPTERS,
    MAX_DIAGNOSTICS,
    MAX_ERROR_IDS,
    Lifecycle,
    Limits,
)
from playhead.engine.order import OTHER_RANK, RANK_BITS, RANKS, order_key
from playhead.engine.ranges import PlayedRanges
from playhead.engine.record import Record
from playhead.engine.render import render
from playhead.engine.report import Diagnostic, SessionReport
from playhead.engine.states import PlayerStates
from playhead.events import LENIENT_PARAMS, Event, Qoe

# Playback states (rule 13).
STARTING: Final = 0
PLAYING: Final = 1
PAUSED: Final = 2
BUFFERING: Final = 3
ENDED: Final = 4

MARKERS: Final[tuple[int, ...]] = (10, 25, 50, 75, 95)
# A sessionStart ts below this (before 1973 in ms) was most likely sent in seconds (rule 19).
SECONDS_TS: Final = 10**11
_INF: Final = float("inf")
_SESSION_LENIENT: Final = LENIENT_PARAMS["sessionStart"]
_AD_LENIENT: Final = LENIENT_PARAMS["adStart"]


class Ad:
    """One ad started inside an ad break and what it accrued."""

    __slots__ = ("break_params", "completed", "event", "skipped", "time_ms")

    def __init__(self, break_params: dict[str, Any], event: Event) -> None:
        self.break_params = break_params
        self.event = event
        self.time_ms = 0
        self.completed = False
        self.skipped = False


class Chapter:
    """One chapter started in the session and what it accrued."""

    __slots__ = ("completed", "event", "skipped", "time_ms")

    def __init__(self, event: Event) -> None:
        self.event = event
        self.time_ms = 0
        self.completed = False
        self.skipped = False


def _lenient_problem(event_type: str, params: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    missing = [k for k in keys if k not in params]
    if not missing:
        return None
    return f"{event_type} without {', '.join(missing)} (accepted; --strict would refuse it)"


_NO_PARAMS: dict[str, Any] = {}  # shared, never mutated
_NONE: list[Any] = []  # shared placeholder for a list not yet needed, never mutated


class SessionFold:
    """Live fold state of one session (mutable, __slots__, allocation-light)."""

    __slots__ = (
        "_ad",
        "_ads",
        "_bitrate",
        "_bitrate_changes",
        "_br_ms",
        "_br_sum",
        "_break_params",
        "_buffer_count",
        "_buffer_ms",
        "_chapter",
        "_chapters",
        "_diags",
        "_dropped",
        "_dropped_diags",
        "_error_count",
        "_external_errors",
        "_extra_ads",
        "_extra_chapters",
        "_first_play_ts",
        "_in_break",
        "_journal",
        "_key",
        "_last_ph",
        "_last_ts",
        "_length",
        "_main_played",
        "_markers_done",
        "_markers_set",
        "_max_ms",
        "_next_marker",
        "_pause_count",
        "_pause_ms",
        "_ph_since",
        "_player_errors",
        "_pstate",
        "_ranges",
        "_resume",
        "_run_counted",
        "_run_ph",
        "_run_pings",
        "_seq",
        "_stall_count",
        "_stall_limit_ms",
        "_stall_ms",
        "_states",
        "_time_ms",
        "_total_ms",
        "_tts",
        "_tts_reported",
        "close_trigger",
        "completed",
        "end_ts",
        "last_received_ms",
        "limits",
        "sid",
        "start_metadata",
        "start_params",
        "start_ts",
    )

    def __init__(self, sid: str, start: Event, received_ms: int, limits: Limits) -> None:
        self.sid = sid
        # kept compact for the report; the fold itself only reads a few params, below
        self.start_params = Record(start.params)
        self.start_metadata = Record(start.custom_metadata)
        self.limits = limits
        self._stall_limit_ms = limits.stall_timeout_ms
        self._max_ms = start.ts + limits.max_duration_ms
        self.start_ts = start.ts
        self.close_trigger: str | None = None
        self.end_ts: int | None = None
        self.completed = False
        self.last_received_ms = received_ms
        self._key = start.ts << RANK_BITS
        self._seq = 0
        self._last_ts = start.ts
        self._last_ph = start.playhead
        self._ph_since = start.ts
        params = start.params
        length = params.get("media.length")
        self._length: float = float(length) if isinstance(length, (int, float)) else 0.0
        self._resume = params.get("media.resume") is True
        self._pstate = STARTING
        self._in_break = False
        # empty containers are shared until first used: most sessions never need them, and
        # live sessions are many (bench/memory.py)
        self._break_params: dict[str, Any] = _NO_PARAMS
        self._ad: Ad | None = None
        self._ads: list[Ad] = _NONE
        self._chapter: Chapter | None = None
        self._chapters: list[Chapter] = _NONE
        self._main_played = False
        self._first_play_ts: int | None = None
        self._tts: float | None = None
        # the last non-zero timeToStart the client sent, and the event that carried it
        self._tts_reported: tuple[float, Event] | None = None
        self._time_ms = 0
        self._total_ms = 0
        self._pause_count = 0
        self._pause_ms = 0
        self._buffer_count = 0
        self._buffer_ms = 0
        self._ranges = PlayedRanges()
        self._markers_set = 0
        self._markers_done = 0
        self._next_marker = _INF
        self._update_next_marker()
        self._run_pings = 0
        self._run_counted = False  # the current run is a stall already counted
        self._run_ph = 0.0
        self._journal: list[tuple[int, Chapter | None, float | None]] | None = None
        self._stall_count = 0
        self._stall_ms = 0
        self._bitrate: float | None = None
        self._br_sum = 0.0
        self._br_ms = 0
        self._bitrate_changes = 0
        self._dropped: float | None = None
        self._error_count = 0
        self._player_errors: list[str] | None = None
        self._external_errors: list[str] | None = None
        self._states: PlayerStates | None = None
        self._diags: list[Diagnostic] = _NONE
        self._dropped_diags = 0
        self._extra_ads = 0
        self._extra_chapters = 0

    @classmethod
    def begin(cls, sid: str, start: Event, received_ms: int, limits: Limits) -> SessionFold:
        """Start the fold of session ``sid`` from its sessionStart."""
        fold = cls(sid, start, received_ms, limits)
        problem = _lenient_problem("sessionStart", start.params, _SESSION_LENIENT)
        if problem is not None:
            fold._diag(start, problem)
        if 0 <= start.ts < SECONDS_TS:
            fold._diag(start, f"ts {start.ts} looks like seconds (expected epoch milliseconds)")
        if start.qoe is not None:
            fold._qoe(start, start.qoe)
        return fold

    def in_order(self, event: Event, seq: int) -> bool:
        """Tell whether (event, seq) sorts after every event applied so far (rule 11)."""
        ts = event.ts
        ts = max(ts, self.start_ts)
        key = (ts << RANK_BITS) | RANKS.get(event.type, OTHER_RANK)
        return key > self._key or (key == self._key and seq > self._seq)

    def apply(self, event: Event, seq: int, received_ms: int) -> None:
        """Fold one event in; precondition: ``in_order(event, seq)``."""
        self.last_received_ms = max(self.last_received_ms, received_ms)
        etype = event.type
        ts = event.ts
        if ts < self.start_ts:
            ts = self.start_ts
            self._diag(event, "stamped before the sessionStart: counted at its ts (rule 11)")
        self._key = (ts << RANK_BITS) | RANKS.get(etype, OTHER_RANK)
        self._seq = seq
        if self.end_ts is not None:
            self._diag(event, f"{etype} after sessionEnd: ignored")
            return
        ph = event.playhead
        last_ph = self._last_ph
        d = ts - self._last_ts
        st = self._pstate
        was_break = self._in_break
        chapter = self._chapter
        bitrate = self._bitrate
        main_span = st == PLAYING and not was_break
        # Rule 14: the span since the previous event is credited by the state in force.
        if d:
            if st == PLAYING:
                if was_break:
                    ad = self._ad
                    if ad is not None:
                        ad.time_ms += d
                        self._total_ms += d
                        if bitrate is not None:
                            self._br_sum += bitrate * d
                            self._br_ms += d
                else:
                    self._time_ms += d
                    self._total_ms += d
                    if chapter is not None:
                        chapter.time_ms += d
                    if bitrate is not None:
                        self._br_sum += bitrate * d
                        self._br_ms += d
            elif st == PAUSED:
                self._pause_ms += d
            elif st == BUFFERING:
                self._buffer_ms += d
        if main_span and ph > last_ph and ph - last_ph <= d / 1000 + 1:
            self._ranges.add(last_ph, ph)  # rule 17

        if etype != "ping":
            if etype == "play":
                self._on_play(ph, ts)
            else:
                handler = _HANDLERS.get(etype)
                if handler is not None:
                    handler(self, event, ts)
        if event.qoe is not None:
            self._qoe(event, event.qoe)

        # Rule 16: only main-content events (outside or on the edge of a break) set markers.
        if ph >= self._next_marker and self._main_played and not (was_break and self._in_break):
            self._set_markers(ph)

        # Rule 15: stall runs of same-playhead pings while playing main content.
        if self._pstate == PLAYING and not self._in_break:
            if self._run_pings and ph == self._run_ph:
                if d and main_span:
                    if self._journal is None:
                        self._journal = []
                    self._journal.append((d, chapter, bitrate))
                if etype == "ping":
                    self._run_pings += 1
                    if self._run_pings >= 3:
                        self._confirm_stall()
            elif etype == "ping":
                self._run_pings = 1
                self._run_ph = ph
                self._journal = None
                self._run_counted = False
            else:
                self._run_pings = 0
                self._journal = None
                self._run_counted = False
        elif self._run_pings:
            self._run_pings = 0
            self._journal = None
            self._run_counted = False

        if ph != last_ph:
            self._ph_since = ts
        self._last_ph = ph
        self._last_ts = ts
        # Rule 9: the event reaching a limit is folded in; the session closes right after it.
        if self.close_trigger is None:
            if etype == "sessionEnd":
                self.close_trigger = "sessionEnd"
            elif ts - self._ph_since >= self._stall_limit_ms:
                self.close_trigger = "stalledPlayhead"
            elif ts >= self._max_ms:
                self.close_trigger = "maxDuration"

    def report(self, lifecycle: Lifecycle) -> SessionReport:
        """Build the session report of reports.md from the fold so far and ``lifecycle``."""
        return render(self, lifecycle)

    # -- helpers ------------------------------------------------------------------------------

    def _diag(self, event: Event, problem: str) -> None:
        if self._diags is _NONE:
            self._diags = []
        elif len(self._diags) >= MAX_DIAGNOSTICS:
            self._dropped_diags += 1
            return
        self._diags.append(Diagnostic(ts=event.ts, event_type=event.type, problem=problem))

    def _confirm_stall(self) -> None:
        # Rule 15: the stall's span is taken back out of everything it was credited to; a
        # stall needs a positive span, so a run of same-ts pings is counted once time passes.
        journal = self._journal
        if not journal:
            return
        if not self._run_counted:
            self._run_counted = True
            self._stall_count += 1
        for d, chapter, bitrate in journal:
            self._time_ms -= d
            self._total_ms -= d
            self._stall_ms += d
            if chapter is not None:
                chapter.time_ms -= d
            if bitrate is not None:
                self._br_sum -= bitrate * d
                self._br_ms -= d
        journal.clear()

    def _update_next_marker(self) -> None:
        self._next_marker = _INF
        if self._length <= 0:
            return
        for i, p in enumerate(MARKERS):
            if not self._markers_done & (1 << i):
                self._next_marker = self._length * p / 100
                return

    def _set_markers(self, ph: float) -> None:
        for i, p in enumerate(MARKERS):
            if ph >= self._length * p / 100:
                self._markers_set |= (1 << i) & ~self._markers_done
                self._markers_done |= 1 << i
        self._update_next_marker()

    def _entered_playing(self, ts: int) -> None:
        if self._first_play_ts is None:
            self._first_play_ts = ts
        self._pstate = PLAYING

    def _on_play(self, ph: float, ts: int) -> None:
        if self._pstate != PLAYING:
            self._entered_playing(ts)
        if not self._in_break and not self._main_played:
            self._main_played = True
            if self._resume and self._length > 0:
                # Rule 16: a resumed session never sets markers passed in the earlier session.
                for i, p in enumerate(MARKERS):
                    if ph >= self._length * p / 100:
                        self._markers_done |= 1 << i
                self._update_next_marker()

    def _qoe(self, event: Event, q: Qoe) -> None:
        if q.bitrate is not None:
            self._bitrate = q.bitrate
        if q.dropped_frames is not None:
            self._dropped = q.dropped_frames
        tts = q.time_to_start
        if tts:
            self._tts_reported = (tts, event)
            if not self._resume:
                self._tts = tts

    def _on_pause(self, event: Event, ts: int) -> None:
        if self._pstate != PAUSED:
            self._pause_count += 1
            self._pstate = PAUSED

    def _on_buffer(self, event: Event, ts: int) -> None:
        if self._pstate != BUFFERING:
            self._buffer_count += 1
            self._pstate = BUFFERING

    def _on_complete(self, event: Event, ts: int) -> None:
        self._pstate = ENDED
        self.completed = True

    def _on_end(self, event: Event, ts: int) -> None:
        self.end_ts = ts

    def _on_bitrate_change(self, event: Event, ts: int) -> None:
        self._bitrate_changes += 1

    def _on_error(self, event: Event, ts: int) -> None:
        self._error_count += 1
        eid = event.error_id
        if eid is None:
            return
        if event.error_source == "external":
            if self._external_errors is None:
                self._external_errors = []
            ids = self._external_errors
        else:
            if self._player_errors is None:
                self._player_errors = []
            ids = self._player_errors
        if eid not in ids:
            if len(ids) < MAX_ERROR_IDS:
                ids.append(eid)
            else:
                self._diag(event, f"more than {MAX_ERROR_IDS} error ids: {eid!r} not listed")

    def _on_break_start(self, event: Event, ts: int) -> None:
        if self._in_break:
            self._diag(event, "adBreakStart while an ad break is open: previous break closed")
            self._ad = None
        self._in_break = True
        self._break_params = event.params

    def _on_break_complete(self, event: Event, ts: int) -> None:
        if not self._in_break:
            self._diag(event, "adBreakComplete outside an ad break: ignored")
            return
        self._ad = None  # an ad still open is closed as neither completed nor skipped
        self._in_break = False
        if self._pstate == PLAYING and not self._main_played:
            self._pstate = STARTING

    def _on_ad_start(self, event: Event, ts: int) -> None:
        problem = _lenient_problem("adStart", event.params, _AD_LENIENT)
        if problem is not None:
            self._diag(event, problem)
        if not self._in_break:
            self._diag(event, "adStart outside an ad break: ignored")
            return
        if self._ad is not None:
            self._diag(event, "adStart while an ad is open: previous ad closed")
        ad = Ad(self._break_params, event)
        if self._ads is _NONE:
            self._ads = []
        if len(self._ads) < MAX_ADS:
            self._ads.append(ad)
        else:  # still played and credited, not listed
            self._extra_ads += 1
        self._ad = ad
        if self._pstate in (STARTING, PLAYING, ENDED):
            self._entered_playing(ts)

    def _on_ad_end(self, event: Event, ts: int) -> None:
        if not self._in_break:
            self._diag(event, f"{event.type} outside an ad break: ignored")
            return
        ad = self._ad
        if ad is None:
            self._diag(event, f"{event.type} with no ad open: ignored")
            return
        if event.type == "adSkip":
            ad.skipped = True
        else:
            ad.completed = True
        self._ad = None

    def _on_chapter_start(self, event: Event, ts: int) -> None:
        if self._chapter is not None:
            self._diag(event, "chapterStart while a chapter is open: previous chapter closed")
        chapter = Chapter(event)
        if self._chapters is _NONE:
            self._chapters = []
        if len(self._chapters) < MAX_CHAPTERS:
            self._chapters.append(chapter)
        else:  # still credited, not listed
            self._extra_chapters += 1
        self._chapter = chapter

    def _on_chapter_end(self, event: Event, ts: int) -> None:
        chapter = self._chapter
        if chapter is None:
            self._diag(event, f"{event.type} with no chapter open: ignored")
            return
        if event.type == "chapterSkip":
            chapter.skipped = True
        else:
            chapter.completed = True
        self._chapter = None

    def _on_states(self, event: Event, ts: int) -> None:
        # statesUpdate ends its statesEnd list, then starts its statesStart list (rule 22).
        states = self._states
        if states is None:
            states = self._states = PlayerStates()
        for name in event.states_end:
            problem = states.end(name, ts)
            if problem is not None:
                self._diag(event, problem)
        for name in event.states_start:
            problem = states.start(name, ts)
            if problem is not None:
                self._diag(event, problem)


_HANDLERS: Final[dict[str, Callable[[SessionFold, Event, int], None]]] = {
    "pauseStart": SessionFold._on_pause,
    "bufferStart": SessionFold._on_buffer,
    "sessionComplete": SessionFold._on_complete,
    "sessionEnd": SessionFold._on_end,
    "bitrateChange": SessionFold._on_bitrate_change,
    "error": SessionFold._on_error,
    "adBreakStart": SessionFold._on_break_start,
    "adBreakComplete": SessionFold._on_break_complete,
    "adStart": SessionFold._on_ad_start,
    "adComplete": SessionFold._on_ad_end,
    "adSkip": SessionFold._on_ad_end,
    "chapterStart": SessionFold._on_chapter_start,
    "chapterComplete": SessionFold._on_chapter_end,
    "chapterSkip": SessionFold._on_chapter_end,
    "stateStart": SessionFold._on_states,
    "stateEnd": SessionFold._on_states,
    "statesUpdate": SessionFold._on_states,
}


def fold(
    sid: str,
    start: Event,
    start_received_ms: int,
    events: Iterable[tuple[Event, int, int]],
    limits: Limits,
) -> SessionFold:
    """Fold a session from scratch: sort ``(event, seq, received_ms)`` by rule 11 and apply."""
    state = SessionFold.begin(sid, start, start_received_ms, limits)
    start_ts = start.ts
    for event, seq, received_ms in sorted(events, key=lambda e: order_key(e[0], e[1], start_ts)):
        state.apply(event, seq, received_ms)
    return state
