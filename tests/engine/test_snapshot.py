"""A fold's snapshot: a decoded snapshot is the same fold and continues exactly as the original."""

from __future__ import annotations

import gc
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playhead.engine import Lifecycle, Limits, SessionFold, fold, order_key, snapshot
from playhead.engine.limits import MAX_ADS, MAX_CHAPTERS, MAX_DIAGNOSTICS
from playhead.engine.model import LAYOUT_VERSION, UNLISTED, Ad, Chapter, FoldState
from playhead.engine.ranges import MAX_RANGES, PlayedRanges
from playhead.engine.record import Record
from playhead.engine.states import PlayerState, PlayerStates
from playhead.events import Event, Qoe
from tests.engine.builders import BASE, ad, ad_break, chapter, ev, start
from tests.engine.strategies import Step, build, steps_with_runs

# Small limits so that random sessions reach the stalled-playhead and max-duration triggers.
LIMITS = Limits(stall_timeout_ms=20_000, max_duration_ms=150_000)
LIFECYCLES = (
    Lifecycle(),
    Lifecycle(state="closed", close_reason="idle", closed_ms=BASE + 10**6, refused=2),
    Lifecycle(state="closed", close_reason="sessionEnd", closed_ms=BASE + 10**6),
)
STARTS = [
    start(),
    start(extra={"media.resume": True}),
    start(qoe=Qoe(time_to_start=1500.0, bitrate=800.0)),
    start(extra={"analytics.reportSuite": None, "media.length": None}),
]
sessions = st.tuples(st.sampled_from(STARTS), steps_with_runs)


def _json(f: SessionFold, lifecycle: Lifecycle) -> bytes:
    return msgspec.json.encode(f.report(lifecycle))


def _roundtrip(f: SessionFold) -> SessionFold:
    data = snapshot.encode(f)
    back = snapshot.decode(data)
    assert type(back) is SessionFold
    assert snapshot.encode(back) == data
    return back


