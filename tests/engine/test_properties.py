"""Property: incremental in-order application equals fold() of any permutation; invariants."""

from __future__ import annotations

import msgspec
from builders import BASE, ad, ad_break, chapter, ev, start
from hypothesis import given, settings
from hypothesis import strategies as st

from playhead.engine import Lifecycle, Limits, SessionFold, fold, order_key
from playhead.events import Event, Qoe

KINDS = [
    *["ping"] * 8,
    "play",
    "play",
    "pauseStart",
    "bufferStart",
    "adBreakStart",
    "adStart",
    "adComplete",
    "adSkip",
    "adBreakComplete",
    "chapterStart",
    "chapterComplete",
    "stateStart",
    "stateEnd",
    "bitrateChange",
    "error",
    "sessionComplete",
    "sessionEnd",
]
STATE_NAMES = ["mute", "FullScreen", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]

step = st.tuples(
    st.sampled_from(KINDS),
    st.sampled_from([0, 0, 500, 1000, 5000, 10_000]),  # ts step in ms: ties are common
    st.sampled_from([0.0, 0.0, 1.0, 5.0, 10.0, 40.0, -20.0]),  # playhead step (seeks too)
    st.integers(min_value=0, max_value=len(STATE_NAMES) - 1),
    st.sampled_from([None, 800.0, 2000.0]),
)


def _build(steps: list[tuple[str, int, float, int, float | None]]) -> list[Event]:
    events: list[Event] = []
    t_ms = 0
    ph = 0.0
    for kind, dt, dph, name_i, bitrate in steps:
        t_ms += dt
        ph = max(0.0, ph + dph)
        t = t_ms / 1000
        qoe = Qoe(bitrate=bitrate) if bitrate is not None else None
        if kind == "adBreakStart":
            e = ad_break(t, ph)
        elif kind == "adStart":
            e = ad(t, ph)
        elif kind == "chapterStart":
            e = chapter(t, ph)
        elif kind == "stateStart":
            e = ev(kind, t, ph, states_start=(STATE_NAMES[name_i],))
        elif kind == "stateEnd":
            e = ev(kind, t, ph, states_end=(STATE_NAMES[name_i],))
        elif kind == "error":
            e = ev(kind, t, ph, error_id=f"e{name_i % 3}", error_source=("external", None)[dt % 2])
        else:
            e = ev(kind, t, ph)
        if qoe is not None:
            e = msgspec.structs.replace(e, qoe=qoe)
        events.append(e)
    return events


@settings(max_examples=200, deadline=None)
@given(steps=st.lists(step, max_size=40), data=st.data())
def test_incremental_equals_fold_of_any_permutation(
    steps: list[tuple[str, int, float, int, float | None]], data: st.DataObject
) -> None:
    s = start()
    events = _build(steps)
    items = [(e, i + 1, 2000 + i) for i, e in enumerate(events)]
    canonical = sorted(items, key=lambda it: order_key(it[0], it[1], s.ts))
    live = SessionFold.begin("sid", s, 2000, Limits(stall_timeout_ms=20_000))
    for e, seq, received in canonical:
        assert live.in_order(e, seq)
        live.apply(e, seq, received)
    permuted = data.draw(st.permutations(items))
    full = fold("sid", s, 2000, permuted, Limits(stall_timeout_ms=20_000))
    lifecycle = Lifecycle(state="closed", close_reason="idle", closed_ms=10**6)
    report = live.report(lifecycle)
    assert msgspec.json.encode(report) == msgspec.json.encode(full.report(lifecycle))
    assert live.close_trigger == full.close_trigger
    assert live.end_ts == full.end_ts

    d = report.session_details
    q = report.qoe_data_details
    assert report.first_event_ts == BASE
    assert d.time_played <= (report.last_event_ts - report.first_event_ts) / 1000 + 1e-9
    assert abs(d.total_time_played - d.time_played - sum(a.time_played for a in report.ads)) < 1e-6
    durations = [d.time_played, d.total_time_played, d.unique_time_played, d.pause_time]
    durations += [q.buffer_time, q.stall_time, d.seconds_since_last_call]
    durations += [a.time_played for a in report.ads] + [c.time_played for c in report.chapters]
    durations += [x.time for x in report.states]
    assert min(durations) >= 0
    assert len(report.states) <= 10
