"""The Web SDK's ``POST /ee/v1/interact`` body, as far as media goes.

The Adobe Web SDK (``@adobe/alloy``) does not start a media session on
``/ee/va/v1/sessionStart``: its ``createMediaSession`` (and the legacy tracker's
``trackSessionStart``) sends an ordinary Edge event, ``xdm.eventType`` ``media.sessionStart``,
through ``/ee/v1/interact``, and reads the session id from the answer's
``media-analytics:new-session`` handle; only the later events go to ``/ee/va/v1/{eventName}``.

Playhead is not an Experience Edge: it collects media and nothing else. This module picks the
``media.sessionStart`` events out of an interact body and rewrites each into the body of a
Media Edge ``sessionStart`` (its ``eventType``, ``timestamp``, ``mediaCollection`` and
``identityMap``; the context the Web SDK adds, such as ``web``, ``device`` or
``environment``, is dropped), which the ordinary decoder then validates. Every other event is
reported back as ignored.
"""

from __future__ import annotations

from typing import Any, Final, NamedTuple

import msgspec

from playhead.errors import FieldError, InvalidBody

SESSION_START: Final = "media.sessionStart"
_KEPT: Final = ("eventType", "timestamp", "mediaCollection", "identityMap")
_encode = msgspec.json.Encoder().encode


class InteractEvents(NamedTuple):
    """An interact body sorted out: the media session starts (their index in ``events`` and
    the equivalent Media Edge ``sessionStart`` body), and the ignored events (index and
    ``eventType``, cut at 100 characters)."""

    starts: list[tuple[int, bytes]]
    ignored: list[tuple[int, str]]


def split_interact(raw: bytes) -> InteractEvents:
    """Sort the events of an interact body; ``InvalidBody`` if it is not ``{"events": [...]}``
    with an object holding an ``xdm`` object in each place."""
    try:
        doc = msgspec.json.decode(raw)
    except RecursionError:
        raise InvalidBody(errors=[FieldError("$", "malformed JSON: nested too deeply")]) from None
    except (msgspec.DecodeError, UnicodeDecodeError):
        raise InvalidBody(errors=[FieldError("$", "malformed JSON")]) from None
    if not isinstance(doc, dict):
        raise InvalidBody(errors=[FieldError("$", "expected an object")])
    events = doc.get("events")
    if not isinstance(events, list) or not events:
        raise InvalidBody(errors=[FieldError("$.events", "expected a non-empty array")])
    starts: list[tuple[int, bytes]] = []
    ignored: list[tuple[int, str]] = []
    for i, item in enumerate(events):
        xdm: Any = item.get("xdm") if isinstance(item, dict) else None
        if not isinstance(xdm, dict):
            raise InvalidBody(errors=[FieldError(f"$.events[{i}].xdm", "expected an object")])
        event_type = xdm.get("eventType")
        if event_type != SESSION_START:
            ignored.append((i, event_type[:100] if isinstance(event_type, str) else "(none)"))
            continue
        kept = {key: xdm[key] for key in _KEPT if key in xdm}
        starts.append((i, _encode({"events": [{"xdm": kept}]})))
    return InteractEvents(starts, ignored)


def at_index(errors: list[FieldError], index: int) -> list[FieldError]:
    """Errors of a rewritten ``sessionStart`` body, their paths pointing back into the
    interact body (``$.events[0]…`` → ``$.events[index]…``)."""
    if index == 0:
        return errors
    head = "$.events[0]"
    return [
        FieldError(f"$.events[{index}]" + e.path[len(head) :], e.problem)
        if e.path.startswith(head)
        else e
        for e in errors
    ]
