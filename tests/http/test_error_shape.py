"""Every rejection answers the rule-4 JSON shape, with the right status and exact error paths."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.helpers import TS0, FakeClock, assert_error, ev, events_url, open_session, start_body


def raw_post(client: Any, url: str, data: bytes) -> Any:
    return client.post(url, content=data)


def post(client: Any, url: str, body: Any) -> Any:
    return raw_post(client, url, json.dumps(body).encode())


@pytest.mark.parametrize("target", ["sessions", "events"])
@pytest.mark.parametrize(
    ("data", "paths"),
    [
        (b"{not json", ["$"]),
        (b"", ["$"]),
        (json.dumps(ev("play", TS0, 0) | {"extra": 1}).encode(), ["$.extra"]),
        (
            json.dumps(ev("play", TS0, 0, params={"media.bogus": 1})).encode(),
            ['$.params["media.bogus"]'],
        ),
        (json.dumps(ev("play", TS0, "0")).encode(), ["$.playerTime.playhead"]),
        (json.dumps(ev("pause", TS0, 0)).encode(), ["$.eventType"]),
        (json.dumps({"eventType": "play"}).encode(), ["$.playerTime"]),
        (
            json.dumps({"eventType": "play", "playerTime": {"ts": TS0}}).encode(),
            ["$.playerTime.playhead"],
        ),
        (
            json.dumps(ev("play", TS0, 0, qoeData={"media.qoe.bitrate": "hi"})).encode(),
            ['$.qoeData["media.qoe.bitrate"]'],
        ),
        (json.dumps(ev("play", TS0, 0, customMetadata={"a": "b"})).encode(), ["$.customMetadata"]),
    ],
)
def test_400_shapes(client: Any, target: str, data: bytes, paths: list[str]) -> None:
    url = "/api/v1/sessions" if target == "sessions" else events_url(open_session(client))
    body = assert_error(raw_post(client, url, data), 400, paths)
    assert body["message"] == "Request had improper format."
    if paths == ["$"]:
        assert len(body["errors"]) == 1
        assert body["errors"][0]["problem"].startswith("malformed JSON")


def test_wrong_session_param_type(client: Any) -> None:
    body = assert_error(
        post(client, "/api/v1/sessions", start_body(**{"media.length": "60"})),
        400,
        ['$.params["media.length"]'],
    )
    assert body["errors"][0]["problem"] == "expected a number, got a string"


def test_several_fields_all_named(client: Any) -> None:
    body = start_body(**{"media.length": "60", "analytics.enableSSL": "false", "media.id": None})
    body["params"]["media.bogus"] = 1
    assert_error(
        post(client, "/api/v1/sessions", body),
        400,
        [
            '$.params["media.length"]',
            '$.params["analytics.enableSSL"]',
            '$.params["media.id"]',
            '$.params["media.bogus"]',
        ],
    )


def test_strict_server_names_lenient_keys(make_client: Any) -> None:
    client = make_client(strict=True)
    body = start_body(**{"media.channel": None, "visitor.marketingCloudOrgId": None})
    assert_error(
        post(client, "/api/v1/sessions", body),
        400,
        ['$.params["media.channel"]', '$.params["visitor.marketingCloudOrgId"]'],
    )
    sid = open_session(client)
    ad = ev(
        "adStart",
        TS0 + 1,
        0,
        params={"media.ad.id": "a", "media.ad.length": 5, "media.ad.podPosition": 1},
    )
    assert_error(post(client, events_url(sid), ad), 400, ['$.params["media.ad.playerName"]'])


def test_lenient_server_accepts_missing_keys(client: Any) -> None:
    response = post(
        client, "/api/v1/sessions", start_body(**{"media.channel": None, "media.playerName": None})
    )
    assert response.status_code == 201


def test_unknown_session_404(client: Any) -> None:
    body = assert_error(post(client, events_url("f" * 64), ev("play", TS0, 0)), 404, [])
    assert body["message"] == "Session not found."


def test_closed_session_410(make_client: Any, clock: FakeClock) -> None:
    client = make_client(clock=clock, end_grace=0)
    sid = open_session(client)
    assert post(client, events_url(sid), ev("sessionEnd", TS0 + 10, 0)).status_code == 204
    clock.advance(1)
    body = assert_error(post(client, events_url(sid), ev("ping", TS0 + 5, 0)), 410, [])
    assert body["message"] == "Session is closed; start a new session."


def test_too_large_413(make_client: Any) -> None:
    client = make_client(max_event_bytes=500)
    sid = open_session(client)
    body = assert_error(raw_post(client, events_url(sid), b"{" + b" " * 600 + b"}"), 413, [])
    assert "500" in body["message"]


def test_invalid_event_changes_nothing(client: Any) -> None:
    sid = open_session(client)
    assert (
        post(client, events_url(sid), ev("play", TS0 + 1000, 0, params={"x": 1})).status_code == 400
    )
    assert post(client, events_url(sid), ev("ping", TS0 + 5000, 4)).status_code == 204
    report = client.get(f"/reports/sessions/{sid}").json()
    assert report["sessionDetails"]["isPlayed"] is False
    assert report["sessionDetails"]["timePlayed"] == 0.0


@pytest.mark.parametrize("target", ["sessions", "events", "downloaded"])
def test_invalid_utf8_is_400_not_500(client: Any, target: str) -> None:
    """Rule 4: never a 500 for anything a client sent — invalid UTF-8 inside a JSON string."""
    event = b'{"playerTime":{"playhead":0,"ts":1},"eventType":"play","params":{"\xff":1}}'
    if target == "sessions":
        url, data = "/api/v1/sessions", event
    elif target == "events":
        url, data = events_url(open_session(client)), event
    else:
        url, data = (
            "/api/v1/downloaded",
            b"[" + json.dumps(start_body()).encode() + b"," + event + b"]",
        )
    assert_error(raw_post(client, url, data), 400, ["$"])
