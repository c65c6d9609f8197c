"""The ``playhead`` command: ``serve`` (the default), ``migrate``, ``settings``, ``simulate``.

Every ``serve`` option comes from the settings table in :mod:`playhead.config`, so flags,
``--help``, environment variables and the README cannot disagree.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any

import click

from playhead import __version__
from playhead.config import SETTINGS, load_settings, settings_table_markdown
from playhead.errors import ConfigError
from playhead.storage.preflight import check_database, probe_storage, sqlite_path


class DefaultGroup(click.Group):
    """A group that runs ``serve`` when no sub-command is named, and says errors in one line.

    ``playhead`` alone and ``playhead --port 9000`` run ``serve``; a first argument that is not
    an option must name a command, so ``playhead simulat`` answers "No such command 'simulat'.
    Did you mean 'simulate'?" rather than starting a server.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Insert ``serve`` when there are no arguments or the first is a ``serve`` option."""
        if not args or (args[0].startswith("-") and args[0] not in ("--help", "-h", "--version")):
            args = ["serve", *args]
        return super().parse_args(ctx, args)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        """Parse the group's arguments; a usage error is one line."""
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            raise _one_line(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        """Run the sub-command; its usage errors are one line too."""
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise _one_line(exc) from None


class CommandLineError(click.ClickException):
    """A wrong command line or setting: shown as the single line ``Error: ...``, exit status 2.

    Click's own usage errors print a usage block first; Playhead's are one line, so the
    reason is the one thing on the screen.
    """

    exit_code = 2


def _one_line(exc: click.UsageError) -> CommandLineError:
    """The same usage error as one line (same message, same exit status 2)."""
    message = exc.format_message()
    if isinstance(exc, click.exceptions.NoSuchCommand) and not exc.possibilities:
        message += f" Commands: {', '.join(sorted(cli.commands))}."
    return CommandLineError(message)


def _config_error(exc: ConfigError) -> CommandLineError:
    """A setting Playhead cannot use, as one line."""
    return CommandLineError(str(exc))


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="playhead")
def cli() -> None:
    """Playhead: self-hosted media analytics for the Streaming Media Collection API."""


def _setting_options(func: Any) -> Any:
    for setting in reversed(SETTINGS):
        kind: Any = click.BOOL if setting.type is bool else setting.type
        if setting.type is bool:
            option = click.option(
                setting.flag + "/--no-" + setting.flag[2:],
                setting.name,
                default=None,
                help=f"{setting.help} [env {setting.env}; default {str(setting.default).lower()}]",
            )
        else:
            option = click.option(
                setting.flag,
                setting.name,
                type=kind,
                default=None,
                help=f"{setting.help} [env {setting.env}; default {setting.default!r}]",
            )
        func = option(func)
    return func


@cli.command()
@_setting_options
def serve(**options: Any) -> None:
    """Run the server (SQLite by default; creates the database file if missing)."""
    try:
        settings = load_settings(options)
        if settings.workers > 1 and settings.state == "memory":
            raise ConfigError(
                f"--workers {settings.workers} needs a shared live-session store: with --state "
                "memory each worker would hold only its own sessions, and an event reaching "
                "another worker would not find its session. Use --state redis://HOST:6379/0 "
                '(pip install "playhead[redis]"), or run one worker.'
            )
        check_database(settings.db)
        probe_storage(settings.db)
        import uvicorn

        from playhead.app import create_app, node_id
        from playhead.http.server import guarded_protocol
        from playhead.workers import configure_logging, reuse_port_socket, run_workers

        if settings.workers == 1:
            app = create_app(settings, manage_gc=True)
    except ConfigError as exc:
        raise _config_error(exc) from None
    node = node_id(settings)
    scheme = "https" if settings.tls_certfile else "http"
    click.echo(
        f"Playhead {__version__} on {scheme}://{settings.host}:{settings.port}"
        f"{settings.prefix}/api/v1/sessions  (db {settings.db}; state {_state_name(settings)}; "
        f"node {node}; {settings.workers} worker(s); demo at /demo)",
        err=True,
    )
    raise_descriptor_limit()
    run: dict[str, Any] = {
        "log_level": settings.log_level,
        "access_log": False,
        # Playhead logs no client addresses, so X-Forwarded-* handling is work for nothing
        "proxy_headers": False,
        "server_header": False,
        "loop": "auto",
        "http": guarded_protocol(settings.max_header_bytes, settings.header_timeout),
        "timeout_graceful_shutdown": 5,
        "ssl_certfile": settings.tls_certfile or None,
        "ssl_keyfile": settings.tls_keyfile or None,
    }
    if settings.workers == 1:
        configure_logging(node, settings.log_level)
        uvicorn.run(app, host=settings.host, port=settings.port, **run)
        return

    def worker(k: int) -> None:
        worker_settings = dataclasses.replace(settings, node_id=f"{node}/w{k}")
        configure_logging(worker_settings.node_id, settings.log_level)
        logging.getLogger("playhead").info("worker %d of %d starting", k, settings.workers)
        sock = reuse_port_socket(settings.host, settings.port)
        uvicorn.run(create_app(worker_settings, manage_gc=True), fd=sock.fileno(), **run)

    run_workers(settings.workers, worker)


