"""How each event changes the fold of one session (decisions.md rules 9-23)."""

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
from playhead.engine.model import (
    BUFFERING,
    ENDED,
    MAX_SPANS,
    NONE_OPEN,
    PAUSED,
    PLAYING,
    SPAN_AD,
    SPAN_BREAK,
    SPAN_BUFFERING,
    SPAN_ENDED,
    SPAN_PAUSED,
    SPAN_PLAYING,
    SPAN_STALLED,
    SPAN_STARTING,
    STARTING,
    UNLISTED,
    Ad,
    Chapter,
    FoldState,
)
from playhead.engine.order import OTHER_RANK, RANK_BITS, RANKS, order_key
from playhead.engine.ranges import PlayedRanges
from playhead.engine.record import Record
from playhead.engine.render import render
from playhead.engine.report import Diagnostic, SessionReport
from playhead.engine.states import PlayerStates
from playhead.events import Event, Qoe

MARKERS: Final[tuple[int, ...]] = (10, 25, 50, 75, 95)
# A sessionStart ts below this (before 1973 in ms) was most likely sent in seconds (rule 19).
SECONDS_TS: Final = 10**11
_INF: Final = float("inf")
_SPAN_OF_STATE: Final = {
    STARTING: SPAN_STARTING, PAUSED: SPAN_PAUSED, BUFFERING: SPAN_BUFFERING, ENDED: SPAN_ENDED,
}  # fmt: skip


def _merge_spans(spans: list[list[Any]]) -> None:
    """Join adjacent spans of one state in place."""
    i = 1
    while i < len(spans):
        if spans[i][2] == spans[i - 1][2]:
            spans[i - 1][1], spans[i - 1][4] = spans[i][1], spans[i][4]
            del spans[i]
        else:
            i += 1


def _lenient_problem(event: Event) -> str | None:
    """The diagnostic of an event that lacked configuration keys its protocol expects."""
    if not event.missing:
        return None
    return f"{event.type} without {', '.join(event.missing)} (accepted; --strict would refuse it)"


