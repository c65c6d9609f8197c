"""The audience the aggregate contract suite replays: simulated viewers through the real
Collection API, with shared and missing viewer ids, custom metadata, numbers and booleans in
params, sessions left open and sessions on both sides of a half-hour time zone's midnight."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from starlette.testclient import TestClient

from playhead.simulator.encode import simulate_sessions
from tests.helpers import FakeClock, services

# 2025-12-01T17:00:00Z: 22:30 in Asia/Kolkata, so the sessions straddle a local midnight.
START_TS = 1_764_608_400_000
SESSIONS = 36
SPACING_MS = 150_000


@dataclass
class Audience:
    """What was replayed: every session id, in start order, and its start time."""

    sids: list[str] = field(default_factory=list)
    start_ts: int = START_TS
    end_ts: int = START_TS


def _start_params(i: int, params: dict[str, Any]) -> dict[str, Any]:
    """Vary the simulated sessionStart: viewers shared, missing or from other params."""
    params = dict(params)
    if i % 6 == 0:
        params.pop("visitor.marketingCloudUserId", None)  # a viewer of its own
    elif i % 6 == 1:
        params["visitor.marketingCloudUserId"] = f"shared-{i % 4}"
    elif i % 6 == 2:
        params.pop("visitor.marketingCloudUserId", None)
        params["analytics.visitorId"] = f"visitor-{i % 3}"
    if i % 5 == 0:
        params["media.season"] = "2"
        params["media.episode"] = "10:30"  # a value with a colon
    return params


def replay(client: TestClient, clock: FakeClock) -> Audience:
    """Send the audience, stop some sessions early (left open), store every summary."""
    audience = Audience()
    bodies = simulate_sessions(7, SESSIONS, start_ts=START_TS, spacing_ms=SPACING_MS)
    for i, session in enumerate(bodies):
        start = session[0]
        start["params"] = _start_params(i, start["params"])
        response = client.post("/api/v1/sessions", content=json.dumps(start))
        assert response.status_code == 201, response.text
        sid = response.headers["location"].rsplit("/", 1)[1]
        audience.sids.append(sid)
        # every seventh session stops half-way: it stays open (no idle close on a still clock)
        events = session[1:] if i % 7 else session[1 : len(session) // 2]
        for body in events:
            sent = client.post(f"/api/v1/sessions/{sid}/events", content=json.dumps(body))
            assert sent.status_code in (204, 410), sent.text
            audience.end_ts = max(audience.end_ts, body["playerTime"]["ts"])
    summarize(client)
    return audience


def summarize(client: TestClient) -> None:
    """Store every held session's current summary and wait for the writes."""
    found = services(client)
    client.portal.call(lambda: found.collector.refresh_summaries(closed_too=True))
    client.portal.call(found.storage.flush)


def report(client: TestClient, sid: str) -> dict[str, Any]:
    """A session's report, as the per-session endpoint answers it."""
    response = client.get(f"/reports/sessions/{sid}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
