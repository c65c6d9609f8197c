"""The Collection API over HTTP (the ingest hot path, bare ASGI).

It only translates: it reads the body (enforcing the size limit), has the Collection protocol
adapter decode it (:mod:`playhead.protocols.collection.endpoints`), hands the canonical event
and a :class:`~playhead.collector.Received` context to the collection service, and turns the
outcome or a :class:`~playhead.errors.ClientError` into a status, headers and the JSON error
body. Every answer carries the CORS headers of rule 1.

Paths, below the API root ``/api/v1/`` (also under the optional prefix)::

    POST    sessions                 201 + Location (an event, or a downloaded array)
    POST    sessions/{sid}/events    204
    POST    downloaded               201 + Location
    GET     schemas/{eventType}      200 draft-04 JSON Schema
    OPTIONS any path                 204 (CORS preflight)
"""

from __future__ import annotations

import logging

import msgspec

from playhead.collector import Collector, Received
from playhead.errors import BodyTooLarge, ClientError, UnknownEventType, error_body
from playhead.http.asgi import (
    CORS_HEADERS,
    EMPTY_BODY,
    NO_CONTENT,
    ClientOf,
    Receive,
    Scope,
    Send,
    StatusRecorder,
    client_address,
    drain,
    first_request,
    no_content,
    read_body,
    send_body,
)
from playhead.protocols import COLLECTION
from playhead.protocols.collection import endpoints
from playhead.protocols.collection.decode import is_array
from playhead.protocols.collection.schemas import event_schema

log = logging.getLogger("playhead.http")


class CollectionAPI:
    """The Collection API's endpoints, below its root.

    Args:
        collector: the collection service.
        strict: refuse sessions lacking account/player keys (the protocol's 400).
        max_event_bytes: body limit of one event (413 above it).
        max_batch_bytes: body limit of a downloaded batch.
        client: the client address of a request (behind trusted proxies, the forwarded one).
    """

    def __init__(
        self,
        collector: Collector,
        *,
        strict: bool = False,
        max_event_bytes: int = 65536,
        max_batch_bytes: int = 4 * 1024 * 1024,
        client: ClientOf = client_address,
    ) -> None:
        self.collector = collector
        self.client = client
        self.strict = strict
        self.max_event_bytes = max_event_bytes
        self.max_batch_bytes = max_batch_bytes
        self._schemas: dict[str, bytes] = {}  # eventType -> encoded schema, filled on first request

    async def handle(self, rest: str, scope: Scope, receive: Receive, send: Send) -> int:
        """Serve one request whose path is ``rest`` below the API root; returns its status."""
        method: str = scope["method"]
        try:
            if method == "POST":
                if rest.startswith("sessions/") and rest.endswith("/events"):
                    # the hot path, inline: one event of an open session
                    collector = self.collector
                    sid = rest[9:-7]
                    message = await receive()
                    if message.get("more_body", False):  # a body in several pieces: rare
                        body = await read_body(scope, receive, self.max_event_bytes, message)
                    else:
                        body = message.get("body", b"")
                        if len(body) > self.max_event_bytes:
                            raise BodyTooLarge(
                                f"The body may be at most {self.max_event_bytes} bytes."
                            )
                    # 404 / 410 before anything is decoded
                    live = collector.held(sid) or await collector.check(sid)
                    event = endpoints.session_event(body, strict=self.strict)
                    received = Received(body, COLLECTION, collector.clock())
                    await collector.append(sid, event, received, live)
                    await send(NO_CONTENT)
                    await send(EMPTY_BODY)
                    return 204
                recorder = StatusRecorder(send)
                await self._post(rest, scope, receive, recorder)
                return recorder.status
            elif method == "OPTIONS":
                await no_content(send)
                return 204
            elif method in ("GET", "HEAD") and rest.startswith("schemas/"):
                await self._schema(rest[len("schemas/") :], send)
                return 200
            else:
                await send_body(
                    send, 405, error_body(f"{method} is not allowed on {scope['path']}")
                )
                return 405
        except ClientError as exc:
            if method == "POST":
                self.collector.tally.refuse(exc)
            await send_body(send, exc.status, exc.body())
            return exc.status
        except Exception:  # a bug, never a client's fault: log it, answer without details
            log.exception("unexpected error on %s %s", method, scope["path"])
            await send_body(send, 500, error_body("Internal error."))
            return 500

    async def _post(self, rest: str, scope: Scope, receive: Receive, send: Send) -> None:
        collector = self.collector
        if rest in ("sessions", "sessions/"):
            body = await read_body(scope, receive, self.max_batch_bytes)
            if is_array(body):
                items = endpoints.downloaded(body, strict=self.strict, via_sessions=True)
                await _created(send, await collector.downloaded(items, self._received(body, scope)))
                return
            if len(body) > self.max_event_bytes:
                raise BodyTooLarge(f"An event body may be at most {self.max_event_bytes} bytes.")
            start = endpoints.session_start(body, strict=self.strict)
            await _created(send, await collector.start(start, self._received(body, scope)))
        elif rest in ("downloaded", "downloaded/"):
            body = await read_body(scope, receive, self.max_batch_bytes)
            items = endpoints.downloaded(body, strict=self.strict, via_sessions=False)
            await _created(send, await collector.downloaded(items, self._received(body, scope)))
        else:
            await drain(receive)
            await send_body(send, 404, error_body(f"No such endpoint: POST {scope['path']}"))

    def _received(self, body: bytes, scope: Scope) -> Received:
        """The context of a session's first request (what enrichment may use)."""
        return first_request(body, COLLECTION, scope, self.collector.clock(), self.client)

    async def _schema(self, event_type: str, send: Send) -> None:
        body = self._schemas.get(event_type)
        if body is None:
            try:
                body = msgspec.json.encode(event_schema(event_type))
            except KeyError:
                raise UnknownEventType(f"No schema for event type {event_type!r}.") from None
            self._schemas[event_type] = body
        await send_body(send, 200, body)


async def _created(send: Send, sid: str) -> None:
    # Always the unprefixed path: SDKs parse it with ^/api/(.*)/sessions/(.*) (rule 3).
    headers = [
        *CORS_HEADERS,
        (b"location", b"/api/v1/sessions/" + sid.encode()),
        (b"content-length", b"0"),
    ]
    await send({"type": "http.response.start", "status": 201, "headers": headers})
    await send(EMPTY_BODY)
