"""Malformed report parameters are 400s naming ``query.NAME``; the selection's parser."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.datastructures import QueryParams

from playhead.errors import InvalidQuery
from playhead.reports import dimensions
from playhead.reports.selection import (
    Filter,
    Selection,
    filter_conditions,
    parse,
    parse_time,
    where,
)

NOW = 1_764_608_400_000


@pytest.mark.parametrize(
    ("query", "path"),
    [
        ("from=yesterday", "query.from"),
        ("to=2026-13-01", "query.to"),
        ("from=2&to=1", "query.from"),
        ("from=5&to=5", "query.from"),
        ("filter=media.id", "query.filter"),
        ("filter=:x", "query.filter"),
        ("filter=me%22dia:x", "query.filter"),
        ("filter=meta.:x", "query.filter"),
        ("tz=Mars/Olympus", "query.tz"),
        ("tz=../etc/passwd", "query.tz"),
        ("compare=next", "query.compare"),
        ("to=1&to=2", "query.to"),
        ("from=99999999999999999", "query.from"),
    ],
)
def test_summary_names_the_bad_parameter(client: Any, query: str, path: str) -> None:
    response = client.get(f"/reports/summary?{query}")
    assert response.status_code == 400, response.text
    assert path in [e["path"] for e in response.json()["errors"]]


@pytest.mark.parametrize(
    ("query", "path"),
    [
        ("limit=0", "query.limit"),
        ("limit=1001", "query.limit"),
        ("limit=x", "query.limit"),
        ("order=name", "query.order"),
        ("cursor=!!", "query.cursor"),
        ("cursor=bm90LWEtY3Vyc29y", "query.cursor"),
    ],
)
def test_sessions_list_names_the_bad_parameter(client: Any, query: str, path: str) -> None:
    response = client.get(f"/reports/sessions?{query}")
    assert response.status_code == 400, response.text
    assert [e["path"] for e in response.json()["errors"]] == [path]


def test_times_in_every_accepted_form() -> None:
    assert parse_time("from", "1764608400000") == NOW
    assert parse_time("from", "2025-12-01T17:00:00Z") == NOW
    assert parse_time("from", "2025-12-01T22:30:00+05:30") == NOW
    assert parse_time("from", "2025-12-01T17:00:00") == NOW
    assert parse_time("from", "2025-12-01") == NOW - 17 * 3_600_000


def test_defaults_are_the_last_24_hours() -> None:
    s = parse(QueryParams(""), NOW)
    assert (s.from_ms, s.to_ms, s.filters, str(s.tz), s.compare) == (
        NOW - 86_400_000, NOW, (), "UTC", False,
    )  # fmt: skip
    s = parse(QueryParams("filter=!meta.a:b:c&tz=Asia/Kolkata&compare=previous"), NOW)
    assert s.filters == (Filter("meta.a", "b:c", exclude=True),)
    assert (str(s.tz), s.compare) == ("Asia/Kolkata", True)
    assert s.previous() == Selection(NOW - 2 * 86_400_000, NOW - 86_400_000, s.filters, s.tz)


def test_every_problem_is_listed_at_once() -> None:
    with pytest.raises(InvalidQuery) as caught:
        parse(QueryParams("from=x&to=y&tz=Nowhere"), NOW)
    assert [e.path for e in caught.value.errors] == ["query.to", "query.from", "query.tz"]


def test_bots_are_left_out_unless_the_selection_names_is_bot() -> None:
    assert dimensions.DEFAULT_EXCLUDED == {"isBot": "true"}
    conditions, args = filter_conditions((), "sqlite")
    assert conditions == [
        "ss.session_id NOT IN (SELECT x.id FROM sessions x"
        " WHERE json_extract(x.context, '$.\"isBot\"') = 'true')"
    ]
    assert args == ()
    conditions, args = filter_conditions((Filter("isBot", "true"),), "sqlite")
    assert args == ("true",) and " IN (" in conditions[0] and len(conditions) == 1


def test_a_wide_range_scans_and_a_narrow_one_uses_the_index() -> None:
    wide = where(Selection(0, 10, scan=True), "sqlite")
    narrow = where(Selection(0, 10), "sqlite")
    assert wide[0].startswith("+ss.first_event_ts >= ? AND +ss.first_event_ts < ?")
    assert narrow[0].startswith("ss.first_event_ts >= ? AND ss.first_event_ts < ?")
    assert wide[1] == narrow[1] == (0, 10)


@pytest.mark.parametrize(
    ("query", "paths"),
    [
        ("source=sdk", ["query.source"]),
        ("source=player&source=external", ["query.source"]),
        ("limit=0", ["query.limit"]),
        ("limit=1001", ["query.limit"]),
        ("from=x", ["query.from"]),
        ("filter=nocolon", ["query.filter"]),
    ],
)
def test_errors_report_names_the_bad_parameter(client: Any, query: str, paths: list[str]) -> None:
    response = client.get(f"/reports/errors?{query}")
    assert response.status_code == 400, response.text
    assert [e["path"] for e in response.json()["errors"]] == paths


@pytest.mark.parametrize(
    ("query", "paths"),
    [
        ("after=-1", ["query.after"]),
        ("after=x", ["query.after"]),
        ("after=99999999999999999999", ["query.after"]),
        ("limit=0", ["query.limit"]),
        ("limit=1001", ["query.limit"]),
        ("after=1&after=2", ["query.after"]),
        ("after=x&limit=x", ["query.after", "query.limit"]),
    ],
)
def test_session_events_name_the_bad_parameter(client: Any, query: str, paths: list[str]) -> None:
    response = client.get(f"/reports/sessions/{'0' * 64}/events?{query}")
    assert response.status_code == 400, response.text
    assert [e["path"] for e in response.json()["errors"]] == paths
