"""The ``playhead`` command: ``serve`` (the default), ``migrate``, ``settings``, ``simulate``,
``report``.

Every ``serve`` option comes from the settings table in :mod:`playhead.config`, so flags,
``--help``, environment variables and the README cannot disagree.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import logging.config
import os
from typing import Any

import click
import msgspec

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
        from playhead.http.access import check_exposure

        check_exposure(settings)
        check_database(settings.db)
        probe_storage(settings.db)
        from playhead.ops.multiproc import prepare_multiprocess_metrics

        # before anything imports prometheus_client (the app does)
        prepare_multiprocess_metrics(settings.workers)
        import uvicorn

        from playhead.app import create_app, node_id, services_of
        from playhead.http.server import guarded_protocol
        from playhead.workers import reuse_port_socket, run_workers

        if settings.workers == 1:
            app = create_app(settings, manage_gc=True)
    except ConfigError as exc:
        raise _config_error(exc) from None
    node = node_id(settings)
    scheme = "https" if settings.tls_certfile else "http"
    click.echo(
        f"Playhead {__version__} on {scheme}://{settings.host}:{settings.port}"
        f"{settings.prefix}/api/v1/sessions  (db {settings.db}; state {_state_name(settings)}; "
        f"node {node}; {settings.workers} worker(s); demo at /demo, dashboard at /dashboard)",
        err=True,
    )
    raise_descriptor_limit()
    from playhead.http.drain import DrainingServer, in_flight_timeout
    from playhead.ops.logs import logging_config
    from playhead.ops.multiproc import mark_process_dead

    def serve_app(served: Any, node_name: str, **where: Any) -> None:
        """Run one server process until its drain is done."""
        config = uvicorn.Config(
            served,
            log_level=settings.log_level,
            access_log=False,
            log_config=logging_config(settings.log_level, settings.log_format, node=node_name),
            # Playhead logs no client addresses, so X-Forwarded-* handling is work for nothing
            proxy_headers=False,
            server_header=False,
            loop="auto",
            http=guarded_protocol(settings.max_header_bytes, settings.header_timeout),
            # typed int, used as asyncio.wait_for's timeout: fractions work
            timeout_graceful_shutdown=in_flight_timeout(settings.drain_timeout),  # type: ignore[arg-type]
            ssl_certfile=settings.tls_certfile or None,
            ssl_keyfile=settings.tls_keyfile or None,
            **where,
        )
        DrainingServer(config, services_of(served).begin_drain).run()

    if settings.workers == 1:
        serve_app(app, node, host=settings.host, port=settings.port)
        return

    def worker(k: int) -> None:
        worker_settings = dataclasses.replace(settings, node_id=f"{node}/w{k}")
        sock = reuse_port_socket(settings.host, settings.port)
        worker_app = create_app(worker_settings, manage_gc=True)
        logging.config.dictConfig(
            logging_config(settings.log_level, settings.log_format, node=worker_settings.node_id)
        )
        logging.getLogger("playhead").info("worker %d of %d starting", k, settings.workers)
        serve_app(worker_app, worker_settings.node_id, fd=sock.fileno())

    run_workers(settings.workers, worker, on_exit=mark_process_dead)


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


@cli.command("delete-viewer")
@click.argument("key")
@click.option(
    "--db",
    default=None,
    help="SQLite file or postgresql:// URL [env PLAYHEAD_DB; default playhead.db].",
)
def delete_viewer_cmd(key: str, db: str | None) -> None:
    """Delete every session, event and summary of viewer KEY; print what went (JSON).

    Run it against a stopped server's database, or use POST /admin/viewers/KEY/delete on a
    running one: a running server still holds that viewer's open sessions in memory.
    """
    try:
        settings = load_settings({"db": db})
        check_database(settings.db)
    except ConfigError as exc:
        raise _config_error(exc) from None
    if not key:
        raise CommandLineError("KEY must not be empty.")
    import msgspec

    from playhead.ops.erasure import delete_viewer
    from playhead.storage import open_storage

    async def run() -> bytes:
        storage = open_storage(
            settings.db,
            queue_size=settings.queue_size,
            batch_size=settings.batch_size,
            synchronous=settings.sqlite_sync,
            timeout=settings.storage_timeout,
        )
        await storage.start()
        try:
            return msgspec.json.encode(await delete_viewer(storage, None, key))
        finally:
            await storage.stop()

    try:
        click.echo(asyncio.run(run()).decode())
    except Exception as exc:  # the store failed or could not be reached: one line
        raise click.ClickException(f"could not delete viewer data: {exc!r}") from None


@cli.command("settings")
def settings_cmd() -> None:
    """Print the configuration table (the README's, generated from the same source)."""
    click.echo(settings_table_markdown())


@cli.command("report")
@click.option("--db", default=None, help="SQLite file or postgresql:// URL [env PLAYHEAD_DB].")
@click.option("--from", "from_", default=None, help="Start: epoch ms or ISO-8601 [to - 24 h].")
@click.option("--to", default=None, help="End (exclusive): epoch ms or ISO-8601 [now].")
@click.option("--filter", "filters", multiple=True, help="DIM:VALUE or !DIM:VALUE (repeatable).")
@click.option("--tz", default=None, help="IANA time zone of day and hour buckets [UTC].")
@click.option("--by", "by", default=None, help="Break down by this dimension (e.g. media.id).")
@click.option("--metric", "metric", multiple=True, help="Metrics of a breakdown (repeatable).")
@click.option("--limit", default=None, help="Rows of a breakdown [20].")
@click.option("--json", "as_json", is_flag=True, help="Print the report's JSON.")
def report_cmd(
    db: str | None,
    from_: str | None,
    to: str | None,
    filters: tuple[str, ...],
    tz: str | None,
    by: str | None,
    metric: tuple[str, ...],
    limit: str | None,
    as_json: bool,
) -> None:
    """Print the summary of a range (or a breakdown with --by) from the database."""
    from playhead.reports.terminal import Params

    params = {"from": [from_] if from_ else [], "to": [to] if to else [],
              "filter": list(filters), "tz": [tz] if tz else [], "metric": list(metric),
              "limit": [limit or "20"], "dimension": [by] if by else []}  # fmt: skip
    try:
        settings = load_settings({"db": db})
        check_database(settings.db)
    except ConfigError as exc:
        raise _config_error(exc) from None
    path = sqlite_path(settings.db)
    if path is not None and not os.path.exists(path):
        raise CommandLineError(f"no database at {path!r} (give --db)")
    body, text = asyncio.run(_report(settings, Params(params), by is not None))
    click.echo(msgspec.json.encode(body).decode() if as_json else text)


async def _report(settings: Any, params: Any, breakdown: bool) -> tuple[Any, str]:
    import time

    from playhead.errors import InvalidQuery
    from playhead.reports import aggregate, grouped, terminal
    from playhead.reports.figures import SqlFigures
    from playhead.reports.selection import parse
    from playhead.storage import open_storage

    storage = open_storage(
        settings.db, queue_size=100, batch_size=10, synchronous="NORMAL", timeout=60.0
    )
    await storage.start()
    figures = SqlFigures(storage)  # one question: the database answers it without a load
    try:
        selection = parse(params, int(time.time() * 1000))
        if not breakdown:
            body = await aggregate.summary(figures, selection)
            return body, terminal.summary_table(body)
        names = grouped.parse_metrics(params, ("mediaStarts", "timePlayed", "completionRate"))
        dimension = grouped.parse_dimension(params, "dimension", required=True)
        assert dimension is not None
        limit = aggregate.parse_limit(params, 20, 1000)
        body = await grouped.breakdown(figures, selection, dimension, names, "-mediaStarts", limit)
        return body, terminal.breakdown_table(body, names)
    except InvalidQuery as exc:
        problems = "; ".join(
            f"--{e.path.removeprefix('query.').replace('dimension', 'by')} {e.problem}"
            for e in exc.errors
        )
        raise CommandLineError(problems) from None
    finally:
        await storage.stop()


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
