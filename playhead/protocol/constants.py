"""Protocol constants: event types, standard parameter keys with their JSON types, state names.

One table per concept, read by the decoder, the JSON Schema generator and the engine, so that
what is documented, what is validated and what is computed cannot drift apart.
"""

from __future__ import annotations

from typing import Final, Literal

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

STATE_PARAMS: Final[dict[str, ParamType]] = {"media.state.name": "string"}

# QoE keys: in qoeData (their documented home) or in params (current variable pages).
QOE_PARAMS: Final[dict[str, ParamType]] = {
    "media.qoe.bitrate": "integer",
    "media.qoe.droppedFrames": "integer",
    "media.qoe.framesPerSecond": "integer",
    "media.qoe.timeToStart": "integer",
    "media.qoe.errorID": "string",
    "media.qoe.errorSource": "string",
    # listed in the 2018 table only: accepted and ignored (decisions.md rule 5)
    "media.qoe.bitrateChange": "integer",
}

# Error details as the Error event page shows them, in params.
ERROR_PARAMS: Final[dict[str, ParamType]] = {
    "media.errorId": "string",
    "media.errorSource": "string",
}

STATES_UPDATE_KEYS: Final[tuple[str, str]] = ("statesStart", "statesEnd")

# Params each event type may carry besides the QoE keys (allowed on every event).
EVENT_PARAMS: Final[dict[str, dict[str, ParamType]]] = {
    "sessionStart": SESSION_PARAMS,
    "adBreakStart": AD_BREAK_PARAMS,
    "adStart": AD_PARAMS,
    "chapterStart": CHAPTER_PARAMS,
    "stateStart": STATE_PARAMS,
    "stateEnd": STATE_PARAMS,
    "error": ERROR_PARAMS,
}

# Keys the protocol requires, per event type.
REQUIRED_PARAMS: Final[dict[str, tuple[str, ...]]] = {
    "sessionStart": (
        "analytics.trackingServer",
        "analytics.reportSuite",
        "visitor.marketingCloudOrgId",
        "media.id",
        "media.length",
        "media.contentType",
        "media.playerName",
        "media.channel",
    ),
    "adBreakStart": ("media.ad.podIndex", "media.ad.podSecond"),
    "adStart": ("media.ad.id", "media.ad.length", "media.ad.podPosition", "media.ad.playerName"),
    "chapterStart": ("media.chapter.index", "media.chapter.offset", "media.chapter.length"),
    "stateStart": ("media.state.name",),
    "stateEnd": ("media.state.name",),
}

# Required keys that name an account or player configuration rather than the content: mobile
# SDKs omit them when an app has not configured them, so they are accepted missing with a
# diagnostic unless --strict (decisions.md rule 5).
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

# Top-level members that may carry customMetadata (decisions.md rule 5).
CUSTOM_METADATA_EVENTS: Final[frozenset[str]] = frozenset(
    {"sessionStart", "adStart", "chapterStart"}
)
CUSTOM_METADATA_KEY_PATTERN: Final[str] = r"^[a-zA-Z0-9_.]+$"

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
