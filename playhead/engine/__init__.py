"""The session engine: a pure fold of a session's events into its report (decisions.md 9-23)."""

from __future__ import annotations

from playhead.engine.limits import Lifecycle, Limits
from playhead.engine.order import order_key
from playhead.engine.render import with_refusals
from playhead.engine.report import (
    AdReport,
    ChapterReport,
    Diagnostic,
    QoeDataDetails,
    Scores,
    SessionDetails,
    SessionReport,
    StateReport,
)
from playhead.engine.session import SessionFold, fold

__all__ = [
    "AdReport",
    "ChapterReport",
    "Diagnostic",
    "Lifecycle",
    "Limits",
    "QoeDataDetails",
    "Scores",
    "SessionDetails",
    "SessionFold",
    "SessionReport",
    "StateReport",
    "fold",
    "order_key",
    "with_refusals",
]
