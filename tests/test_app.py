"""App assembly: the GC management that `playhead serve` turns on."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from playhead.app import settle_garbage


@pytest.fixture
def restored_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored_gc")
def test_settle_garbage_collects_then_freezes_and_stops_automatic_full_passes() -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self  # a reference cycle: only the cyclic GC can free it

    cyclic = weakref.ref(Node())
    before = gc.get_freeze_count()
    settle_garbage()
    assert gc.get_freeze_count() > before
    assert cyclic() is None  # collected before the freeze, not frozen with the survivors
    assert gc.get_threshold()[2] == 1_000_000_000
