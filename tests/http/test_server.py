"""Request-head limits of the server's HTTP protocol (playhead/http/server.py), through a real
``playhead serve`` on loopback: 414, 431 and 408, each in the error shape, then closed."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import time
from collections.abc import Callable

import pytest

from tests.helpers import ServerProcess

pytestmark = pytest.mark.slow


def exchange(port: int, data: bytes, *, wait: float = 5.0) -> bytes:
    """Send ``data`` on a new connection and read until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        chunks = []
        with contextlib.suppress(ConnectionResetError, TimeoutError):
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    return b"".join(chunks)


def status_and_body(answer: bytes) -> tuple[int, dict[str, object], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body), head.lower()


@pytest.fixture
def server(server_process: Callable[..., ServerProcess]) -> ServerProcess:
    process = server_process("--max-header-bytes", "4096", "--header-timeout", "1")
    process.start()
    return process


def test_a_long_request_target_is_414(server: ServerProcess) -> None:
    answer = exchange(server.port, b"GET /" + b"a" * 3000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    status, body, head = status_and_body(answer)
    assert status == 414
    assert body["errors"] == [{"path": "request-target", "problem": "longer than 2048 bytes"}]
    assert b"access-control-allow-origin: *" in head and b"connection: close" in head


def test_an_unterminated_huge_url_is_cut_short(server: ServerProcess) -> None:
    began = time.monotonic()
    answer = exchange(server.port, b"POST /" + b"a" * 8_000_000)
    assert status_and_body(answer)[0] == 414
    assert time.monotonic() - began < 3


def test_too_many_header_bytes_is_431(server: ServerProcess) -> None:
    headers = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"v" * 100) for i in range(60))
    answer = exchange(server.port, b"GET / HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
    status, body, _ = status_and_body(answer)
    assert status == 431
    assert body["errors"][0]["path"] == "headers"


def test_headers_sent_too_slowly_are_408_and_closed(server: ServerProcess) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n")
        began = time.monotonic()
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        waited = time.monotonic() - began
    assert status_and_body(answer)[0] == 408
    assert 0.8 <= waited < 3


def test_an_idle_connection_is_closed_too(server: ServerProcess) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        began = time.monotonic()
        answer = sock.recv(65536)
        waited = time.monotonic() - began
    assert status_and_body(answer)[0] == 408 and waited < 3


def test_normal_requests_on_a_kept_alive_connection_are_unaffected(server: ServerProcess) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        for _ in range(3):
            conn.request("GET", "/api/v1/schemas/ping")
            response = conn.getresponse()
            assert response.status == 200 and json.loads(response.read())["title"] == "ping"
            time.sleep(0.6)  # under the 1 s head timeout each time, 1.8 s in all
    finally:
        conn.close()