def _assert_same(a: Any, b: Any, path: str = "fold") -> None:
    """``a`` and ``b`` are equal all the way down, with the same types (an int stays an int)."""
    assert type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, msgspec.Struct):
        for name in a.__struct_fields__:
            _assert_same(getattr(a, name), getattr(b, name), f"{path}.{name}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, dict):
        assert list(a) == list(b), path
        for k in a:
            _assert_same(a[k], b[k], f"{path}[{k!r}]")
    else:
        assert a == b, path


@settings(max_examples=300, deadline=None)
@given(session=sessions, data=st.data())
def test_a_decoded_snapshot_continues_exactly_as_the_uninterrupted_fold(
    session: tuple[Event, list[Step]], data: st.DataObject
) -> None:
    s, steps = session
    items = [(e, i + 1, 2000 + i) for i, e in enumerate(build(steps))]
    items.sort(key=lambda it: order_key(it[0], it[1], s.ts))
    cut = data.draw(st.integers(min_value=0, max_value=len(items)), label="cut")
    uninterrupted = SessionFold.begin("sid", s, 2000, LIMITS)
    original = SessionFold.begin("sid", s, 2000, LIMITS)
    for e, seq, received in items[:cut]:
        uninterrupted.apply(e, seq, received)
        original.apply(e, seq, received)
    restored = _roundtrip(original)
    _assert_same(restored, original)
    # both go on: the decoded fold shares nothing mutable with the one encoded
    for e, seq, received in items[cut:]:
        assert restored.in_order(e, seq) and original.in_order(e, seq)
        uninterrupted.apply(e, seq, received)
        original.apply(e, seq, received)
        restored.apply(e, seq, received)
    for f in (restored, original):
        for lifecycle in LIFECYCLES:
            assert _json(f, lifecycle) == _json(uninterrupted, lifecycle)
        assert (f.close_trigger, f.end_ts, f.completed, f.last_received_ms) == (
            uninterrupted.close_trigger,
            uninterrupted.end_ts,
            uninterrupted.completed,
            uninterrupted.last_received_ms,
        )
        assert snapshot.encode(f) == snapshot.encode(uninterrupted)


@settings(max_examples=300, deadline=None)
@given(session=sessions, data=st.data())
def test_a_store_of_snapshots_answers_every_arrival_as_the_live_fold(
    session: tuple[Event, list[Step]], data: st.DataObject
) -> None:
    """Events arrive in any order; one side keeps the live fold, the other keeps only its
    snapshot (decoded for each arrival, encoded again after it): in_order answers the same,
    in-order events are applied, others re-fold the log so far (as the collector does)."""
    s, steps = session
    items = [(e, i + 1, 2000 + i) for i, e in enumerate(build(steps))]
    arrivals = data.draw(st.permutations(items), label="arrivals")
    live = SessionFold.begin("sid", s, 2000, LIMITS)
    stored = snapshot.encode(SessionFold.begin("sid", s, 2000, LIMITS))
    log: list[tuple[Event, int, int]] = []
    for e, seq, received in arrivals:
        log.append((e, seq, received))
        loaded = snapshot.decode(stored)
        in_order = live.in_order(e, seq)
        assert loaded.in_order(e, seq) is in_order
        if in_order:
            live.apply(e, seq, received)
            loaded.apply(e, seq, received)
        else:
            live = fold("sid", s, 2000, log, LIMITS)
            loaded = fold("sid", s, 2000, log, LIMITS)
        stored = snapshot.encode(loaded)
        assert stored == snapshot.encode(live)
        assert (loaded.close_trigger, loaded.end_ts) == (live.close_trigger, live.end_ts)
    everything = fold("sid", s, 2000, items, LIMITS)
    final = snapshot.decode(stored)
    for lifecycle in LIFECYCLES:
        assert _json(final, lifecycle) == _json(everything, lifecycle)


# -- every field ------------------------------------------------------------------------------


def _apply_all(f: SessionFold, events: list[Event]) -> SessionFold:
    """Apply ``events`` in canonical order, numbered after what ``f`` applied."""
    first = f.last_seq + 1
    numbered = [(e, first + i) for i, e in enumerate(events)]
    for e, seq in sorted(numbered, key=lambda it: order_key(it[0], it[1], f.start_ts)):
        assert f.in_order(e, seq)
        f.apply(e, seq, 5000 + seq)
    return f


def _busy_main_content() -> SessionFold:
    """Main content with nearly everything accrued, in the middle of a ping run."""
    s = start(qoe=Qoe(time_to_start=2.0, dropped_frames=3.0))
    s = msgspec.structs.replace(s, custom_metadata={"show": "S", "season": "1"})
    events = [
        ev("play", 1, 0.0),
        ev("chapterStart", 1, 0.0, params={"media.chapter.index": 1}, custom_metadata={"c": "1"}),
        ev("stateStart", 1, 0.0, states_start=("mute", "fullscreen")),
        ev("stateEnd", 4, 3.0, states_end=("mute",)),
        ev("bitrateChange", 5, 4.0, qoe=Qoe(bitrate=1200.0, dropped_frames=7.0)),
        ev("ping", 10, 9.0),
        ev("ping", 20, 60.0),  # a seek: [0, 9] is done, a new range starts
        ev("ping", 30, 70.0),  # 10, 25 and 50 % passed
        ev("pauseStart", 31, 71.0),
        ev("play", 35, 71.0),
        ev("bufferStart", 36, 72.0),
        ev("play", 38, 72.0),
        ev("error", 39, 73.0, error_id="p1"),
        ev("error", 39, 73.0, error_id="x1", error_source="external"),
        ev("adStart", 40, 74.0),  # outside a break: a diagnostic
        ev("ping", 41, 75.0),
        ev("ping", 51, 75.0),  # a run of two pings at one playhead: journal kept
    ]
    return _apply_all(SessionFold.begin("a" * 64, s, 5000, Limits()), events)


def _capped_in_an_ad() -> SessionFold:
    """Past the ad and chapter caps, with an unlisted ad and an unlisted chapter open."""
    events = [ev("play", 0), ad_break(0, index=3)]
    t = 0.0
    for i in range(MAX_ADS + 2):
        events += [ad(t, ad_id=f"ad-{i}"), ev("adComplete", t + 1)]
        t += 1
    for i in range(MAX_CHAPTERS + 1):  # chapters may be started inside a break
        events += [chapter(t + 0.001, index=i), ev("chapterSkip", t + 0.002)]
        t += 0.002
    events += [chapter(t + 0.001, index=-1), ad(t + 0.002, ad_id="open"), ev("ping", t + 1)]
    return _apply_all(SessionFold.begin("sid", start(), 0, Limits()), events)


def _stalled_and_ended() -> SessionFold:
    """A resumed session: a stall, ranges past the cap, diagnostics past the cap, then the end."""
    s = start(extra={"media.resume": True}, qoe=Qoe(time_to_start=900.0))
    events = [ev("play", 0, 30.0)]
    t = 0.0
    for i in range(MAX_RANGES + 2):  # disjoint played ranges: a jump, then one second played
        events += [ev("ping", t + 1, 1000.0 + 10 * i), ev("ping", t + 2, 1001.0 + 10 * i)]
        t += 2
    ph = 1001.0 + 10 * (MAX_RANGES + 1)
    events += [ev("ping", t + 10 * k, ph) for k in range(1, 4)]  # three pings: a stall
    events += [ev("adComplete", t + 31, ph) for _ in range(MAX_DIAGNOSTICS + 1)]
    events += [ev("sessionComplete", t + 32, ph), ev("sessionEnd", t + 33, ph)]
    events += [ev("ping", t + 34, ph)]  # after the end: ignored, with a diagnostic
    return _apply_all(SessionFold.begin("sid", s, 0, Limits()), events)


def _in_a_stall() -> SessionFold:
    """Three pings at one playhead in a chapter under a bitrate: a stall, still going on."""
    events = [ev("play", 0), chapter(0), ev("bitrateChange", 1, 1.0, qoe=Qoe(bitrate=900.0))]
    events += [ev("ping", 10, 10.0), ev("ping", 20, 10.0), ev("ping", 30, 10.0)]
    return _apply_all(SessionFold.begin("sid", start(), 0, Limits()), events)


SAMPLES = {
    "fresh": lambda: SessionFold.begin("sid", start(), 0, Limits()),
    "busy main content": _busy_main_content,
    "in a stall": _in_a_stall,
    "capped in an ad": _capped_in_an_ad,
    "stalled and ended": _stalled_and_ended,
}


@pytest.mark.parametrize("name", list(SAMPLES))
def test_every_field_round_trips_with_its_type(name: str) -> None:
    f = SAMPLES[name]()
    back = _roundtrip(f)
    _assert_same(back, f)
    assert back == f
    assert not gc.is_tracked(f) and not gc.is_tracked(back)


def test_the_samples_set_every_field() -> None:
    """Each field differs from its default in some sample, so every field's round trip is seen;
    and the samples are what their names say."""
    samples = {name: make() for name, make in SAMPLES.items()}
    unset = []
    for info in msgspec.structs.fields(SessionFold):
        if info.required:
            continue
        default = info.default if info.default is not msgspec.NODEFAULT else info.default_factory()
        if all(getattr(f, info.name) == default for f in samples.values()):
            unset.append(info.name)
    assert unset == []
    busy = samples["busy main content"]
    assert busy.journal and busy.run_pings == 2 and busy.ranges.done == [(0.0, 9.0)]
    assert busy.states is not None and list(busy.states.by_name) == ["mute", "fullScreen"]
    stall = samples["in a stall"]
    assert (stall.stall_count, stall.run_counted, stall.journal) == (1, True, [])
    capped = samples["capped in an ad"]
    assert (capped.ad, capped.chapter) == (UNLISTED, UNLISTED) and capped.in_break
    assert (capped.extra_ads, capped.extra_chapters) == (3, 2)
    ended = samples["stalled and ended"]
    assert (ended.stall_count, ended.close_trigger, ended.completed) == (1, "sessionEnd", True)
    assert ended.ranges.overflow and ended.dropped_diagnostics == 2


@pytest.mark.parametrize("name", list(SAMPLES))
def test_a_decoded_sample_continues_as_the_original(name: str) -> None:
    original, restored = SAMPLES[name](), _roundtrip(SAMPLES[name]())
    t = (original.last_ts - BASE) / 1000
    ph = original.last_playhead
    more = [ev("ping", t + 10, ph), ev("ping", t + 20, ph)]  # a run goes on (or a new one starts)
    more += [ev("adSkip", t + 21, ph), ev("chapterComplete", t + 21, ph)]
    more += [ev("adBreakComplete", t + 22, ph), ev("play", t + 22, ph)]
    more += [ev("ping", t + 30, ph + 8), ev("stateEnd", t + 31, ph + 9, states_end=("fullScreen",))]
    more += [ev("sessionEnd", t + 32, ph + 10)]
    for f in (original, restored):
        _apply_all(f, more)
    _assert_same(restored, original)
    for lifecycle in LIFECYCLES:
        assert _json(restored, lifecycle) == _json(original, lifecycle)


# -- the format -------------------------------------------------------------------------------


def test_the_layout_is_pinned_to_its_version() -> None:
    """If this fails, the snapshot layout changed: bump LAYOUT_VERSION, then update this test."""
    assert LAYOUT_VERSION == 2
    assert FoldState.__struct_fields__ == SessionFold.__struct_fields__
    assert SessionFold.__struct_fields__ == (
        "sid",
        "start_ts",
        "start_params",
        "start_metadata",
        "stall_limit_ms",
        "max_ts",
        "close_trigger",
        "end_ts",
        "completed",
        "last_received_ms",
        "last_key",
        "last_seq",
        "last_ts",
        "last_playhead",
        "playhead_since",
        "length",
        "resume",
        "playback_state",
        "main_played",
        "first_play_ts",
        "time_to_start",
        "reported_tts",
        "time_ms",
        "total_ms",
        "pause_count",
        "pause_ms",
        "buffer_count",
        "buffer_ms",
        "in_break",
        "break_params",
        "ads",
        "ad",
        "extra_ads",
        "chapters",
        "chapter",
        "extra_chapters",
        "ranges",
        "markers_set",
        "markers_done",
        "next_marker",
        "run_pings",
        "run_counted",
        "run_playhead",
        "journal",
        "stall_count",
        "stall_ms",
        "bitrate",
        "bitrate_sum",
        "bitrate_ms",
        "bitrate_changes",
        "dropped_frames",
        "error_count",
        "player_errors",
        "external_errors",
        "states",
        "diagnostics",
        "dropped_diagnostics",
        "spans",
    )
    nested = {
        Ad: ("break_params", "params", "custom_metadata", "time_ms", "completed", "skipped"),
        Chapter: ("params", "custom_metadata", "time_ms", "completed", "skipped"),
        PlayedRanges: ("done", "lo", "hi", "overflow"),
        PlayerStates: ("by_name",),
        PlayerState: ("count", "time_ms", "open_since"),
        Record: ("keys", "values"),
    }
    for cls, fields in nested.items():
        assert cls.__struct_fields__ == fields, cls.__name__


def test_a_snapshot_is_a_versioned_array_of_the_fields() -> None:
    f = SessionFold.begin("sid", start(), 0, Limits())
    items = msgspec.msgpack.decode(snapshot.encode(f))
    assert items[:3] == [LAYOUT_VERSION, "sid", BASE]
    assert len(items) == 1 + len(SessionFold.__struct_fields__)


def test_a_fresh_session_snapshot_is_small() -> None:
    f = SessionFold.begin("0" * 64, start(), 0, Limits())
    f.apply(ev("play", 1), 1, 1000)
    # 478 bytes, of which 198 are the sessionStart's eight params, 66 the sid and 39 the
    # timeline's one span
    assert len(msgspec.msgpack.encode(f.start_params)) == 198
    assert len(snapshot.encode(f)) == 478


def test_bytes_of_another_version_or_no_snapshot_are_refused() -> None:
    data = snapshot.encode(SessionFold.begin("sid", start(), 0, Limits()))
    items = msgspec.msgpack.decode(data)
    with pytest.raises(msgspec.ValidationError):
        snapshot.decode(msgspec.msgpack.encode([LAYOUT_VERSION + 1, *items[1:]]))
    with pytest.raises(msgspec.ValidationError):
        snapshot.decode(msgspec.msgpack.encode(items[:5]))  # too few fields
    with pytest.raises(msgspec.DecodeError):
        snapshot.decode(data[:-1])
    with pytest.raises(msgspec.DecodeError):
        snapshot.decode(b"")
