"""An in-memory Media Collection API collector for client and simulator tests (no HTTP server).

:class:`FakeCollector` answers through :class:`playhead.client.MockTransport` like the protocol
says (``201`` + relative ``Location``, ``204`` for events, ``404``/``410``), checks the required
params of each event type (``400`` with the server's error document otherwise), records every
request, and can be scripted: fail the next requests with a status or a network error, hold
answers until the test lets them go. Thread-safe (the simulator calls it from many threads).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from playhead.client import MockTransport, Response

#: The protocol's event types (a copy of the spec's list: the fake does not read the server's).
EVENT_TYPES = frozenset(
    {
        "sessionStart", "sessionComplete", "sessionEnd", "play", "ping", "pauseStart",
        "bufferStart", "bitrateChange", "error", "adBreakStart", "adBreakComplete", "adStart",
        "adComplete", "adSkip", "chapterStart", "chapterComplete", "chapterSkip", "stateStart",
        "stateEnd", "statesUpdate",
    }
)  # fmt: skip
REQUIRED_PARAMS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "sessionStart": {
        "analytics.trackingServer": str,
        "analytics.reportSuite": str,
        "visitor.marketingCloudOrgId": str,
        "media.id": str,
        "media.length": (int, float),
        "media.contentType": str,
        "media.playerName": str,
        "media.channel": str,
    },
    "adBreakStart": {"media.ad.podIndex": int, "media.ad.podSecond": (int, float)},
    "adStart": {
        "media.ad.id": str,
        "media.ad.length": (int, float),
        "media.ad.podPosition": int,
        "media.ad.playerName": str,
    },
    "chapterStart": {
        "media.chapter.index": int,
        "media.chapter.offset": (int, float),
        "media.chapter.length": (int, float),
    },
    "stateStart": {"media.state.name": str},
    "stateEnd": {"media.state.name": str},
}
CUSTOM_METADATA_EVENTS = frozenset({"sessionStart", "adStart", "chapterStart"})


def validate(body: Any) -> list[str]:
    """Return the problems of one event body (empty when valid)."""
    if not isinstance(body, dict):
        return ["body is not an object"]
    problems: list[str] = []
    extra = set(body) - {"playerTime", "eventType", "params", "qoeData", "customMetadata"}
    if extra:
        problems.append(f"unknown members {sorted(extra)}")
    event_type = body.get("eventType")
    if event_type not in EVENT_TYPES:
        return [*problems, f"unknown eventType {event_type!r}"]
    pt = body.get("playerTime")
    if (
        not isinstance(pt, dict)
        or set(pt) != {"playhead", "ts"}
        or not isinstance(pt["ts"], int)
        or not isinstance(pt["playhead"], (int, float))
    ):
        problems.append(f"bad playerTime {pt!r}")
    params = body.get("params", {})
    if not isinstance(params, dict):
        problems.append("params is not an object")
        params = {}
    for key, kind in REQUIRED_PARAMS.get(event_type, {}).items():
        value = params.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            problems.append(f"params[{key!r}] missing or of the wrong type: {value!r}")
    if "customMetadata" in body:
        cm = body["customMetadata"]
        if event_type not in CUSTOM_METADATA_EVENTS:
            problems.append(f"customMetadata not allowed on {event_type}")
        elif not isinstance(cm, dict) or not all(isinstance(v, str) for v in cm.values()):
            problems.append("customMetadata values must be strings")
    qoe = body.get("qoeData", {})
    if not isinstance(qoe, dict):
        problems.append("qoeData is not an object")
    if event_type == "sessionStart" and "params" not in body:
        problems.append("sessionStart without params")
    return problems


@dataclass
class Recorded:
    """One request the collector received (``status`` is ``None`` for a played network error)."""

    method: str
    path: str
    body: Any
    headers: dict[str, str]
    status: int | None
    sid: str | None
    time: float


@dataclass
class CollectorState:
    """Everything the fake collector knows, shared with the test."""

    prefix: str = ""
    requests: list[Recorded] = field(default_factory=list)
    sessions: dict[str, list[Any]] = field(default_factory=dict)
    closed: set[str] = field(default_factory=set)
    # what to answer to the next matching requests instead of handling them: a status, or an
    # exception to raise (a network error)
    fail_next: deque[int | BaseException] = field(default_factory=deque)
    fail_events_only: bool = False
    # cleared: every request waits until the test sets it again
    gate: threading.Event = field(default_factory=threading.Event)
    in_flight: dict[str, int] = field(default_factory=dict)
    max_in_flight: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.gate.set()


class FakeCollector:
    """The collector at ``url`` (which includes the optional ``prefix``), in memory.

    Give :attr:`transport` to the client (``Tracker(fc.url, transport=fc.transport)``); the
    host in :attr:`url` is never resolved.
    """

    def __init__(self, prefix: str = "", origin: str = "http://127.0.0.1:8000") -> None:
        self.state = CollectorState(prefix=prefix.rstrip("/"))
        self.url = origin + self.state.prefix
        self.transport = MockTransport(self.handle)

    def handle(self, method: str, path: str, raw: bytes, headers: Mapping[str, str]) -> Response:
        """The :class:`MockTransport` handler."""
        state = self.state
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = None
        api = state.prefix + "/api/v1/sessions"
        sid: str | None = None
        if path.startswith(api + "/") and path.endswith("/events"):
            sid = path[len(api) + 1 : -len("/events")]
        key = sid or "<start>"
        with state.lock:
            state.in_flight[key] = state.in_flight.get(key, 0) + 1
            state.max_in_flight[key] = max(state.max_in_flight.get(key, 0), state.in_flight[key])
        try:
            state.gate.wait(30)
            with state.lock:
                scripted = None
                if state.fail_next and (sid is not None or not state.fail_events_only):
                    scripted = state.fail_next.popleft()
            if isinstance(scripted, BaseException):
                self._record(method, path, body, headers, None, sid)
                raise scripted
            if scripted is not None:
                response = Response(scripted)
            else:
                response = self._answer(method, path, api, sid, body)
            self._record(method, path, body, headers, response.status, sid)
            return response
        finally:
            with state.lock:
                state.in_flight[key] -= 1

    def _record(
        self,
        method: str,
        path: str,
        body: Any,
        headers: Mapping[str, str],
        status: int | None,
        sid: str | None,
    ) -> None:
        with self.state.lock:
            self.state.requests.append(
                Recorded(method, path, body, dict(headers), status, sid, time.monotonic())
            )

    def _answer(self, method: str, path: str, api: str, sid: str | None, body: Any) -> Response:
        state = self.state
        if method != "POST" or (path != api and sid is None):
            return _json(404, {"message": "not found", "errors": []})
        problems = validate(body)
        if not problems and sid is None and body.get("eventType") != "sessionStart":
            problems = ["POST /sessions needs a sessionStart"]
        if not problems and sid is not None and body.get("eventType") == "sessionStart":
            problems = ["sessionStart on the events path"]
        if problems:
            errors = [{"path": "$", "problem": p} for p in problems]
            return _json(400, {"message": "invalid", "errors": errors})
        with state.lock:
            if sid is None:
                new_sid = secrets.token_hex(32)
                state.sessions[new_sid] = [body]
                return Response(201, {"Location": f"/api/v1/sessions/{new_sid}"})
            if sid not in state.sessions:
                return _json(404, {"message": "unknown session", "errors": []})
            if sid in state.closed:
                return _json(410, {"message": "session closed", "errors": []})
            state.sessions[sid].append(body)
            if body["eventType"] == "sessionEnd":
                state.closed.add(sid)
            return Response(204)

    # helpers for tests
    def events(self, sid: str) -> list[Any]:
        """Bodies accepted for ``sid`` (its sessionStart first)."""
        with self.state.lock:
            return list(self.state.sessions.get(sid, []))

    def event_types(self, sid: str) -> list[str]:
        """Event types accepted for ``sid``, in arrival order."""
        return [b["eventType"] for b in self.events(sid)]

    def statuses(self) -> list[int | None]:
        """Statuses answered so far, in order (``None`` for a played network error)."""
        with self.state.lock:
            return [r.status for r in self.state.requests]

    def close_session(self, sid: str) -> None:
        """Make later events for ``sid`` answer ``410``."""
        with self.state.lock:
            self.state.closed.add(sid)


def _json(status: int, document: Any) -> Response:
    return Response(status, {"Content-Type": "application/json"}, json.dumps(document).encode())
