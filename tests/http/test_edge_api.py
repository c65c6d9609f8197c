"""The Media Edge API over HTTP: paths, statuses, handles, problem documents, CORS, the prefix,
served schemas, and sessions that may not mix protocols."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from starlette.testclient import TestClient

from playhead.protocols.edge.encode import from_collection
from playhead.protocols.edge.mapping import EVENT_NAMES
from tests.helpers import TS0, assert_cors, ev, open_session, start_body

PROBLEM = "application/problem+json"
TYPE_400 = "https://ns.adobe.com/aep/errors/va-edge-0400-400"
TYPE_404 = "https://ns.adobe.com/aep/errors/va-edge-0404-404"


def edge_start(client: TestClient, prefix: str = "", **params: Any) -> str:
    _, body = from_collection(start_body(**params))
    response = client.post(f"{prefix}/ee/va/v1/sessionStart?configId=ds-1", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    doc = response.json()
    assert set(doc) == {"requestId", "handle"}
    [handle] = doc["handle"]
    assert (handle["type"], handle["eventIndex"]) == ("media-analytics:new-session", 0)
    sid: str = handle["payload"][0]["sessionId"]
    assert len(sid) == 64 and set(sid) <= set("0123456789abcdef")
    return sid


def edge_event(client: TestClient, sid: str, body: dict[str, Any], prefix: str = "") -> Any:
    name, edge = from_collection(body, sid)
    return client.post(f"{prefix}/ee/va/v1/{name}", json=edge)


def problem_of(response: Any, status: int, problem_type: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert_cors(response)
    doc: dict[str, Any] = response.json()
    assert (doc["type"], doc["status"]) == (problem_type, status)
    assert doc["title"] and doc["detail"]
    return doc


def test_a_session_over_the_edge_api(client: TestClient) -> None:
    sid = edge_start(client, **{"media.id": "edge-1", "visitor.marketingCloudUserId": "ECID-9"})
    for body in (
        ev("play", TS0 + 1000, 0, qoeData={"media.qoe.bitrate": 3000}),
        ev("ping", TS0 + 11000, 10),
        ev("pauseStart", TS0 + 15000, 14),
        ev("play", TS0 + 20000, 14),
        ev("sessionEnd", TS0 + 25000, 19),
    ):
        response = edge_event(client, sid, body)
        assert response.status_code == 204, response.text
        assert response.content == b""
        assert_cors(response)
    report = client.get(f"/reports/sessions/{sid}").json()
    assert (report["state"], report["closeReason"]) == ("closed", "sessionEnd")
    assert report["params"]["media.id"] == "edge-1"
    assert report["params"]["visitor.marketingCloudUserId"] == "ECID-9"  # from identityMap
    assert report["sessionDetails"]["timePlayed"] == 19.0
    assert report["sessionDetails"]["pauseTime"] == 5.0
    assert report["qoeDataDetails"]["bitrateAverage"] == 3000


def test_a_closed_or_unknown_session_is_a_404_problem(client: TestClient) -> None:
    sid = edge_start(client)
    assert edge_event(client, sid, ev("sessionEnd", TS0 + 5000, 4)).status_code == 204
    late = edge_event(client, sid, ev("ping", TS0 + 9000, 8))
    doc = problem_of(late, 404, TYPE_404)
    assert "24h" in doc["detail"]
    problem_of(edge_event(client, "ab" * 32, ev("ping", TS0)), 404, TYPE_404)
    # the refusal is counted on the session, as a 410 would be on the Collection API
    report = client.get(f"/reports/sessions/{sid}").json()
    assert report["diagnostics"][-1]["problem"] == "1 events refused after the session closed (410)"


def test_an_invalid_session_start_is_a_207_without_a_session(client: TestClient) -> None:
    _, body = from_collection(start_body(**{"media.id": None}))
    response = client.post("/ee/va/v1/sessionStart", json=body)
    assert response.status_code == 207
    doc = response.json()
    assert doc["handle"] == []
    [error] = doc["errors"]
    assert (error["type"], error["status"]) == (TYPE_400, 400)
    assert error["report"]["details"] == [
        {"name": "$.events[0].xdm.mediaCollection.sessionDetails.name",
         "reason": "Missing required field"}
    ]  # fmt: skip


def test_an_invalid_event_is_a_400_problem_naming_the_field(client: TestClient) -> None:
    sid = edge_start(client)
    _, body = from_collection(ev("ping", TS0 + 1000, 1), sid)
    body["events"][0]["xdm"]["mediaCollection"]["playhead"] = "soon"
    doc = problem_of(client.post("/ee/va/v1/ping", json=body), 400, TYPE_400)
    [detail] = doc["report"]["details"]
    assert detail["name"] == "$.events[0].xdm.mediaCollection.playhead"
    # the path's event and xdm.eventType must agree
    _, play = from_collection(ev("play", TS0 + 1000, 1), sid)
    doc = problem_of(client.post("/ee/va/v1/ping", json=play), 400, TYPE_400)
    assert doc["report"]["details"][0]["name"] == "$.events[0].xdm.eventType"


@pytest.mark.parametrize(
    ("change", "path", "reason"),
    [
        (lambda mc: mc["sessionDetails"].update(name="x\x00y"),
         "$.events[0].xdm.mediaCollection.sessionDetails.name", "contains a NUL character"),
        (lambda mc: mc["sessionDetails"].update(length=1e300),
         "$.events[0].xdm.mediaCollection.sessionDetails.length", None),
        (lambda mc: mc.update(bogus=1), "$.events[0].xdm.mediaCollection.bogus", "Unknown field"),
        (lambda mc: mc.update(customMetadata=[{"name": f"k{i}", "value": "v"} for i in range(101)]),
         "$.events[0].xdm.mediaCollection.customMetadata", None),
    ],
)  # fmt: skip
def test_limits_hold_over_the_edge_api(
    client: TestClient, change: Any, path: str, reason: str | None
) -> None:
    _, body = from_collection(start_body())
    change(body["events"][0]["xdm"]["mediaCollection"])
    response = client.post("/ee/va/v1/sessionStart", json=body)
    assert response.status_code == 207
    [detail] = response.json()["errors"][0]["report"]["details"]
    assert detail["name"] == path
    if reason:
        assert detail["reason"] == reason


def test_a_timestamp_needs_a_zone(client: TestClient) -> None:
    sid = edge_start(client)
    _, body = from_collection(ev("ping", TS0 + 1000, 1), sid)
    body["events"][0]["xdm"]["timestamp"] = "2026-12-01T10:00:00"
    doc = problem_of(client.post("/ee/va/v1/ping", json=body), 400, TYPE_400)
    assert doc["report"]["details"][0] == {
        "name": "$.events[0].xdm.timestamp",
        "reason": "the date-time needs a time zone",
    }


def test_a_session_never_mixes_the_two_protocols(client: TestClient) -> None:
    collection_sid = open_session(client)
    doc = problem_of(edge_event(client, collection_sid, ev("ping", TS0 + 1000)), 400, TYPE_400)
    assert doc["report"]["details"][0]["reason"] == "this session speaks the collection protocol"
    edge_sid = edge_start(client)
    refused = client.post(f"/api/v1/sessions/{edge_sid}/events", json=ev("ping", TS0 + 1000))
    assert refused.status_code == 400
    assert refused.json()["errors"] == [
        {"path": "$", "problem": "this session speaks the edge protocol"}
    ]


def test_downloaded_over_the_edge_api(client: TestClient) -> None:
    from playhead.protocols.edge.encode import downloaded_from_collection

    bodies = [start_body(), ev("play", TS0 + 1000, 0), ev("sessionComplete", TS0 + 31000, 30)]
    response = client.post("/ee/va/v1/downloaded", json=downloaded_from_collection(bodies))
    assert response.status_code == 200, response.text
    sid = response.json()["handle"][0]["payload"][0]["sessionId"]
    report = client.get(f"/reports/sessions/{sid}").json()
    assert (report["closeReason"], report["sessionDetails"]["isDownloaded"]) == ("downloaded", True)
    assert report["sessionDetails"]["timePlayed"] == 30.0
    # a batch that does not start with sessionStart keeps nothing
    bad = client.post("/ee/va/v1/downloaded", json=downloaded_from_collection(bodies[1:]))
    doc = problem_of(bad, 400, TYPE_400)
    assert doc["report"]["details"][0]["name"].endswith("mediaDownloadedEvents[0].mediaEventType")


def test_a_batch_with_many_problems_lists_100_then_counts_the_rest(client: TestClient) -> None:
    from playhead.protocols.edge.encode import downloaded_from_collection

    bodies = [start_body()] + [ev("ping", TS0 + 1000 * i, i) for i in range(1, 151)]
    batch = downloaded_from_collection(bodies)
    for item in batch["events"][0]["xdm"]["mediaCollection"]["mediaDownloadedEvents"][1:]:
        item["mediaEventTimestamp"] = "yesterday"
    doc = problem_of(client.post("/ee/va/v1/downloaded", json=batch), 400, TYPE_400)
    details = doc["report"]["details"]
    assert len(details) == 101
    assert details[0]["name"].endswith("mediaDownloadedEvents[1].mediaEventTimestamp")
    assert details[-1] == {"name": "$", "reason": "50 more problems not listed"}


def test_a_live_session_start_flagged_downloaded_is_refused(client: TestClient) -> None:
    _, body = from_collection(start_body(**{"media.downloaded": True}))
    response = client.post("/ee/va/v1/sessionStart", json=body)
    assert response.status_code == 207
    detail = response.json()["errors"][0]["report"]["details"][0]
    assert detail["name"] == "$.events[0].xdm.mediaCollection.sessionDetails.isDownloaded"


def test_preflight_unknown_event_and_method(client: TestClient) -> None:
    preflight = client.options("/ee/va/v1/ping")
    assert preflight.status_code == 204
    assert_cors(preflight)
    problem_of(client.post("/ee/va/v1/stateStart", json={}), 404, TYPE_404)
    assert client.get("/ee/va/v1/ping").status_code == 405


def test_the_prefix_applies_to_the_edge_api(make_client: Any) -> None:
    client = make_client(prefix="/va")
    sid = edge_start(client, prefix="/va")
    assert edge_event(client, sid, ev("play", TS0 + 1000), prefix="/va").status_code == 204


def test_a_body_too_large_is_a_413_problem(client: TestClient) -> None:
    response = client.post("/ee/va/v1/ping", content=b"x" * 70_000)
    problem_of(response, 413, "https://ns.adobe.com/aep/errors/va-edge-0413-413")


@pytest.mark.parametrize("name", [*EVENT_NAMES, "downloaded"])
def test_each_event_has_a_served_schema_that_the_decoder_agrees_with(
    client: TestClient, name: str
) -> None:
    response = client.get(f"/ee/va/v1/schemas/{name}")
    assert response.status_code == 200
    schema = response.json()
    assert schema["title"] == f"media.{name}"
    jsonschema.Draft202012Validator.check_schema(schema)
    if name in ("sessionStart", "downloaded"):
        return
    _, body = from_collection(ev(name if name != "statesUpdate" else "stateStart", TS0, 0,
                                 params=_params(name)), "ab" * 32)  # fmt: skip
    assert jsonschema.Draft202012Validator(schema).is_valid(body)


def _params(name: str) -> dict[str, Any] | None:
    return {
        "adBreakStart": {"media.ad.podIndex": 1, "media.ad.podSecond": 0},
        "adStart": {"media.ad.id": "a", "media.ad.length": 5, "media.ad.podPosition": 1,
                    "media.ad.playerName": "p"},
        "chapterStart": {"media.chapter.index": 1, "media.chapter.offset": 0,
                         "media.chapter.length": 5},
        "statesUpdate": {"media.state.name": "mute"},
        "error": {"media.errorId": "E1"},
    }.get(name)  # fmt: skip


def test_an_unknown_schema_is_a_404(client: TestClient) -> None:
    problem_of(client.get("/ee/va/v1/schemas/nope"), 404, TYPE_404)
