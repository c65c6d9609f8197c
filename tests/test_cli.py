"""The command line: version, default command, refusals, migrate, a real `serve` process."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sqlite3
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ServerProcess, start_body

from playhead import __version__
from playhead.cli import cli


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"playhead, version {__version__}"


def test_python_dash_m_runs_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "playhead", "--version"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    assert done.stdout.strip() == f"playhead, version {__version__}"


def test_more_than_one_worker_is_refused_with_a_reason() -> None:
    result = CliRunner().invoke(cli, ["serve", "--workers", "2"])
    assert result.exit_code == 2
    assert "--workers above 1 needs a shared live-session store" in result.output


def test_serve_is_the_default_command() -> None:
    result = CliRunner().invoke(cli, ["--workers", "3"])
    assert result.exit_code == 2
    assert "--workers above 1" in result.output


def test_bad_setting_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["serve", "--idle-timeout", "-1"])
    assert result.exit_code == 2
    assert "idle_timeout must be greater than 0" in result.output


def test_migrate_creates_the_schema(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    result = CliRunner().invoke(cli, ["migrate", "--db", str(db)])
    assert result.exit_code == 0
    assert result.output.startswith("applied: 0001_init.sql, 0002_summaries.sql")
    again = CliRunner().invoke(cli, ["migrate", "--db", str(db)])
    assert again.output.strip() == "applied: nothing (up to date)"
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0] == 2
    conn.close()


def test_serve_creates_its_database_and_honours_the_prefix(
    server_process: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    db = tmp_path / "sub" / "fresh.db"
    server = server_process("--prefix", "/va", db=db)
    server.start()
    assert db.exists()
    request = urllib.request.Request(
        server.url + "/va/api/v1/sessions", data=json.dumps(start_body()).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
        assert response.headers["Location"].startswith("/api/v1/sessions/")


def test_migrate_a_postgresql_database() -> None:
    asyncpg = pytest.importorskip("asyncpg", reason='asyncpg missing: pip install ".[postgres]"')
    base = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    name = f"playhead_cli_{secrets.token_hex(4)}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(base, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        asyncio.run(admin(f"CREATE DATABASE {name}"))
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"PostgreSQL not reachable at {base}: {exc}")
    try:
        url = base.rsplit("/", 1)[0] + "/" + name
        first = CliRunner().invoke(cli, ["migrate", "--db", url])
        assert first.exit_code == 0, first.output
        assert first.output.strip() == "applied: 0001_init.sql, 0002_summaries.sql"
        again = CliRunner().invoke(cli, ["migrate", "--db", url])
        assert again.output.strip() == "applied: nothing (up to date)"
    finally:
        asyncio.run(admin(f"DROP DATABASE IF EXISTS {name}"))
