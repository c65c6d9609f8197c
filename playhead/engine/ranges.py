"""The union of playhead ranges played, for uniqueTimePlayed (decisions.md rule 17)."""

from __future__ import annotations

from typing import Final

import msgspec

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


class PlayedRanges(msgspec.Struct, array_like=True, gc=False):
    """A union of closed playhead intervals; extending the latest one costs no allocation.

    Attributes:
        done: finished ranges ``(from, to)``, in the order they were left (not merged until
            :data:`MAX_RANGES` pile up); ``None`` until the first seek.
        lo: start of the range being extended (seconds of playhead).
        hi: its end; ``lo == hi`` while nothing was played.
        overflow: ranges were dropped past :data:`MAX_RANGES` disjoint ones.
    """

    done: list[tuple[float, float]] | None = None
    lo: float = 0.0
    hi: float = 0.0
    overflow: bool = False

    def add(self, a: float, b: float) -> None:
        """Add the interval [a, b] (a < b)."""
        if self.lo <= a <= self.hi:
            if b > self.hi:
                self.hi = b
            return
        if self.hi > self.lo:
            done = self.done
            if done is None:
                done = self.done = []
            elif len(done) >= MAX_RANGES:
                done = self.done = merge(done)
                if len(done) >= MAX_RANGES and not any(lo <= a <= hi for lo, hi in done):
                    self.overflow = True
                    return
            done.append((self.lo, self.hi))
        self.lo = a
        self.hi = b

    def ranges(self) -> list[tuple[float, float]]:
        """The union as sorted, disjoint ``(from, to)`` ranges."""
        done = self.done or []
        spans = [*done, (self.lo, self.hi)] if self.hi > self.lo else list(done)
        return merge(spans)

    def size(self) -> float:
        """Return the total length of the union."""
        return sum(hi - lo for lo, hi in self.ranges())
