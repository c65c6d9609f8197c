"""Event-time limits of a session and its lifecycle as the server sees it (decisions.md rule 9)."""

from __future__ import annotations

import msgspec


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
