"""Report endpoints of one session over HTTP: ``GET /reports/sessions/{sid}`` (reports.md)
and its stored events, ``GET /reports/sessions/{sid}/events``."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from playhead.errors import RETRY_AFTER_SECONDS, ClientError, error_body
from playhead.reports import events

_encode = msgspec.json.Encoder().encode


def json_response(body: bytes, status: int = 200) -> Response:
    """A JSON response from already-encoded bytes (a 503 also says when to retry)."""
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else None
    return Response(body, status_code=status, media_type="application/json", headers=headers)


async def client_error(request: Request, exc: Exception) -> Response:
    """Any :class:`ClientError` raised by a route, in the one error shape."""
    assert isinstance(exc, ClientError)
    return json_response(exc.body(), exc.status)


async def session_report(request: Request) -> Response:
    """The report of one session, open or closed; 404 for an unknown id."""
    report = await request.app.state.services.reports.report(request.path_params["sid"])
    if report is None:
        return json_response(error_body("Session not found."), 404)
    return json_response(report if isinstance(report, bytes) else _encode(report))


async def session_events(request: Request) -> Response:
    """The stored events of one session, a page at a time; 404 for an unknown id."""
    after, limit = events.parse_page(request.query_params)
    storage = request.app.state.services.storage
    page = await events.session_events(storage, request.path_params["sid"], after, limit)
    if page is None:
        return json_response(error_body("Session not found."), 404)
    return json_response(_encode(page))
