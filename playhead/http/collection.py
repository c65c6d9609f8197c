"""The Collection API over HTTP, as a bare ASGI app (the ingest hot path).

It only translates: it reads the body (enforcing the size limit), calls the
:class:`~playhead.collector.Collector`, and turns results and
:class:`~playhead.errors.ClientError`\\ s into statuses, headers and JSON bodies. Every answer
carries the CORS headers of decisions.md rule 1. It is bare ASGI rather than a Starlette route
because this is the path the benchmarks measure; everything else is served by Starlette behind
it (``fallback``).

Routes (``{p}`` is the optional prefix; the unprefixed paths always work too)::

    POST    {p}/api/v1/sessions                 201 + Location (an event, or a downloaded array)
    POST    {p}/api/v1/sessions/{sid}/events    204
    POST    {p}/api/v1/downloaded               201 + Location
    GET     {p}/api/v1/schemas/{eventType}      200 draft-04 JSON Schema
    OPTIONS {p}/api/v1/...                      204 (CORS preflight)
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import msgspec

from playhead.collector import Collector
from playhead.errors import (
    RETRY_AFTER_SECONDS,
    BodyTooLarge,
    ClientError,
    InvalidBody,
    UnknownEventType,
    error_body,
)
from playhead.protocols.collection.schemas import event_schema

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("playhead.http")

CORS_HEADERS: list[tuple[bytes, bytes]] = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"OPTIONS,POST,PUT"),
    (b"access-control-allow-headers", b"Content-Type"),
    (b"access-control-expose-headers", b"Location"),
    (b"access-control-max-age", b"86400"),
]
_JSON = (b"content-type", b"application/json")
_NO_CONTENT = {"type": "http.response.start", "status": 204, "headers": CORS_HEADERS}
_EMPTY_BODY = {"type": "http.response.body", "body": b""}


class CollectionApp:
    """ASGI app serving the Collection API and passing every other request to ``fallback``.

    Args:
        collector: the collection service.
        fallback: the ASGI app for everything that is not a Collection API path.
        prefix: optional extra mount point such as ``/va``.
        max_event_bytes: body limit of one event (413 above it).
        max_batch_bytes: body limit of a downloaded batch.
    """

    def __init__(
        self,
        collector: Collector,
        fallback: ASGIApp,
        *,
        prefix: str = "",
        max_event_bytes: int = 65536,
        max_batch_bytes: int = 4 * 1024 * 1024,
    ) -> None:
        self.collector = collector
        self.fallback = fallback
        self.roots = ("/api/v1/",) + ((prefix + "/api/v1/",) if prefix else ())
        self.max_event_bytes = max_event_bytes
        self.max_batch_bytes = max_batch_bytes
        self._schemas: dict[str, bytes] = {}  # eventType -> encoded schema, filled on first request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route a request: Collection API paths here, everything else to ``fallback``."""
        if scope["type"] != "http":
            await self.fallback(scope, receive, send)
            return
        path: str = scope["path"]
        for root in self.roots:
            if path.startswith(root):
                rest = path[len(root) :]
                break
        else:
            await self.fallback(scope, receive, send)
            return
        method: str = scope["method"]
        try:
            if method == "POST":
                await self._post(rest, scope, receive, send)
            elif method == "OPTIONS":
                await send(_NO_CONTENT)
                await send(_EMPTY_BODY)
            elif method in ("GET", "HEAD") and rest.startswith("schemas/"):
                await self._schema(rest[len("schemas/") :], send)
            else:
                await _error(send, 405, error_body(f"{method} is not allowed on {path}"))
        except ClientError as exc:
            await _error(send, exc.status, exc.body())
        except Exception:  # a bug, never a client's fault: log it, answer without details
            log.exception("unexpected error on %s %s", method, path)
            await _error(send, 500, error_body("Internal error."))

    async def _post(self, rest: str, scope: Scope, receive: Receive, send: Send) -> None:
        if rest.startswith("sessions/") and rest.endswith("/events"):
            sid = rest[len("sessions/") : -len("/events")]
            body = await _read_body(scope, receive, self.max_event_bytes)
            await self.collector.add_event(sid, body)
            await send(_NO_CONTENT)
            await send(_EMPTY_BODY)
        elif rest in ("sessions", "sessions/"):
            body = await _read_body(scope, receive, self.max_batch_bytes)
            if len(body) > self.max_event_bytes and body.lstrip()[:1] != b"[":
                raise BodyTooLarge(f"An event body may be at most {self.max_event_bytes} bytes.")
            await _created(send, await self.collector.start_session(body))
        elif rest in ("downloaded", "downloaded/"):
            body = await _read_body(scope, receive, self.max_batch_bytes)
            await _created(send, await self.collector.start_session(body, batch_path=True))
        else:
            await _drain(receive)
            await _error(send, 404, error_body(f"No such endpoint: POST {scope['path']}"))

    async def _schema(self, event_type: str, send: Send) -> None:
        body = self._schemas.get(event_type)
        if body is None:
            try:
                body = msgspec.json.encode(event_schema(event_type))
            except KeyError:
                raise UnknownEventType(f"No schema for event type {event_type!r}.") from None
            self._schemas[event_type] = body
        headers = [*CORS_HEADERS, _JSON, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole request body; 413 as soon as it is known to exceed ``limit``."""
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):  # the usual case: a small body in one piece
        if len(body) > limit:
            raise BodyTooLarge(f"The body may be at most {limit} bytes.")
        return body
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                declared = int(value)
            except ValueError:
                raise InvalidBody("Bad Content-Length header.") from None
            if declared > limit:
                raise BodyTooLarge(f"The body may be at most {limit} bytes.")
            break
    chunks = [body]
    size = len(body)
    while message.get("more_body", False):
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"The body may be at most {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


async def _drain(receive: Receive) -> None:
    """Read and discard a request body we will not use (bounded by the server's own limits)."""
    message = await receive()
    while message.get("more_body", False):
        message = await receive()


async def _created(send: Send, sid: str) -> None:
    # Always the unprefixed path: SDKs parse it with ^/api/(.*)/sessions/(.*) (rule 3).
    headers = [
        *CORS_HEADERS,
        (b"location", b"/api/v1/sessions/" + sid.encode()),
        (b"content-length", b"0"),
    ]
    await send({"type": "http.response.start", "status": 201, "headers": headers})
    await send(_EMPTY_BODY)


_RETRY_AFTER = (b"retry-after", str(RETRY_AFTER_SECONDS).encode())


async def _error(send: Send, status: int, body: bytes) -> None:
    headers = [*CORS_HEADERS, _JSON, (b"content-length", str(len(body)).encode())]
    if status == 503:
        headers.append(_RETRY_AFTER)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
