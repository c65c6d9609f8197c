"""The aggregate contract, on every backend: each report over many sessions equals the spec's
formulas applied (in tests/reports/oracle.py) to the per-session reports of the sessions it
selects."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.helpers import start_body
from tests.reports import oracle
from tests.reports.audience import Audience, report, summarize


@pytest.fixture(scope="module")
def reports(audience_app: tuple[TestClient, Audience]) -> list[dict[str, Any]]:
    """Every replayed session's report, from the per-session endpoint."""
    client, audience = audience_app
    return [report(client, sid) for sid in audience.sids]


def test_the_audience_has_what_the_contract_needs(reports: list[dict[str, Any]]) -> None:
    states = {r["state"] for r in reports}
    assert states == {"open", "closed"}
    assert any(oracle.viewer(r) is None for r in reports)
    assert len({oracle.viewer(r) for r in reports}) < len(reports)
    assert any(r["ads"] for r in reports) and any(r["chapters"] for r in reports)
    assert any(r["qoeDataDetails"]["errorCount"] for r in reports)


SELECTIONS = [
    [],
    ["media.contentType:vod"],
    ["media.contentType:vod", "media.contentType:live"],
    ["media.contentType:vod", "state:closed"],
    ["!media.contentType:vod"],
    ["media.channel:web", "!state:open"],
    ["meta.segment:a"],
    ["viewer:(none)"],
    ["media.episode:10:30"],
    ["media.show:(none)"],
    ["media.resume:false"],
    ["media.length:600"],
    ["closeReason:(none)"],
    ["media.id:no-such-media"],
]


@pytest.mark.parametrize("filters", SELECTIONS, ids=lambda f: ",".join(f) or "all")
def test_summary_matches_the_formulas(
    audience_app: tuple[TestClient, Audience], reports: list[dict[str, Any]], filters: list[str]
) -> None:
    client, audience = audience_app
    start, end = audience.start_ts, audience.end_ts + 1
    response = client.get("/reports/summary", params={"from": start, "to": end, "filter": filters})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["from"], body["to"], body["filters"]) == (start, end, filters)
    chosen = oracle.selected(reports, start, end, filters)
    assert (len(chosen) > 0) == ("media.id:no-such-media" not in filters)
    expected = oracle.metrics(chosen)
    assert oracle.differences(expected, body["metrics"]) == []


def test_summary_of_a_part_of_the_range_and_its_previous(
    audience_app: tuple[TestClient, Audience], reports: list[dict[str, Any]]
) -> None:
    client, audience = audience_app
    middle = (audience.start_ts + audience.end_ts) // 2
    length = middle - audience.start_ts
    response = client.get(
        "/reports/summary",
        params={"from": middle, "to": middle + length, "compare": "previous"},
    )
    body = response.json()
    later = oracle.selected(reports, middle, middle + length, [])
    earlier = oracle.selected(reports, middle - length, middle, [])
    assert later and earlier
    assert oracle.differences(oracle.metrics(later), body["metrics"]) == []
    assert (body["previous"]["from"], body["previous"]["to"]) == (middle - length, middle)
    assert oracle.differences(oracle.metrics(earlier), body["previous"]["metrics"]) == []


def test_an_empty_selection_has_null_rates_and_statistics(
    audience_app: tuple[TestClient, Audience],
) -> None:
    client = audience_app[0]
    body = client.get(
        "/reports/summary", params={"from": "2020-01-01", "to": "2020-01-02T00:00:00Z"}
    ).json()
    m = body["metrics"]
    assert oracle.differences(oracle.metrics([]), m) == []
    assert m["mediaStarts"] == 0 and m["completionRate"] is None
    assert m["timeToStart"] == {
        "count": 0, "mean": None, "p50": None, "p90": None, "p95": None, "p99": None
    }  # fmt: skip
    assert body["from"] == 1_577_836_800_000


@pytest.mark.parametrize("filters", [[], ["media.contentType:vod"], ["state:open"]])
def test_every_page_of_the_sessions_list(
    audience_app: tuple[TestClient, Audience], reports: list[dict[str, Any]], filters: list[str]
) -> None:
    client, audience = audience_app
    start, end = audience.start_ts, audience.end_ts + 1
    params: dict[str, Any] = {"from": start, "to": end, "filter": filters, "limit": 5}
    listed: list[dict[str, Any]] = []
    while True:
        page = client.get("/reports/sessions", params=params).json()
        assert len(page["sessions"]) <= 5
        listed.extend(page["sessions"])
        if page["next"] is None:
            break
        params["cursor"] = page["next"]
    chosen = oracle.selected(reports, start, end, filters)
    chosen.sort(key=lambda r: r["firstEventTs"], reverse=True)
    assert [s["id"] for s in listed] == [r["id"] for r in chosen]
    for item, r in zip(listed, chosen, strict=True):
        assert item == {
            "id": r["id"],
            "state": r["state"],
            "closeReason": r["closeReason"],
            "firstEventTs": r["firstEventTs"],
            "lastEventTs": r["lastEventTs"],
            "media.id": r["params"].get("media.id"),
            "media.name": r["params"].get("media.name"),
            "viewer": oracle.viewer(r),
            "timePlayed": r["sessionDetails"]["timePlayed"],
            "isCompleted": r["sessionDetails"]["isCompleted"],
            "errorCount": r["qoeDataDetails"]["errorCount"],
            "experience": r["scores"]["experience"],
        }


def test_oldest_first_pages_too(audience_app: tuple[TestClient, Audience]) -> None:
    client, audience = audience_app
    params: dict[str, Any] = {
        "from": audience.start_ts, "to": audience.end_ts + 1, "order": "firstEventTs", "limit": 7,
    }  # fmt: skip
    seen: list[int] = []
    while True:
        page = client.get("/reports/sessions", params=params).json()
        seen.extend(s["firstEventTs"] for s in page["sessions"])
        if not page["next"]:
            break
        params["cursor"] = page["next"]
    assert len(seen) == len(audience.sids)
    assert seen == sorted(seen)


def test_pages_stay_valid_while_sessions_keep_arriving(
    audience_app: tuple[TestClient, Audience],
) -> None:
    client, audience = audience_app
    start, end = audience.start_ts, audience.end_ts + 10_000_000
    params: dict[str, Any] = {"from": start, "to": end, "limit": 4}
    first = client.get("/reports/sessions", params=params).json()
    before = first["sessions"]
    # new sessions arrive, newer and older than the page's last one
    arrived = []
    for ts in (audience.end_ts + 5_000, audience.start_ts + 1):
        body = start_body(ts, **{"media.id": "late-arrival"})
        response = client.post("/api/v1/sessions", json=body)
        arrived.append(response.headers["location"].rsplit("/", 1)[1])
    summarize(client)
    listed = list(before)
    params["cursor"] = first["next"]
    while params["cursor"]:
        page = client.get("/reports/sessions", params=params).json()
        listed.extend(page["sessions"])
        params["cursor"] = page["next"]
    ids = [s["id"] for s in listed]
    assert len(ids) == len(set(ids))
    # everything listed before, then everything older than the cursor, the old arrival too
    assert set(audience.sids) <= set(ids)
    assert arrived[1] in ids and arrived[0] not in ids
    stamps = [s["firstEventTs"] for s in listed]
    assert stamps == sorted(stamps, reverse=True)
