"""How the Media Edge API's XDM ``mediaCollection`` fields map onto the canonical media
vocabulary (the Collection API's ``media.*`` keys), one table per XDM object.

Each table maps an XDM field to ``(canonical key, JSON type, required)``. The decoder, the JSON
Schemas and the simulator's Edge encoder all read these tables, so what is documented, what is
accepted and what is sent cannot drift apart. ``required`` marks what the Edge API requires; the
keys that name a player configuration rather than the content (``playerName``, ``channel``)
are accepted missing unless ``--strict``, as on the Collection API.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from playhead.events import LENIENT_PARAMS, ParamType


class Field(NamedTuple):
    """One XDM field: the canonical key it maps to, its JSON type, whether Edge requires it."""

    key: str
    kind: ParamType
    required: bool = False


# mediaCollection.sessionDetails (sessionStart): the session's content and player.
SESSION_DETAILS: Final[dict[str, Field]] = {
    "name": Field("media.id", "string", True),
    "friendlyName": Field("media.name", "string"),
    "length": Field("media.length", "number", True),
    "contentType": Field("media.contentType", "string", True),
    "streamType": Field("media.streamType", "string"),
    "playerName": Field("media.playerName", "string", True),
    "channel": Field("media.channel", "string", True),
    "appVersion": Field("media.sdkVersion", "string"),
    "hasResume": Field("media.resume", "boolean"),
    "isDownloaded": Field("media.downloaded", "boolean"),
    "assetID": Field("media.assetId", "string"),
    "mvpd": Field("media.pass.mvpd", "string"),
    "authorized": Field("media.pass.auth", "string"),
    **{
        name: Field(f"media.{name}", "string")
        for name in (
            "show", "season", "episode", "genre", "firstAirDate", "firstDigitalDate", "rating",
            "originator", "network", "showType", "adLoad", "dayPart", "feed", "streamFormat",
            "artist", "album", "label", "author", "station", "publisher",
        )
    },
}  # fmt: skip

# mediaCollection.advertisingPodDetails (adBreakStart)
POD_DETAILS: Final[dict[str, Field]] = {
    "friendlyName": Field("media.ad.podFriendlyName", "string"),
    "index": Field("media.ad.podIndex", "integer", True),
    "offset": Field("media.ad.podSecond", "number", True),
}

# mediaCollection.advertisingDetails (adStart)
AD_DETAILS: Final[dict[str, Field]] = {
    "name": Field("media.ad.id", "string", True),
    "friendlyName": Field("media.ad.name", "string"),
    "length": Field("media.ad.length", "number", True),
    "podPosition": Field("media.ad.podPosition", "integer", True),
    "playerName": Field("media.ad.playerName", "string", True),
    "advertiser": Field("media.ad.advertiser", "string"),
    "campaignID": Field("media.ad.campaignId", "string"),
    "creativeID": Field("media.ad.creativeId", "string"),
    "siteID": Field("media.ad.siteId", "string"),
    "creativeURL": Field("media.ad.creativeURL", "string"),
    "placementID": Field("media.ad.placementId", "string"),
}

# mediaCollection.chapterDetails (chapterStart)
CHAPTER_DETAILS: Final[dict[str, Field]] = {
    "index": Field("media.chapter.index", "integer", True),
    "offset": Field("media.chapter.offset", "number", True),
    "length": Field("media.chapter.length", "number", True),
    "friendlyName": Field("media.chapter.friendlyName", "string"),
}

# mediaCollection.qoeDataDetails (any event): onto the canonical Qoe fields
QOE_DETAILS: Final[dict[str, str]] = {
    "bitrate": "bitrate",
    "droppedFrames": "dropped_frames",
    "framesPerSecond": "fps",
    "timeToStart": "time_to_start",
}

# The details object each event carries (besides qoeDataDetails, allowed on every event).
DETAILS_OF: Final[dict[str, tuple[str, dict[str, Field]]]] = {
    "sessionStart": ("sessionDetails", SESSION_DETAILS),
    "adBreakStart": ("advertisingPodDetails", POD_DETAILS),
    "adStart": ("advertisingDetails", AD_DETAILS),
    "chapterStart": ("chapterDetails", CHAPTER_DETAILS),
}

# The event names of the Edge API's paths (``/ee/va/v1/{eventName}``); ``downloaded`` carries
# a whole session. There is no stateStart/stateEnd: statesUpdate is the state mechanism.
EVENT_NAMES: Final[tuple[str, ...]] = (
    "sessionStart", "sessionComplete", "sessionEnd", "play", "ping", "adBreakStart",
    "adBreakComplete", "adStart", "adComplete", "adSkip", "bitrateChange", "bufferStart",
    "chapterStart", "chapterComplete", "chapterSkip", "error", "pauseStart", "statesUpdate",
)  # fmt: skip
DOWNLOADED: Final = "downloaded"
# Events that may carry customMetadata (an array of {name, value}).
METADATA_EVENTS: Final = frozenset({"sessionStart", "adStart", "chapterStart"})


def lenient(fields: dict[str, Field], event_name: str) -> frozenset[str]:
    """The XDM fields of ``fields`` accepted missing unless strict (the configuration keys)."""
    keys = set(LENIENT_PARAMS.get(event_name, ()))
    return frozenset(name for name, field in fields.items() if field.key in keys)
