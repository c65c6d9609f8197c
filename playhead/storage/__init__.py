"""Durable storage: the interface every backend implements, its records, and ``open_storage``.

:mod:`playhead.storage.base` declares the :class:`Storage` protocol and its records; one
module per backend implements it (:mod:`~playhead.storage.sqlite`,
:mod:`~playhead.storage.postgres`) over the shared group commit
(:mod:`~playhead.storage.batching`), write statements (:mod:`~playhead.storage.dialect`),
summary columns (:mod:`~playhead.storage.schema`) and typed reads
(:mod:`~playhead.storage.queries`).
"""

from __future__ import annotations

from playhead.errors import ConfigError
from playhead.storage.base import (
    NewSession,
    Query,
    SessionRow,
    Storage,
    StoredEvent,
    Summary,
    WriteTicket,
)

__all__ = [
    "NewSession",
    "Query",
    "SessionRow",
    "Storage",
    "StoredEvent",
    "Summary",
    "WriteTicket",
    "open_storage",
]


def open_storage(
    url: str, *, queue_size: int, batch_size: int, synchronous: str, timeout: float = 5.0
) -> Storage:
    """Open the backend named by ``url``: a file path or ``sqlite:///path`` (SQLite), or a
    ``postgres://``/``postgresql://`` URL (PostgreSQL; ``synchronous`` does not apply).
    ``timeout`` bounds every call: past it, the request that waits gets a 503."""
    if url.startswith(("postgres://", "postgresql://")):
        try:
            from playhead.storage.postgres import PostgresStorage
        except ImportError as exc:
            if exc.name != "asyncpg":
                raise
            raise ConfigError(
                'PostgreSQL storage needs the "postgres" extra: pip install "playhead[postgres]"'
            ) from None
        return PostgresStorage(url, queue_size=queue_size, batch_size=batch_size, timeout=timeout)
    path = url.removeprefix("sqlite:///").removeprefix("sqlite://")
    if "://" in path:
        raise ConfigError(f"unsupported database URL {url!r}; give a SQLite file path")
    from playhead.storage.sqlite import SQLiteStorage

    return SQLiteStorage(
        path, queue_size=queue_size, batch_size=batch_size, synchronous=synchronous, timeout=timeout
    )
