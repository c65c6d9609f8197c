"""GET /reports/sessions/{sid}: open, unknown, closed."""

from __future__ import annotations

import json
from typing import Any

from tests.helpers import TS0, ev, open_session

REPORT_KEYS = {
    "id",
    "state",
    "closeReason",
    "firstEventTs",
    "lastEventTs",
    "params",
    "customMetadata",
    "sessionDetails",
    "qoeDataDetails",
    "ads",
    "chapters",
    "states",
    "diagnostics",
    "scores",
    "timeline",
    "watchedRanges",
}


def post(client: Any, sid: str, body: Any) -> int:
    return client.post(
        f"/api/v1/sessions/{sid}/events", content=json.dumps(body).encode()
    ).status_code


def test_open_session_report(client: Any) -> None:
    sid = open_session(client, **{"media.name": "Film"})
    assert post(client, sid, ev("play", TS0 + 1000, 0)) == 204
    assert post(client, sid, ev("ping", TS0 + 11000, 10)) == 204
    response = client.get(f"/reports/sessions/{sid}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    data = response.json()
    assert set(data) == REPORT_KEYS
    assert data["id"] == sid
    assert data["state"] == "open"
    assert data["closeReason"] is None
    assert (data["firstEventTs"], data["lastEventTs"]) == (TS0, TS0 + 11000)
    assert data["params"]["media.name"] == "Film"
    details = data["sessionDetails"]
    assert details["timePlayed"] == 10.0
    assert details["isPlayed"] is True
    assert details["secondsSinceLastCall"] == 0
    assert data["qoeDataDetails"]["timeToStart"] == 1.0
    assert (data["ads"], data["chapters"], data["states"], data["diagnostics"]) == ([], [], [], [])


def test_unknown_sid_404(client: Any) -> None:
    for sid in ("0" * 64, "nope"):
        response = client.get(f"/reports/sessions/{sid}")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {"message": "Session not found.", "errors": []}


def test_report_after_close(client: Any) -> None:
    sid = open_session(client)
    assert post(client, sid, ev("play", TS0 + 1000, 0)) == 204
    assert post(client, sid, ev("sessionComplete", TS0 + 31000, 30)) == 204
    assert post(client, sid, ev("sessionEnd", TS0 + 32000, 30)) == 204
    data = client.get(f"/reports/sessions/{sid}").json()
    assert (data["state"], data["closeReason"]) == ("closed", "sessionEnd")
    assert data["sessionDetails"]["timePlayed"] == 30.0
    assert data["sessionDetails"]["isCompleted"] is True
    assert data["sessionDetails"]["secondsSinceLastCall"] == 0
    assert data["lastEventTs"] == TS0 + 32000


def test_report_after_restart(make_client: Any, tmp_path: Any) -> None:
    db = str(tmp_path / "restart.db")
    first = make_client(db=db)
    sid = open_session(first)
    assert post(first, sid, ev("play", TS0 + 1000, 0)) == 204
    assert post(first, sid, ev("sessionEnd", TS0 + 5000, 4)) == 204
    first.__exit__(None, None, None)
    second = make_client(db=db)
    data = second.get(f"/reports/sessions/{sid}").json()
    assert (data["id"], data["state"], data["closeReason"]) == (sid, "closed", "sessionEnd")
    assert data["sessionDetails"]["timePlayed"] == 4.0


def test_session_events_as_sent(make_client: Any) -> None:
    from tests.helpers import FakeClock

    clock = FakeClock()
    client = make_client(clock=clock)
    sid = open_session(client, **{"media.name": "Film"})
    sent = [
        ev("play", TS0 + 1000, 0),
        ev("error", TS0 + 2000, 1, qoeData={"media.qoe.errorID": "E1"}),
        ev("ping", TS0 + 11000, 10),
    ]
    for body in sent:
        clock.advance(1)
        assert post(client, sid, body) == 204
    response = client.get(f"/reports/sessions/{sid}/events")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    page = response.json()
    assert (page["id"], page["eventsPurged"], page["next"]) == (sid, False, None)
    events = page["events"]
    assert [e["seq"] for e in events] == [0, 1, 2, 3]
    assert [e["eventType"] for e in events] == ["sessionStart", "play", "error", "ping"]
    assert [e["body"] for e in events[1:]] == sent
    assert events[0]["body"]["params"]["media.name"] == "Film"
    start = 1_800_000_000_000
    assert [e["receivedMs"] for e in events] == [start, start + 1000, start + 2000, start + 3000]
    assert [(e["ts"], e["playhead"]) for e in events] == [
        (TS0, 0), (TS0 + 1000, 0), (TS0 + 2000, 1), (TS0 + 11000, 10)
    ]  # fmt: skip
    assert {e["format"] for e in events} == {"collection"}
    second = client.get(f"/reports/sessions/{sid}/events?after=1&limit=1").json()
    assert (second["events"], second["next"]) == ([events[2]], 2)
    assert client.get(f"/reports/sessions/{sid}/events?after=3").json()["events"] == []
    missing = client.get(f"/reports/sessions/{'0' * 64}/events")
    assert missing.status_code == 404
    assert missing.json() == {"message": "Session not found.", "errors": []}


def test_session_events_of_an_edge_session(client: Any) -> None:
    from tests.http.test_edge_api import edge_event, edge_start

    sid = edge_start(client)
    assert edge_event(client, sid, ev("play", TS0 + 1000, 0)).status_code == 204
    events = client.get(f"/reports/sessions/{sid}/events").json()["events"]
    assert [(e["format"], e["eventType"]) for e in events] == [
        ("edge", "sessionStart"), ("edge", "play")
    ]  # fmt: skip
    assert events[1]["ts"] == TS0 + 1000
    assert events[1]["body"]["events"][0]["xdm"]["eventType"] == "media.play"


def test_session_events_after_retention_purged_them(client: Any) -> None:
    from playhead.storage import queries
    from tests.helpers import services

    sid = open_session(client)
    assert post(client, sid, ev("play", TS0 + 1000, 0)) == 204
    assert post(client, sid, ev("sessionEnd", TS0 + 5000, 4)) == 204
    storage = services(client).storage
    client.portal.call(storage.flush)
    row = client.portal.call(storage.read, queries.find_session(sid))
    assert row is not None
    assert len(client.get(f"/reports/sessions/{sid}/events").json()["events"]) == 3
    client.portal.call(storage.purge_events, [row.id])
    page = client.get(f"/reports/sessions/{sid}/events").json()
    assert (page["eventsPurged"], page["events"], page["next"]) == (True, [], None)
    # the report still answers: the stored final report stands for the deleted events
    assert client.get(f"/reports/sessions/{sid}").json()["closeReason"] == "sessionEnd"
