"""What each Collection API endpoint accepts (rules 1, 7): the decoded event, or a 400.

- ``POST /api/v1/sessions`` takes a ``sessionStart`` (``media.downloaded: true`` only in a batch);
- ``POST /api/v1/sessions/{sid}/events`` takes any other event;
- a downloaded batch (``POST /api/v1/downloaded``, or an array on ``/api/v1/sessions`` whose
  sessionStart says ``media.downloaded: true``) is one whole session, sessionStart first.
"""

from __future__ import annotations

import msgspec

from playhead.errors import FieldError, InvalidBody
from playhead.events import Event
from playhead.protocols.collection.decode import decode_batch, decode_event

_any = msgspec.json.Decoder()
_encode = msgspec.json.Encoder().encode


def session_start(raw: bytes, *, strict: bool) -> Event:
    """The sessionStart a live session opens with."""
    event = decode_event(raw, strict=strict)
    if event.type != "sessionStart":
        raise InvalidBody(errors=[FieldError("$.eventType", "expected sessionStart here")])
    if event.params.get("media.downloaded") is True:
        raise InvalidBody(
            errors=[
                FieldError(
                    '$.params["media.downloaded"]',
                    "true only for downloaded batches (POST an array to /api/v1/downloaded)",
                )
            ]
        )
    return event


def session_event(raw: bytes, *, strict: bool) -> Event:
    """An event of an open session (anything but a sessionStart)."""
    event = decode_event(raw, strict=strict)
    if event.type == "sessionStart":
        raise InvalidBody(
            errors=[
                FieldError("$.eventType", "sessionStart opens a session: POST /api/v1/sessions")
            ]
        )
    return event


def downloaded(raw: bytes, *, strict: bool, via_sessions: bool) -> list[tuple[Event, bytes]]:
    """The events of a downloaded session, each with its own body (all valid, or a 400)."""
    events = decode_batch(raw, strict=strict)
    start = events[0]
    if start.type != "sessionStart":
        raise InvalidBody(errors=[FieldError("$[0].eventType", "a batch starts with sessionStart")])
    for i, event in enumerate(events[1:], 1):
        if event.type == "sessionStart":
            raise InvalidBody(errors=[FieldError(f"$[{i}].eventType", "one session per batch")])
    if via_sessions and start.params.get("media.downloaded") is not True:
        raise InvalidBody(
            errors=[
                FieldError(
                    '$[0].params["media.downloaded"]',
                    "an array on /api/v1/sessions needs media.downloaded: true",
                )
            ]
        )
    # each event keeps its own bytes, so a re-fold decodes exactly what was accepted
    bodies = [_encode(item) for item in _any.decode(raw)]
    return list(zip(events, bodies, strict=True))
