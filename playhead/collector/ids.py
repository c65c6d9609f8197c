"""Identifiers: public session ids from a cryptographic source, internal keys from blocks
reserved in storage (so no two processes can ever hand out the same key)."""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import Awaitable, Callable, Sequence


class SidSource:
    """Session ids (64 lowercase hex) from the OS's cryptographic random source, read 8 KiB
    at a time: one ``os.urandom`` call per 256 ids instead of one per id (session starts are
    frequent enough for the system call to show in profiles)."""

    def __init__(self) -> None:
        self._pool = b""
        self._at = 0

    def __call__(self) -> str:
        if self._at >= len(self._pool):
            self._pool, self._at = os.urandom(8192), 0
        chunk = self._pool[self._at : self._at + 32]
        self._at += 32
        return chunk.hex()


new_sid = SidSource()


class IdBlocks:
    """Internal session keys, drawn from blocks that storage reserves for this process.

    The next block is reserved in the background when the current one runs low, so a session
    start waits for storage only if keys run out faster than a block can be reserved.

    Args:
        reserve: reserves ``count`` keys in storage (committed before it returns).
        block: keys per reservation.
    """

    def __init__(self, reserve: Callable[[int], Awaitable[Sequence[int]]], block: int = 1000):
        self._reserve = reserve
        self._block = block
        self._ids: deque[int] = deque()
        self._refill: asyncio.Task[None] | None = None

    async def next(self) -> int:
        """A key no other session (of any process) has or will have."""
        ids = self._ids
        if len(ids) <= self._block // 4 and self._refill is None:
            self._refill = asyncio.ensure_future(self._fill())
        while not ids:
            refill = self._refill
            if refill is None:
                refill = self._refill = asyncio.ensure_future(self._fill())
            await asyncio.shield(refill)
        return ids.popleft()

    async def _fill(self) -> None:
        try:
            self._ids.extend(await self._reserve(self._block))
        finally:
            self._refill = None
