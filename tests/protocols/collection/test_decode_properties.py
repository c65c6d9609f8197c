"""Hypothesis: nothing a client sends makes decode_event raise anything but InvalidBody, and
nothing a client sends makes the HTTP app answer a 5xx."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from playhead.app import create_app
from playhead.config import load_settings
from playhead.errors import InvalidBody
from playhead.events import EVENT_TYPES, Event
from playhead.protocols.collection.decode import decode_batch, decode_event
from tests.helpers import TS0, ev, start_body
from tests.protocols.collection.test_decode import MINIMAL_PARAMS, minimal

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

KEYS = st.sampled_from(
    [
        "playerTime",
        "eventType",
        "params",
        "qoeData",
        "customMetadata",
        "ts",
        "playhead",
        "media.id",
        "media.length",
        "media.ad.podIndex",
        "media.state.name",
        "statesStart",
        "media.qoe.bitrate",
        "media.qoe.errorSource",
        "media.errorSource",
        "x",
    ]
) | st.text(max_size=8)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10)
    | st.sampled_from(EVENT_TYPES)
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=20,
)


def valid_bodies() -> st.SearchStrategy[dict[str, Any]]:
    return st.sampled_from(EVENT_TYPES).map(minimal)


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    body = copy.deepcopy(draw(valid_bodies()))
    for _ in range(draw(st.integers(1, 3))):
        # pick a container inside the body, then remove, retype or add one member
        containers = [body] + [
            body[k]
            for k in ("playerTime", "params", "qoeData", "customMetadata")
            if isinstance(body.get(k), dict)
        ]
        target = draw(st.sampled_from(containers))
        action = draw(st.sampled_from(["remove", "retype", "add"]))
        if action == "remove" and target:
            del target[draw(st.sampled_from(sorted(target)))]
        elif action == "retype" and target:
            target[draw(st.sampled_from(sorted(target)))] = draw(JSON)
        else:
            target[draw(KEYS)] = draw(JSON)
    return body


def check_decode(raw: bytes) -> None:
    try:
        result = decode_event(raw)
    except InvalidBody as exc:
        assert exc.errors
        assert all(e.path.startswith("$") for e in exc.errors)
    else:
        assert isinstance(result, Event)
        assert result.type in EVENT_TYPES


def check_batch(raw: bytes) -> None:
    try:
        result = decode_batch(raw)
    except InvalidBody as exc:
        assert exc.errors
        assert all(e.path.startswith("$") for e in exc.errors)
    else:
        assert all(isinstance(e, Event) for e in result)


@SETTINGS
@given(JSON)
def test_random_json_values(value: Any) -> None:
    raw = json.dumps(value).encode()
    check_decode(raw)
    check_batch(raw)


@SETTINGS
@given(mutated())
def test_mutated_valid_events(body: dict[str, Any]) -> None:
    raw = json.dumps(body).encode()
    check_decode(raw)
    check_batch(b"[" + json.dumps(start_body()).encode() + b"," + raw + b"]")


@SETTINGS
@given(st.binary(max_size=200))
def test_random_bytes(raw: bytes) -> None:
    check_decode(raw)
    check_batch(raw)


@SETTINGS
@given(st.sampled_from(EVENT_TYPES), st.integers(0, 300), st.binary(min_size=1, max_size=3))
def test_corrupted_valid_bytes(event_type: str, position: int, junk: bytes) -> None:
    raw = json.dumps(minimal(event_type)).encode()
    position %= len(raw)
    check_decode(raw[:position] + junk + raw[position + len(junk) :])


def test_minimal_bodies_are_valid() -> None:
    for event_type in EVENT_TYPES:
        assert decode_event(json.dumps(minimal(event_type)).encode()).type == event_type
    assert set(MINIMAL_PARAMS) <= set(EVENT_TYPES)


# ---------------------------------------------------------------- through the HTTP app
@pytest.fixture(scope="module")
def app_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    db: Path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    app = create_app(load_settings({"db": str(db), "summary_interval": 3600}))
    with TestClient(app, raise_server_exceptions=True) as client:
        yield client


@pytest.fixture(scope="module")
def fuzz_sid(app_client: TestClient) -> str:
    response = app_client.post("/api/v1/sessions", content=json.dumps(start_body()).encode())
    assert response.status_code == 201
    return response.headers["location"].rsplit("/", 1)[1]


BODIES = (
    JSON.map(lambda v: json.dumps(v).encode())
    | mutated().map(lambda v: json.dumps(v).encode())
    | st.lists(mutated(), max_size=3).map(lambda v: json.dumps([start_body(), *v]).encode())
    | st.binary(max_size=100)
)


def assert_not_5xx(response: Any) -> None:
    assert response.status_code < 500, (response.status_code, response.text)
    assert response.headers["access-control-allow-origin"] == "*"
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"message", "errors"}


@SETTINGS
@given(BODIES)
def test_http_sessions_never_5xx(app_client: TestClient, raw: bytes) -> None:
    assert_not_5xx(app_client.post("/api/v1/sessions", content=raw))


@SETTINGS
@given(BODIES)
def test_http_downloaded_never_5xx(app_client: TestClient, raw: bytes) -> None:
    assert_not_5xx(app_client.post("/api/v1/downloaded", content=raw))


@SETTINGS
@given(BODIES)
def test_http_events_never_5xx(app_client: TestClient, fuzz_sid: str, raw: bytes) -> None:
    response = app_client.post(f"/api/v1/sessions/{fuzz_sid}/events", content=raw)
    assert_not_5xx(response)


@SETTINGS
@given(
    st.sampled_from([e for e in EVENT_TYPES if e != "sessionStart"]),
    st.integers(-(10**14), 10**14),
    st.floats(-1e9, 1e9, allow_nan=False),
)
def test_http_valid_events_in_any_order_never_5xx(
    app_client: TestClient, fuzz_sid: str, event_type: str, ts: int, playhead: float
) -> None:
    body = minimal(event_type, ts=TS0 + ts, playhead=playhead)
    response = app_client.post(
        f"/api/v1/sessions/{fuzz_sid}/events", content=json.dumps(body).encode()
    )
    assert response.status_code in (204, 410), response.text
    assert ev  # builders shared with the other suites
