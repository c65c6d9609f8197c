"""A fake Media Collection API collector on 127.0.0.1 (stdlib ``http.server``) for client tests.

It records every request, answers like the protocol says (``201`` + relative ``Location``,
``204`` for events, ``404``/``410``), checks the required params of each event type (``400``
with the server's error document otherwise), and can be scripted to fail the next requests.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from playhead.protocol.constants import EVENT_TYPES as _EVENT_TYPES

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
EVENT_TYPES = frozenset(_EVENT_TYPES)
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
    """One request the collector received."""

    method: str
    path: str
    body: Any
    status: int
    sid: str | None
    time: float


@dataclass
class CollectorState:
    """Everything the fake collector knows, shared with the test."""

    prefix: str = ""
    requests: list[Recorded] = field(default_factory=list)
    sessions: dict[str, list[Any]] = field(default_factory=dict)
    closed: set[str] = field(default_factory=set)
    # statuses to answer to the next matching requests instead of handling them
    fail_next: deque[int] = field(default_factory=deque)
    fail_events_only: bool = False
    delay: float = 0.0
    in_flight: dict[str, int] = field(default_factory=dict)
    max_in_flight: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _make_handler(state: CollectorState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: bytes = b"", location: str | None = None) -> None:
            self.send_response(status)
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Access-Control-Expose-Headers", "Location")
            if location:
                self.send_header("Location", location)
            if body:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

        def do_OPTIONS(self) -> None:
            self.send_response(204)
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Access-Control-Allow-Methods", "OPTIONS,POST,PUT")
            self.send_header("Access-Control-Allow-Headers", "Content-Type")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            path = self.path
            try:
                body: Any = json.loads(raw)
            except ValueError:
                body = None
            api = state.prefix + "/api/v1/sessions"
            sid: str | None = None
            if path.startswith(api + "/") and path.endswith("/events"):
                sid = path[len(api) + 1 : -len("/events")]
            with state.lock:
                key = sid or "<start>"
                state.in_flight[key] = state.in_flight.get(key, 0) + 1
                state.max_in_flight[key] = max(
                    state.max_in_flight.get(key, 0), state.in_flight[key]
                )
            try:
                if state.delay:
                    time.sleep(state.delay)
                status, resp, location = self._handle(path, api, sid, body)
                with state.lock:
                    state.requests.append(
                        Recorded("POST", path, body, status, sid, time.monotonic())
                    )
                self._answer(status, resp, location)
            finally:
                with state.lock:
                    state.in_flight[key] -= 1

        def _handle(
            self, path: str, api: str, sid: str | None, body: Any
        ) -> tuple[int, bytes, str | None]:
            with state.lock:
                if state.fail_next and (sid is not None or not state.fail_events_only):
                    return state.fail_next.popleft(), b"", None
            if path != api and sid is None:
                return 404, b'{"message":"not found","errors":[]}', None
            problems = validate(body)
            if not problems and sid is None and body.get("eventType") != "sessionStart":
                problems = ["POST /sessions needs a sessionStart"]
            if not problems and sid is not None and body.get("eventType") == "sessionStart":
                problems = ["sessionStart on the events path"]
            if problems:
                doc = {
                    "message": "invalid",
                    "errors": [{"path": "$", "problem": p} for p in problems],
                }
                return 400, json.dumps(doc).encode(), None
            with state.lock:
                if sid is None:
                    new_sid = secrets.token_hex(32)
                    state.sessions[new_sid] = [body]
                    return 201, b"", f"/api/v1/sessions/{new_sid}"
                if sid not in state.sessions:
                    return 404, b'{"message":"unknown session","errors":[]}', None
                if sid in state.closed:
                    return 410, b'{"message":"session closed","errors":[]}', None
                state.sessions[sid].append(body)
                if body["eventType"] == "sessionEnd":
                    state.closed.add(sid)
                return 204, b"", None

    return Handler


class FakeCollector:
    """Context manager running the fake collector on an ephemeral 127.0.0.1 port.

    ``url`` includes the optional ``prefix``; ``state`` is the shared record.
    """

    def __init__(self, prefix: str = "") -> None:
        self.state = CollectorState(prefix=prefix.rstrip("/"))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self.state))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        assert isinstance(host, str)
        return f"http://{host}:{port}{self.state.prefix}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    # helpers for tests
    def events(self, sid: str) -> list[Any]:
        """Bodies accepted for ``sid`` (its sessionStart first)."""
        with self.state.lock:
            return list(self.state.sessions.get(sid, []))

    def event_types(self, sid: str) -> list[str]:
        """Event types accepted for ``sid``, in arrival order."""
        return [b["eventType"] for b in self.events(sid)]

    def statuses(self) -> list[int]:
        """Statuses answered so far, in order."""
        with self.state.lock:
            return [r.status for r in self.state.requests]

    def close_session(self, sid: str) -> None:
        """Make later events for ``sid`` answer ``410``."""
        with self.state.lock:
            self.state.closed.add(sid)
