"""The Media Edge API over HTTP (bare ASGI, like the Collection API's).

It only translates: it reads the body, has the Edge protocol adapter decode it
(:mod:`playhead.protocols.edge.decode`), hands the canonical event and its
:class:`~playhead.collector.Received` context to the collection service, and answers as the
Edge API does: ``200`` with a handle carrying the session id for ``sessionStart`` and
``downloaded``, ``204`` for the rest, RFC 7807 problem documents for errors (``207`` for a
``sessionStart`` that does not validate), and a closed session is a ``404`` (this protocol has
no ``410``). Every answer carries the CORS headers of the Collection API. With
``credentials`` (``--edge-cors-credentials``) a request with an ``Origin`` gets that origin back
with ``Access-Control-Allow-Credentials: true`` instead: the Web SDK fetches with
``credentials: "include"``, and a browser hides an answer to such a request that says
``Access-Control-Allow-Origin: *``. Playhead sets and reads no cookies, so nothing depends on
the credentials a browser sends.

``POST /ee/v1/interact`` is the Web SDK's way to start a media session
(:mod:`playhead.protocols.edge.interact`): each ``media.sessionStart`` event in it opens a
session as ``sessionStart`` does, and the answer's handle carries the session ids.

Paths, below the root ``/ee/va/v1/`` (also under the optional prefix)::

    POST    /ee/v1/interact          200 + handles (media.sessionStart events), 207 if one fails
    POST    {eventName}              200 + handle (sessionStart), 204 (the others)
    POST    downloaded               200 + handle (one whole session)
    GET     schemas/{eventName}      200 the JSON Schema of the event's body
    OPTIONS any path                 204 (CORS preflight)
"""

from __future__ import annotations

import logging

import msgspec

from playhead.collector import Collector, Received
from playhead.errors import (
    BodyTooLarge,
    ClientError,
    FieldError,
    InvalidBody,
    Overloaded,
    SessionClosed,
    UnknownSession,
)
from playhead.http.asgi import (
    CORS_HEADERS,
    ClientOf,
    Message,
    Receive,
    Scope,
    Send,
    StatusRecorder,
    client_address,
    drain,
    first_request,
    header,
    no_content,
    read_body,
    send_body,
)
from playhead.protocols import EDGE
from playhead.protocols.edge import problems
from playhead.protocols.edge.decode import decode, decode_downloaded
from playhead.protocols.edge.interact import at_index, split_interact
from playhead.protocols.edge.mapping import DOWNLOADED, EVENT_NAMES
from playhead.protocols.edge.schemas import event_schema

log = logging.getLogger("playhead.http")
_GONE = (
    "The session is closed or unknown. If the session is longer than 24h, please start a new one."
)
_JSON = b"application/json"


