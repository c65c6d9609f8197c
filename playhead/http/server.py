"""The HTTP/1.1 connection handling Playhead adds to uvicorn's: limits on the request head.

uvicorn (with httptools) accepts a request line and headers of any size and any slowness: an
unterminated 80 MB URL kept a core busy for seconds, and a thousand sockets sending their
headers a byte at a time held a thousand descriptors. :func:`guarded_protocol` builds a
subclass of uvicorn's httptools protocol that answers

- ``414`` when the request target is longer than half of ``max_head_bytes``,
- ``431`` when the request line and headers together are longer than ``max_head_bytes``,
- ``408`` when a request's headers are not complete ``header_timeout`` seconds after the
  connection opened or the previous response was sent,

each with the JSON error body and the CORS headers of every other answer, then closes the
connection.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from playhead.errors import FieldError, error_body
from playhead.http.asgi import CORS_HEADERS

_REASONS = {408: b"Request Timeout", 414: b"URI Too Long", 431: b"Request Header Fields Too Large"}


class _HeadRefused(Exception):
    """Raised inside a parser callback to stop reading a request head."""

    def __init__(self, status: int, path: str, problem: str) -> None:
        super().__init__(problem)
        self.status = status
        self.path = path
        self.problem = problem


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with limits on the size and read time of request heads.

    The read time is checked by one sweep a second over the process's connections rather than
    a timer per request (a timer armed and cancelled per request showed in profiles).
    """

    max_head_bytes = 16384
    header_timeout = 10.0
    _sweeping: set[asyncio.AbstractEventLoop] = set()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_bytes = 0
        self._url_bytes = 0
        self._in_head = True
        self._head_since = 0.0  # loop time since which the current head is awaited

    # -- the head read time --------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Await the first head from now on (and make sure someone watches the clock)."""
        super().connection_made(transport)
        self._head_since = self.loop.time()
        if self.loop not in self._sweeping:
            self._sweeping.add(self.loop)
            self.loop.call_later(1.0, self._sweep, self.loop, self.connections)

    @classmethod
    def _sweep(cls, loop: asyncio.AbstractEventLoop, connections: set[Any]) -> None:
        """Answer 408 on every connection whose head is overdue; run again in a second."""
        now = loop.time()
        for conn in list(connections):
            if (
                isinstance(conn, GuardedHttpToolsProtocol)
                and conn._in_head
                and now - conn._head_since >= conn.header_timeout
                and not conn.transport.is_closing()
            ):
                limit = f"{conn.header_timeout:g}"
                conn._refuse(
                    _HeadRefused(408, "$", f"request headers not received within {limit} s")
                )
        if loop.is_closed():
            cls._sweeping.discard(loop)
        else:
            loop.call_later(1.0, cls._sweep, loop, connections)

    def on_response_complete(self) -> None:
        """The next request's head is awaited from now on."""
        self._in_head = True
        self._head_bytes = self._url_bytes = 0
        self._head_since = self.loop.time()
        super().on_response_complete()

    # -- parser callbacks ----------------------------------------------------------------------
    def on_message_begin(self) -> None:
        """A new request starts: count its head from zero."""
        self._in_head = True
        self._head_bytes = self._url_bytes = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        """Collect the request target, refusing one that is too long."""
        self._url_bytes += len(url)
        self._head_bytes += len(url)
        if self._url_bytes > self.max_head_bytes // 2:
            raise _HeadRefused(
                414, "request-target", f"longer than {self.max_head_bytes // 2} bytes"
            )
        self.url += url  # what uvicorn's on_url does (inlined: this runs on every request)

    def on_header(self, name: bytes, value: bytes) -> None:
        """Collect one header, refusing a head that is too large."""
        self._head_bytes += len(name) + len(value) + 4
        if self._head_bytes > self.max_head_bytes:
            raise _HeadRefused(
                431, "headers", f"request line and headers longer than {self.max_head_bytes} bytes"
            )
        # what uvicorn's on_header does (inlined: this runs for every header)
        name = name.lower()
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_100_continue = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        """The head is complete: hand the request on."""
        self._in_head = False
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        """Feed the parser, answering a refused head and closing the connection."""
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            refused = exc.__context__
            if isinstance(refused, _HeadRefused):
                self._refuse(refused)
                return
            self.logger.warning("Invalid HTTP request received.")
            self.send_400_response("Invalid HTTP request received.")
        except httptools.HttpParserError:
            self.logger.warning("Invalid HTTP request received.")
            self.send_400_response("Invalid HTTP request received.")
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()

    def _refuse(self, refused: _HeadRefused) -> None:
        """Answer ``refused`` in the error shape and close the connection."""
        self._in_head = False
        body = error_body("Request refused.", [FieldError(refused.path, refused.problem)])
        head = [b"HTTP/1.1 %d %s\r\n" % (refused.status, _REASONS[refused.status])]
        for name, value in CORS_HEADERS:
            head.append(name + b": " + value + b"\r\n")
        head.append(b"content-type: application/json\r\n")
        head.append(b"content-length: %d\r\n" % len(body))
        head.append(b"connection: close\r\n\r\n")
        self.transport.write(b"".join(head) + body)
        self.transport.close()


def guarded_protocol(max_head_bytes: int, header_timeout: float) -> type[HttpToolsProtocol]:
    """The protocol class to give uvicorn (``http=``) with these limits."""
    return type(
        "PlayheadHttpProtocol",
        (GuardedHttpToolsProtocol,),
        {"max_head_bytes": max_head_bytes, "header_timeout": header_timeout},
    )
