"""The Media Edge API's request bodies as msgspec Structs, built from the mapping tables.

One ``mediaCollection`` Struct per event name (and strictness): msgspec then checks every type,
required field and limit in one pass, names the failing field with a JSONPath, and
:mod:`playhead.protocols.edge.schemas` derives each event's JSON Schema from the very same
Structs. Values keep the limits every protocol keeps (:mod:`playhead.events`): strings at most
1,024 characters without NUL, numbers within ±2^53, at most 100 custom-metadata entries and
100 player states.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

import msgspec

from playhead.events import MAX_LIST_ITEMS, MAX_METADATA_KEYS, MAX_STRING_CHARS, NUMBER_LIMIT
from playhead.protocols.edge.mapping import (
    DETAILS_OF,
    METADATA_EVENTS,
    QOE_DETAILS,
    Field,
    lenient,
)

Text = Annotated[str, msgspec.Meta(max_length=MAX_STRING_CHARS, pattern="^[^\\x00]*$")]
Name = Annotated[
    str, msgspec.Meta(min_length=1, max_length=MAX_STRING_CHARS, pattern="^[^\\x00]*$")
]
# an int stays an int (a report echoes the sessionStart's params as they were sent)
Number = (
    Annotated[int, msgspec.Meta(ge=-NUMBER_LIMIT, le=NUMBER_LIMIT)]
    | Annotated[float, msgspec.Meta(ge=-NUMBER_LIMIT, le=NUMBER_LIMIT)]
)
SessionId = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")]
MetadataName = Annotated[str, msgspec.Meta(pattern=f"^[a-zA-Z0-9_.]{{1,{MAX_STRING_CHARS}}}$")]
_KINDS: dict[str, Any] = {"string": Text, "number": Number, "integer": Number, "boolean": bool}


class QoeDetails(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """``qoeDataDetails``: the QoE values an event carries (any may be missing)."""

    bitrate: Number | None = None
    droppedFrames: Number | None = None  # noqa: N815 - wire name
    framesPerSecond: Number | None = None  # noqa: N815 - wire name
    timeToStart: Number | None = None  # noqa: N815 - wire name


assert set(QoeDetails.__struct_fields__) == set(QOE_DETAILS)


class ErrorDetails(msgspec.Struct, forbid_unknown_fields=True):
    """``errorDetails`` of an ``error`` event."""

    name: Name
    source: Name


class StateName(msgspec.Struct, forbid_unknown_fields=True):
    """One entry of ``statesStart`` / ``statesEnd``."""

    name: Name


class MetadataItem(msgspec.Struct, forbid_unknown_fields=True):
    """One ``customMetadata`` entry: ``{"name", "value"}``."""

    name: MetadataName
    value: Text


Metadata = Annotated[list[MetadataItem], msgspec.Meta(max_length=MAX_METADATA_KEYS)]
States = Annotated[list[StateName], msgspec.Meta(max_length=MAX_LIST_ITEMS)]


def _details_struct(
    title: str, fields: dict[str, Field], optional: frozenset[str]
) -> type[msgspec.Struct]:
    """A details Struct: its required fields first, as msgspec wants them."""
    required = [
        (name, _KINDS[f.kind]) for name, f in fields.items() if f.required and name not in optional
    ]
    rest = [
        (name, _KINDS[f.kind] | None, None)
        for name, f in fields.items()
        if not f.required or name in optional
    ]
    return msgspec.defstruct(title, [*required, *rest], forbid_unknown_fields=True)


@cache
def media_collection(event_name: str, *, strict: bool, with_session: bool = True) -> type[Any]:
    """The ``mediaCollection`` Struct of one event. Every live event but ``sessionStart``
    names its session (``with_session``); inside a downloaded batch, and in the stored log,
    the session id is optional (and ignored)."""
    required: list[tuple[str, Any]] = [("playhead", Number)]
    optional: list[tuple[str, Any, Any]] = []
    if event_name != "sessionStart" and with_session:
        required.insert(0, ("sessionID", SessionId))
    else:
        optional.append(("sessionID", SessionId | None, None))
    detail = DETAILS_OF.get(event_name)
    if detail is not None:
        member, fields = detail
        relaxed = frozenset() if strict else lenient(fields, event_name)
        title = f"{member[0].upper()}{member[1:]}_{event_name}{'_strict' if strict else ''}"
        required.append((member, _details_struct(title, fields, relaxed)))
    if event_name == "error":
        required.append(("errorDetails", ErrorDetails))
    if event_name == "bitrateChange":  # required by the Edge API, but it may be empty
        required.append(("qoeDataDetails", QoeDetails))
    else:
        optional.append(("qoeDataDetails", QoeDetails | None, None))
    if event_name == "statesUpdate":
        optional += [("statesStart", States | None, None), ("statesEnd", States | None, None)]
    if event_name in METADATA_EVENTS:
        optional.append(("customMetadata", Metadata | None, None))
    name = f"MediaCollection_{event_name}{'_strict' if strict else ''}"
    return msgspec.defstruct(
        name + ("" if with_session else "_any_session"),
        [*required, *optional],
        forbid_unknown_fields=True,
    )


@cache
def body(event_name: str, *, strict: bool, with_session: bool = True) -> type[Any]:
    """The whole request body of one event: ``{"events": [{"xdm": {...}}]}`` (one event).

    Other XDM field groups the Web SDK may add beside ``mediaCollection`` (identityMap,
    implementationDetails, ...) are accepted and ignored; ``mediaCollection`` is checked
    strictly.
    """
    collection = media_collection(event_name, strict=strict, with_session=with_session)
    suffix = f"{event_name}{'_strict' if strict else ''}{'' if with_session else '_any_session'}"
    xdm = msgspec.defstruct(
        f"Xdm_{suffix}",
        [
            ("eventType", str),
            ("timestamp", str),
            ("mediaCollection", collection),
            ("identityMap", dict[str, Any] | None, None),
        ],
    )
    event = msgspec.defstruct(f"EdgeEvent_{suffix}", [("xdm", xdm)], forbid_unknown_fields=True)
    return msgspec.defstruct(
        f"EdgeBody_{suffix}",
        [
            ("events", Annotated[list[event], msgspec.Meta(min_length=1, max_length=1)]),  # type: ignore[valid-type]
            ("meta", dict[str, Any] | None, None),
            ("query", dict[str, Any] | None, None),
        ],
        forbid_unknown_fields=True,
    )


class DownloadedItem(msgspec.Struct, forbid_unknown_fields=True):
    """One event of a downloaded session: its type, time and (raw) ``mediaCollection``."""

    mediaEventType: str  # noqa: N815 - wire name
    mediaEventTimestamp: str  # noqa: N815 - wire name
    mediaCollection: msgspec.Raw  # noqa: N815 - wire name (decoded by event type)


class DownloadedCollection(msgspec.Struct, forbid_unknown_fields=True):
    """The ``mediaCollection`` of ``media.downloaded``: the whole session's events."""

    mediaDownloadedEvents: Annotated[list[DownloadedItem], msgspec.Meta(min_length=1)]  # noqa: N815


class DownloadedXdm(msgspec.Struct):
    """The XDM of a downloaded session."""

    eventType: str  # noqa: N815 - wire name
    mediaCollection: DownloadedCollection  # noqa: N815 - wire name
    timestamp: str | None = None
    identityMap: dict[str, Any] | None = None  # noqa: N815 - wire name


class DownloadedEvent(msgspec.Struct, forbid_unknown_fields=True):
    """The one event of a downloaded request."""

    xdm: DownloadedXdm


class DownloadedBody(msgspec.Struct, forbid_unknown_fields=True):
    """The body of ``POST /ee/va/v1/downloaded``."""

    events: Annotated[list[DownloadedEvent], msgspec.Meta(min_length=1, max_length=1)]
    meta: dict[str, Any] | None = None
    query: dict[str, Any] | None = None