class EdgeAPI:
    """The Media Edge API's endpoints, below its root.

    Args:
        collector: the collection service.
        strict: refuse sessions lacking player keys (``playerName``, ``channel``).
        max_event_bytes: body limit of one event (413 above it).
        max_batch_bytes: body limit of a downloaded session.
        client: the client address of a request (behind trusted proxies, the forwarded one).
        credentials: answer a request's ``Origin`` with credentials allowed (else ``*``).
    """

    def __init__(
        self,
        collector: Collector,
        *,
        strict: bool = False,
        max_event_bytes: int = 65536,
        max_batch_bytes: int = 4 * 1024 * 1024,
        client: ClientOf = client_address,
        credentials: bool = False,
    ) -> None:
        self.credentials = credentials
        self.collector = collector
        self.client = client
        self.strict = strict
        self.max_event_bytes = max_event_bytes
        self.max_batch_bytes = max_batch_bytes
        self._schemas: dict[str, bytes] = {}

    async def handle(self, rest: str | None, scope: Scope, receive: Receive, send: Send) -> int:
        """Serve one request whose path is ``rest`` below the API root (``rest`` is ``None``
        for ``/ee/v1/interact``); returns its status."""
        method: str = scope["method"]
        if self.credentials:
            origin = header(scope, b"origin")
            if origin is not None:
                send = _credentialed(send, origin)
        name = rest.rstrip("/") if rest is not None else None
        recorder = StatusRecorder(send)
        try:
            if method == "POST" and name is None:
                await self._interact(scope, receive, recorder)
            elif method == "POST":
                assert name is not None
                await self._post(name, scope, receive, recorder)
            elif method == "OPTIONS":
                await no_content(recorder)
            elif method in ("GET", "HEAD") and name is not None and name.startswith("schemas/"):
                await self._schema(name[len("schemas/") :], recorder)
            else:
                detail = f"{method} is not allowed on {scope['path']}"
                await _problem(recorder, 405, problems.problem(405, detail))
        except ClientError as exc:
            if method == "POST":
                self.collector.tally.refuse(exc)
            status = _status(exc)
            await _problem(
                recorder, status, problems.problem(status, exc.message, exc.errors, exc.omitted)
            )
        except Exception:  # a bug, never a client's fault: log it, answer without details
            log.exception("unexpected error on %s %s", method, scope["path"])
            await _problem(recorder, 500, problems.problem(500, "Internal error."))
        return recorder.status

    async def _post(self, name: str, scope: Scope, receive: Receive, send: Send) -> None:
        collector = self.collector
        if name == DOWNLOADED:
            raw = await read_body(scope, receive, self.max_batch_bytes)
            items = decode_downloaded(raw, strict=self.strict)
            sid = await collector.downloaded(items, self._received(raw, scope))
            await send_body(send, 200, problems.new_session(sid))
            return
        if name not in EVENT_NAMES:
            await drain(receive)
            detail = f"No such media event: POST {scope['path']}"
            await _problem(send, 404, problems.problem(404, detail))
            return
        raw = await read_body(scope, receive, self.max_event_bytes)
        if name == "sessionStart":
            try:
                event = decode(name, raw, strict=self.strict).event
                if event.params.get("media.downloaded") is True:
                    path = "$.events[0].xdm.mediaCollection.sessionDetails.isDownloaded"
                    problem = "true only for downloaded sessions (POST /ee/va/v1/downloaded)"
                    raise InvalidBody(errors=[FieldError(path, problem)])
            except InvalidBody as exc:
                # as the Edge API: an invalid sessionStart is a 207 with its errors, no session
                self.collector.tally.refuse(exc)
                await send_body(
                    send, 207, problems.multi_status(exc.message, exc.errors, exc.omitted)
                )
                return
            sid = await collector.start(event, self._received(raw, scope))
            await send_body(send, 200, problems.new_session(sid))
            return
        decoded = decode(name, raw, strict=self.strict)
        assert decoded.sid is not None
        live = collector.held(decoded.sid) or await collector.check(decoded.sid)
        received = Received(raw, EDGE, collector.clock())
        await collector.append(decoded.sid, decoded.event, received, live)
        await no_content(send)

    async def _interact(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``POST /ee/v1/interact``: open a session per ``media.sessionStart`` event."""
        raw = await read_body(scope, receive, self.max_event_bytes)
        split = split_interact(raw)
        sessions: list[tuple[int, str]] = []
        errors: list[bytes] = []
        for index, body in split.starts:
            try:
                event = decode("sessionStart", body, strict=self.strict).event
                if event.params.get("media.downloaded") is True:
                    path = "$.events[0].xdm.mediaCollection.sessionDetails.isDownloaded"
                    problem = "true only for downloaded sessions (POST /ee/va/v1/downloaded)"
                    raise InvalidBody(errors=[FieldError(path, problem)])
            except InvalidBody as exc:
                errors.append(
                    problems.start_problem(
                        exc.message, at_index(exc.errors, index), exc.omitted, index
                    )
                )
                continue
            sid = await self.collector.start(event, self._received(body, scope))
            sessions.append((index, sid))
        answer = problems.interact_answer(sessions, split.ignored, errors)
        await send_body(send, 207 if errors else 200, answer)

    def _received(self, raw: bytes, scope: Scope) -> Received:
        """The context of a session's first request (what enrichment may use)."""
        return first_request(raw, EDGE, scope, self.collector.clock(), self.client)

    async def _schema(self, event_name: str, send: Send) -> None:
        body = self._schemas.get(event_name)
        if body is None:
            try:
                body = msgspec.json.encode(event_schema(event_name))
            except KeyError:
                detail = f"No schema for media event {event_name!r}."
                await _problem(send, 404, problems.problem(404, detail))
                return
            self._schemas[event_name] = body
        await send_body(send, 200, body, content=_JSON)


def _status(exc: ClientError) -> int:
    """The Edge status of an error: closed and unknown sessions are both 404 here."""
    if isinstance(exc, (SessionClosed, UnknownSession)):
        exc.message = _GONE
        return 404
    if isinstance(exc, (BodyTooLarge, Overloaded)):
        return exc.status
    return 400 if exc.status < 500 else exc.status


def _credentialed(send: Send, origin: bytes) -> Send:
    """``send``, its answers allowing ``origin`` with credentials instead of any origin."""
    extra = [(b"access-control-allow-credentials", b"true"), (b"vary", b"Origin")]

    async def credentialed(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [
                (name, origin if name == b"access-control-allow-origin" else value)
                for name, value in message.get("headers", ())
            ]
            message = {**message, "headers": [*headers, *extra]}
        await send(message)

    return credentialed


async def _problem(send: Send, status: int, body: bytes) -> None:
    await send_body(send, status, body, CORS_HEADERS, content=problems.PROBLEM_JSON)
