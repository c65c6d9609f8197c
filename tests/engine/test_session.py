"""Rules 11-23 on small hand-computed sessions."""

from __future__ import annotations

from playhead.engine import Limits, SessionFold
from playhead.events import Event, Qoe
from tests.engine.builders import (
    BASE,
    OPEN,
    ad,
    ad_break,
    chapter,
    ev,
    folded,
    incremental,
    problems,
    run,
    start,
)

# -- rule 11: order -----------------------------------------------------------------------------


def test_straggler_before_session_end_is_folded_in() -> None:
    s, play, end, pause = start(), ev("play", 1), ev("sessionEnd", 20, 14), ev("pauseStart", 15, 14)
    live = incremental(s, play, end)
    assert not live.in_order(pause, 3)
    r = run(s, play, end, pause)
    assert r.session_details.pause_count == 1
    assert r.session_details.pause_time == 5.0
    assert r.session_details.time_played == 14.0
    assert r.last_event_ts == BASE + 20_000
    assert problems(r) == []


def test_events_after_session_end_change_nothing() -> None:
    r = run(start(), ev("play", 1), ev("sessionEnd", 10, 9), ev("play", 12, 9), ev("ping", 20, 17))
    assert r.session_details.time_played == 9.0
    assert r.last_event_ts == BASE + 10_000
    assert problems(r) == ["play after sessionEnd: ignored", "ping after sessionEnd: ignored"]


def test_ad_start_arriving_before_its_break_at_one_ts() -> None:
    s = start()
    rest = (
        ad(5),
        ad_break(5),
        ev("ping", 10),
        ev("adComplete", 20),
        ev("adBreakComplete", 20),
        ev("play", 20),
        ev("ping", 30, 10),
    )
    live = SessionFold.begin("sid", s, 0, Limits())
    live.apply(rest[0], 1, 1)
    assert not live.in_order(rest[1], 2)
    r = run(s, *rest)
    assert r.session_details.ad_count == 1
    assert r.ads[0].time_played == 15.0
    assert r.session_details.time_played == 10.0
    assert r.session_details.total_time_played == 25.0
    assert r.qoe_data_details.time_to_start == 5.0
    assert problems(r) == []


def test_event_stamped_before_the_start_counts_at_its_ts() -> None:
    r = run(start(), ev("play", -5), ev("ping", 10, 10))
    assert r.session_details.time_played == 10.0
    assert r.first_event_ts == BASE
    assert r.qoe_data_details.time_to_start == 0.0
    assert problems(r) == ["stamped before the sessionStart: counted at its ts (rule 11)"]
    assert r.diagnostics[0].ts == BASE - 5000


# -- rule 13: playback state ----------------------------------------------------------------------


def test_preroll_without_play_leaves_main_content_unplayed() -> None:
    rest = (ad_break(0), ad(0), ev("adComplete", 10), ev("adBreakComplete", 10), ev("ping", 20))
    r = run(start(), *rest)
    assert r.ads[0].time_played == 10.0
    assert r.session_details.time_played == 0.0
    assert r.session_details.total_time_played == 10.0
    assert r.session_details.is_played is False
    assert r.session_details.estimated_streams == 0
    assert r.qoe_data_details.time_to_start == 0.0


def test_midroll_keeps_main_content_playing() -> None:
    rest = (
        ev("play", 0),
        ad_break(10, 10),
        ad(10, 10),
        ev("adComplete", 20, 10),
        ev("adBreakComplete", 20, 10),
        ev("ping", 30, 20),
    )
    r = run(start(), *rest)
    assert r.session_details.time_played == 20.0
    assert r.session_details.total_time_played == 30.0
    assert r.ads[0].time_played == 10.0
    assert r.ads[0].is_completed is True


def test_ad_start_while_paused_stays_paused() -> None:
    rest = (
        ev("play", 0),
        ev("pauseStart", 10, 10),
        ad_break(12, 10),
        ad(12, 10),
        ev("ping", 20, 10),
        ev("play", 22, 10),
        ev("adComplete", 30, 10),
    )
    r = run(start(), *rest)
    assert r.session_details.pause_time == 12.0
    assert r.ads[0].time_played == 8.0
    assert r.session_details.time_played == 10.0


