"""Baseline: a bare ASGI app with Playhead's HTTP shape and no storage or state.

Run by the same uvicorn (uvloop + httptools, one worker, same CPU pinning) as Playhead:
``uvicorn bench.baseline_app:app --loop uvloop --http httptools``. It reads each body,
msgspec-decodes it into a typed envelope (as Playhead's decoder does), and answers 204 for
events or 201 + ``Location`` for ``POST /api/v1/sessions``; anything else gets 200 (so the
readiness probe ``GET /api/v1/schemas/ping`` works) or 400 for an undecodable body.
"""

from __future__ import annotations

import secrets
from typing import Any

import msgspec


class PlayerTime(msgspec.Struct):
    playhead: float
    ts: int


class Envelope(msgspec.Struct):
    playerTime: PlayerTime
    eventType: str
    params: dict[str, Any] = {}
    qoeData: dict[str, Any] = {}
    customMetadata: dict[str, str] = {}


_decode = msgspec.json.Decoder(Envelope).decode
CORS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"OPTIONS,POST,PUT"),
    (b"access-control-allow-headers", b"Content-Type"),
    (b"access-control-expose-headers", b"Location"),
    (b"access-control-max-age", b"86400"),
]
_NO_CONTENT = {"type": "http.response.start", "status": 204, "headers": CORS}
_EMPTY = {"type": "http.response.body", "body": b""}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    message = await receive()
    body = message.get("body", b"")
    while message.get("more_body", False):
        message = await receive()
        body += message.get("body", b"")
    if scope["method"] != "POST":
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*CORS, (b"content-length", b"2")],
            }
        )
        await send({"type": "http.response.body", "body": b"{}"})
        return
    try:
        _decode(body)
    except msgspec.DecodeError:
        await send(
            {
                "type": "http.response.start",
                "status": 400,
                "headers": [*CORS, (b"content-length", b"0")],
            }
        )
        await send(_EMPTY)
        return
    path: str = scope["path"]
    if path.endswith("/sessions"):
        headers = [
            *CORS,
            (b"location", b"/api/v1/sessions/" + secrets.token_hex(32).encode()),
            (b"content-length", b"0"),
        ]
        await send({"type": "http.response.start", "status": 201, "headers": headers})
        await send(_EMPTY)
    else:
        await send(_NO_CONTENT)
        await send(_EMPTY)
