"""The client's transports: Transport's retries over a MockTransport, and HTTPTransport's
keep-alive connection against a raw socket server."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

import playhead.client
from playhead.client import (
    RETRY_STATUSES,
    BaseTransport,
    HTTPTransport,
    MockTransport,
    PlayheadError,
    Response,
    ResponseError,
    Transport,
    TransportError,
)
from tests.client.realserver import free_port

SID = "ab" * 32


class Script:
    """A MockTransport handler answering from a list (a status, a Response or an exception)."""

    def __init__(self, *answers: int | Response | BaseException) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, str, bytes, dict[str, str]]] = []

    def __call__(self, method: str, path: str, body: bytes, headers: Mapping[str, str]) -> Response:
        self.calls.append((method, path, body, dict(headers)))
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer if isinstance(answer, Response) else Response(answer)


def _transport(script: Script, **options: Any) -> tuple[Transport, list[float]]:
    sleeps: list[float] = []
    options.setdefault("sleep", sleeps.append)
    t = Transport("http://c.test/va", transport=MockTransport(script), **options)
    return t, sleeps


def test_public_names() -> None:
    assert set(playhead.client.__all__) == {
        "RETRY_STATUSES", "BaseTransport", "Clock", "HTTPTransport", "MockTransport",
        "PlayheadError", "Response", "ResponseError", "Session", "Tracker", "Transport",
        "TransportError", "parse_endpoint", "parse_location",
    }  # fmt: skip
    for name in playhead.client.__all__:
        assert getattr(playhead.client, name) is not None


@pytest.mark.parametrize("status", sorted(RETRY_STATUSES))
def test_retryable_statuses_are_retried(status: int) -> None:
    script = Script(status, status, 204)
    t, sleeps = _transport(script, backoff=0.1)
    response = t.post("/x", {"a": 1})
    assert (response.status, response.attempts) == (204, 3)
    assert len(sleeps) == 2
    assert [c[2] for c in script.calls] == [b'{"a":1}'] * 3


@pytest.mark.parametrize("status", [200, 201, 204, 400, 404, 410, 413])
def test_other_statuses_are_final(status: int) -> None:
    t, sleeps = _transport(Script(Response(status, {"X": "y"}, b"body")))
    response = t.post("/x", {})
    assert response == Response(status, {"X": "y"}, b"body", 1)
    assert sleeps == []


def test_retries_used_up_on_a_status_return_the_last_answer() -> None:
    t, sleeps = _transport(Script(*[503] * 4), max_retries=3)
    response = t.post("/x", {})
    assert (response.status, response.attempts) == (503, 4)
    assert len(sleeps) == 3


def test_retry_statuses_can_be_narrowed() -> None:
    t, _ = _transport(Script(500, 503, 204), retry_statuses={503})
    assert t.post("/x", {}).status == 500
    assert t.post("/x", {}).status == 204


def test_network_errors_retried_then_transport_error() -> None:
    errors = [ConnectionResetError(), http.client.BadStatusLine("x"), TimeoutError()]
    t, sleeps = _transport(Script(*errors), max_retries=2)
    with pytest.raises(TransportError, match="POST /x failed after 3 attempts") as info:
        t.post("/x", {})
    assert isinstance(info.value.__cause__, TimeoutError)
    assert len(sleeps) == 2


def test_network_error_then_success() -> None:
    t, _ = _transport(Script(ConnectionRefusedError(), 201))
    assert t.post("/x", {}).attempts == 2


def test_backoff_doubles_with_jitter_up_to_the_bound() -> None:
    t, sleeps = _transport(Script(*[503] * 5), max_retries=4, backoff=0.1, max_backoff=0.25)
    t.post("/x", {})
    bounds = [(0.05, 0.1), (0.1, 0.2), (0.125, 0.25), (0.125, 0.25)]
    assert len(sleeps) == 4
    assert all(lo <= s <= hi for s, (lo, hi) in zip(sleeps, bounds, strict=True)), sleeps


def test_an_exception_from_sleep_stops_the_retries() -> None:
    class Stop(Exception):
        pass

    def sleep(seconds: float) -> None:
        raise Stop

    script = Script(503, 204)
    t, _ = _transport(script, sleep=sleep)
    with pytest.raises(Stop):
        t.post("/x", {})
    assert len(script.calls) == 1


def test_other_exceptions_from_the_transport_propagate_at_once() -> None:
    script = Script(RuntimeError("bug"), 204)
    t, _ = _transport(script)
    with pytest.raises(RuntimeError, match="bug"):
        t.post("/x", {})
    assert len(script.calls) == 1


def test_body_is_compact_json_and_refuses_nan() -> None:
    script = Script(204)
    t, _ = _transport(script)
    t.post("/x", {"s": "é", "n": [1.5, None]})
    method, path, body, headers = script.calls[0]
    assert (method, path) == ("POST", "/x")
    assert body == b'{"s":"\\u00e9","n":[1.5,null]}'
    assert headers == {"Content-Type": "application/json", "Accept": "application/json"}
    with pytest.raises(ValueError):
        t.post("/x", {"n": float("nan")})


def test_protocol_calls_and_paths_under_the_prefix() -> None:
    script = Script(Response(201, {"LOCATION": f"/api/v1/sessions/{SID}"}), 204)
    t, _ = _transport(script)
    assert t.start_session({"eventType": "sessionStart"}) == ("v1", SID)
    assert t.send_event(SID, {"eventType": "play"}).status == 204
    assert [c[1] for c in script.calls] == [
        "/va/api/v1/sessions",
        f"/va/api/v1/sessions/{SID}/events",
    ]


def test_start_session_errors() -> None:
    doc = {"message": "invalid", "errors": [{"path": "$", "problem": "x"}]}
    t, _ = _transport(Script(Response(400, {}, json.dumps(doc).encode()), 201, 204))
    with pytest.raises(ResponseError) as info:
        t.start_session({})
    assert info.value.status == 400 and info.value.json() == doc
    with pytest.raises(PlayheadError, match="without a Location"):
        t.start_session({})
    with pytest.raises(ResponseError, match="HTTP 204"):
        t.start_session({})


def test_mock_transport_refuses_a_handler_that_returns_no_response() -> None:
    t, _ = _transport(Script())
    t.transport = MockTransport(lambda *_: 204)  # type: ignore[arg-type, return-value]
    with pytest.raises(TypeError, match="not a Response"):
        t.post("/x", {})


def test_base_transport_is_abstract_and_close_is_optional() -> None:
    with pytest.raises(NotImplementedError):
        BaseTransport().request("POST", "/", b"", {})
    BaseTransport().close()


def test_response_location_ignores_case() -> None:
    assert Response(201, {"location": "/l"}).location == "/l"
    assert Response(204).location is None


# ---------------------------------------------------------------------------- HTTPTransport
@dataclass
class RawServer:
    """A loopback HTTP/1.1 server from raw sockets: answers each request from ``answers``."""

    answers: list[bytes]
    connections: int = 0
    requests: list[tuple[int, bytes, bytes]] = field(default_factory=list)
    port: int = 0


CLOSE = b""  # an answer that hangs up without a byte


@pytest.fixture
def raw_server() -> Iterator[RawServer]:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    server = RawServer(answers=[], port=listener.getsockname()[1])
    stop = threading.Event()

    def serve(conn: socket.socket, number: int) -> None:
        with conn:
            buffer = b""
            while not stop.is_set():
                while b"\r\n\r\n" not in buffer:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(buffer) < length:
                    buffer += conn.recv(65536)
                body, buffer = buffer[:length], buffer[length:]
                server.requests.append((number, head, body))
                answer = server.answers.pop(0)
                if answer == CLOSE:
                    return
                conn.sendall(answer)
                if b"Connection: close" in answer:
                    return

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            server.connections += 1
            threading.Thread(target=serve, args=(conn, server.connections), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server
    stop.set()
    thread.join(5)
    listener.close()


NO_CONTENT = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"
CREATED = (
    b"HTTP/1.1 201 Created\r\nLocation: /api/v1/sessions/" + SID.encode() + b"\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def test_http_transport_keeps_one_connection_alive(raw_server: RawServer) -> None:
    raw_server.answers = [CREATED, NO_CONTENT, NO_CONTENT]
    t = HTTPTransport(f"http://127.0.0.1:{raw_server.port}/ignored", timeout=5)
    first = t.request("POST", "/api/v1/sessions", b'{"a":1}', {"Content-Type": "application/json"})
    assert first.status == 201 and first.location == f"/api/v1/sessions/{SID}"
    assert t.request("POST", "/e", b"{}", {}).status == 204
    assert t.request("POST", "/e", b"{}", {}).status == 204
    t.close()
    assert raw_server.connections == 1
    assert [n for n, _, _ in raw_server.requests] == [1, 1, 1]
    _, head, body = raw_server.requests[0]
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /api/v1/sessions HTTP/1.1"
    assert b"Content-Type: application/json" in lines and b"Content-Length: 7" in lines
    assert body == b'{"a":1}'


def test_http_transport_reopens_after_connection_close(raw_server: RawServer) -> None:
    closing = b"HTTP/1.1 204 No Content\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    raw_server.answers = [closing, NO_CONTENT]
    t = HTTPTransport(f"http://127.0.0.1:{raw_server.port}")
    assert t.request("POST", "/e", b"{}", {}).status == 204
    assert t.request("POST", "/e", b"{}", {}).status == 204
    t.close()
    assert [n for n, _, _ in raw_server.requests] == [1, 2]


def test_a_hang_up_is_a_network_error_then_a_new_connection(raw_server: RawServer) -> None:
    raw_server.answers = [CLOSE, NO_CONTENT]
    t = HTTPTransport(f"http://127.0.0.1:{raw_server.port}")
    with pytest.raises(http.client.RemoteDisconnected):
        t.request("POST", "/e", b"{}", {})
    assert t.request("POST", "/e", b"{}", {}).status == 204
    t.close()
    assert raw_server.connections == 2


def test_transport_retries_a_hang_up_over_http(raw_server: RawServer) -> None:
    raw_server.answers = [CLOSE, CREATED]
    t = Transport(f"http://127.0.0.1:{raw_server.port}", backoff=0.0)
    assert t.start_session({"eventType": "sessionStart"}) == ("v1", SID)
    t.close()


def test_network_error_retried_then_transport_error() -> None:
    # a port nobody listens on: every attempt fails at the network level
    t = Transport(f"http://127.0.0.1:{free_port()}", max_retries=2, backoff=0.0, timeout=1)
    with pytest.raises(TransportError) as info:
        t.post("/api/v1/sessions", {})
    assert isinstance(info.value.__cause__, ConnectionRefusedError)


def test_transport_network_error_retry_counts_sleeps() -> None:
    sleeps: list[float] = []
    port = free_port()
    t = Transport(f"http://127.0.0.1:{port}", max_retries=3, backoff=0.1, sleep=sleeps.append)
    with pytest.raises(TransportError):
        t.post("/x", {})
    assert len(sleeps) == 3
    assert sleeps[0] <= 0.1 < sleeps[2] <= 0.4  # exponential: 0.05-0.1, 0.1-0.2, 0.2-0.4


def test_endpoint_must_be_http() -> None:
    with pytest.raises(ValueError, match="http"):
        HTTPTransport("ftp://127.0.0.1")
    with pytest.raises(ValueError, match="http"):
        Transport("127.0.0.1:8000")
    assert HTTPTransport("https://h.example").port == 443