def test_session_complete_stops_crediting_until_play() -> None:
    rest = (
        ev("play", 0),
        ev("sessionComplete", 10, 10),
        ev("ping", 20, 10),
        ev("play", 25, 10),
        ev("ping", 30, 15),
    )
    r = run(start(), *rest)
    assert r.session_details.time_played == 15.0
    assert r.session_details.is_completed is True


def test_buffer_inside_an_ad_break_counts_as_buffer() -> None:
    rest = (ad_break(0), ad(0), ev("bufferStart", 2), ev("bufferStart", 3), ev("play", 6))
    r = run(start(), *rest, ev("adComplete", 10))
    assert r.qoe_data_details.buffer_count == 1
    assert r.qoe_data_details.buffer_time == 4.0
    assert r.ads[0].time_played == 6.0


def test_ad_start_outside_a_break_is_ignored_and_counts_as_main_content() -> None:
    rest = (ev("play", 0), ad(10, 10), ev("ping", 20, 20), ev("adComplete", 25, 25))
    r = run(start(), *rest, ev("ping", 30, 30))
    assert r.session_details.ad_count == 0
    assert r.session_details.time_played == 30.0
    assert problems(r) == [
        "adStart outside an ad break: ignored",
        "adComplete outside an ad break: ignored",
    ]


def test_skipped_ad_and_chapter_opened_while_one_is_open() -> None:
    rest = (
        ev("play", 0),
        chapter(0, 0, 1),
        chapter(10, 10, 2),
        ad_break(20, 20),
        ad(20, 20),
        ev("adSkip", 23, 20),
        ev("adBreakComplete", 23, 20),
        ev("chapterSkip", 30, 27),
    )
    r = run(start(), *rest)
    assert [(c.index, c.time_played, c.is_completed, c.is_skipped) for c in r.chapters] == [
        (1, 10.0, False, False),
        (2, 17.0, False, True),
    ]
    assert (r.ads[0].time_played, r.ads[0].is_skipped, r.ads[0].is_completed) == (3.0, True, False)
    assert problems(r) == ["chapterStart while a chapter is open: previous chapter closed"]


# -- rules 15, 17: stalls and unique time ---------------------------------------------------------


def test_stall_of_four_pings_is_taken_out_of_time_played() -> None:
    rest = (
        ev("play", 0),
        chapter(5, 5),
        ev("ping", 10, 10),
        ev("ping", 20, 10),
        ev("ping", 30, 10),
        ev("ping", 40, 10),
        ev("ping", 50, 20),
    )
    r = run(start(), *rest)
    q = r.qoe_data_details
    assert (q.stall_count, q.stall_time, q.has_stall_impacted_streams) == (1, 30.0, True)
    assert r.session_details.time_played == 20.0
    assert r.session_details.total_time_played == 20.0
    assert r.chapters[0].time_played == 15.0


def test_two_same_playhead_pings_are_no_stall() -> None:
    r = run(start(), ev("play", 0), ev("ping", 10, 10), ev("ping", 20, 10), ev("ping", 30, 20))
    assert r.qoe_data_details.stall_count == 0
    assert r.session_details.time_played == 30.0


def test_pause_breaks_a_stall_run_but_a_state_event_does_not() -> None:
    broken = run(
        start(),
        ev("play", 0),
        ev("ping", 10, 10),
        ev("ping", 20, 10),
        ev("pauseStart", 25, 10),
        ev("play", 30, 10),
        ev("ping", 40, 10),
    )
    assert broken.qoe_data_details.stall_count == 0
    assert broken.session_details.time_played == 35.0
    kept = run(
        start(),
        ev("play", 0),
        ev("ping", 10, 10),
        ev("stateStart", 15, 10, states_start=("mute",)),
        ev("ping", 20, 10),
        ev("ping", 30, 10),
    )
    assert (kept.qoe_data_details.stall_count, kept.qoe_data_details.stall_time) == (1, 20.0)
    assert kept.session_details.time_played == 10.0