class SessionFold(FoldState):
    """The fold of one session: its state (the public fields of :class:`FoldState`) and the
    rules that each event applies to it, in place and allocation-light.

    Usage::

        fold = SessionFold.begin(sid, start_event, received_ms, Limits())
        if fold.in_order(event, seq):
            fold.apply(event, seq, received_ms)
        report = fold.report(Lifecycle())

    :mod:`playhead.engine.snapshot` encodes one to bytes and back.
    """

    @classmethod
    def begin(cls, sid: str, start: Event, received_ms: int, limits: Limits) -> SessionFold:
        """Start the fold of session ``sid`` from its sessionStart."""
        params = start.params
        length = params.get("media.length")
        fold = cls(
            sid=sid,
            start_ts=start.ts,
            # kept compact for the report; the fold itself only reads a few params, below
            start_params=Record.of(params),
            start_metadata=Record.of(start.custom_metadata),
            stall_limit_ms=limits.stall_timeout_ms,
            max_ts=start.ts + limits.max_duration_ms,
            last_received_ms=received_ms,
            last_key=start.ts << RANK_BITS,
            last_ts=start.ts,
            last_playhead=start.playhead,
            playhead_since=start.ts,
            length=float(length) if isinstance(length, (int, float)) else 0.0,
            resume=params.get("media.resume") is True,
            ranges=PlayedRanges(),
        )
        fold._update_next_marker()
        problem = _lenient_problem(start)
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
        return key > self.last_key or (key == self.last_key and seq > self.last_seq)

    def apply(self, event: Event, seq: int, received_ms: int) -> None:
        """Fold one event in; precondition: ``in_order(event, seq)``."""
        if received_ms > self.last_received_ms:
            self.last_received_ms = received_ms
        etype = event.type
        ts = event.ts
        if ts < self.start_ts:
            ts = self.start_ts
            self._diag(event, "stamped before the sessionStart: counted at its ts (rule 11)")
        self.last_key = (ts << RANK_BITS) | RANKS.get(etype, OTHER_RANK)
        self.last_seq = seq
        if self.end_ts is not None:
            self._diag(event, f"{etype} after sessionEnd: ignored")
            return
        ph = event.playhead
        last_ph = self.last_playhead
        d = ts - self.last_ts
        st = self.playback_state
        was_break = self.in_break
        chapter = self.chapter
        bitrate = self.bitrate
        main_span = st == PLAYING and not was_break
        # Rule 14: the span since the previous event is credited by the state in force.
        if d:
            if st == PLAYING:
                if was_break:
                    ad = self.ad
                    if ad != NONE_OPEN:
                        ads = self.ads
                        if ad >= 0 and ads is not None:
                            ads[ad].time_ms += d
                        self.total_ms += d
                        if bitrate is not None:
                            self.bitrate_sum += bitrate * d
                            self.bitrate_ms += d
                else:
                    self.time_ms += d
                    self.total_ms += d
                    if chapter >= 0:
                        chapters = self.chapters
                        if chapters is not None:
                            chapters[chapter].time_ms += d
                    if bitrate is not None:
                        self.bitrate_sum += bitrate * d
                        self.bitrate_ms += d
            elif st == PAUSED:
                self.pause_ms += d
            elif st == BUFFERING:
                self.buffer_ms += d
            self._span(st, was_break, last_ph, ph, ts)
        if main_span and ph > last_ph and ph - last_ph <= d / 1000 + 1:
            self.ranges.add(last_ph, ph)  # rule 17

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
        if ph >= self.next_marker and self.main_played and not (was_break and self.in_break):
            self._set_markers(ph)

        # Rule 15: stall runs of same-playhead pings while playing main content.
        if self.playback_state == PLAYING and not self.in_break:
            if self.run_pings and ph == self.run_playhead:
                if d and main_span:
                    journal = self.journal
                    if journal is None:
                        journal = self.journal = []
                    journal.append((d, chapter, bitrate))
                if etype == "ping":
                    self.run_pings += 1
                    if self.run_pings >= 3:
                        self._confirm_stall()
            elif etype == "ping":  # a new run starts
                if self.run_pings != 1:
                    self.run_pings = 1
                self.run_playhead = ph
                # only what changed is written: a Struct's attribute store costs more than a load
                if self.journal is not None:
                    self.journal = None
                if self.run_counted:
                    self.run_counted = False
            elif self.run_pings:
                self._end_run()
        elif self.run_pings:
            self._end_run()

        if ph != last_ph:
            self.playhead_since = ts
        self.last_playhead = ph
        if d:
            self.last_ts = ts
        # Rule 9: the event reaching a limit is folded in; the session closes right after it.
        if self.close_trigger is None:
            if etype == "sessionEnd":
                self.close_trigger = "sessionEnd"
            elif ts - self.playhead_since >= self.stall_limit_ms:
                self.close_trigger = "stalledPlayhead"
            elif ts >= self.max_ts:
                self.close_trigger = "maxDuration"

    def report(self, lifecycle: Lifecycle) -> SessionReport:
        """Build the session report of reports.md from the fold so far and ``lifecycle``."""
        return render(self, lifecycle)

    # -- helpers ------------------------------------------------------------------------------

    def _diag(self, event: Event, problem: str) -> None:
        diagnostics = self.diagnostics
        if diagnostics is None:
            diagnostics = self.diagnostics = []
        elif len(diagnostics) >= MAX_DIAGNOSTICS:
            self.dropped_diagnostics += 1
            return
        diagnostics.append(Diagnostic(ts=event.ts, event_type=event.type, problem=problem))

    def _end_run(self) -> None:
        self.run_pings = 0
        if self.journal is not None:
            self.journal = None
        if self.run_counted:
            self.run_counted = False

    def _confirm_stall(self) -> None:
        # Rule 15: the stall's span is taken back out of everything it was credited to; a
        # stall needs a positive span, so a run of same-ts pings is counted once time passes.
        journal = self.journal
        if not journal:
            return
        if not self.run_counted:
            self.run_counted = True
            self.stall_count += 1
        chapters = self.chapters
        self._stalled_spans(sum(entry[0] for entry in journal))
        for d, chapter, bitrate in journal:
            self.time_ms -= d
            self.total_ms -= d
            self.stall_ms += d
            if chapter >= 0 and chapters is not None:
                chapters[chapter].time_ms -= d
            if bitrate is not None:
                self.bitrate_sum -= bitrate * d
                self.bitrate_ms -= d
        journal.clear()

    def _span(self, st: int, was_break: bool, ph_from: float, ph_to: float, ts: int) -> None:
        """Add the span since the last event to the timeline, credited as rule 14 does."""
        if st == PLAYING:
            label = (SPAN_AD if self.ad != NONE_OPEN else SPAN_BREAK) if was_break else SPAN_PLAYING
        else:
            label = _SPAN_OF_STATE[st]
        spans = self.spans
        if spans is None:
            self.spans = [[self.last_ts, ts, label, ph_from, ph_to]]
            return
        last = spans[-1]
        if last[2] == label or len(spans) >= MAX_SPANS:
            last[1] = ts
            last[4] = ph_to
        else:
            spans.append([self.last_ts, ts, label, ph_from, ph_to])

    def _stalled_spans(self, ms: int) -> None:
        """Relabel the last ``ms`` of playing time of the timeline as stalled (rule 15)."""
        spans = self.spans
        if not spans:
            return
        ph = self.run_playhead
        i = len(spans) - 1
        while ms > 0 and i >= 0:
            span = spans[i]
            if span[2] == SPAN_PLAYING:
                length = span[1] - span[0]
                if length <= ms:
                    span[2] = SPAN_STALLED
                    ms -= length
                else:  # split: the earlier part stays playing
                    cut = span[1] - ms
                    spans.insert(i + 1, [cut, span[1], SPAN_STALLED, ph, span[4]])
                    span[1], span[4] = cut, ph
                    ms = 0
            i -= 1
        _merge_spans(spans)

    def _update_next_marker(self) -> None:
        self.next_marker = _INF
        if self.length <= 0:
            return
        for i, p in enumerate(MARKERS):
            if not self.markers_done & (1 << i):
                self.next_marker = self.length * p / 100
                return

    def _set_markers(self, ph: float) -> None:
        for i, p in enumerate(MARKERS):
            if ph >= self.length * p / 100:
                self.markers_set |= (1 << i) & ~self.markers_done
                self.markers_done |= 1 << i
        self._update_next_marker()

    def _entered_playing(self, ts: int) -> None:
        if self.first_play_ts is None:
            self.first_play_ts = ts
        self.playback_state = PLAYING

    def _on_play(self, ph: float, ts: int) -> None:
        if self.playback_state != PLAYING:
            self._entered_playing(ts)
        if not self.in_break and not self.main_played:
            self.main_played = True
            if self.resume and self.length > 0:
                # Rule 16: a resumed session never sets markers passed in the earlier session.
                for i, p in enumerate(MARKERS):
                    if ph >= self.length * p / 100:
                        self.markers_done |= 1 << i
                self._update_next_marker()

    def _qoe(self, event: Event, q: Qoe) -> None:
        if q.bitrate is not None:
            self.bitrate = q.bitrate
        if q.dropped_frames is not None:
            self.dropped_frames = q.dropped_frames
        tts = q.time_to_start
        if tts:
            self.reported_tts = (tts, event.ts, event.type)
            if not self.resume:
                self.time_to_start = tts

    def _on_pause(self, event: Event, ts: int) -> None:
        if self.playback_state != PAUSED:
            self.pause_count += 1
            self.playback_state = PAUSED

    def _on_buffer(self, event: Event, ts: int) -> None:
        if self.playback_state != BUFFERING:
            self.buffer_count += 1
            self.playback_state = BUFFERING

    def _on_complete(self, event: Event, ts: int) -> None:
        self.playback_state = ENDED
        self.completed = True

    def _on_end(self, event: Event, ts: int) -> None:
        self.end_ts = ts

    def _on_bitrate_change(self, event: Event, ts: int) -> None:
        self.bitrate_changes += 1

    def _on_error(self, event: Event, ts: int) -> None:
        self.error_count += 1
        eid = event.error_id
        if eid is None:
            return
        if event.error_source == "external":
            ids = self.external_errors
            if ids is None:
                ids = self.external_errors = []
        else:
            ids = self.player_errors
            if ids is None:
                ids = self.player_errors = []
        if eid not in ids:
            if len(ids) < MAX_ERROR_IDS:
                ids.append(eid)
            else:
                self._diag(event, f"more than {MAX_ERROR_IDS} error ids: {eid!r} not listed")

    def _on_break_start(self, event: Event, ts: int) -> None:
        if self.in_break:
            self._diag(event, "adBreakStart while an ad break is open: previous break closed")
            self.ad = NONE_OPEN
        self.in_break = True
        self.break_params = event.params

    def _on_break_complete(self, event: Event, ts: int) -> None:
        if not self.in_break:
            self._diag(event, "adBreakComplete outside an ad break: ignored")
            return
        self.ad = NONE_OPEN  # an ad still open is closed as neither completed nor skipped
        self.in_break = False
        self.break_params = None
        if self.playback_state == PLAYING and not self.main_played:
            self.playback_state = STARTING

    def _on_ad_start(self, event: Event, ts: int) -> None:
        problem = _lenient_problem(event)
        if problem is not None:
            self._diag(event, problem)
        if not self.in_break:
            self._diag(event, "adStart outside an ad break: ignored")
            return
        if self.ad != NONE_OPEN:
            self._diag(event, "adStart while an ad is open: previous ad closed")
        ads = self.ads
        if ads is None:
            ads = self.ads = []
        if len(ads) < MAX_ADS:
            break_params = self.break_params
            if break_params is None:  # never: a break is open
                break_params = {}
            ads.append(Ad(break_params, event.params, event.custom_metadata))
            self.ad = len(ads) - 1
        else:  # still played and credited, not listed
            self.extra_ads += 1
            self.ad = UNLISTED
        if self.playback_state in (STARTING, PLAYING, ENDED):
            self._entered_playing(ts)

    def _on_ad_end(self, event: Event, ts: int) -> None:
        if not self.in_break:
            self._diag(event, f"{event.type} outside an ad break: ignored")
            return
        index = self.ad
        if index == NONE_OPEN:
            self._diag(event, f"{event.type} with no ad open: ignored")
            return
        ads = self.ads
        if index >= 0 and ads is not None:
            if event.type == "adSkip":
                ads[index].skipped = True
            else:
                ads[index].completed = True
        self.ad = NONE_OPEN

    def _on_chapter_start(self, event: Event, ts: int) -> None:
        if self.chapter != NONE_OPEN:
            self._diag(event, "chapterStart while a chapter is open: previous chapter closed")
        chapters = self.chapters
        if chapters is None:
            chapters = self.chapters = []
        if len(chapters) < MAX_CHAPTERS:
            chapters.append(Chapter(event.params, event.custom_metadata))
            self.chapter = len(chapters) - 1
        else:  # still credited, not listed
            self.extra_chapters += 1
            self.chapter = UNLISTED

    def _on_chapter_end(self, event: Event, ts: int) -> None:
        index = self.chapter
        if index == NONE_OPEN:
            self._diag(event, f"{event.type} with no chapter open: ignored")
            return
        chapters = self.chapters
        if index >= 0 and chapters is not None:
            if event.type == "chapterSkip":
                chapters[index].skipped = True
            else:
                chapters[index].completed = True
        self.chapter = NONE_OPEN

    def _on_states(self, event: Event, ts: int) -> None:
        # statesUpdate ends its statesEnd list, then starts its statesStart list (rule 22).
        states = self.states
        if states is None:
            states = self.states = PlayerStates()
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
