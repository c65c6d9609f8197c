"""Property through the real HTTP API: the arrival order of a session's events (its start first)
does not change its report (decisions.md rule 11), whatever mix of in-order applies and
re-folds from storage the collector goes through."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from playhead.app import create_app
from playhead.config import load_settings
from tests.helpers import START_PARAMS, TS0, ev, start_body

KINDS = [
    *["ping"] * 6,
    *["play"] * 3,
    "pauseStart",
    "bufferStart",
    "adBreakStart",
    "adStart",
    "adComplete",
    "adSkip",
    "adBreakComplete",
    "chapterStart",
    "chapterComplete",
    "stateStart",
    "stateEnd",
    "bitrateChange",
    "error",
    "sessionComplete",
]
STATES = ["mute", "fullscreen", "custom.a"]
AD = {"media.ad.id": "ad", "media.ad.length": 15, "media.ad.podPosition": 1,
      "media.ad.playerName": "p"}  # fmt: skip
CHAPTER = {"media.chapter.index": 1, "media.chapter.offset": 0, "media.chapter.length": 30}

step = st.tuples(
    st.sampled_from(KINDS),
    # strictly increasing ts: rule 11 lets ties among "other" events follow arrival order
    st.sampled_from([1, 500, 1000, 5000, 10_000]),
    st.sampled_from([0.0, 0.0, 1.0, 5.0, 10.0, -20.0]),
    st.integers(0, len(STATES) - 1),
    st.sampled_from([None, 800, 2000]),
)


def wire(steps: list[tuple[str, int, float, int, int | None]]) -> list[dict[str, Any]]:
    """Wire bodies for a generated session (after its sessionStart)."""
    bodies, ts, ph = [], TS0, 0.0
    for kind, dt, dph, state, bitrate in steps:
        ts += dt
        ph = max(0.0, ph + dph)
        members: dict[str, Any] = {}
        if kind == "adBreakStart":
            members["params"] = {"media.ad.podIndex": 1, "media.ad.podSecond": ph}
        elif kind == "adStart":
            members["params"] = AD
        elif kind == "chapterStart":
            members["params"] = CHAPTER
        elif kind in ("stateStart", "stateEnd"):
            members["params"] = {"media.state.name": STATES[state]}
        elif kind == "error":
            members["qoeData"] = {
                "media.qoe.errorID": f"e{state}",
                "media.qoe.errorSource": "player",
            }
        if bitrate is not None:
            members.setdefault("qoeData", {})["media.qoe.bitrate"] = bitrate
        bodies.append(ev(kind, ts, ph, **members))
    return bodies


@pytest.fixture(scope="module")
def app_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    db = Path(tmp_path_factory.mktemp("order")) / "order.db"
    with TestClient(create_app(load_settings({"db": str(db)}))) as client:
        yield client


def report_after(client: TestClient, bodies: list[dict[str, Any]]) -> dict[str, Any]:
    """Open a session, send the bodies in the given order, return its report (without its id)."""
    created = client.post("/api/v1/sessions", json=start_body(**{"media.length": 300}))
    assert created.status_code == 201
    location = created.headers["location"]
    for body in bodies:
        assert client.post(location + "/events", json=body).status_code == 204
    report: dict[str, Any] = client.get("/reports/sessions/" + location.rsplit("/", 1)[1]).json()
    report.pop("id")
    return report


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(step, min_size=1, max_size=25), data=st.data())
def test_arrival_order_does_not_change_the_report(
    app_client: TestClient,
    steps: list[tuple[str, int, float, int, int | None]],
    data: st.DataObject,
) -> None:
    bodies = wire(steps)
    shuffled = data.draw(st.permutations(bodies))
    in_order = report_after(app_client, bodies)
    assert report_after(app_client, shuffled) == in_order
    assert in_order["params"] == START_PARAMS | {"media.length": 300}
