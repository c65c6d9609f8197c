"""The Collection API's own tables, beside the shared vocabulary of :mod:`playhead.events`.

Where the wire carries what (QoE keys in ``qoeData`` or ``params``, error details, player-state
names, ``statesUpdate`` lists), which keys each event type requires, and where custom metadata
may ride. Read by the decoder and the JSON Schema generator, so that what is documented and
what is validated cannot drift apart.
"""

from __future__ import annotations

from typing import Final

from playhead.events import EVENT_PARAMS, ParamType

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

# Params each event type may carry on the wire besides the QoE keys (allowed on every event).
WIRE_PARAMS: Final[dict[str, dict[str, ParamType]]] = {
    **EVENT_PARAMS,
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

# Top-level members that may carry customMetadata (decisions.md rule 5).
CUSTOM_METADATA_EVENTS: Final[frozenset[str]] = frozenset(
    {"sessionStart", "adStart", "chapterStart"}
)
CUSTOM_METADATA_KEY_PATTERN: Final[str] = r"^[a-zA-Z0-9_.]+$"
