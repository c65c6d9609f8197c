"""Reports over many sessions over HTTP (``GET /reports/...``): query parameters in, JSON out.

Each handler parses its parameters (a malformed one is a 400 naming ``query.NAME``) and asks
:mod:`playhead.reports` for the answer; nothing here touches SQL.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from playhead.http.reports import json_response
from playhead.reports import aggregate
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
    body = await aggregate.summary(_services(request).storage, selection)
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
