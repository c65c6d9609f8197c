"""Every Collection API answer carries the CORS headers of rule 1, with and without the prefix."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.helpers import (
    CORS,
    TS0,
    FakeClock,
    assert_cors,
    ev,
    events_url,
    open_session,
    start_body,
)

PREFIXES = ["", "/va"]


@pytest.fixture
def pclient(make_client: Any, clock: FakeClock) -> Any:
    return make_client(clock=clock, prefix="/va", max_event_bytes=2000, end_grace=1)


def post(client: Any, url: str, body: Any) -> Any:
    return client.post(url, content=json.dumps(body).encode())


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/sessions",
        "/api/v1/sessions/" + "a" * 64 + "/events",
        "/api/v1/downloaded",
        "/api/v1/schemas/sessionStart",
        "/api/v1/schemas/nope",
        "/api/v1/sessions/bad/events",
    ],
)
def test_preflight_204(pclient: Any, prefix: str, path: str) -> None:
    response = pclient.options(
        prefix + path,
        headers={
            "Origin": "https://player.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status_code == 204
    assert response.content == b""
    assert {k: response.headers.get(k) for k in CORS} == CORS


@pytest.mark.parametrize("prefix", PREFIXES)
def test_cors_on_every_status(pclient: Any, clock: FakeClock, prefix: str) -> None:
    created = post(pclient, f"{prefix}/api/v1/sessions", start_body())
    assert created.status_code == 201
    assert_cors(created)
    sid = created.headers["location"].rsplit("/", 1)[1]
    responses = {
        204: post(pclient, events_url(sid, prefix), ev("play", TS0 + 1000, 0)),
        400: post(pclient, events_url(sid, prefix), ev("play", TS0 + 1000, "x")),
        404: post(pclient, events_url("0" * 64, prefix), ev("play", TS0, 0)),
        413: pclient.post(events_url(sid, prefix), content=b" " * 3000),
        405: pclient.get(f"{prefix}/api/v1/sessions"),
        200: pclient.get(f"{prefix}/api/v1/schemas/play"),
    }
    assert (
        post(pclient, events_url(sid, prefix), ev("sessionEnd", TS0 + 2000, 1)).status_code == 204
    )
    clock.advance(5)
    responses[410] = post(pclient, events_url(sid, prefix), ev("ping", TS0 + 1500, 1))
    downloaded = post(
        pclient,
        f"{prefix}/api/v1/downloaded",
        [start_body(), ev("play", TS0 + 1, 0), ev("sessionEnd", TS0 + 9, 8)],
    )
    responses[201] = downloaded
    for status, response in responses.items():
        assert response.status_code == status, (status, response.text)
        assert {k: response.headers.get(k) for k in CORS} == CORS, status


def test_cors_on_404_schema_and_unknown_endpoint(client: Any) -> None:
    for response in (client.get("/api/v1/schemas/nope"), post(client, "/api/v1/other", {})):
        assert response.status_code == 404
        assert_cors(response)


def test_cors_on_400_from_sessions(client: Any) -> None:
    # every error goes through one builder; a 400 from the sessions path also carries them
    response = post(client, "/api/v1/sessions", ev("play", TS0, 0))
    assert response.status_code == 400
    assert_cors(response)


def test_location_is_exposed(client: Any) -> None:
    sid = open_session(client)
    response = post(client, "/api/v1/sessions", start_body())
    assert response.headers["access-control-expose-headers"] == "Location"
    assert response.headers["location"] != f"/api/v1/sessions/{sid}"
