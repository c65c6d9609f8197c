"""Wire bodies for tests: the events of the Collection API, a valid sessionStart."""

from __future__ import annotations

from typing import Any

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


def ev(event_type: str, ts: int, playhead: float = 0, **members: Any) -> dict[str, Any]:
    """One wire event body."""
    body: dict[str, Any] = {"playerTime": {"playhead": playhead, "ts": ts}, "eventType": event_type}
    body.update(members)
    return body


def start_body(ts: int = TS0, **params: Any) -> dict[str, Any]:
    """A valid sessionStart body; keyword arguments override or add params (None removes)."""
    merged = {**START_PARAMS, **params}
    return ev("sessionStart", ts, 0, params={k: v for k, v in merged.items() if v is not None})
