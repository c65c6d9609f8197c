"""Enrichment's dimensions in reports: bots are left out unless asked for; device, browser
and the others filter and break down like any dimension."""

from __future__ import annotations

from typing import Any

from tests.helpers import TS0, start_body
from tests.reports.audience import summarize

BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)


def test_bots_count_only_when_asked_for(client: Any) -> None:
    for agent in (BOT, PHONE, PHONE):
        response = client.post(
            "/api/v1/sessions", json=start_body(TS0), headers={"User-Agent": agent}
        )
        assert response.status_code == 201
    summarize(client)
    params: dict[str, Any] = {"from": TS0, "to": TS0 + 1}

    def starts(**extra: Any) -> int:
        body = client.get("/reports/summary", params={**params, **extra}).json()
        count: int = body["metrics"]["mediaStarts"]
        return count

    assert starts() == 2
    assert starts(filter="isBot:true") == 1
    assert starts(filter=["isBot:true", "isBot:false"]) == 3
    assert starts(filter="!isBot:true") == 2
    rows = client.get("/reports/breakdown", params={**params, "dimension": "device.type"}).json()[
        "rows"
    ]
    assert rows == [{"value": "mobile", "mediaStarts": 2}]
    page = client.get("/reports/sessions", params={**params, "filter": "os.name:iOS"}).json()
    assert len(page["sessions"]) == 2