def test_seeks_back_and_forth_unique_time() -> None:
    rest = (
        ev("play", 0, 0),
        ev("ping", 10, 10),
        ev("ping", 11, 50),
        ev("ping", 21, 60),
        ev("ping", 22, 5),
        ev("ping", 32, 15),
    )
    r = run(start(), *rest)
    assert r.session_details.unique_time_played == 25.0
    assert r.session_details.time_played == 32.0


# -- rule 16: progress markers -------------------------------------------------------------------


def _marks(r: object) -> tuple[bool, ...]:
    d = r.session_details  # type: ignore[attr-defined]
    return (
        d.has_progress10,
        d.has_progress25,
        d.has_progress50,
        d.has_progress75,
        d.has_progress95,
    )


def test_a_jump_sets_every_marker_passed_but_only_after_play() -> None:
    assert _marks(run(start(), ev("ping", 1, 60))) == (False,) * 5
    r = run(start(), ev("play", 0), ev("ping", 1, 60))
    assert _marks(r) == (True, True, True, False, False)
    r = run(start(), ev("play", 0), ev("sessionComplete", 1, 95))
    assert _marks(r) == (True, True, True, True, True)


def test_no_markers_without_length() -> None:
    r = run(start(extra={"media.length": 0}), ev("play", 0), ev("ping", 10, 60))
    assert _marks(r) == (False,) * 5
    assert r.session_details.average_minute_audience is None


def test_resume_session_skips_passed_markers_and_reported_time_to_start() -> None:
    s = start(qoe=Qoe(time_to_start=1500), extra={"media.resume": True})
    r = run(s, ev("play", 2, 50), ev("ping", 12, 60), ev("ping", 30, 78))
    assert _marks(r) == (False, False, False, True, False)
    assert r.session_details.has_resume is True
    assert r.qoe_data_details.time_to_start == 2.0


# -- rules 18-20: QoE -----------------------------------------------------------------------------


def test_bitrate_carried_forward_and_weighted_by_time_played() -> None:
    rest = (
        ev("play", 0, qoe=Qoe(bitrate=1000)),
        ev("ping", 10, 10),
        ev("bitrateChange", 10, 10, qoe=Qoe(bitrate=2000)),
        ev("pauseStart", 25, 25),
        ev("play", 35, 25),
        ev("ping", 50, 40),
    )
    q = run(start(), *rest).qoe_data_details
    assert q.bitrate_average == 1750.0
    assert q.bitrate_average_bucket == "1700-1799"
    assert q.bitrate_change_count == 1
    assert q.has_bitrate_change_impacted_streams is True


def test_bitrate_null_when_never_sent() -> None:
    q = run(start(), ev("play", 0), ev("ping", 10, 10)).qoe_data_details
    assert (q.bitrate_average, q.bitrate_average_bucket) == (None, None)


def test_time_to_start_reported_last_non_zero_and_seconds_warning() -> None:
    r = run(
        start(),
        ev("play", 3, qoe=Qoe(time_to_start=2500)),
        ev("ping", 10, 7, qoe=Qoe(time_to_start=0)),
    )
    assert r.qoe_data_details.time_to_start == 2.5
    r = run(start(), ev("play", 3, qoe=Qoe(time_to_start=5)))
    assert r.qoe_data_details.time_to_start == 0.005
    assert problems(r) == ["timeToStart 5 looks like seconds (expected ms)"]


def test_time_to_start_null_when_nothing_played() -> None:
    assert run(start(), ev("ping", 5)).qoe_data_details.time_to_start is None


def test_dropped_frames_last_value() -> None:
    rest = (
        ev("play", 0, qoe=Qoe(dropped_frames=5)),
        ev("ping", 10, 10, qoe=Qoe(dropped_frames=12)),
    )
    q = run(start(), *rest).qoe_data_details
    assert (q.dropped_frames, q.has_dropped_frame_impacted_streams) == (12, True)


