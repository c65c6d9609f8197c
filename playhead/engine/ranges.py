"""The union of playhead ranges played, for uniqueTimePlayed (decisions.md rule 17)."""

from __future__ import annotations

_NONE: list[tuple[float, float]] = []  # shared until the first seek, never mutated


class PlayedRanges:
    """A union of closed playhead intervals; extending the latest one costs no allocation."""

    __slots__ = ("_done", "hi", "lo")

    def __init__(self) -> None:
        self._done: list[tuple[float, float]] = _NONE
        self.lo = 0.0
        self.hi = 0.0

    def add(self, a: float, b: float) -> None:
        """Add the interval [a, b] (a < b)."""
        if self.lo <= a <= self.hi:
            self.hi = max(self.hi, b)
            return
        if self.hi > self.lo:
            if self._done is _NONE:
                self._done = []
            self._done.append((self.lo, self.hi))
        self.lo = a
        self.hi = b

    def size(self) -> float:
        """Return the total length of the union."""
        spans = [*self._done, (self.lo, self.hi)]
        spans.sort()
        total = 0.0
        cur_lo = cur_hi = spans[0][0]
        for lo, hi in spans:
            if lo > cur_hi:
                total += cur_hi - cur_lo
                cur_lo, cur_hi = lo, hi
            elif hi > cur_hi:
                cur_hi = hi
        return total + (cur_hi - cur_lo)
