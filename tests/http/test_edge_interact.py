"""``POST /ee/v1/interact``, the Web SDK's way of starting a media session, and the credentialed
CORS answers the Web SDK's ``fetch(..., {credentials: "include"})`` needs.

The bodies are those ``@adobe/alloy`` 2.33.1 sent from headless Chromium (context field groups,
``query``, ``meta``, ``qoeDataDetails: null`` included); tests/e2e/test_alloy_browser.py drives
the real library."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.helpers import TS0, assert_cors

ORIGIN = "http://page.example"


def iso(ms: int) -> str:
    moment = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def web_sdk_start(ts: int = TS0, **details: Any) -> dict[str, Any]:
    """One event of an interact body as the Web SDK's media tracker builds it."""
    session = {
        "playerName": "e2e-player",
        "channel": "e2e-channel",
        "appVersion": "e2e-1.0",
        "friendlyName": "Clip",
        "name": "clip-1",
        "length": 30,
        "contentType": "vod",
        "streamType": "video",
        **details,
    }
    return {
        "xdm": {
            "timestamp": iso(ts),
            "eventType": "media.sessionStart",
            "mediaCollection": {"sessionDetails": session, "playhead": 0, "qoeDataDetails": None},
            "web": {"webPageDetails": {"URL": f"{ORIGIN}/"}, "webReferrer": {"URL": ""}},
            "device": {"screenHeight": 720, "screenWidth": 1280, "screenOrientation": "landscape"},
            "environment": {"type": "browser", "browserDetails": {"viewportWidth": 1280}},
            "placeContext": {"localTimezoneOffset": 0, "ianaTimezone": "UTC"},
            "implementationDetails": {
                "name": "https://ns.adobe.com/experience/alloy",
                "version": "2.33.1",
                "environment": "browser",
            },
        },
        "query": {"personalization": {"decisionScopes": ["__view__"]}},
    }


PAGE_VIEW = {
    "xdm": {
        "eventType": "web.webpagedetails.pageViews",
        "timestamp": iso(TS0),
        "web": {"webPageDetails": {"URL": f"{ORIGIN}/"}},
    }
}
META = {"state": {"domain": "page.example", "cookiesEnabled": True}}
QUERY = {"identity": {"fetch": ["ECID"]}}


