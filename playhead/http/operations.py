"""Operations endpoints: ``/healthz``, ``/readyz``, ``/metrics`` and deleting a viewer's data
(docs/operations.md)."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from playhead.errors import FieldError, error_body
from playhead.http.reports import json_response
from playhead.ops.erasure import delete_viewer
from playhead.ops.health import Failing, readiness
from playhead.ops.metrics import CONTENT_TYPE

_OK = msgspec.json.encode({"status": "ok"})


async def healthz(request: Request) -> Response:
    """Liveness: 200 while the process runs and its event loop answers."""
    return json_response(_OK)


async def readyz(request: Request) -> Response:
    """Readiness: 200 when storage and live state answer and the write queue has room; 503
    naming each failing part otherwise."""
    services = request.app.state.services
    if services.draining:
        failing = [Failing("server", "shutting down")]
    else:
        failing = await readiness(services.storage, services.state, services.settings.queue_size)
    if not failing:
        return json_response(_OK)
    # the one error shape: each problem starts with the part it is about
    parts = ", ".join(f.part for f in failing)
    errors = [FieldError("$", f"{f.part}: {f.problem}") for f in failing]
    return json_response(error_body(f"Not ready: {parts}.", errors), 503)


async def metrics(request: Request) -> Response:
    """Every metric in the Prometheus text format (of every worker process); the read-token
    rule of reports applies (``playhead.http.access.ReadGuard`` guards the path)."""
    body = await request.app.state.services.metrics.render()
    return Response(body, media_type=CONTENT_TYPE)


async def delete_viewer_data(request: Request) -> Response:
    """Delete every session, event and summary of one viewer key; answer what went (admin)."""
    key: str = request.path_params["viewerKey"]
    services = request.app.state.services
    erased = await delete_viewer(services.storage, services.state, key)
    return json_response(msgspec.json.encode(erased))