def test_errors_listed_once_per_source() -> None:
    rest = (
        ev("error", 1, error_id="e1", error_source="player"),
        ev("error", 2, error_id="e1", error_source="player"),
        ev("error", 3, error_id="x1", error_source="external"),
        ev("error", 4),
        ev("error", 5, error_id="e2"),
        ev("error", 6, error_id="e1", error_source="external"),
    )
    q = run(start(), *rest).qoe_data_details
    assert q.error_count == 6
    assert q.player_sdk_errors == ["e1", "e2"]
    assert q.external_errors == ["x1", "e1"]
    assert q.has_error_impacted_streams is True


# -- rule 22: player states -----------------------------------------------------------------------


def test_more_than_ten_states_and_case_insensitive_standard_names() -> None:
    names = tuple(f"custom{i}" for i in range(9))
    rest = (
        ev("stateStart", 0, states_start=("FULLSCREEN",)),
        ev("statesUpdate", 2, states_start=(*names, "extra")),
        ev("stateEnd", 5, states_end=("fullscreen",)),
        ev("stateEnd", 6, states_end=("neverStarted",)),
        ev("ping", 8),
    )
    r = run(start(), *rest)
    assert len(r.states) == 10
    assert (r.states[0].name, r.states[0].count, r.states[0].time) == ("fullScreen", 1, 5.0)
    assert (r.states[1].name, r.states[1].time) == ("custom0", 6.0)
    assert problems(r) == [
        "more than 10 player states: 'extra' ignored",
        "stateEnd of 'neverStarted', a state that never started: ignored",
    ]


# -- rule 23 ------------------------------------------------------------------------------------


def test_estimated_streams_and_average_minute_audience() -> None:
    r = run(start(), ev("play", 0), ev("ping", 3600, 3600))
    assert r.session_details.estimated_streams == 3
    assert r.session_details.average_minute_audience == 36.0
    r = run(start(), ev("play", 0), ev("ping", 1799, 1799))
    assert r.session_details.estimated_streams == 1


# -- rule 9: close triggers -----------------------------------------------------------------------


def test_stalled_playhead_trigger_on_the_event_reaching_the_limit() -> None:
    limits = Limits(stall_timeout_ms=5000)
    f = SessionFold.begin("sid", start(), 0, limits)
    steps: list[tuple[Event, str | None]] = [
        (ev("play", 0), None),
        (ev("ping", 1, 1), None),
        (ev("ping", 3, 1), None),
    ]
    steps += [(ev("ping", 5, 1), None), (ev("ping", 6.5, 1), "stalledPlayhead")]
    for seq, (e, trigger) in enumerate(steps, 1):
        f.apply(e, seq, seq)
        assert f.close_trigger == trigger
    f.apply(ev("sessionEnd", 7, 1), 6, 6)
    assert f.close_trigger == "stalledPlayhead"
    assert f.end_ts == BASE + 7000


def test_max_duration_trigger() -> None:
    f = folded(start(), ev("play", 0), ev("ping", 30, 30), limits=Limits(max_duration_ms=60_000))
    assert f.close_trigger is None
    f.apply(ev("ping", 60, 60), 3, 3)
    assert f.close_trigger == "maxDuration"


def test_session_end_wins_when_it_reaches_a_limit() -> None:
    limits = Limits(max_duration_ms=60_000)
    f = folded(start(), ev("play", 0), ev("sessionEnd", 61, 61), limits=limits)
    assert f.close_trigger == "sessionEnd"
    assert f.end_ts == BASE + 61_000
    assert f.completed is False


def test_public_attributes_after_folding() -> None:
    f = folded(start(), ev("play", 0), ev("sessionComplete", 10, 10))
    assert (f.start_ts, f.end_ts, f.completed, f.close_trigger) == (BASE, None, True, None)
    assert f.last_received_ms == 1001


