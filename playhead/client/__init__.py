"""Python client of Playhead and the Streaming Media Collection API (standard library only).

Public API: :class:`Tracker`, :class:`Session`, :class:`Clock`; the Collection API calls with
retries, :class:`Transport`; the transports under it (the seam that sends one HTTP request),
:class:`BaseTransport`, :class:`HTTPTransport` (the default) and :class:`MockTransport` (in
memory, for tests), with their :class:`Response`; the errors :class:`PlayheadError`,
:class:`TransportError`, :class:`ResponseError`; the helpers :func:`parse_endpoint` and
:func:`parse_location`.
"""

from __future__ import annotations

from ._transport import (
    RETRY_STATUSES,
    BaseTransport,
    HTTPTransport,
    MockTransport,
    PlayheadError,
    Response,
    ResponseError,
    Transport,
    TransportError,
    parse_endpoint,
    parse_location,
)
from .tracker import Clock, Session, Tracker

__all__ = [
    "RETRY_STATUSES",
    "BaseTransport",
    "Clock",
    "HTTPTransport",
    "MockTransport",
    "PlayheadError",
    "Response",
    "ResponseError",
    "Session",
    "Tracker",
    "Transport",
    "TransportError",
    "parse_endpoint",
    "parse_location",
]
