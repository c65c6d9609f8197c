"""Rule 22: player states."""

from __future__ import annotations

from playhead.engine.report import StateReport
from playhead.engine.states import PlayerStates, canonical_state_name


def test_standard_names_match_case_insensitively() -> None:
    assert canonical_state_name("FULLSCREEN") == "fullScreen"
    assert canonical_state_name("closedcaptioning") == "closedCaptioning"
    assert canonical_state_name("MyState") == "MyState"


def test_time_count_and_open_state_accrual() -> None:
    s = PlayerStates()
    assert s.start("mute", 1000) is None
    assert s.end("MUTE", 4000) is None
    assert s.start("Mute", 6000) is None
    assert s.rows(10_000) == [StateReport(name="mute", is_set=True, count=2, time=7.0)]


def test_eleventh_name_is_refused() -> None:
    s = PlayerStates()
    for i in range(10):
        assert s.start(f"s{i}", 0) is None
    assert s.start("s10", 0) == "more than 10 player states: 's10' ignored"
    assert s.end("s10", 5) == "stateEnd of 's10', a state that never started: ignored"
    assert [r.name for r in s.rows(0)] == [f"s{i}" for i in range(10)]


def test_end_of_a_state_not_set_is_refused() -> None:
    s = PlayerStates()
    assert s.start("a", 0) is None
    assert s.end("a", 1000) is None
    assert s.end("a", 2000) == "stateEnd of 'a', a state that is not set: ignored"
    assert s.start("a", 3000) is None
    assert s.start("a", 3500) == "stateStart of 'a' while it is already set: ignored"
    assert s.rows(5000) == [StateReport(name="a", is_set=True, count=2, time=3.0)]
