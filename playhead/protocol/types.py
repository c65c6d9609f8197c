"""Decoded, validated Collection API events: the values the rest of Playhead works with.

The wire body (`{"playerTime": ..., "eventType": ..., "params": ..., ...}`) is decoded and
checked by :mod:`playhead.protocol.decode`, which normalises the variants real clients send
(QoE keys in ``params``, error ids in ``params`` or ``qoeData``, ``statesUpdate`` lists) into
one :class:`Event` shape, so the engine never has to know about them.
"""

from __future__ import annotations

from typing import Any

import msgspec


class Qoe(msgspec.Struct, frozen=True, gc=False):
    """Quality-of-experience values one event carried; ``None`` means "not sent on this event"."""

    bitrate: float | None = None
    dropped_frames: float | None = None
    fps: float | None = None
    time_to_start: float | None = None


class Event(msgspec.Struct, frozen=True, gc=False):
    """One accepted event, normalised.

    Not tracked by the garbage collector (``gc=False``): it only holds strings, numbers and
    containers of them, so it can never be part of a reference cycle, and live sessions keep
    one each for their sessionStart.

    Attributes:
        type: the ``eventType`` (one of :data:`playhead.protocol.constants.EVENT_TYPES`).
        ts: ``playerTime.ts``, client epoch milliseconds.
        playhead: ``playerTime.playhead``, seconds.
        params: the standard ``params`` keys the event carried, with JSON ``null`` values
            dropped and QoE, error and state keys moved to the fields below.
        custom_metadata: ``customMetadata`` (only ever set on sessionStart, adStart, chapterStart).
        qoe: QoE values from ``qoeData`` or ``params``, or ``None`` when none were sent.
        error_id: the error id of an ``error`` event (``media.qoe.errorID`` or ``media.errorId``).
        error_source: ``"player"`` or ``"external"`` for an ``error`` event (any other source
            counts as ``"player"``); ``None`` when not sent.
        states_start: player-state names this event starts (``stateStart``, ``statesUpdate``).
        states_end: player-state names this event ends (``stateEnd``, ``statesUpdate``).
    """

    type: str
    ts: int
    playhead: float
    params: dict[str, Any] = {}
    custom_metadata: dict[str, str] = {}
    qoe: Qoe | None = None
    error_id: str | None = None
    error_source: str | None = None
    states_start: tuple[str, ...] = ()
    states_end: tuple[str, ...] = ()
