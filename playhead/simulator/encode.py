"""Encoders: the audience's protocol-neutral events as the requests of one wire protocol.

An :class:`Encoder` is everything the runner needs to know of a protocol: the request that
starts a session, how the answer names the session, the request of every later event, and
which answers mean the session is gone. :class:`CollectionEncoder` speaks the Streaming Media
Collection API (``POST /api/v1/sessions``, then ``POST /api/v1/sessions/{sid}/events``);
:class:`EdgeEncoder` speaks the Media Edge API (``POST /ee/va/v1/{eventName}`` with XDM bodies,
the session id in the start's answer body and in every later body). :data:`ENCODERS` names them
for ``playhead simulate --protocol``.

:func:`generate_session` and :func:`simulate_sessions` are the audience as Collection API
bodies, for load scripts and tests. Pure: no network.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from playhead.client import PlayheadError, Response, parse_location
from playhead.protocols.edge.encode import from_collection

from .audience import DEFAULT_START_TS, ViewerEvent, viewer_session

__all__ = [
    "ENCODERS",
    "CollectionEncoder",
    "EdgeEncoder",
    "Encoder",
    "WireRequest",
    "collection_body",
    "generate_session",
    "simulate_sessions",
]

JSONDict = dict[str, Any]


@dataclass(frozen=True, slots=True)
class WireRequest:
    """One request to send: ``body`` POSTed as JSON to ``path`` (under the URL's prefix)."""

    path: str
    body: Any


class Encoder(Protocol):
    """One wire protocol, as the runner plays sessions over it (one request per event)."""

    #: The protocol's name (what ``--protocol`` will select).
    name: str

    def start(self, event: ViewerEvent) -> WireRequest:
        """The request that opens a session with its first event (the ``sessionStart``)."""
        ...

    def session_id(self, response: Response) -> str | None:
        """The session's id from the answer to :meth:`start`; ``None`` if it did not open."""
        ...

    def event(self, sid: str, event: ViewerEvent) -> WireRequest:
        """The request of one later event of session ``sid``."""
        ...

    def session_gone(self, status: int) -> bool:
        """True when an answer means the session no longer takes events (stop playing it)."""
        ...


def collection_body(event: ViewerEvent) -> JSONDict:
    """The Collection API body of ``event`` (members in the order players send them)."""
    body: JSONDict = {
        "playerTime": {"playhead": event.playhead, "ts": event.ts},
        "eventType": event.event_type,
    }
    if event.params:
        body["params"] = dict(event.params)
    if event.qoe:
        body["qoeData"] = dict(event.qoe)
    if event.custom_metadata:
        body["customMetadata"] = dict(event.custom_metadata)
    return body


class CollectionEncoder:
    """The Streaming Media Collection API (what Playhead's ``/api/v1`` serves)."""

    name = "collection"

    def start(self, event: ViewerEvent) -> WireRequest:
        return WireRequest("/api/v1/sessions", collection_body(event))

    def session_id(self, response: Response) -> str | None:
        location = response.location
        if response.status != 201 or not location:
            return None
        try:
            return parse_location(location)[1]
        except PlayheadError:
            return None

    def event(self, sid: str, event: ViewerEvent) -> WireRequest:
        return WireRequest(f"/api/v1/sessions/{sid}/events", collection_body(event))

    def session_gone(self, status: int) -> bool:
        return status in (404, 410)


class EdgeEncoder:
    """The Media Edge API (what Playhead's ``/ee/va/v1`` serves): one path per event name."""

    name = "edge"

    def start(self, event: ViewerEvent) -> WireRequest:
        name, body = from_collection(collection_body(event))
        return WireRequest(f"/ee/va/v1/{name}", body)

    def session_id(self, response: Response) -> str | None:
        if response.status != 200:
            return None
        try:
            handles = json.loads(response.body)["handle"]
            return next(
                str(h["payload"][0]["sessionId"])
                for h in handles
                if h.get("type") == "media-analytics:new-session"
            )
        except (ValueError, KeyError, IndexError, TypeError, StopIteration):
            return None

    def event(self, sid: str, event: ViewerEvent) -> WireRequest:
        name, body = from_collection(collection_body(event), sid)
        return WireRequest(f"/ee/va/v1/{name}", body)

    def session_gone(self, status: int) -> bool:
        return status in (404, 410)


#: The encoders by the name ``--protocol`` selects.
ENCODERS: dict[str, type[CollectionEncoder] | type[EdgeEncoder]] = {
    CollectionEncoder.name: CollectionEncoder,
    EdgeEncoder.name: EdgeEncoder,
}


def generate_session(seed: int, index: int, start_ts: int = DEFAULT_START_TS) -> list[JSONDict]:
    """Return the Collection API bodies of session ``index`` for ``seed``, from ``start_ts``.

    Pure and deterministic: the same arguments always give the same bodies. ``ts`` values
    strictly increase (by at least 1 ms); the first body is the ``sessionStart``.
    """
    return [collection_body(e) for e in viewer_session(seed, index, start_ts)]


def simulate_sessions(
    seed: int, n: int, start_ts: int = DEFAULT_START_TS, spacing_ms: int = 2_000
) -> list[list[JSONDict]]:
    """Return the Collection API bodies of ``n`` sessions for ``seed`` (deterministic).

    Session ``i`` starts ``i * spacing_ms`` after ``start_ts``. Each list begins with its
    ``sessionStart``; the other bodies go to ``/api/v1/sessions/{sid}/events`` in order.
    """
    return [generate_session(seed, i, start_ts + i * spacing_ms) for i in range(n)]
