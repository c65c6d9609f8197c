"""Helpers around an app under test: a fake clock, opening sessions, reaching its services."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from playhead.app import Services
from playhead.collector import sweeper
from playhead.state import LiveSession
from tests.helpers.bodies import start_body


class FakeClock:
    """A server clock tests move by hand (epoch ms)."""

    def __init__(self, now: int = 1_800_000_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += int(seconds * 1000)


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
