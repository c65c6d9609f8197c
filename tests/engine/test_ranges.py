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


def test_ranges_are_sorted_and_merged() -> None:
    r = PlayedRanges()
    r.add(50.0, 60.0)
    r.add(0.0, 10.0)
    r.add(5.0, 15.0)
    r.add(60.0, 61.0)
    assert r.ranges() == [(0.0, 15.0), (50.0, 61.0)]


def test_disjoint_ranges_are_capped_and_flagged() -> None:
    from playhead.engine.ranges import MAX_RANGES

    r = PlayedRanges()
    for i in range(MAX_RANGES + 50):
        r.add(10.0 * i, 10.0 * i + 1)
    assert r.overflow
    assert MAX_RANGES <= len(r.ranges()) <= MAX_RANGES + 1
    assert r.size() == float(len(r.ranges()))
    # overlapping re-watching never overflows: the pile is merged first
    again = PlayedRanges()
    for i in range(5 * MAX_RANGES):
        again.add(float(i % 7), float(i % 7) + 2)
    assert not again.overflow and again.ranges() == [(0.0, 8.0)]
