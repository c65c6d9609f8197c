"""The canonical media event and the media vocabulary every wire protocol maps onto.

A protocol adapter (the Collection API's in :mod:`playhead.protocols.collection`, the Media
Edge API's next) decodes and validates its own bodies and produces :class:`Event` values; the
engine, the collector and storage only ever see these. The vocabulary is the Streaming Media
one: event types, the standard ``media.*`` parameter keys with their JSON types, player-state
names, and the limits every value stays within.
"""

from __future__ import annotations

from typing import Any, Final, Literal

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
        type: the ``eventType`` (one of :data:`EVENT_TYPES`).
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
        missing: keys naming an account or player configuration that the protocol expects on
            this event but did not get (accepted unless strict; the session notes them in a
            diagnostic). Which keys a protocol expects is the protocol's business: the Media
            Edge API carries no tracking server, for instance.
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
    missing: tuple[str, ...] = ()


EventType = Literal[
    "sessionStart",
    "sessionComplete",
    "sessionEnd",
    "play",
    "ping",
    "pauseStart",
    "bufferStart",
    "bitrateChange",
    "error",
    "adBreakStart",
    "adBreakComplete",
    "adStart",
    "adComplete",
    "adSkip",
    "chapterStart",
    "chapterComplete",
    "chapterSkip",
    "stateStart",
    "stateEnd",
    "statesUpdate",
]

EVENT_TYPES: Final[tuple[str, ...]] = EventType.__args__  # type: ignore[attr-defined]

# JSON types of parameter values: "string", "number", "integer" (any JSON number is accepted
# where the protocol says integer, decisions.md rule 5), "boolean", "customerIDs".
ParamType = Literal["string", "number", "integer", "boolean", "customerIDs"]

SESSION_PARAMS: Final[dict[str, ParamType]] = {
    # analytics / visitor / identity (protocol.md §3.1)
    "analytics.trackingServer": "string",
    "analytics.reportSuite": "string",
    "analytics.enableSSL": "boolean",
    "analytics.visitorId": "string",
    "analytics.aid": "string",
    "analytics.optOutServerSideForwarding": "boolean",
    "analytics.optOutShare": "boolean",
    "visitor.marketingCloudOrgId": "string",
    "visitor.marketingCloudUserId": "string",
    "visitor.aamLocationHint": "integer",
    "visitor.customerIDs": "customerIDs",
    "appInstallationId": "string",
    # core content (§3.2)
    "media.id": "string",
    "media.name": "string",
    "media.length": "number",
    "media.contentType": "string",
    "media.streamType": "string",
    "media.playerName": "string",
    "media.channel": "string",
    "media.resume": "boolean",
    "media.downloaded": "boolean",
    "media.sdkVersion": "string",
    "media.libraryVersion": "string",
    "media.publisher": "string",
    # standard video metadata (§3.3)
    "media.show": "string",
    "media.season": "string",
    "media.episode": "string",
    "media.assetId": "string",
    "media.genre": "string",
    "media.firstAirDate": "string",
    "media.firstDigitalDate": "string",
    "media.rating": "string",
    "media.originator": "string",
    "media.network": "string",
    "media.showType": "string",
    "media.adLoad": "string",
    "media.pass.mvpd": "string",
    "media.pass.auth": "string",
    "media.dayPart": "string",
    "media.feed": "string",
    "media.streamFormat": "string",
    # standard audio metadata (§3.4)
    "media.artist": "string",
    "media.album": "string",
    "media.label": "string",
    "media.author": "string",
    "media.station": "string",
}

AD_BREAK_PARAMS: Final[dict[str, ParamType]] = {
    "media.ad.podFriendlyName": "string",
    "media.ad.podIndex": "integer",
    "media.ad.podSecond": "number",
}

AD_PARAMS: Final[dict[str, ParamType]] = {
    "media.ad.id": "string",
    "media.ad.name": "string",
    "media.ad.length": "number",
    "media.ad.podPosition": "integer",
    "media.ad.playerName": "string",
    "media.ad.advertiser": "string",
    "media.ad.campaignId": "string",
    "media.ad.creativeId": "string",
    "media.ad.siteId": "string",
    "media.ad.creativeURL": "string",
    "media.ad.placementId": "string",
}

