"""Event-time limits of a session and its lifecycle as the server sees it (decisions.md rule 9)."""

from __future__ import annotations

from typing import Final

import msgspec

# What one session keeps, so that no client can make a session grow without bound: further
# ads and chapters still count (adCount, time) but are not listed; further diagnostics and
# error ids are counted in one diagnostic.
MAX_ADS: Final = 200
MAX_CHAPTERS: Final = 200
MAX_DIAGNOSTICS: Final = 100
MAX_ERROR_IDS: Final = 100


class Limits(msgspec.Struct, frozen=True):
    """Event-time limits after which a session closes (rule 9)."""

    stall_timeout_ms: int = 1_800_000
    max_duration_ms: int = 86_400_000


class Lifecycle(msgspec.Struct, frozen=True):
    """Whether a session is open or closed, why and when, and how many events were refused."""

    state: str = "open"
    close_reason: str | None = None
    closed_ms: int | None = None
    refused: int = 0
