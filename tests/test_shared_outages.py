"""Overload is explicit on the shared deployment: with PostgreSQL or Redis down, ingest answers
503 with Retry-After (never 500, never a wrong 404), and recovers by itself once the backend
is back, without a restart. A real ``playhead serve`` reaches both through TCP proxies that the
test cuts and restores."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest

from tests.helpers import TS0, ServerProcess, ev, start_body
from tests.helpers.shared import (
    REDIS_HOST,
    REDIS_PORT,
    PgSchema,
    fresh_redis,
    needs_redis_and_postgres,
    redis_client,
)
from tests.test_two_nodes import request

pytestmark = [
    pytest.mark.slow,
    needs_redis_and_postgres(),
]


class Proxy:
    """A TCP proxy on 127.0.0.1 that can be cut (every connection closed, new ones refused
    at once) and restored."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.closed = False
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.up = False
        with self.lock:
            conns, self.conns = self.conns, []
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.closed = True
        self.cut()
        self.listener.close()


@pytest.fixture
def node(tmp_path: Path) -> Iterator[tuple[ServerProcess, Proxy, Proxy]]:
    redis_url = fresh_redis(15)
    pg = PgSchema()
    pg_proxy = Proxy("127.0.0.1", 5432)
    redis_proxy = Proxy(REDIS_HOST, REDIS_PORT)
    db = pg.url.replace("127.0.0.1:5432", f"127.0.0.1:{pg_proxy.port}")
    state = f"redis://127.0.0.1:{redis_proxy.port}/15"
    server = ServerProcess(
        cast(Path, db), "--state", state, "--storage-timeout", "1", log_dir=tmp_path
    )
    try:
        server.start(timeout=30)
        yield server, pg_proxy, redis_proxy
    finally:
        server.stop()
        pg_proxy.close()
        redis_proxy.close()
        pg.drop()
        redis_client(redis_url).flushdb()


def _until_204(url: str, location: str, ts: int, within: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < within:
        status, _ = request(url, "POST", location + "/events", ev("ping", ts, 1))
        assert status in (204, 503), status
        if status == 204:
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError("never recovered")


@pytest.mark.parametrize("backend", ["postgres", "redis"])
def test_a_backend_down_is_503_with_retry_after_then_recovers(
    node: tuple[ServerProcess, Proxy, Proxy], backend: str
) -> None:
    server, pg_proxy, redis_proxy = node
    status, location = request(server.url, "POST", "/api/v1/sessions", start_body())
    assert status == 201
    assert request(server.url, "POST", location + "/events", ev("play", TS0 + 1000, 0))[0] == 204
    proxy = pg_proxy if backend == "postgres" else redis_proxy
    proxy.cut()
    statuses = []
    for i in range(3):
        status, retry_after = request(
            server.url, "POST", location + "/events", ev("ping", TS0 + 2000 + i, 1)
        )
        statuses.append((status, retry_after))
    assert statuses == [(503, "1")] * 3
    status, retry_after = request(server.url, "POST", "/api/v1/sessions", start_body())
    assert (status, retry_after) == (503, "1")
    proxy.restore()
    assert _until_204(server.url, location, TS0 + 10_000, within=20) < 20
    report = request(server.url, "GET", "/reports/sessions/" + location.rsplit("/", 1)[1])
    assert report[0] == 200
