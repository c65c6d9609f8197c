"""The union of playhead ranges played, for uniqueTimePlayed (decisions.md rule 17)."""

from __future__ import annotations

from typing import Final

_NONE: list[tuple[float, float]] = []  # shared until the first seek, never mutated
# Finished ranges are merged when this many pile up; past the same number of *disjoint* ones,
# new ranges are no longer counted (a session cannot grow without bound).
MAX_RANGES: Final = 1000


def merge(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sorted, disjoint ranges covering the same points as ``spans`` (touching ones joined)."""
    out: list[tuple[float, float]] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1]:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


class PlayedRanges:
    """A union of closed playhead intervals; extending the latest one costs no allocation."""

    __slots__ = ("_done", "hi", "lo", "overflow")

    def __init__(self) -> None:
        self._done: list[tuple[float, float]] = _NONE
        self.lo = 0.0
        self.hi = 0.0
        self.overflow = False  # ranges were dropped past MAX_RANGES

    def add(self, a: float, b: float) -> None:
        """Add the interval [a, b] (a < b)."""
        if self.lo <= a <= self.hi:
            self.hi = max(self.hi, b)
            return
        if self.hi > self.lo:
            if self._done is _NONE:
                self._done = []
            elif len(self._done) >= MAX_RANGES:
                self._done = merge(self._done)
                if len(self._done) >= MAX_RANGES and not any(
                    lo <= a <= hi for lo, hi in self._done
                ):
                    self.overflow = True
                    return
            self._done.append((self.lo, self.hi))
        self.lo = a
        self.hi = b

    def ranges(self) -> list[tuple[float, float]]:
        """The union as sorted, disjoint ``(from, to)`` ranges."""
        spans = [*self._done, (self.lo, self.hi)] if self.hi > self.lo else list(self._done)
        return merge(spans)

    def size(self) -> float:
        """Return the total length of the union."""
        return sum(hi - lo for lo, hi in self.ranges())
