"""Rule 17: the union of played playhead ranges."""

from __future__ import annotations

from playhead.engine.ranges import PlayedRanges


def test_empty_union_is_zero() -> None:
    assert PlayedRanges().size() == 0.0


def test_contiguous_steps_extend_one_range() -> None:
    r = PlayedRanges()
    r.add(0.0, 10.0)
    r.add(10.0, 20.0)
    r.add(20.0, 25.5)
    assert r.size() == 25.5


def test_rewatched_and_disjoint_ranges() -> None:
    r = PlayedRanges()
    r.add(0.0, 10.0)
    r.add(50.0, 60.0)
    r.add(5.0, 15.0)
    r.add(55.0, 58.0)
    assert r.size() == 25.0
