"""One pipelined connection to Redis for the hot path's scripts (hiredis parses the replies).

redis-py's asyncio client spends about 80 µs of CPU per command here (a pooled connection taken
and given back, a task per read); the commands an event needs then cost more than the whole
embedded server spends on it. Redis answers the commands of one connection in the order sent,
so this client queues each command, writes all those of one pass of the event loop with one
system call, and resolves a queue of futures, in order, from the replies. A watchdog fails
every command waiting longer than the timeout and drops the connection; the next command
connects again.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from typing import Any
from urllib.parse import unquote, urlsplit

import hiredis


class RedisDown(ConnectionError):
    """Redis did not answer (refused, lost, or slower than the timeout)."""


class ReplyError(Exception):
    """Redis answered with an error (e.g. ``NOSCRIPT``)."""


def _command(args: tuple[Any, ...]) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, bytes):
            data = arg
        elif isinstance(arg, str):
            data = arg.encode()
        else:
            data = str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.reader = hiredis.Reader()
        self.waiting: deque[tuple[asyncio.Future[Any], float]] = deque()
        self.transport: asyncio.Transport | None = None
        self.lost = False
        # commands written in one go at the end of the event loop's current pass: one system
        # call for all the requests that ran in it, not one each (~30 µs apiece here)
        self.pending: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        reader = self.reader
        reader.feed(data)
        waiting = self.waiting
        while (reply := reader.gets()) is not False:
            future, _ = waiting.popleft()
            if future.done():
                continue
            if isinstance(reply, hiredis.ReplyError):
                future.set_exception(ReplyError(str(reply)))
            else:
                future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(RedisDown(f"connection to Redis lost: {exc!r}"))

    def flush(self) -> None:
        pending, self.pending = self.pending, []
        transport = self.transport
        if self.lost or transport is None or not pending:
            return
        try:
            transport.write(b"".join(pending))
        except (OSError, RuntimeError) as exc:  # closed under us (uvloop raises here)
            self.fail(RedisDown(f"connection to Redis lost: {exc!r}"))

    def fail(self, exc: Exception) -> None:
        self.lost = True
        self.pending = []
        while self.waiting:
            future, _ = self.waiting.popleft()
            if not future.done():
                future.set_exception(exc)
        if self.transport is not None:
            self.transport.abort()


class Wire:
    """Commands over one pipelined connection to the Redis of ``url`` (``redis://`` only)."""

    def __init__(self, url: str, timeout: float) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 6379
        self.db = int(parts.path.strip("/") or 0)
        self.password = unquote(parts.password) if parts.password else None
        self.username = unquote(parts.username) if parts.username else None
        self.timeout = timeout
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Future[_Protocol] | None = None
        self._watchdog: asyncio.Task[None] | None = None

    async def _connect(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        try:
            transport, protocol = await asyncio.wait_for(
                loop.create_connection(_Protocol, self.host, self.port), self.timeout
            )
            protocol.transport = transport  # (uvloop may call connection_made later)
        except (OSError, TimeoutError) as exc:
            raise RedisDown(
                f"cannot connect to Redis at {self.host}:{self.port}: {exc!r}"
            ) from None
        first: list[tuple[Any, ...]] = []
        if self.password is not None:
            first.append(("AUTH", self.username, self.password) if self.username else
                         ("AUTH", self.password))  # fmt: skip
        if self.db:
            first.append(("SELECT", self.db))
        for args in first:
            try:
                await asyncio.wait_for(self._send(protocol, args), self.timeout)
            except TimeoutError:
                protocol.fail(RedisDown("Redis did not answer in time"))
                raise RedisDown("Redis did not answer in time") from None
        if self._watchdog is None or self._watchdog.done():
            self._watchdog = asyncio.ensure_future(self._watch())
        return protocol

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.timeout / 2))
            protocol = self._protocol
            waiting = protocol.waiting if protocol is not None else None
            if waiting and time.monotonic() - waiting[0][1] > self.timeout:
                assert protocol is not None
                protocol.fail(RedisDown("Redis did not answer in time"))

    def _send(self, protocol: _Protocol, args: tuple[Any, ...]) -> asyncio.Future[Any]:
        transport = protocol.transport
        if protocol.lost or transport is None or transport.is_closing():
            raise RedisDown("connection to Redis lost")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not protocol.pending:
            loop.call_soon(protocol.flush)
        protocol.pending.append(_command(args))
        protocol.waiting.append((future, time.monotonic()))
        return future

    async def call(self, *args: Any) -> Any:
        """Send one command and return its reply (``ReplyError`` raised; ``RedisDown`` when
        Redis is unreachable or slower than the timeout)."""
        protocol = self._protocol
        if protocol is None or protocol.lost:
            protocol = await self._ensure()
        return await self._send(protocol, args)

    async def _ensure(self) -> _Protocol:
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._connect())
        connecting = self._connecting
        try:
            protocol = await asyncio.shield(connecting)
        finally:
            if self._connecting is connecting and connecting.done():
                self._connecting = None
        self._protocol = protocol
        return protocol

    async def close(self) -> None:
        """Close the connection and stop the watchdog."""
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
            self._watchdog = None
        if self._protocol is not None and self._protocol.transport is not None:
            self._protocol.transport.close()
        self._protocol = None
