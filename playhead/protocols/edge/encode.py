"""Collection API bodies → Media Edge API bodies: the mapping tables read backwards.

Used by the simulator (``playhead simulate --protocol edge``) and by the tests that replay one
session through both protocols. Keys with no XDM home (``analytics.*``, the org id: the Edge
API takes them from its datastream) are left out; the viewer's id becomes the ECID of
``xdm.identityMap``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from playhead.protocols.edge.mapping import DETAILS_OF, QOE_DETAILS

# canonical key → (XDM member, XDM field), for every details table
_HOME: Final[dict[str, tuple[str, str]]] = {
    field.key: (member, name)
    for member, fields in DETAILS_OF.values()
    for name, field in fields.items()
}
_QOE: Final[dict[str, str]] = {
    "media.qoe.bitrate": "bitrate",
    "media.qoe.droppedFrames": "droppedFrames",
    "media.qoe.framesPerSecond": "framesPerSecond",
    "media.qoe.timeToStart": "timeToStart",
}
assert set(_QOE.values()) == set(QOE_DETAILS)
_VIEWER: Final = "visitor.marketingCloudUserId"


_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def iso_timestamp(ts_ms: int) -> str:
    """An epoch-ms timestamp as ISO-8601 in UTC with millisecond precision."""
    moment = _EPOCH + dt.timedelta(milliseconds=ts_ms)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def from_collection(body: dict[str, Any], sid: str | None = None) -> tuple[str, dict[str, Any]]:
    """The Edge event name and request body of one Collection API event body.

    ``sid`` is the session the event belongs to (``None`` for a sessionStart, or inside a
    downloaded batch). ``stateStart``/``stateEnd`` become ``statesUpdate``.
    """
    event_type: str = body["eventType"]
    params: dict[str, Any] = dict(body.get("params") or {})
    qoe_in: dict[str, Any] = {
        **{k: v for k, v in params.items() if k in _QOE},
        **(body.get("qoeData") or {}),
    }
    collection: dict[str, Any] = {"playhead": body["playerTime"]["playhead"]}
    if sid is not None:
        collection["sessionID"] = sid
    name = event_type
    identity: dict[str, Any] | None = None
    if event_type in ("stateStart", "stateEnd"):
        name = "statesUpdate"
        member = "statesStart" if event_type == "stateStart" else "statesEnd"
        collection[member] = [{"name": params["media.state.name"]}]
    elif event_type == "statesUpdate":
        for member in ("statesStart", "statesEnd"):
            if params.get(member):
                collection[member] = [{"name": s["media.state.name"]} for s in params[member]]
    elif event_type == "error":
        error_id = qoe_in.get("media.qoe.errorID", params.get("media.errorId"))
        source = qoe_in.get("media.qoe.errorSource", params.get("media.errorSource")) or "player"
        collection["errorDetails"] = {"name": error_id or "unknown", "source": source}
    detail = DETAILS_OF.get(event_type)
    if detail is not None:
        member = detail[0]
        values: dict[str, Any] = {}
        for key, value in params.items():
            home = _HOME.get(key)
            if home is not None and home[0] == member and value is not None:
                values[home[1]] = value
        collection[member] = values
        if event_type == "sessionStart" and params.get(_VIEWER):
            identity = {"ECID": [{"id": params[_VIEWER]}]}
    qoe = {_QOE[k]: v for k, v in qoe_in.items() if k in _QOE and v is not None}
    if qoe or event_type == "bitrateChange":
        collection["qoeDataDetails"] = qoe
    metadata = body.get("customMetadata")
    if metadata:
        collection["customMetadata"] = [{"name": k, "value": v} for k, v in metadata.items()]
    xdm: dict[str, Any] = {
        "eventType": f"media.{name}",
        "timestamp": iso_timestamp(body["playerTime"]["ts"]),
        "mediaCollection": collection,
    }
    if identity is not None:
        xdm["identityMap"] = identity
    return name, {"events": [{"xdm": xdm}]}


def downloaded_from_collection(bodies: list[dict[str, Any]]) -> dict[str, Any]:
    """The Edge ``downloaded`` body of a whole session given as Collection API bodies."""
    items = []
    identity = None
    for body in bodies:
        _, edge = from_collection(body)
        xdm = edge["events"][0]["xdm"]
        identity = identity or xdm.get("identityMap")
        items.append(
            {
                "mediaEventType": xdm["eventType"],
                "mediaEventTimestamp": xdm["timestamp"],
                "mediaCollection": xdm["mediaCollection"],
            }
        )
    xdm_out: dict[str, Any] = {
        "eventType": "media.downloaded",
        "timestamp": items[0]["mediaEventTimestamp"],
        "mediaCollection": {"mediaDownloadedEvents": items},
    }
    if identity:
        xdm_out["identityMap"] = identity
    return {"events": [{"xdm": xdm_out}]}
