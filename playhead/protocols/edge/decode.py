"""Media Edge API bodies → canonical :class:`~playhead.events.Event` values.

Each XDM event maps onto the same canonical event as its Collection API twin (the tables of
:mod:`playhead.protocols.edge.mapping`), so a session folds into the same report whichever
protocol carried it. A body that does not validate raises
:class:`~playhead.errors.InvalidBody` whose errors name the failing field with a JSONPath into
the body (``$.events[0].xdm.mediaCollection.sessionDetails.name``); the Edge HTTP adapter turns
them into a problem+json report.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from typing import Any, Final, NamedTuple

import msgspec

from playhead.errors import FieldError, InvalidBody
from playhead.events import LENIENT_PARAMS, VIEWER_PARAMS, Event, Qoe
from playhead.protocols.edge.mapping import (
    DETAILS_OF,
    DOWNLOADED,
    EVENT_NAMES,
    METADATA_EVENTS,
    QOE_DETAILS,
)
from playhead.protocols.edge.model import DownloadedBody, body, media_collection

_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MS: Final = dt.timedelta(milliseconds=1)
_AT = re.compile(r"^(.*?)(?: - at `(\$[^`]*)`)?$", re.S)
_MISSING = re.compile(r"Object missing required field `([^`]+)`")
_UNKNOWN = re.compile(r"Object contains unknown field `([^`]+)`")
_encode = msgspec.json.Encoder().encode
_EMPTY: dict[str, Any] = {}


class EdgeEvent(NamedTuple):
    """A decoded Edge request: the event, and the session it names (``None`` on sessionStart)."""

    event: Event
    sid: str | None


def _problem(exc: msgspec.ValidationError | msgspec.DecodeError, prefix: str = "") -> FieldError:
    """The field a msgspec error names (a JSONPath into the whole body) and the problem."""
    text = str(exc)
    match = _AT.match(text)
    message, path = (match.group(1), match.group(2) or "$") if match else (text, "$")
    if prefix:
        path = prefix + path[1:]
    if missing := _MISSING.match(message):
        return FieldError(f"{path}.{missing.group(1)}", "Missing required field")
    if unknown := _UNKNOWN.match(message):
        return FieldError(f"{path}.{unknown.group(1)}", "Unknown field")
    if isinstance(exc, msgspec.DecodeError) and not isinstance(exc, msgspec.ValidationError):
        return FieldError("$", f"malformed JSON: {message}")
    if "x00]*$'" in message:  # the pattern refusing NUL characters
        return FieldError(path, "contains a NUL character")
    if "matching regex '^[0-9a-f]{64}$'" in message:
        return FieldError(path, "expected a session id (64 lowercase hex characters)")
    return FieldError(path, message)


def _timestamp(value: str | None, path: str) -> int:
    """Epoch milliseconds of an ISO-8601 date-time with a zone."""
    try:
        if value is None:
            raise ValueError("missing")
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidBody(errors=[FieldError(path, "expected an ISO-8601 date-time")]) from None
    if moment.tzinfo is None:
        raise InvalidBody(errors=[FieldError(path, "the date-time needs a time zone")])
    return (moment - _EPOCH) // _MS


def _event(name: str, ts: int, collection: Any, identity: dict[str, Any] | None) -> Event:
    """The canonical event of one validated ``mediaCollection``."""
    params: dict[str, Any] = _EMPTY
    missing: list[str] = []
    detail = DETAILS_OF.get(name)
    if detail is not None:
        member, fields = detail
        values = getattr(collection, member)
        params = {}
        configuration = LENIENT_PARAMS.get(name, ())
        for field_name, field in fields.items():
            value = getattr(values, field_name)
            if value is not None:
                if value.__class__ is str and field.key not in VIEWER_PARAMS:
                    value = sys.intern(value)  # shared by every viewer of a title
                params[field.key] = value
            elif field.key in configuration:
                missing.append(field.key)
    if name == "sessionStart" and identity:
        viewer = _ecid(identity)
        if viewer is not None:
            params["visitor.marketingCloudUserId"] = viewer
    metadata: dict[str, str] = _EMPTY
    if name in METADATA_EVENTS and collection.customMetadata:
        metadata = {sys.intern(m.name): sys.intern(m.value) for m in collection.customMetadata}
    qoe = None
    details = collection.qoeDataDetails
    if details is not None:
        values_ = {attr: getattr(details, wire) for wire, attr in QOE_DETAILS.items()}
        if any(v is not None for v in values_.values()):
            qoe = Qoe(**values_)
    error_id = error_source = None
    if name == "error":
        error_id = collection.errorDetails.name
        error_source = (
            "external" if collection.errorDetails.source.lower() == "external" else "player"
        )
    states_start: tuple[str, ...] = ()
    states_end: tuple[str, ...] = ()
    if name == "statesUpdate":
        states_start = tuple(s.name for s in collection.statesStart or ())
        states_end = tuple(s.name for s in collection.statesEnd or ())
    return Event(
        type=name,
        ts=ts,
        playhead=float(collection.playhead),
        params=params,
        custom_metadata=metadata,
        qoe=qoe,
        error_id=error_id,
        error_source=error_source,
        states_start=states_start,
        states_end=states_end,
        missing=tuple(missing),
    )


def _ecid(identity: dict[str, Any]) -> str | None:
    """The viewer's Experience Cloud id from ``xdm.identityMap`` (its first ECID), if any."""
    entries = identity.get("ECID")
    if isinstance(entries, list) and entries and isinstance(entries[0], dict):
        value = entries[0].get("id")
        if isinstance(value, str) and 0 < len(value) <= 1024 and "\x00" not in value:
            return value
    return None