def test_ads_chapters_and_diagnostics_are_capped_but_counted() -> None:
    from playhead.engine.limits import MAX_ADS, MAX_CHAPTERS, MAX_DIAGNOSTICS

    events = [ev("play", 0), ad_break(0)]
    t = 0
    for i in range(MAX_ADS + 5):
        events.append(ad(t, ad_id=f"ad-{i}"))
        t += 1
        events.append(ev("adComplete", t))
    events.append(ev("adBreakComplete", t))
    events.append(ev("play", t))
    for i in range(MAX_CHAPTERS + 3):
        events.append(chapter(t, index=i))
        t += 2
        events.append(ev("chapterComplete", t))
    for _ in range(MAX_DIAGNOSTICS + 7):
        events.append(ev("adComplete", t))  # outside a break: one diagnostic each
    r = run(start(), *events)
    assert len(r.ads) == MAX_ADS and r.session_details.ad_count == MAX_ADS + 5
    assert sum(a.time_played for a in r.ads) == MAX_ADS  # each listed ad played 1 s
    details = r.session_details
    assert details.total_time_played == MAX_ADS + 5 + (MAX_CHAPTERS + 3) * 2
    assert len(r.chapters) == MAX_CHAPTERS and details.chapter_count == MAX_CHAPTERS + 3
    assert problems(r)[-3:] == [
        f"5 more ads not listed (at most {MAX_ADS} kept)",
        f"3 more chapters not listed (at most {MAX_CHAPTERS} kept)",
        f"7 more diagnostics not listed (at most {MAX_DIAGNOSTICS} kept)",
    ]
    assert len(r.diagnostics) == MAX_DIAGNOSTICS + 3


def test_error_ids_are_capped() -> None:
    from playhead.engine.limits import MAX_ERROR_IDS

    errors = [ev("error", i + 1, error_id=f"E{i}") for i in range(MAX_ERROR_IDS + 2)]
    r = run(start(), ev("play", 0), *errors)
    q = r.qoe_data_details
    assert q.error_count == MAX_ERROR_IDS + 2 and len(q.player_sdk_errors) == MAX_ERROR_IDS
    assert problems(r)[-2:] == [
        f"more than {MAX_ERROR_IDS} error ids: 'E{MAX_ERROR_IDS}' not listed",
        f"more than {MAX_ERROR_IDS} error ids: 'E{MAX_ERROR_IDS + 1}' not listed",
    ]


def test_seconds_warning_only_when_the_session_itself_started_slowly() -> None:
    # rule 19: a fast player (first play 20 ms after the start) reporting 20 ms is believed
    fast = run(start(), ev("play", 0.02, qoe=Qoe(time_to_start=20)))
    assert fast.qoe_data_details.time_to_start == 0.02 and problems(fast) == []
    slow = run(start(), ev("play", 2, qoe=Qoe(time_to_start=2)))
    assert problems(slow) == ["timeToStart 2 looks like seconds (expected ms)"]


def test_session_start_ts_in_seconds_is_a_diagnostic() -> None:
    seconds = Event("sessionStart", 1_700_000_000, 0, params={"media.id": "m", "media.length": 60})
    r = SessionFold.begin("s", seconds, 0, Limits()).report(OPEN)
    assert "ts 1700000000 looks like seconds (expected epoch milliseconds)" in problems(r)


def test_a_stall_needs_a_positive_span() -> None:
    # rule 15: three pings stamped at one ts at one playhead are no stall (yet)
    same_ts = run(
        start(), ev("play", 0), ev("ping", 10, 10), ev("ping", 10, 10), ev("ping", 10, 10)
    )
    q = same_ts.qoe_data_details
    assert (q.stall_count, q.stall_time) == (0, 0.0)
    # once time passes at that playhead the run is a stall, counted once
    later = run(
        start(),
        ev("play", 0),
        ev("ping", 10, 10),
        ev("ping", 10, 10),
        ev("ping", 10, 10),
        ev("ping", 20, 10),
        ev("ping", 30, 10),
    )
    q = later.qoe_data_details
    assert (q.stall_count, q.stall_time) == (1, 20.0)
    assert later.session_details.time_played == 10.0
