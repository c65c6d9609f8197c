"""Shared fixtures: app factories, a fake clock, real server processes (helpers: tests.helpers)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from playhead.app import create_app
from playhead.config import load_settings
from tests.helpers import FakeClock, ServerProcess


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No PLAYHEAD_* variable of the developer's shell leaks into a test."""
    for key in list(os.environ):
        if key.startswith("PLAYHEAD_"):
            monkeypatch.delenv(key)


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
