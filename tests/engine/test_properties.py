"""Property: incremental in-order application equals fold() of any permutation; invariants."""

from __future__ import annotations

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from playhead.engine import Lifecycle, Limits, SessionFold, fold, order_key
from tests.engine.builders import BASE, start
from tests.engine.strategies import Step, build, step


@settings(max_examples=200, deadline=None)
@given(steps=st.lists(step, max_size=40), data=st.data())
def test_incremental_equals_fold_of_any_permutation(steps: list[Step], data: st.DataObject) -> None:
    s = start()
    events = build(steps)
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
