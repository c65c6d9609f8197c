"""``GET /reports/errors`` on every backend: the error ids of the selected sessions by source,
each with the sessions whose report lists it, as counted here from the per-session reports."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.reports import oracle
from tests.reports.audience import Audience, report

SOURCES = {"playerSdkErrors": "player", "externalErrors": "external"}


@pytest.fixture(scope="module")
def reports(audience_app: tuple[TestClient, Audience]) -> list[dict[str, Any]]:
    """Every replayed session's report, from the per-session endpoint."""
    client, audience = audience_app
    return [report(client, sid) for sid in audience.sids]


def expected(chosen: list[dict[str, Any]], source: str | None = None) -> list[dict[str, Any]]:
    """The rows the report should answer for ``chosen``: most sessions first, then by id and
    source, each with its share of the chosen sessions."""
    counts: Counter[tuple[str, str]] = Counter()
    for r in chosen:
        for key, name in SOURCES.items():
            if source in (None, name):
                counts.update((error_id, name) for error_id in set(r["qoeDataDetails"][key]))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0][0], item[0][1]))
    return [
        {"errorId": eid, "source": src, "sessions": n, "share": n / len(chosen)}
        for (eid, src), n in ranked
    ]


def test_the_audience_has_errors_of_both_sources(reports: list[dict[str, Any]]) -> None:
    rows = expected(reports)
    assert {row["source"] for row in rows} == {"player", "external"}
    assert any(row["sessions"] > 1 for row in rows)


@pytest.mark.parametrize(
    "filters",
    [[], ["media.contentType:vod"], ["!media.contentType:vod"], ["state:open"], ["media.id:none"]],
    ids=lambda f: ",".join(f) or "all",
)
def test_errors_by_id_and_source_match_the_reports(
    audience_app: tuple[TestClient, Audience], reports: list[dict[str, Any]], filters: list[str]
) -> None:
    client, audience = audience_app
    start, end = audience.start_ts, audience.end_ts + 1
    response = client.get(
        "/reports/errors", params={"from": start, "to": end, "filter": filters, "limit": 1000}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    chosen = oracle.selected(reports, start, end, filters)
    assert (body["from"], body["to"], body["filters"]) == (start, end, filters)
    assert body["sessions"] == len(chosen)
    assert body["errors"] == (expected(chosen) if chosen else [])


def test_source_and_limit(
    audience_app: tuple[TestClient, Audience], reports: list[dict[str, Any]]
) -> None:
    client, audience = audience_app
    selection = {"from": audience.start_ts, "to": audience.end_ts + 1}
    for source in ("player", "external"):
        response = client.get("/reports/errors", params={**selection, "source": source})
        assert response.status_code == 200, response.text
        assert response.json()["errors"] == expected(reports, source)[:20]
    limited = client.get("/reports/errors", params={**selection, "limit": 2}).json()
    assert limited["errors"] == expected(reports)[:2]


def test_bots_are_left_out_unless_asked_for(audience_app: tuple[TestClient, Audience]) -> None:
    client, audience = audience_app
    selection = {"from": audience.start_ts, "to": audience.end_ts + 1}
    bots = client.get("/reports/errors", params={**selection, "filter": "isBot:true"}).json()
    assert (bots["sessions"], bots["errors"]) == (0, [])
