"""Rule 11: the canonical order key."""

from __future__ import annotations

from playhead.engine import order_key
from tests.engine.builders import BASE, ev

TIE_ORDER = [
    "sessionStart",
    "adComplete",
    "adBreakComplete",
    "chapterComplete",
    "chapterStart",
    "adBreakStart",
    "adStart",
    "play",
    "sessionComplete",
    "sessionEnd",
]


def test_ties_at_one_ts_sort_by_rank_whatever_the_arrival() -> None:
    keys = {t: order_key(ev(t, 5), 100 - i, BASE) for i, t in enumerate(TIE_ORDER)}
    assert sorted(keys, key=keys.__getitem__) == TIE_ORDER


def test_skips_rank_like_completes() -> None:
    assert order_key(ev("adSkip", 5), 1, BASE)[0] == order_key(ev("adComplete", 5), 2, BASE)[0]
    assert (
        order_key(ev("chapterSkip", 5), 1, BASE)[0]
        == order_key(ev("chapterComplete", 5), 2, BASE)[0]
    )


def test_other_events_tie_by_arrival() -> None:
    assert order_key(ev("ping", 5), 3, BASE) < order_key(ev("pauseStart", 5), 4, BASE)
    assert order_key(ev("pauseStart", 5), 3, BASE) < order_key(ev("ping", 5), 4, BASE)


def test_events_stamped_before_the_start_sort_at_its_ts() -> None:
    early = order_key(ev("play", -3), 2, BASE)
    assert early == order_key(ev("play", 0), 2, BASE)
    assert early > order_key(ev("sessionStart", 0), 0, BASE)
    assert early < order_key(ev("ping", 0.001), 1, BASE)


def test_ts_dominates_rank() -> None:
    assert order_key(ev("sessionEnd", 1), 1, BASE) < order_key(ev("adComplete", 1.001), 2, BASE)
