"""Time buckets across daylight-saving changes and odd offsets; the viewers right now."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from playhead.errors import InvalidQuery
from playhead.reports import buckets
from tests.helpers import TS0, ev, open_session

LONDON = ZoneInfo("Europe/London")
HOUR = 3_600_000


def ms(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).timestamp() * 1000)


def test_day_buckets_over_the_spring_change_are_23_hours() -> None:
    start, end = ms("2026-03-28T12:00:00+00:00"), ms("2026-03-31T00:00:00+01:00")
    zone = buckets.offsets(LONDON, start - 86_400_000, end + 86_400_000)
    days = buckets.buckets(86_400_000, zone, start, end)
    assert [t for _, t in days] == [
        ms("2026-03-28T00:00:00+00:00"),
        ms("2026-03-29T00:00:00+00:00"),
        ms("2026-03-30T00:00:00+01:00"),
    ]
    # a session at 23:30 BST on the 29th is in the 29th's bucket
    assert buckets.key_of(ms("2026-03-29T23:30:00+01:00"), 86_400_000, zone) == days[1][0]


def test_hour_buckets_skip_the_missing_hour_and_join_the_repeated_one() -> None:
    start, end = ms("2026-03-29T00:00:00+00:00"), ms("2026-03-29T03:00:00+00:00")
    zone = buckets.offsets(LONDON, start - HOUR, end + HOUR)
    hours = [t for _, t in buckets.buckets(HOUR, zone, start, end)]
    assert hours == [start, start + HOUR, start + 2 * HOUR]  # 00:00 GMT, 02:00 BST, 03:00 BST
    start, end = ms("2026-10-25T00:00:00+00:00"), ms("2026-10-25T03:00:00+00:00")
    zone = buckets.offsets(LONDON, start - HOUR, end + HOUR)
    hours = [t for _, t in buckets.buckets(HOUR, zone, start, end)]
    # the local clock shows 01:00-02:00 twice: one bucket of two hours, then 02:00 GMT
    assert hours == [start, start + 2 * HOUR]
    assert buckets.key_of(start + HOUR + 1, HOUR, zone) == buckets.key_of(start, HOUR, zone)


def test_too_many_buckets_is_a_400() -> None:
    zone = buckets.offsets(ZoneInfo("UTC"), 0, 10**9)
    with pytest.raises(InvalidQuery) as caught:
        buckets.buckets(60_000, zone, 0, 2001 * 60_000)
    assert caught.value.errors[0].path == "query.bucket"
    assert buckets.choose("auto", 0, 90 * 60_000) == "minute"
    assert buckets.choose("auto", 0, 15 * 86_400_000) == "hour"
    assert buckets.choose("auto", 0, 15 * 86_400_000 + 1) == "day"


def test_the_viewers_right_now_by_state(make_client: Any, clock: Any) -> None:
    client = make_client(clock=clock)
    sids = [open_session(client) for _ in range(5)]
    post = lambda sid, body: client.post(  # noqa: E731
        f"/api/v1/sessions/{sid}/events", content=json.dumps(body)
    )
    post(sids[1], ev("play", TS0 + 1000))
    post(sids[2], ev("play", TS0 + 1000))
    post(sids[2], ev("pauseStart", TS0 + 2000, 1))
    post(sids[3], ev("bufferStart", TS0 + 1000))
    post(sids[4], ev("play", TS0 + 1000))
    post(sids[4], ev("sessionEnd", TS0 + 2000, 1))
    body = client.get("/reports/concurrency/now").json()
    assert body == {
        "t": clock.now,
        "viewers": 3,
        "byState": {"playing": 1, "ad": 0, "buffering": 1, "paused": 1, "starting": 1},
    }
    clock.advance(31)
    post(sids[1], ev("ping", TS0 + 11000, 10))
    body = client.get("/reports/concurrency/now").json()
    assert (body["viewers"], body["byState"]["playing"], body["byState"]["paused"]) == (1, 1, 0)
