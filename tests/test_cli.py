"""The command line: version, default command, refusals, migrate, a real `serve` process."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from playhead import __version__
from playhead.cli import cli
from playhead.config import load_settings
from playhead.errors import ConfigError
from tests.helpers import ServerProcess, free_port, start_body
from tests.helpers.tls import OPENSSL, self_signed

MIGRATIONS = Path(__file__).resolve().parents[1] / "playhead" / "storage" / "migrations"


def migrations(dialect: str) -> list[str]:
    """The numbered migration files of one backend, in the order they apply."""
    names = sorted(p.name for p in (MIGRATIONS / dialect).glob("*.sql"))
    assert names[:2] == ["0001_init.sql", "0002_summaries.sql"]
    return names


def one_line_failure(args: list[str], env: dict[str, str] | None = None, status: int = 2) -> str:
    """Run the CLI expecting a refusal: one line on stderr, nothing on stdout, no traceback."""
    result = CliRunner().invoke(cli, args, env=env)
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == status, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    return lines[0].removeprefix("Error: ")


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
    assert one_line_failure(["serve", "--idle-timeout", "-1"]) == (
        "idle_timeout must be greater than 0, got -1.0"
    )


@pytest.mark.parametrize("port", ["99999", "65536", "0", "-1"])
def test_a_port_out_of_range_is_refused(port: str) -> None:
    assert one_line_failure(["--port", port]) == f"port must be from 1 to 65535, got {port}"


def test_a_port_out_of_range_from_the_environment_is_refused() -> None:
    message = one_line_failure(["serve"], env={"PLAYHEAD_PORT": "99999"})
    assert message == "port must be from 1 to 65535, got 99999"


def test_a_port_that_is_not_a_number_is_one_line() -> None:
    message = one_line_failure(["--port", "http"])
    assert message == "Invalid value for '--port': 'http' is not a valid integer."


def test_port_bounds_and_log_levels_that_are_accepted() -> None:
    assert load_settings({"port": 1}).port == 1
    assert load_settings({"port": 65535}).port == 65535
    for level in ("debug", "INFO", "Warning", "error", "critical"):
        assert load_settings({"log_level": level}).log_level == level.lower()


def test_an_unknown_log_level_is_refused() -> None:
    assert one_line_failure(["--log-level", "loud"]) == (
        "log_level must be one of debug, info, warning, error, critical, got 'loud'"
    )


def test_a_mistyped_subcommand_suggests_the_right_one() -> None:
    assert one_line_failure(["simulat"]) == "No such command 'simulat'. Did you mean 'simulate'?"
    assert one_line_failure(["migrat", "--db", "x.db"]) == (
        "No such command 'migrat'. Did you mean 'migrate'?"
    )


def test_an_unknown_subcommand_lists_the_commands() -> None:
    assert one_line_failure(["frobnicate"]) == (
        "No such command 'frobnicate'. "
        "Commands: delete-viewer, migrate, report, serve, settings, simulate."
    )


def test_an_unknown_option_is_one_line_with_a_suggestion() -> None:
    assert one_line_failure(["--prot", "9000"]) == (
        "No such option '--prot'. (Did you mean one of: '--host', '--port'?)"
    )


@pytest.mark.parametrize("command", [[], ["serve"], ["migrate"]])
def test_a_db_in_a_missing_folder_names_the_folder_and_creates_nothing(
    tmp_path: Path, command: list[str]
) -> None:
    missing = tmp_path / "typo"
    db = missing / "x.db"
    assert one_line_failure([*command, "--db", str(db)]) == (
        f"database {str(db)!r}: the folder {str(missing)!r} does not exist "
        "(Playhead does not create folders: create it, or correct --db)"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [["serve"], ["migrate"]])
def test_a_db_naming_a_folder_is_refused(tmp_path: Path, command: list[str]) -> None:
    assert one_line_failure([*command, "--db", str(tmp_path)]) == (
        f"database {str(tmp_path)!r} is a folder: give a file in it, "
        f"e.g. --db {tmp_path / 'playhead.db'}"
    )


@pytest.mark.parametrize("command", [["serve"], ["migrate"]])
def test_a_db_that_is_not_a_database_is_refused_and_left_alone(
    tmp_path: Path, command: list[str]
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n")
    message = one_line_failure([*command, "--db", str(notes)])
    assert message.startswith(f"database {str(notes)!r} is not a SQLite database")
    assert notes.read_text() == "not a database\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("command", [["serve"], ["migrate"]])
def test_an_unknown_database_url_scheme_is_refused(command: list[str]) -> None:
    message = one_line_failure([*command, "--db", "mysql://app:hunter2@db.example/app"])
    assert message == (
        "unsupported database URL scheme 'mysql://' in --db: give a SQLite file path "
        "(or sqlite:///path) or a postgresql:// URL"
    )


def test_migrate_on_an_unreachable_postgresql_is_one_line() -> None:
    pytest.importorskip("asyncpg", reason='asyncpg missing: pip install ".[postgres]"')
    url = f"postgresql://nobody:secret@127.0.0.1:{free_port()}/none"
    message = one_line_failure(["migrate", "--db", url], status=1)
    assert message.startswith("could not connect to the PostgreSQL server: ")
    assert "secret" not in message


def test_refusals_from_a_real_process_have_no_traceback(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "playhead", "--db", str(tmp_path / "nope" / "x.db")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"Error: database {str(tmp_path / 'nope' / 'x.db')!r}: the folder "
        f"{str(tmp_path / 'nope')!r} does not exist "
        "(Playhead does not create folders: create it, or correct --db)"
    ]
    assert not (tmp_path / "nope").exists()


def test_simulate_with_no_server_fails_saying_how_to_start_one() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    message = one_line_failure(["simulate", "--url", url, "--sessions", "3"], status=1)
    assert message == (
        f"nothing answered at {url} (Connection refused); start a server first with "
        "`playhead serve` (or give its address with --url)"
    )


@pytest.fixture
def hang_up_server() -> Iterator[str]:
    """A loopback port that accepts connections and closes them without an HTTP answer."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(5)
    listener.close()


