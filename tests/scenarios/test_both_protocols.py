"""Every worked scenario replayed through the Collection API and the Media Edge API gives the
same report, field for field (only the sessionStart params the Edge API has no home for, and
the session id, differ), in order and in a shuffled arrival order."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from playhead.protocols.edge.encode import downloaded_from_collection, from_collection
from tests.helpers import SCENARIO_DIR
from tests.scenarios.test_replay import mismatches, replay, wire_events

FILES = sorted(SCENARIO_DIR.glob("*.json"))


def replay_edge(
    client: TestClient, doc: dict[str, Any], order: list[int] | None = None
) -> dict[str, Any]:
    """Send a scenario over the Media Edge API and return its report."""
    events = wire_events(doc)
    if events[0]["params"].get("media.downloaded"):
        response = client.post("/ee/va/v1/downloaded", json=downloaded_from_collection(events))
        assert response.status_code == 200, response.text
        sid = response.json()["handle"][0]["payload"][0]["sessionId"]
    else:
        _, start = from_collection(events[0])
        response = client.post("/ee/va/v1/sessionStart?configId=abc", json=start)
        assert response.status_code == 200, response.text
        handle = response.json()["handle"][0]
        assert handle["type"] == "media-analytics:new-session"
        sid = handle["payload"][0]["sessionId"]
        rest = events[1:]
        for i in order if order is not None else range(len(rest)):
            name, body = from_collection(rest[i], sid)
            sent = client.post(f"/ee/va/v1/{name}", json=body)
            assert sent.status_code == 204, sent.text
    report = client.get(f"/reports/sessions/{sid}")
    assert report.status_code == 200
    data: dict[str, Any] = report.json()
    return data


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    """The report without what may differ between protocols: the id, and the sessionStart
    params the Edge API carries elsewhere (analytics.*, the org id: its datastream)."""
    out = dict(report)
    out.pop("id")
    out["params"] = {k: v for k, v in report["params"].items() if k.startswith("media.")}
    return out


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_a_scenario_gives_the_same_report_over_both_protocols(
    client: TestClient, path: Path
) -> None:
    doc = json.loads(path.read_text())
    collection = replay(client, doc)
    edge = replay_edge(client, doc)
    assert mismatches(doc["expect"], edge) == []
    assert comparable(edge) == comparable(collection)


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_a_shuffled_scenario_gives_the_same_report_over_the_edge_api(
    client: TestClient, path: Path
) -> None:
    doc = json.loads(path.read_text())
    order = list(range(len(doc["events"]) - 1))
    random.Random(7).shuffle(order)
    assert comparable(replay_edge(client, doc, order)) == comparable(replay(client, doc))
