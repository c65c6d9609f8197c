"""Shared fixtures: app factories, body builders, a fake clock, real server processes."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from playhead.app import Services, create_app
from playhead.collector import sweeper
from playhead.config import load_settings
from playhead.state import LiveSession

ROOT = Path(__file__).resolve().parents[1]
SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios" / "data"
TS0 = 1_750_000_000_000

START_PARAMS: dict[str, Any] = {
    "analytics.trackingServer": "t.example.com",
    "analytics.reportSuite": "rs",
    "visitor.marketingCloudOrgId": "ORG@AdobeOrg",
    "media.id": "test-1",
    "media.length": 120,
    "media.contentType": "VOD",
    "media.playerName": "test-player",
    "media.channel": "test",
}


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No PLAYHEAD_* variable of the developer's shell leaks into a test."""
    for key in list(os.environ):
        if key.startswith("PLAYHEAD_"):
            monkeypatch.delenv(key)


def ev(event_type: str, ts: int, playhead: float = 0, **members: Any) -> dict[str, Any]:
    """One wire event body."""
    body: dict[str, Any] = {"playerTime": {"playhead": playhead, "ts": ts}, "eventType": event_type}
    body.update(members)
    return body


def start_body(ts: int = TS0, **params: Any) -> dict[str, Any]:
    """A valid sessionStart body; keyword arguments override or add params (None removes)."""
    merged = {**START_PARAMS, **params}
    return ev("sessionStart", ts, 0, params={k: v for k, v in merged.items() if v is not None})


class FakeClock:
    """A server clock tests move by hand (epoch ms)."""

    def __init__(self, now: int = 1_800_000_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += int(seconds * 1000)


@pytest.fixture
def clock() -> FakeClock:
    """A fake server clock."""
    return FakeClock()


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    """Factory: a TestClient (lifespan running) over a fresh app; settings as keyword arguments."""
    stack = contextlib.ExitStack()

    def factory(clock: Callable[[], int] | None = None, **settings: Any) -> TestClient:
        settings.setdefault("db", str(tmp_path / "playhead.db"))
        app = create_app(load_settings(settings), **({"clock": clock} if clock else {}))
        return stack.enter_context(TestClient(app, raise_server_exceptions=True))

    with stack:
        yield factory


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    """A TestClient over an app with default settings and a fresh database."""
    return make_client()


def services(client: TestClient) -> Services:
    """The services behind a TestClient's app (storage, live state, collector, reports)."""
    found: Services = client.app.fallback.state.services  # type: ignore[attr-defined]
    return found


def sweep(client: TestClient) -> int:
    """Run one sweep of the app's sessions now; returns how many it closed."""
    closed: int = client.portal.call(sweeper.sweep, services(client).collector)
    return closed


def held(client: TestClient, sid: str) -> LiveSession | None:
    """The live session the app holds for ``sid``, if any."""
    live: LiveSession | None = client.portal.call(services(client).state.load, sid)
    return live


def open_session(client: TestClient, prefix: str = "", **params: Any) -> str:
    """Start a session through the API and return its sid."""
    response = client.post(f"{prefix}/api/v1/sessions", json=start_body(**params))
    assert response.status_code == 201, response.text
    return response.headers["location"].rsplit("/", 1)[1]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    """A real ``playhead serve`` process on 127.0.0.1 (always stopped by the fixture)."""

    def __init__(self, db: Path, *args: str, log_dir: Path) -> None:
        self.db = db
        self.log = log_dir / f"server-{id(self)}.log"
        self.args = args
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> float:
        """Start the server and wait until it answers; returns the seconds it took."""
        started = time.monotonic()
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "playhead", "serve", "--host", "127.0.0.1",
                 "--port", str(self.port), "--db", str(self.db), *self.args],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )  # fmt: skip
        while time.monotonic() - started < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(self.url + "/api/v1/schemas/ping", timeout=1).read()
                return time.monotonic() - started
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.02)
        self.stop()
        raise RuntimeError("server did not start in time")

    def kill(self) -> None:
        """SIGKILL the server (no shutdown, no flush)."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None

    def stop(self) -> None:
        """Stop the server gracefully, killing it if it takes too long."""
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Factory of real server processes on loopback; all are stopped at teardown."""
    servers: list[ServerProcess] = []

    def factory(*args: str, db: Path | None = None) -> ServerProcess:
        server = ServerProcess(db or tmp_path / "server.db", *args, log_dir=tmp_path)
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.stop()
