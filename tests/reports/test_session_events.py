"""``GET /reports/sessions/{sid}/events`` on every backend: each session's stored events in
arrival order, page by page, read back as the protocol that accepted them reads them."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.reports.audience import Audience, report


def all_events(client: TestClient, sid: str, limit: int) -> list[dict[str, Any]]:
    """Every event of ``sid``, fetched ``limit`` at a time by following ``next``."""
    found: list[dict[str, Any]] = []
    after: int | None = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if after is not None:
            params["after"] = after
        response = client.get(f"/reports/sessions/{sid}/events", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["id"] == sid and page["eventsPurged"] is False
        assert len(page["events"]) <= limit
        found.extend(page["events"])
        after = page["next"]
        if after is None:
            return found
        assert after == page["events"][-1]["seq"]


def test_every_session_answers_its_events_in_order(
    audience_app: tuple[TestClient, Audience],
) -> None:
    client, audience = audience_app
    for sid in audience.sids:
        events = all_events(client, sid, 1000)
        seqs = [e["seq"] for e in events]
        assert seqs == sorted(set(seqs)) and seqs[0] == 0
        first = events[0]
        assert (first["eventType"], first["format"]) == ("sessionStart", "collection")
        r = report(client, sid)
        assert first["ts"] == r["firstEventTs"]
        assert first["body"]["params"]["media.id"] == r["params"]["media.id"]
        for e in events:
            assert e["eventType"] == e["body"]["eventType"]
            assert e["ts"] == e["body"]["playerTime"]["ts"]
            assert e["playhead"] == e["body"]["playerTime"]["playhead"]
        # the report folds these events: its last event time is the latest of theirs
        assert max(e["ts"] for e in events) == r["lastEventTs"]


def test_pages_add_up_to_the_whole(audience_app: tuple[TestClient, Audience]) -> None:
    client, audience = audience_app
    sid = audience.sids[1]
    whole = all_events(client, sid, 1000)
    assert len(whole) > 7
    assert all_events(client, sid, 3) == whole
    assert all_events(client, sid, 1) == whole
    tail = client.get(f"/reports/sessions/{sid}/events", params={"after": whole[4]["seq"]})
    assert tail.json()["events"] == whole[5:]


def test_unknown_session_is_404(audience_app: tuple[TestClient, Audience]) -> None:
    client, _ = audience_app
    response = client.get(f"/reports/sessions/{'0' * 64}/events")
    assert response.status_code == 404
    assert response.json() == {"message": "Session not found.", "errors": []}