def starts_counted(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the sessions the collector starts from now on."""
    collector = client.app.collector  # type: ignore[attr-defined]
    started: list[str] = []
    start = collector.start

    async def counted(*args: Any, **kwargs: Any) -> str:
        sid: str = await start(*args, **kwargs)
        started.append(sid)
        return sid

    monkeypatch.setattr(collector, "start", counted)
    return started


def interact(client: TestClient, events: list[Any], path: str = "/ee/v1/interact") -> Any:
    body = {"events": events, "query": QUERY, "meta": META}
    return client.post(f"{path}?configId=ds-1&requestId=r-1", json=body)


def media_event(client: TestClient, name: str, sid: str, ts: int, playhead: int) -> Any:
    """A media event as the Web SDK sends it to ``/ee/va/v1/{name}``."""
    xdm = {
        "timestamp": iso(ts),
        "mediaCollection": {"playhead": playhead, "qoeDataDetails": None, "sessionID": sid},
        "eventType": f"media.{name}",
    }
    body = {"events": [{"xdm": xdm}], "query": QUERY, "meta": META}
    return client.post(f"/ee/va/v1/{name}?configId=ds-1", json=body, headers={"Origin": ORIGIN})


def test_a_web_sdk_session_starts_on_interact_and_goes_on_over_the_edge_api(
    client: TestClient,
) -> None:
    response = interact(client, [web_sdk_start()])
    assert response.status_code == 200, response.text
    doc = response.json()
    assert set(doc) == {"requestId", "handle"}
    [handle] = doc["handle"]
    assert (handle["type"], handle["eventIndex"]) == ("media-analytics:new-session", 0)
    sid = handle["payload"][0]["sessionId"]
    assert len(sid) == 64
    for name, ts, playhead in (
        ("play", TS0 + 100, 0),
        ("ping", TS0 + 10_100, 10),
        ("pauseStart", TS0 + 12_100, 12),
        ("play", TS0 + 14_100, 12),
        ("sessionComplete", TS0 + 15_100, 13),
        ("sessionEnd", TS0 + 15_200, 13),
    ):
        answer = media_event(client, name, sid, ts, playhead)
        assert answer.status_code == 204, (name, answer.text)
    report = client.get(f"/reports/sessions/{sid}").json()
    assert report["params"] == {
        "media.id": "clip-1",
        "media.name": "Clip",
        "media.length": 30,
        "media.contentType": "vod",
        "media.streamType": "video",
        "media.playerName": "e2e-player",
        "media.channel": "e2e-channel",
        "media.sdkVersion": "e2e-1.0",
    }  # the Web SDK's context (web, device, environment, ...) is not kept
    details = report["sessionDetails"]
    assert (details["timePlayed"], details["pauseCount"], details["pauseTime"]) == (13.0, 1, 2.0)
    assert details["isCompleted"] is True
    assert report["closeReason"] == "sessionEnd"


def test_other_events_are_ignored_with_a_warning(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = starts_counted(client, monkeypatch)
    response = interact(client, [PAGE_VIEW])
    assert response.status_code == 200, response.text
    doc = response.json()
    assert doc["handle"] == []
    [warning] = doc["warnings"]
    assert warning["report"] == {"eventIndex": 0}
    assert "web.webpagedetails.pageViews" in warning["detail"]
    assert started == []


def test_the_handle_names_the_index_of_the_media_event(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = starts_counted(client, monkeypatch)
    response = interact(client, [PAGE_VIEW, web_sdk_start()])
    assert response.status_code == 200, response.text
    doc = response.json()
    [handle] = doc["handle"]
    assert handle["eventIndex"] == 1
    assert [w["report"]["eventIndex"] for w in doc["warnings"]] == [0]
    sid = handle["payload"][0]["sessionId"]
    assert started == [sid]
    assert client.get(f"/reports/sessions/{sid}").json()["params"]["media.id"] == "clip-1"


def test_an_invalid_media_session_start_is_a_207_naming_the_field(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = starts_counted(client, monkeypatch)
    bad = web_sdk_start(name=None)
    del bad["xdm"]["mediaCollection"]["sessionDetails"]["name"]
    response = interact(client, [PAGE_VIEW, bad])
    assert response.status_code == 207, response.text
    doc = response.json()
    assert doc["handle"] == []
    [error] = doc["errors"]
    assert (error["type"], error["status"]) == (
        "https://ns.adobe.com/aep/errors/va-edge-0400-400",
        400,
    )
    assert error["report"]["eventIndex"] == 1
    assert error["report"]["details"] == [
        {
            "name": "$.events[1].xdm.mediaCollection.sessionDetails.name",
            "reason": "Missing required field",
        }
    ]
    flagged = interact(client, [web_sdk_start(isDownloaded=True)])
    assert flagged.status_code == 207
    [error] = flagged.json()["errors"]
    assert error["report"]["details"][0]["name"].endswith("sessionDetails.isDownloaded")
    assert started == []


def test_a_body_that_is_not_an_interact_request_is_a_400_problem(client: TestClient) -> None:
    for content, path in (
        (b"{not json", "$"),
        (b"[]", "$"),
        (b'{"events": []}', "$.events"),
        (b'{"events": [{"data": {}}]}', "$.events[0].xdm"),
    ):
        response = client.post("/ee/v1/interact", content=content)
        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert_cors(response)
        doc = response.json()
        assert doc["type"] == "https://ns.adobe.com/aep/errors/va-edge-0400-400"
        assert doc["report"]["details"][0]["name"] == path, content
    assert client.get("/ee/v1/interact").status_code == 405
    too_big = client.post("/ee/v1/interact", content=b"x" * 70_000)
    assert too_big.status_code == 413


def test_interact_under_the_prefix(make_client: Any) -> None:
    client = make_client(prefix="/va")
    response = interact(client, [web_sdk_start()], path="/va/ee/v1/interact")
    assert response.status_code == 200, response.text
    assert len(response.json()["handle"]) == 1
    assert client.post("/ee/v1/collect", json={}).status_code == 404  # not an ingest path


def test_with_the_setting_a_request_with_an_origin_gets_it_back_with_credentials(
    make_client: Any,
) -> None:
    client = make_client(edge_cors_credentials=True)
    with_origin = {"Origin": ORIGIN}
    started = client.post(
        "/ee/v1/interact", json={"events": [web_sdk_start()]}, headers=with_origin
    )
    sid = started.json()["handle"][0]["payload"][0]["sessionId"]
    answers = [
        started,
        media_event(client, "play", sid, TS0 + 100, 0),  # 204
        client.options("/ee/va/v1/ping", headers=with_origin),  # preflight
        client.post("/ee/va/v1/ping", json={}, headers=with_origin),  # 400 problem
        client.post("/ee/va/v1/nope", json={}, headers=with_origin),  # 404 problem
    ]
    assert [a.status_code for a in answers] == [200, 204, 204, 400, 404]
    for answer in answers:
        assert answer.headers["access-control-allow-origin"] == ORIGIN
        assert answer.headers["access-control-allow-credentials"] == "true"
        assert answer.headers["vary"] == "Origin"
        assert answer.headers["access-control-allow-methods"] == "OPTIONS,POST,PUT"
    # without an Origin, and on the Collection API, the answer allows any origin, no credentials
    plain = client.options("/ee/va/v1/ping")
    assert_cors(plain)
    assert "access-control-allow-credentials" not in plain.headers
    collection = client.options("/api/v1/sessions", headers=with_origin)
    assert_cors(collection)
    assert "access-control-allow-credentials" not in collection.headers


def test_by_default_an_origin_gets_any_origin_and_no_credentials(client: TestClient) -> None:
    with_origin = {"Origin": ORIGIN}
    started = client.post(
        "/ee/v1/interact", json={"events": [web_sdk_start()]}, headers=with_origin
    )
    sid = started.json()["handle"][0]["payload"][0]["sessionId"]
    for answer in (
        started,
        media_event(client, "play", sid, TS0 + 100, 0),
        client.options("/ee/va/v1/ping", headers=with_origin),
        client.post("/ee/va/v1/ping", json={}, headers=with_origin),
    ):
        assert_cors(answer)
        assert "access-control-allow-credentials" not in answer.headers
        assert "vary" not in answer.headers