def decode(event_name: str, raw: bytes, *, strict: bool = False) -> EdgeEvent:
    """Decode and validate the body of ``POST /ee/va/v1/{event_name}``."""
    if event_name not in EVENT_NAMES:
        raise InvalidBody(errors=[FieldError("$", f"unknown media event {event_name!r}")])
    try:
        decoded = msgspec.json.decode(raw, type=body(event_name, strict=strict))
    except RecursionError:
        raise InvalidBody(errors=[FieldError("$", "malformed JSON: nested too deeply")]) from None
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        if isinstance(exc, UnicodeDecodeError):
            raise InvalidBody(errors=[FieldError("$", "malformed JSON: bad UTF-8")]) from None
        raise InvalidBody(errors=[_problem(exc)]) from None
    xdm = decoded.events[0].xdm
    if xdm.eventType != "media." + event_name:
        raise InvalidBody(
            errors=[FieldError("$.events[0].xdm.eventType", f"expected media.{event_name} here")]
        )
    ts = _timestamp(xdm.timestamp, "$.events[0].xdm.timestamp")
    event = _event(event_name, ts, xdm.mediaCollection, xdm.identityMap)
    return EdgeEvent(
        event,
        getattr(xdm.mediaCollection, "sessionID", None) if event_name != "sessionStart" else None,
    )


def decode_stored(raw: bytes) -> Event:
    """Decode a stored Edge event (accepted before; its name is its ``xdm.eventType``)."""
    try:
        name = msgspec.json.decode(raw)["events"][0]["xdm"]["eventType"].removeprefix("media.")
        decoded = msgspec.json.decode(raw, type=body(name, strict=False, with_session=False))
    except (msgspec.DecodeError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise InvalidBody(
            errors=[FieldError("$", f"stored Edge event does not decode: {exc}")]
        ) from None
    xdm = decoded.events[0].xdm
    return _event(name, _timestamp(xdm.timestamp, "$"), xdm.mediaCollection, xdm.identityMap)


def decode_downloaded(raw: bytes, *, strict: bool = False) -> list[tuple[Event, bytes]]:
    """The events of a downloaded session (``POST /ee/va/v1/downloaded``), each with the body
    it is stored as: a one-event Edge body, so the log reads back like any Edge event."""
    try:
        decoded = msgspec.json.decode(raw, type=DownloadedBody)
    except RecursionError:
        raise InvalidBody(errors=[FieldError("$", "malformed JSON: nested too deeply")]) from None
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        if isinstance(exc, UnicodeDecodeError):
            raise InvalidBody(errors=[FieldError("$", "malformed JSON: bad UTF-8")]) from None
        raise InvalidBody(errors=[_problem(exc)]) from None
    xdm = decoded.events[0].xdm
    if xdm.eventType != "media." + DOWNLOADED:
        raise InvalidBody(
            errors=[FieldError("$.events[0].xdm.eventType", "expected media.downloaded here")]
        )
    base = "$.events[0].xdm.mediaCollection.mediaDownloadedEvents"
    out: list[tuple[Event, bytes]] = []
    errors: list[FieldError] = []
    for i, item in enumerate(xdm.mediaCollection.mediaDownloadedEvents):
        name = item.mediaEventType.removeprefix("media.")
        where = f"{base}[{i}]"
        if name not in EVENT_NAMES or not item.mediaEventType.startswith("media."):
            errors.append(
                FieldError(
                    f"{where}.mediaEventType", f"unknown media event {item.mediaEventType!r}"
                )
            )
            continue
        if (i == 0) != (name == "sessionStart"):
            problem = (
                "a downloaded session starts with media.sessionStart"
                if i == 0
                else "one session per batch"
            )
            errors.append(FieldError(f"{where}.mediaEventType", problem))
            continue
        try:
            collection = msgspec.json.decode(
                item.mediaCollection, type=media_collection(name, strict=strict, with_session=False)
            )
            ts = _timestamp(item.mediaEventTimestamp, f"{where}.mediaEventTimestamp")
        except msgspec.ValidationError as exc:
            errors.append(_problem(exc, f"{where}.mediaCollection"))
            continue
        except InvalidBody as exc:
            errors += exc.errors
            continue
        identity = xdm.identityMap if i == 0 else None
        event = _event(name, ts, collection, identity)
        stored: dict[str, Any] = {
            "eventType": item.mediaEventType,
            "timestamp": item.mediaEventTimestamp,
            "mediaCollection": item.mediaCollection,
        }
        if identity:
            stored["identityMap"] = identity
        out.append((event, _encode({"events": [{"xdm": stored}]})))
    if errors:
        raise InvalidBody(errors=errors[:100], omitted=max(0, len(errors) - 100))
    return out
