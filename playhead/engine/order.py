"""The canonical event order of decisions.md rule 11: by ts, then event-type rank, then arrival."""

from __future__ import annotations

from typing import Final

from playhead.events import Event

# Tie-break ranks at one ts (rule 11): close what is open before opening the next thing.
RANKS: Final[dict[str, int]] = {
    "sessionStart": 0,
    "adComplete": 1,
    "adSkip": 1,
    "adBreakComplete": 2,
    "chapterComplete": 3,
    "chapterSkip": 3,
    "chapterStart": 4,
    "adBreakStart": 5,
    "adStart": 6,
    "sessionComplete": 8,
    "sessionEnd": 9,
}
OTHER_RANK: Final[int] = 7
# The primary key packs (ts, rank) into one int so the hot path compares plain ints.
RANK_BITS: Final[int] = 4


def primary_key(event_type: str, ts: int, start_ts: int) -> int:
    """Return the (effective ts, rank) part of the canonical key packed into one int."""
    ts = max(ts, start_ts)
    return (ts << RANK_BITS) | RANKS.get(event_type, OTHER_RANK)


def order_key(event: Event, seq: int, start_ts: int) -> tuple[int, int]:
    """Return the canonical sort key of rule 11 for ``event`` arriving as number ``seq``."""
    return (primary_key(event.type, event.ts, start_ts), seq)
