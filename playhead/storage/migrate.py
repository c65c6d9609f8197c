"""Schema migrations: numbered SQL files applied in order, recorded in ``schema_migrations``."""

from __future__ import annotations

import sqlite3
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # asyncpg is an optional extra; only the PostgreSQL backend imports it
    from asyncpg import Connection  # type: ignore[import-untyped]

# Serializes concurrent migrators on one database (any constant shared by all Playheads).
_PG_MIGRATION_LOCK = 0x706C6179  # "play"


def migration_files(dialect: str) -> list[tuple[int, str, str]]:
    """``(version, name, sql)`` of every migration of a dialect, in version order."""
    folder = resources.files("playhead.storage") / "migrations" / dialect
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            found.append((version, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def migrate_sqlite(conn: sqlite3.Connection) -> list[str]:
    """Apply every pending SQLite migration, each in its own transaction; return their names."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
    )
    conn.commit()
    done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
    applied = []
    for version, name, sql in migration_files("sqlite"):
        if version in done:
            continue
        conn.execute("BEGIN")
        try:
            for statement in sql.split(";\n"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", (version, name)
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        applied.append(name)
    return applied


async def migrate_postgres(conn: Connection) -> list[str]:
    """Apply every pending PostgreSQL migration, each in its own transaction; return their names.

    Tables are created in the connection's ``search_path`` schema. A session-level advisory lock
    makes two processes migrating the same database at once take turns.
    """
    await conn.execute("SELECT pg_advisory_lock($1)", _PG_MIGRATION_LOCK)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        done = {row[0] for row in await conn.fetch("SELECT version FROM schema_migrations")}
        applied = []
        for version, name, sql in migration_files("postgres"):
            if version in done:
                continue
            async with conn.transaction():
                await conn.execute(sql)  # no arguments: the simple protocol runs every statement
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", version, name
                )
            applied.append(name)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _PG_MIGRATION_LOCK)
