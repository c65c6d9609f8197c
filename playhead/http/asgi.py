"""Bare-ASGI helpers shared by the ingest endpoints (the hot path, served without Starlette):
reading a bounded body, and sending answers with the CORS headers every answer carries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from playhead.collector import Received
from playhead.errors import RETRY_AFTER_SECONDS, BodyTooLarge, InvalidBody

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

# Every answer of the ingest APIs, errors and preflights included (rule 1).
CORS_HEADERS: Headers = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"OPTIONS,POST,PUT"),
    (b"access-control-allow-headers", b"Content-Type"),
    (b"access-control-expose-headers", b"Location"),
    (b"access-control-max-age", b"86400"),
]
JSON = (b"content-type", b"application/json")
RETRY_AFTER = (b"retry-after", str(RETRY_AFTER_SECONDS).encode())
EMPTY_BODY: Message = {"type": "http.response.body", "body": b""}
NO_CONTENT: Message = {"type": "http.response.start", "status": 204, "headers": CORS_HEADERS}


async def read_body(
    scope: Scope, receive: Receive, limit: int, first: Message | None = None
) -> bytes:
    """The whole request body; 413 as soon as it is known to exceed ``limit``. ``first`` is
    its first message, if the caller already received it."""
    message = first if first is not None else await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):  # the usual case: a small body in one piece
        if len(body) > limit:
            raise BodyTooLarge(f"The body may be at most {limit} bytes.")
        return body
    declared = header(scope, b"content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise BodyTooLarge(f"The body may be at most {limit} bytes.")
        except ValueError:
            raise InvalidBody("Bad Content-Length header.") from None
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


async def drain(receive: Receive) -> None:
    """Read and discard a request body we will not use (bounded by the server's own limits)."""
    message = await receive()
    while message.get("more_body", False):
        message = await receive()


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of the (lower-case) header ``name``, or ``None``."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def client_address(scope: Scope) -> str | None:
    """The peer address the server saw (a proxy's, behind one)."""
    client = scope.get("client")
    return str(client[0]) if client else None


class StatusRecorder:
    """A ``send`` that passes every message on and keeps the status it answered (for the
    metrics of requests off the hot path, whose status is not known in advance)."""

    __slots__ = ("send", "status")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.status = 0

    async def __call__(self, message: Message) -> None:
        """Send ``message``, noting the status of a response start."""
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
        await self.send(message)


ClientOf = Callable[[Scope], str | None]


def first_request(
    raw: bytes, wire_format: str, scope: Scope, server_ms: int, client: ClientOf = client_address
) -> Received:
    """The context of a session's first request: its body, User-Agent and client address (what
    enrichment may use; the address is never stored as sent)."""
    agent = header(scope, b"user-agent")
    return Received(
        raw,
        wire_format,
        server_ms,
        user_agent=agent.decode("latin-1") if agent else None,
        client=client(scope),
    )


async def no_content(send: Send) -> None:
    """Answer 204 with the CORS headers."""
    await send(NO_CONTENT)
    await send(EMPTY_BODY)


async def send_body(
    send: Send, status: int, body: bytes, headers: Headers = CORS_HEADERS, content: bytes = b""
) -> None:
    """Answer ``status`` with ``body`` (JSON unless ``content`` names another type); a 503
    says when to retry."""
    all_headers = [
        *headers,
        (b"content-type", content) if content else JSON,
        (b"content-length", str(len(body)).encode()),
    ]
    if status == 503:
        all_headers.append(RETRY_AFTER)
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body})
