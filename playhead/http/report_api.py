"""Reports over many sessions over HTTP (``GET /reports/...``): query parameters in, JSON out.

Each handler parses its parameters (a malformed one is a 400 naming ``query.NAME``) and asks
:mod:`playhead.reports` for the answer; nothing here touches SQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from playhead.errors import InvalidQuery
from playhead.http.reports import json_response
from playhead.reports import aggregate, curves, errors, export, grouped
from playhead.reports.selection import Selection, one, parse

_encode = msgspec.json.Encoder().encode


def _services(request: Request) -> Any:
    return request.app.state.services


def selection_of(request: Request) -> Selection:
    """The selection of a request (``to`` defaults to now on the server clock)."""
    return parse(request.query_params, _services(request).collector.clock())


async def summary(request: Request) -> Response:
    """``GET /reports/summary``."""
    selection = selection_of(request)
    body = await aggregate.summary(_services(request).figures, selection)
    return json_response(_encode(body))


async def sessions(request: Request) -> Response:
    """``GET /reports/sessions``: one keyset page of the selected sessions."""
    query = request.query_params
    selection = selection_of(request)
    order = aggregate.parse_order(query)
    limit = aggregate.parse_limit(query, 50, aggregate.MAX_LIMIT)
    cursor = one(query, "cursor")
    page = await aggregate.sessions_page(
        _services(request).storage, selection, order, cursor, limit
    )
    return json_response(_encode(page))


async def breakdown(request: Request) -> Response:
    """``GET /reports/breakdown``: the metrics per value of one dimension."""
    query = request.query_params
    selection = selection_of(request)
    dimension = grouped.parse_dimension(query, "dimension", required=True)
    assert dimension is not None
    names = grouped.parse_metrics(query)
    order = grouped.parse_order(query, names)
    limit = aggregate.parse_limit(query, 100, 1000)
    body = await grouped.breakdown(
        _services(request).figures, selection, dimension, names, order, limit
    )
    return json_response(_encode(body))


async def timeseries(request: Request) -> Response:
    """``GET /reports/timeseries``: the metrics per time bucket, optionally per group."""
    query = request.query_params
    selection = selection_of(request)
    names = grouped.parse_metrics(query)
    bucket = grouped.parse_bucket(query)
    group_by = grouped.parse_dimension(query, "groupBy", required=False)
    body = await grouped.timeseries(_services(request).figures, selection, names, bucket, group_by)
    return json_response(_encode(body))


async def insights(request: Request) -> Response:
    """``GET /reports/insights``: where the experience is worst, ranked by impact."""
    query = request.query_params
    selection = selection_of(request)
    metric = one(query, "metric") or "experienceScore"
    if metric not in grouped.INSIGHT_METRICS:
        raise InvalidQuery.of("metric", "must be one of " + ", ".join(grouped.INSIGHT_METRICS))
    dims = grouped.parse_dimensions(query, "dimension", grouped.INSIGHT_DIMENSIONS)
    min_sessions = curves.parse_int(query, "minSessions", 20, 1, 1_000_000_000)
    limit = aggregate.parse_limit(query, 20, 1000)
    body = await grouped.insights(
        _services(request).figures, selection, metric, dims, min_sessions, limit
    )
    return json_response(_encode(body))


async def concurrency(request: Request) -> Response:
    """``GET /reports/concurrency``: concurrent viewers and watch time per step."""
    selection = selection_of(request)
    step = curves.parse_int(request.query_params, "step", 60, curves.MIN_STEP_S, curves.MAX_STEP_S)
    body = await curves.concurrency(_services(request).storage, selection, step)
    return json_response(_encode(body))


async def concurrency_now(request: Request) -> Response:
    """``GET /reports/concurrency/now``: the viewers of the open sessions right now."""
    services = _services(request)
    body = await curves.now(services.state, services.collector.clock())
    return json_response(_encode(body))


async def retention(request: Request) -> Response:
    """``GET /reports/retention``: the audience-retention curve of the selected sessions."""
    selection = selection_of(request)
    points = curves.parse_int(request.query_params, "points", 100, 1, curves.MAX_POINTS)
    body = await curves.retention(_services(request).storage, selection, points)
    return json_response(_encode(body))


def _download(chunks: AsyncIterator[bytes], media_type: str, name: str) -> Response:
    return StreamingResponse(
        chunks,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def sessions_csv(request: Request) -> Response:
    """``GET /reports/sessions.csv``: every selected session, one CSV row each, streamed."""
    selection = selection_of(request)
    chunks = export.csv_chunks(_services(request).storage, selection)
    return _download(chunks, "text/csv; charset=utf-8", "sessions.csv")


async def sessions_ndjson(request: Request) -> Response:
    """``GET /reports/sessions.ndjson``: every selected session's report, one per line."""
    selection = selection_of(request)
    chunks = export.ndjson_chunks(_services(request).storage, selection)
    return _download(chunks, "application/x-ndjson", "sessions.ndjson")


async def sessions_parquet(request: Request) -> Response:
    """``GET /reports/sessions.parquet``: the CSV's columns as Parquet (the parquet extra)."""
    selection = selection_of(request)
    export.require_pyarrow()
    chunks = export.parquet_chunks(_services(request).storage, selection)
    return _download(chunks, "application/vnd.apache.parquet", "sessions.parquet")


async def errors_report(request: Request) -> Response:
    """``GET /reports/errors``: error ids by source, ranked by the sessions they hit."""
    query = request.query_params
    selection = selection_of(request)
    source = errors.parse_source(query)
    limit = aggregate.parse_limit(query, errors.DEFAULT_LIMIT, errors.MAX_LIMIT)
    body = await errors.errors(_services(request).storage, selection, source, limit)
    return json_response(_encode(body))
