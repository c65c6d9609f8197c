"""Checks on the ``--db`` setting made before the server or a migration starts.

A mistyped ``--db`` should stop ``playhead serve`` and ``playhead migrate`` with one line that
says what is wrong, before anything is opened or created: not a traceback from deep inside
SQLite, not a folder silently created where the user did not mean one, and never a file that
is not a database opened (and so written to) as one. :func:`check_database` raises
:class:`~playhead.errors.ConfigError` with that line; it reads at most 16 bytes and writes
nothing.
"""

from __future__ import annotations

import importlib.util
import os
import stat
from typing import Final

from playhead.errors import ConfigError

#: The first 16 bytes of every SQLite 3 database file.
SQLITE_HEADER: Final = b"SQLite format 3\x00"
POSTGRES_SCHEMES: Final = ("postgres://", "postgresql://")
_SQLITE_SCHEMES: Final = ("sqlite:///", "sqlite://")
_IN_MEMORY: Final = ":memory:"


def sqlite_path(url: str) -> str | None:
    """The SQLite file a ``--db`` value names, or ``None`` for a PostgreSQL URL.

    A plain path and ``sqlite:///path`` (or ``sqlite://path``) name a SQLite file, as in
    :func:`playhead.storage.open_storage`; any other ``scheme://`` is a :class:`ConfigError`.
    """
    if url.startswith(POSTGRES_SCHEMES):
        return None
    path = url
    for scheme in _SQLITE_SCHEMES:
        if url.startswith(scheme):
            path = url[len(scheme) :]
            break
    if "://" in path:
        # only the scheme is repeated: the rest of a URL may carry a password
        scheme = url.split("://", 1)[0]
        raise ConfigError(
            f"unsupported database URL scheme {scheme + '://'!r} in --db: give a SQLite file "
            "path (or sqlite:///path) or a postgresql:// URL"
        )
    return path


def check_database(url: str) -> None:
    """Refuse a ``--db`` value Playhead cannot use, with a message saying why.

    Refused: an empty value; an unknown URL scheme; a PostgreSQL URL without the ``postgres``
    extra installed; for SQLite, a path whose folder does not exist (Playhead never creates
    folders), a path naming a folder or anything but a regular file, a file that is not a
    SQLite database, and a file or folder Playhead may not read or write. A missing or empty
    file is fine: the server creates the database in it.
    """
    if not url.strip():
        raise ConfigError("--db is empty: give a SQLite file path or a postgresql:// URL")
    path = sqlite_path(url)
    if path is None:
        if importlib.util.find_spec("asyncpg") is None:
            raise ConfigError(
                'PostgreSQL needs the "postgres" extra: pip install "playhead[postgres]"'
            )
        return
    if path == _IN_MEMORY:
        return
    if not path:
        raise ConfigError(f"--db {url!r} names no file: give a SQLite file path")
    _check_sqlite_file(path)


def _check_sqlite_file(path: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    info: os.stat_result | None
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        info = None
    except OSError as exc:
        raise ConfigError(f"database {path!r}: cannot be read ({exc.strerror})") from None
    if info is None:
        if not os.path.isdir(folder):
            what = "is not a folder" if os.path.exists(folder) else "does not exist"
            raise ConfigError(
                f"database {path!r}: the folder {folder!r} {what} "
                "(Playhead does not create folders: create it, or correct --db)"
            )
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ConfigError(
                f"database {path!r}: cannot create it, the folder {folder!r} is not writable"
            )
        return
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError(
            f"database {path!r} is a folder: give a file in it, "
            f"e.g. --db {os.path.join(path, 'playhead.db')}"
        )
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"database {path!r} is not a regular file")
    if info.st_size > 0:  # an empty file is fine: SQLite makes a database of it
        try:
            with open(path, "rb") as file:
                header = file.read(len(SQLITE_HEADER))
        except OSError as exc:
            raise ConfigError(f"database {path!r}: cannot be read ({exc.strerror})") from None
        if header != SQLITE_HEADER:
            raise ConfigError(
                f"database {path!r} is not a SQLite database (it does not start with the "
                "SQLite header); Playhead will not write into it: give another path"
            )
    if not os.access(path, os.R_OK | os.W_OK):
        raise ConfigError(f"database {path!r} is not writable")
    if not os.access(folder, os.W_OK | os.X_OK):
        # SQLite keeps its write-ahead log and shared-memory files beside the database
        raise ConfigError(
            f"database {path!r}: its folder {folder!r} is not writable "
            "(SQLite needs to create its -wal and -shm files there)"
        )


def probe_storage(url: str, *, timeout: float = 10.0) -> None:
    """Open the database once (and apply its migrations), then close it, so that a database
    that cannot be reached or read stops ``serve`` with one line instead of a traceback from
    the server's start-up. Nothing of a URL but its host is repeated (it may hold a password).
    """
    import asyncio
    import urllib.parse

    from playhead.storage import open_storage

    async def probe() -> None:
        storage = open_storage(url, queue_size=1, batch_size=1, synchronous="NORMAL")
        await asyncio.wait_for(storage.start(), timeout)
        await storage.stop()

    try:
        asyncio.run(probe())
    except ConfigError:
        raise
    except Exception as exc:
        if sqlite_path(url) is None:
            host = urllib.parse.urlsplit(url).hostname or "localhost"
            what = "timed out" if isinstance(exc, TimeoutError) else type(exc).__name__
            raise ConfigError(f"cannot use the PostgreSQL database on {host}: {what}") from None
        raise ConfigError(f"database {url!r} cannot be opened: {exc}") from None
