"""The session timeline and watched ranges: their sums are the report's own fields."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings

from playhead.engine import Lifecycle, SessionReport
from tests.engine.builders import BASE, ad, ad_break, ev, run, start
from tests.engine.strategies import Step, build, steps_with_runs
from tests.helpers import SCENARIO_DIR


def sums(r: SessionReport) -> dict[str, float]:
    """Seconds of the timeline per state."""
    out: dict[str, float] = {}
    for span in r.timeline:
        out[span.state] = out.get(span.state, 0.0) + (span.to - span.from_) / 1000
    return out


def assert_consistent(r: SessionReport) -> None:
    by_state = sums(r)
    sd, q = r.session_details, r.qoe_data_details
    assert by_state.get("playing", 0) == pytest.approx(sd.time_played, abs=0.001)
    assert by_state.get("ad", 0) == pytest.approx(sum(a.time_played for a in r.ads), abs=0.001)
    assert by_state.get("paused", 0) == pytest.approx(sd.pause_time, abs=0.001)
    assert by_state.get("buffering", 0) == pytest.approx(q.buffer_time, abs=0.001)
    assert by_state.get("stalled", 0) == pytest.approx(q.stall_time, abs=0.001)
    if r.timeline:
        assert r.timeline[0].from_ == r.first_event_ts
        assert r.timeline[-1].to == r.last_event_ts
    for a, b in zip(r.timeline, r.timeline[1:], strict=False):
        assert a.to == b.from_ and a.state != b.state
    assert all(s.to > s.from_ for s in r.timeline)
    ranges = r.watched_ranges
    assert sum(hi - lo for lo, hi in ranges) == pytest.approx(sd.unique_time_played, abs=0.001)
    assert ranges == sorted(ranges)
    assert all(a[1] < b[0] for a, b in itertools.pairwise(ranges))


def test_a_session_cut_into_its_spans() -> None:
    r = run(
        start(),
        ad_break(0),
        ad(0),
        ev("play", 0),
        ev("adComplete", 15),
        ev("adBreakComplete", 15),
        ev("play", 15),
        ev("pauseStart", 25, 10),
        ev("play", 30, 10),
        ev("bufferStart", 40, 20),
        ev("play", 42, 20),
        ev("ping", 50, 28),
    )
    assert [(s.from_ - BASE, s.to - BASE, s.state) for s in r.timeline] == [
        (0, 15000, "ad"),
        (15000, 25000, "playing"),
        (25000, 30000, "paused"),
        (30000, 40000, "playing"),
        (40000, 42000, "buffering"),
        (42000, 50000, "playing"),
    ]
    assert (r.timeline[1].playhead_from, r.timeline[1].playhead_to) == (0, 10)
    assert r.watched_ranges == [(0.0, 28.0)]
    assert_consistent(r)


def test_a_stall_is_taken_out_of_playing() -> None:
    r = run(
        start(),
        ev("play", 0),
        ev("ping", 10, 10),
        ev("ping", 20, 10),
        ev("ping", 30, 10),
        ev("ping", 40, 10),
        ev("ping", 50, 20),
    )
    assert r.qoe_data_details.stall_count == 1
    assert [s.state for s in r.timeline] == ["playing", "stalled", "playing"]
    assert_consistent(r)


@pytest.mark.parametrize("path", sorted(SCENARIO_DIR.glob("*.json")), ids=lambda p: p.stem)
def test_scenarios_timelines_add_up(path: Path) -> None:
    from tests.engine.test_scenarios import _report

    report, _ = _report(path, None)
    r = msgspec.convert(report, SessionReport)
    assert r.timeline
    assert_consistent(r)


@settings(max_examples=300, deadline=None)
@given(steps_with_runs)
def test_every_timeline_adds_up(steps: list[Step]) -> None:
    events = build(steps)
    closed = Lifecycle("closed", "sessionEnd", BASE + 10**9)
    for lifecycle in (Lifecycle(), closed):
        assert_consistent(run(start(), *events, lifecycle=lifecycle))


def test_json_names() -> None:
    r = run(start(), ev("play", 0), ev("ping", 10, 10))
    doc = json.loads(msgspec.json.encode(r))
    assert doc["timeline"] == [
        {"from": BASE, "to": BASE + 10000, "state": "playing", "playheadFrom": 0.0,
         "playheadTo": 10.0}
    ]  # fmt: skip
    assert doc["watchedRanges"] == [[0.0, 10.0]]
