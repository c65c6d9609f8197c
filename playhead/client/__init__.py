"""Python client of Playhead and the Streaming Media Collection API (standard library only).

Public API: :class:`Tracker`, :class:`Session`, :class:`Clock`, :class:`Transport` and the
errors :class:`PlayheadError`, :class:`TransportError`, :class:`ResponseError`.
"""

from __future__ import annotations

from ._transport import PlayheadError, ResponseError, Transport, TransportError, parse_location
from .tracker import Clock, Session, Tracker

__all__ = [
    "Clock",
    "PlayheadError",
    "ResponseError",
    "Session",
    "Tracker",
    "Transport",
    "TransportError",
    "parse_location",
]