def _state_name(settings: Any) -> str:
    """The live-state backend, without any password in its URL."""
    if settings.state == "memory":
        return "memory"
    scheme, _, rest = settings.state.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"


@cli.command()
@click.option(
    "--db",
    default=None,
    help="SQLite file or postgresql:// URL [env PLAYHEAD_DB; default playhead.db].",
)
def migrate(db: str | None) -> None:
    """Apply pending database migrations (SQLite or PostgreSQL) and exit."""
    try:
        settings = load_settings({"db": db})
        check_database(settings.db)
    except ConfigError as exc:
        raise _config_error(exc) from None
    path = sqlite_path(settings.db)
    applied = asyncio.run(_migrate_postgres(settings.db)) if path is None else _migrate_sqlite(path)
    click.echo("applied: " + (", ".join(applied) if applied else "nothing (up to date)"))


def _migrate_sqlite(path: str) -> list[str]:
    import sqlite3

    from playhead.storage.migrate import migrate_sqlite
    from playhead.storage.sqlite import connect

    try:
        conn = connect(path)
        try:
            return migrate_sqlite(conn)
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise click.ClickException(f"could not migrate {path!r}: {exc}") from None


async def _migrate_postgres(url: str) -> list[str]:
    try:
        import asyncpg  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - check_database refuses this first
        raise _config_error(
            ConfigError('PostgreSQL needs the "postgres" extra: pip install "playhead[postgres]"')
        ) from None
    from playhead.storage.migrate import migrate_postgres

    failures = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)
    try:
        conn = await asyncpg.connect(url, timeout=10)
    except failures as exc:
        # the URL itself is not repeated: it may carry a password
        raise click.ClickException(f"could not connect to the PostgreSQL server: {exc}") from None
    try:
        return await migrate_postgres(conn)
    except failures as exc:
        raise click.ClickException(f"PostgreSQL migration failed: {exc}") from None
    finally:
        await conn.close()


@cli.command("settings")
def settings_cmd() -> None:
    """Print the configuration table (the README's, generated from the same source)."""
    click.echo(settings_table_markdown())


def _add_optional_commands() -> None:
    try:
        from playhead.simulator import simulate_command
    except ImportError:  # pragma: no cover - the simulator ships with the package
        return
    cli.add_command(simulate_command, "simulate")


_add_optional_commands()


def raise_descriptor_limit() -> None:
    """Raise the open-file limit to the hard limit: each connection takes a descriptor, and the
    usual soft limit of 1,024 is reached by a thousand idle clients."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY or hard > soft:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ImportError, ValueError, OSError):  # not on this platform, or not allowed
        pass


def main() -> None:
    """Entry point of the ``playhead`` console script."""
    cli(prog_name="playhead")


if __name__ == "__main__":  # pragma: no cover
    main()
