"""Replays every worked scenario through the real HTTP API and compares the report with `expect`."""

from __future__ import annotations

import json
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.helpers import SCENARIO_DIR, TS0, ev, open_session

SHARED = Path(__file__).resolve().parents[3] / "shared" / "scenarios"
FILES = sorted(SCENARIO_DIR.glob("*.json"))
COUNTS = {"pauseCount", "adCount", "chapterCount", "estimatedStreams", "bitrateChangeCount",
          "bufferCount", "stallCount", "errorCount", "droppedFrames", "count"}  # fmt: skip


def wire_events(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The scenario's events as wire bodies (ts = baseTs + t * 1000)."""
    out = []
    for e in doc["events"]:
        body = ev(e["eventType"], doc["baseTs"] + round(e["t"] * 1000), e["playhead"])
        body.update({k: e[k] for k in ("params", "qoeData", "customMetadata") if k in e})
        out.append(body)
    return out


def mismatches(expected: Any, got: Any, path: str = "") -> list[str]:
    """Every field of `expected` that `got` does not match (durations within 0.01 s)."""
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return [f"{path}: expected an object, got {got!r}"]
        return [m for k, v in expected.items() for m in mismatches(v, got.get(k), f"{path}.{k}")]
    if isinstance(expected, list):
        if not isinstance(got, list) or len(got) != len(expected):
            return [f"{path}: expected {len(expected)} items, got {got!r}"]
        return [
            m
            for i, (a, b) in enumerate(zip(expected, got, strict=True))
            for m in mismatches(a, b, f"{path}[{i}]")
        ]
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        return (
            []
            if got == expected and type(got) is type(expected)
            else [f"{path}: {expected!r} != {got!r}"]
        )
    if path.rsplit(".", 1)[-1] in COUNTS:
        ok = isinstance(got, int) and not isinstance(got, bool) and got == expected
        return [] if ok else [f"{path}: expected the integer {expected}, got {got!r}"]
    ok = isinstance(got, (int, float)) and not isinstance(got, bool) and abs(got - expected) <= 0.01
    return [] if ok else [f"{path}: {expected!r} != {got!r}"]


def replay(
    client: TestClient, doc: dict[str, Any], order: list[int] | None = None
) -> dict[str, Any]:
    """Send a scenario (optionally in another arrival order) and return its report."""
    events = wire_events(doc)
    if events[0]["params"].get("media.downloaded"):
        response = client.post("/api/v1/downloaded", json=events)
        assert response.status_code == 201, response.text
    else:
        response = client.post("/api/v1/sessions", json=events[0])
        assert response.status_code == 201, response.text
        rest = events[1:]
        for i in order if order is not None else range(len(rest)):
            sent = client.post(response.headers["location"] + "/events", json=rest[i])
            assert sent.status_code == 204, sent.text
    report = client.get("/reports/sessions/" + response.headers["location"].rsplit("/", 1)[1])
    assert report.status_code == 200
    data: dict[str, Any] = report.json()
    return data


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_scenario_in_order(client: TestClient, path: Path) -> None:
    doc = json.loads(path.read_text())
    assert mismatches(doc["expect"], replay(client, doc)) == []


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_scenario_any_arrival_order(client: TestClient, path: Path, seed: int) -> None:
    """Rule 11: arrival order must not change a metric (sessionStart first, the rest shuffled)."""
    doc = json.loads(path.read_text())
    order = list(range(len(doc["events"]) - 1))
    random.Random(seed).shuffle(order)
    in_order = replay(client, doc)
    shuffled = replay(client, doc, order)
    assert mismatches(doc["expect"], shuffled) == []
    for report in (in_order, shuffled):
        report.pop("id")
    assert shuffled == in_order


def test_vendored_scenarios_match_shared() -> None:
    """The copies under tests/ are the shared ones (when shared/ sits beside the checkout)."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} not present: nothing to compare the vendored copies with")
    shared = {p.name: p.read_bytes() for p in SHARED.glob("*.json")}
    assert shared == {p.name: p.read_bytes() for p in FILES}


def test_sixty_events_eight_in_parallel_match_sequential(client: TestClient) -> None:
    """60 events of one session sent 8 at a time all get 204 and give the sequential report."""
    events = [ev("play", TS0 + 1000, 0)]
    events += [ev("ping", TS0 + 1000 + 10_000 * i, 10 * i) for i in range(1, 58)]
    events += [ev("pauseStart", TS0 + 575_000, 574), ev("play", TS0 + 580_000, 574)]
    sequential = open_session(client)
    for body in events:
        assert client.post(f"/api/v1/sessions/{sequential}/events", json=body).status_code == 204
    parallel = open_session(client)
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(
            lambda body: client.post(f"/api/v1/sessions/{parallel}/events", json=body).status_code,
            events,
        ))  # fmt: skip
    assert statuses == [204] * 60
    a = client.get(f"/reports/sessions/{sequential}").json()
    b = client.get(f"/reports/sessions/{parallel}").json()
    assert a["sessionDetails"]["timePlayed"] == pytest.approx(574.0)
    assert a["sessionDetails"]["pauseTime"] == pytest.approx(5.0)
    a.pop("id"), b.pop("id")
    assert b == a
