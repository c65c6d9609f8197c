"""Player states of one session: at most ten names, case-insensitive standard names (rule 22)."""

from __future__ import annotations

from typing import Final

import msgspec

from playhead.engine.report import StateReport
from playhead.events import STANDARD_STATES

MAX_STATES: Final[int] = 10


class PlayerState(msgspec.Struct, array_like=True, gc=False):
    """Running figures of one player state name.

    Attributes:
        count: how many times it started.
        time_ms: event time it was set, up to its latest end (ms).
        open_since: the ts it was last started at while it is set, else ``None``.
    """

    count: int = 0
    time_ms: int = 0
    open_since: int | None = None


def canonical_state_name(name: str) -> str:
    """Return the protocol spelling of a standard state name, any other name unchanged."""
    return STANDARD_STATES.get(name.lower(), name)


class PlayerStates(msgspec.Struct, array_like=True, gc=False):
    """The player states of one session.

    Attributes:
        by_name: each state's figures by its name (the protocol spelling of a standard name),
            in the order first started.
    """

    by_name: dict[str, PlayerState] = {}

    def start(self, raw: str, ts: int) -> str | None:
        """Start state ``raw`` at ``ts``; return a diagnostic problem when it is refused."""
        name = canonical_state_name(raw)
        state = self.by_name.get(name)
        if state is None:
            if len(self.by_name) >= MAX_STATES:
                return f"more than {MAX_STATES} player states: {name!r} ignored"
            state = self.by_name[name] = PlayerState()
        elif state.open_since is not None:
            return f"stateStart of {name!r} while it is already set: ignored"
        state.count += 1
        state.open_since = ts
        return None

    def end(self, raw: str, ts: int) -> str | None:
        """End state ``raw`` at ``ts``; return a diagnostic problem when it is refused."""
        name = canonical_state_name(raw)
        state = self.by_name.get(name)
        if state is None:
            return f"stateEnd of {name!r}, a state that never started: ignored"
        if state.open_since is None:
            return f"stateEnd of {name!r}, a state that is not set: ignored"
        state.time_ms += ts - state.open_since
        state.open_since = None
        return None

    def rows(self, last_ts: int) -> list[StateReport]:
        """Return the report rows, open states accrued up to ``last_ts`` (rule 22)."""
        out: list[StateReport] = []
        for name, s in self.by_name.items():
            ms = s.time_ms if s.open_since is None else s.time_ms + last_ts - s.open_since
            out.append(StateReport(name=name, is_set=True, count=s.count, time=ms / 1000))
        return out