def test_simulate_fails_when_no_request_got_an_http_answer(hang_up_server: str) -> None:
    result = CliRunner().invoke(
        cli, ["simulate", "--url", hang_up_server, "--sessions", "1", "--speed", "0"]
    )
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines() == [
        f"Error: no HTTP answer from {hang_up_server}; start a server first with "
        "`playhead serve` (or give its address with --url)"
    ]
    assert result.stdout.startswith("sessions   0 started, 0 finished (of 1)")


def test_migrate_creates_the_schema(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    result = CliRunner().invoke(cli, ["migrate", "--db", str(db)])
    assert result.exit_code == 0
    assert result.output.strip() == "applied: " + ", ".join(migrations("sqlite"))
    again = CliRunner().invoke(cli, ["migrate", "--db", str(db)])
    assert again.output.strip() == "applied: nothing (up to date)"
    conn = sqlite3.connect(db)
    count = conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0]
    assert count == len(migrations("sqlite"))
    conn.close()


def test_serve_creates_its_database_and_honours_the_prefix(
    server_process: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    db = tmp_path / "fresh.db"
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
        assert first.output.strip() == "applied: " + ", ".join(migrations("postgres"))
        again = CliRunner().invoke(cli, ["migrate", "--db", url])
        assert again.output.strip() == "applied: nothing (up to date)"
    finally:
        asyncio.run(admin(f"DROP DATABASE IF EXISTS {name}"))


@pytest.mark.skipif(OPENSSL is None, reason="the openssl command is not installed")
def test_serve_over_https_with_a_certificate(
    server_process: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    cert, key = self_signed(tmp_path)
    server = server_process("--tls-certfile", str(cert), "--tls-keyfile", str(key))
    server.start()
    assert server.url.startswith("https://")
    request = urllib.request.Request(
        server.url + "/api/v1/sessions", data=json.dumps(start_body()).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10, context=server.ssl_context) as response:
        assert response.status == 201
    plain = server.url.replace("https://", "http://") + "/api/v1/schemas/ping"
    with pytest.raises((urllib.error.URLError, ConnectionError, http.client.HTTPException)):
        urllib.request.urlopen(plain, timeout=5).read()  # no plain HTTP on that port


def test_tls_files_go_together_and_must_exist(tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    with pytest.raises(ConfigError, match="set both or neither"):
        load_settings({"tls_certfile": str(cert)})
    with pytest.raises(ConfigError, match="set both or neither"):
        load_settings({"tls_keyfile": str(cert)})
    with pytest.raises(ConfigError, match="tls_keyfile: no such file"):
        load_settings({"tls_certfile": str(cert), "tls_keyfile": str(tmp_path / "no.pem")})
    both = load_settings({"tls_certfile": str(cert), "tls_keyfile": str(cert)})
    assert (both.tls_certfile, both.tls_keyfile) == (str(cert), str(cert))
    assert load_settings({}).tls_certfile == ""
