"""Breakdown, time series, insights, concurrency and retention against the oracle, on every
backend (the audience of tests/reports/audience.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from starlette.testclient import TestClient

from tests.reports import oracle
from tests.reports.audience import Audience, report

NAMES = ["mediaStarts", "uniqueViewers", "completionRate", "rebufferRatio", "timePlayed",
         "bitrateAverage", "experienceScore", "adStarts"]  # fmt: skip


@pytest.fixture(scope="module")
def reports(audience_app: tuple[TestClient, Audience]) -> list[dict[str, Any]]:
    client, audience = audience_app
    return [report(client, sid) for sid in audience.sids]


def _range(audience: Audience) -> dict[str, Any]:
    return {"from": audience.start_ts, "to": audience.end_ts + 1}


@pytest.mark.parametrize(
    ("dimension", "filters"),
    [("media.contentType", []), ("media.show", ["!state:open"]), ("meta.segment", []),
     ("viewer", ["media.contentType:vod"]), ("bitrateBucket", []), ("state", [])],
)  # fmt: skip
def test_breakdown_rows_and_total(
    audience_app: tuple[TestClient, Audience],
    reports: list[dict[str, Any]],
    dimension: str,
    filters: list[str],
) -> None:
    client, audience = audience_app
    params = {**_range(audience), "dimension": dimension, "metric": NAMES, "filter": filters}
    body = client.get("/reports/breakdown", params=params).json()
    chosen = oracle.selected(reports, audience.start_ts, audience.end_ts + 1, filters)
    values = sorted({oracle.dimension(r, dimension) for r in chosen})
    rows = [
        {"value": v, **oracle.scalar(oracle.metrics(
            [r for r in chosen if oracle.dimension(r, dimension) == v]), NAMES)}
        for v in values
    ]  # fmt: skip
    rows.sort(key=lambda row: (-row["mediaStarts"], row["value"]))
    assert body["dimension"] == dimension
    assert oracle.differences(rows, body["rows"]) == []
    total = oracle.scalar(oracle.metrics(chosen), NAMES)
    assert oracle.differences(total, body["total"]) == []


def test_breakdown_order_and_limit(
    audience_app: tuple[TestClient, Audience], reports: list[dict[str, Any]]
) -> None:
    client, audience = audience_app
    params = {**_range(audience), "dimension": "media.id", "metric": ["timePlayed"],
              "order": "timePlayed", "limit": 3}  # fmt: skip
    body = client.get("/reports/breakdown", params=params).json()
    per = {}
    for r in reports:
        key = oracle.dimension(r, "media.id")
        per[key] = per.get(key, 0.0) + r["sessionDetails"]["timePlayed"]
    expected = sorted(per.items(), key=lambda kv: (kv[1], kv[0]))[:3]
    got = [(row["value"], row["timePlayed"]) for row in body["rows"]]
    assert [v for v, _ in got] == [v for v, _ in expected]
    assert [t for _, t in got] == pytest.approx([t for _, t in expected])


def _local_key(ts: int, tz: ZoneInfo, bucket: str) -> dt.datetime:
    local = dt.datetime.fromtimestamp(ts / 1000, tz)
    if bucket == "hour":
        return local.replace(minute=0, second=0, microsecond=0)
    if bucket == "minute":
        return local.replace(second=0, microsecond=0)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


@pytest.mark.parametrize(
    ("bucket", "tz", "group_by"),
    [("hour", "UTC", None), ("hour", "Asia/Kolkata", None), ("day", "Asia/Kolkata", None),
     ("day", "America/St_Johns", "media.contentType"), ("hour", "UTC", "media.id"),
     ("minute", "Asia/Kathmandu", None)],
)  # fmt: skip
def test_timeseries_buckets_in_the_time_zone(
    audience_app: tuple[TestClient, Audience],
    reports: list[dict[str, Any]],
    bucket: str,
    tz: str,
    group_by: str | None,
) -> None:
    client, audience = audience_app
    start, end = audience.start_ts, audience.end_ts + 1
    if bucket == "minute":
        end = start + 40 * 60_000
    params: dict[str, Any] = {"from": start, "to": end, "metric": NAMES, "bucket": bucket,
                              "tz": tz}  # fmt: skip
    if group_by:
        params["groupBy"] = group_by
    body = client.get("/reports/timeseries", params=params).json()
    assert body["bucket"] == bucket
    zone = ZoneInfo(tz)
    chosen = oracle.selected(reports, start, end, [])
    # the buckets: local boundaries from the one holding `from` to the one holding `to - 1`
    first, last = _local_key(start, zone, bucket), _local_key(end - 1, zone, bucket)
    step = {"minute": dt.timedelta(minutes=1), "hour": dt.timedelta(hours=1),
            "day": dt.timedelta(days=1)}[bucket]  # fmt: skip
    keys = []
    k = first
    while k <= last:
        keys.append(k)
        k = (k.replace(tzinfo=None) + step).replace(tzinfo=zone)
    counts: dict[str, int] = {}
    for r in chosen:
        g = oracle.dimension(r, group_by) if group_by else None
        counts[str(g)] = counts.get(str(g), 0) + 1
    if group_by:
        ranked = sorted(counts, key=lambda g: (-counts[g], g))
        groups: list[str | None] = [*ranked[:10], *(["(other)"] if len(ranked) > 10 else [])]
    else:
        groups = [None]
    if group_by == "media.id":
        assert "(other)" in groups
    expected = []
    for group in groups:

        def member(r: dict[str, Any], group: str | None = group) -> bool:
            if group is None:
                return True
            value = oracle.dimension(r, group_by or "")
            return value == group or (group == "(other)" and value not in groups)

        points = []
        for key in keys:
            inside = [r for r in chosen if member(r)
                      and _local_key(r["firstEventTs"], zone, bucket) == key]  # fmt: skip
            points.append({"t": int(key.timestamp() * 1000),
                           **oracle.scalar(oracle.metrics(inside), NAMES)})  # fmt: skip
        expected.append({"group": group, "points": points})
    assert oracle.differences(expected, body["series"]) == []
    assert sum(p["mediaStarts"] for s in body["series"] for p in s["points"]) == len(chosen)


@pytest.mark.parametrize("metric", ["experienceScore", "completionRate", "rebufferRatio"])
def test_insights_rank_by_impact(
    audience_app: tuple[TestClient, Audience], reports: list[dict[str, Any]], metric: str
) -> None:
    client, audience = audience_app
    dims = ["media.show", "media.contentType", "media.channel"]
    params = {**_range(audience), "metric": metric, "dimension": dims, "minSessions": 3}
    body = client.get("/reports/insights", params=params).json()
    chosen = oracle.selected(reports, audience.start_ts, audience.end_ts + 1, [])
    overall = oracle.metrics(chosen)[metric]
    sign = -1 if metric in ("experienceScore", "completionRate") else 1
    rows = []
    for d in dims:
        for v in sorted({oracle.dimension(r, d) for r in chosen}):
            group = [r for r in chosen if oracle.dimension(r, d) == v]
            value = oracle.metrics(group)[metric]
            if len(group) < 3 or value is None:
                continue
            impact = len(group) * (value - overall) * sign
            if impact > 0:
                row = {"dimension": d, "value": v, "sessions": len(group)}
                rows.append(
                    {**row, "metricValue": value, "overallValue": overall, "impact": impact}
                )
    rows.sort(key=lambda r: (-r["impact"], r["dimension"], r["value"]))
    assert rows
    assert oracle.differences({"metric": metric, "overall": overall, "rows": rows[:20]}, body) == []


@pytest.mark.parametrize(
    ("step", "filters"), [(60, []), (600, ["media.contentType:vod"]), (3600, [])]
)
def test_concurrency_follows_the_timelines(
    audience_app: tuple[TestClient, Audience],
    reports: list[dict[str, Any]],
    step: int,
    filters: list[str],
) -> None:
    client, audience = audience_app
    # starting half-way: sessions that began before `from` still count while they watch
    start = (audience.start_ts + audience.end_ts) // 2 + 1234
    end = audience.end_ts + 600_000
    params = {"from": start, "to": end, "step": step, "filter": filters}
    body = client.get("/reports/concurrency", params=params).json()
    expected = oracle.concurrency(reports, start, end, step * 1000, filters)
    assert max(p["viewers"] for p in expected) > 1
    assert oracle.differences({"step": step, "points": expected}, body) == []


@pytest.mark.parametrize("filters", [[], ["media.contentType:vod"], ["media.contentType:nothing"]])
def test_retention_follows_the_watched_ranges(
    audience_app: tuple[TestClient, Audience], reports: list[dict[str, Any]], filters: list[str]
) -> None:
    client, audience = audience_app
    params = {**_range(audience), "filter": filters, "points": 50}
    body = client.get("/reports/retention", params=params).json()
    chosen = oracle.selected(reports, audience.start_ts, audience.end_ts + 1, filters)
    assert oracle.differences(oracle.retention(chosen, 50), body) == []