CHAPTER_PARAMS: Final[dict[str, ParamType]] = {
    "media.chapter.index": "integer",
    "media.chapter.offset": "number",
    "media.chapter.length": "number",
    "media.chapter.friendlyName": "string",
}

# The params an event of each type keeps in Event.params (QoE values, error details and state
# names have fields of their own).
EVENT_PARAMS: Final[dict[str, dict[str, ParamType]]] = {
    "sessionStart": SESSION_PARAMS,
    "adBreakStart": AD_BREAK_PARAMS,
    "adStart": AD_PARAMS,
    "chapterStart": CHAPTER_PARAMS,
}

# Required keys that name an account or player configuration rather than the content: mobile
# SDKs omit them when an app has not configured them, so they are accepted missing with a
# diagnostic unless --strict (decisions.md rule 5). The engine names them in that diagnostic.
LENIENT_PARAMS: Final[dict[str, tuple[str, ...]]] = {
    "sessionStart": (
        "analytics.trackingServer",
        "analytics.reportSuite",
        "visitor.marketingCloudOrgId",
        "media.channel",
        "media.playerName",
    ),
    "adStart": ("media.ad.playerName",),
}

# String params that identify one viewer: unlike every other value of sessionStart, adStart and
# chapterStart (an app's configuration, the content's metadata, shared by every viewer of the
# same app or title, and so interned once per process), these are left as they come.
VIEWER_PARAMS: Final[frozenset[str]] = frozenset(
    {
        "analytics.visitorId",
        "analytics.aid",
        "visitor.marketingCloudUserId",
        "appInstallationId",
    }
)

# The five standard player states in the protocol's spelling, keyed by their lower-case form.
STANDARD_STATES: Final[dict[str, str]] = {
    name.lower(): name
    for name in ("fullScreen", "closedCaptioning", "mute", "pictureInPicture", "inFocus")
}

# Limits on what one event may carry (what the database can store and what a session may
# hold), each a 400 naming the field when exceeded. Integers and numbers stay within ±2**53
# (exact in JavaScript and in a 64-bit column, and sums over a session stay finite).
NUMBER_LIMIT: Final[int] = 2**53
MAX_STRING_CHARS: Final[int] = 1024
MAX_METADATA_KEYS: Final[int] = 100
MAX_LIST_ITEMS: Final[int] = 100  # statesStart / statesEnd entries, customerIDs entries

# The params naming a viewer, in the order the viewer key takes them (aggregates: uniqueViewers).
VIEWER_KEY_PARAMS: Final[tuple[str, ...]] = (
    "visitor.marketingCloudUserId",
    "analytics.visitorId",
    "analytics.aid",
)


def viewer_key(params: dict[str, Any]) -> str | None:
    """The viewer a session belongs to: the first non-empty string among
    :data:`VIEWER_KEY_PARAMS` in the sessionStart's ``params``, or ``None`` when it names none
    (such a session counts as a viewer of its own)."""
    for key in VIEWER_KEY_PARAMS:
        value = params.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def dimension_text(value: Any) -> str:
    """A param value as a dimension value: strings as they are, numbers as JSON writes them
    (``60``, ``60.5``), booleans ``true``/``false``, anything else as its JSON text."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    return msgspec.json.encode(value).decode()


def session_dimensions(params: dict[str, Any], custom_metadata: dict[str, str]) -> dict[str, str]:
    """The dimension values a sessionStart gives its session: every ``params`` key as
    :func:`dimension_text` writes it (``media.contentType`` lower-cased, as the protocol takes
    any case) and every custom-metadata key as ``meta.KEY``."""
    dims = {key: dimension_text(value) for key, value in params.items()}
    content_type = dims.get("media.contentType")
    if content_type is not None:
        dims["media.contentType"] = content_type.lower()
    for key, value in custom_metadata.items():
        dims[f"meta.{key}"] = dimension_text(value)
    return dims
