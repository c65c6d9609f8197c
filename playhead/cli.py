"""The ``playhead`` command: ``serve`` (the default), ``migrate``, ``settings``, ``simulate``.

Every ``serve`` option comes from the settings table in :mod:`playhead.config`, so flags,
``--help``, environment variables and the README cannot disagree.
"""

from __future__ import annotations

import asyncio
from typing import Any

import click

from playhead import __version__
from playhead.config import SETTINGS, load_settings, settings_table_markdown
from playhead.errors import ConfigError


class DefaultGroup(click.Group):
    """A group that runs ``serve`` when no sub-command is named."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Insert ``serve`` when the first argument is not a known command."""
        if not args or (
            args[0] not in self.commands and args[0] not in ("--help", "-h", "--version")
        ):
            args = ["serve", *args]
        return super().parse_args(ctx, args)


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
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    if settings.workers > 1:
        raise click.UsageError(
            "--workers above 1 needs a shared live-session store (Redis), which this version "
            "does not have yet; run one worker (it carries tens of thousands of events/s)."
        )
    import uvicorn

    from playhead.app import create_app

    app = create_app(settings, manage_gc=True)
    click.echo(
        f"Playhead {__version__} on http://{settings.host}:{settings.port}"
        f"{settings.prefix}/api/v1/sessions  (db {settings.db}; demo at /demo)",
        err=True,
    )
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
        # Playhead logs no client addresses, so X-Forwarded-* handling is work for nothing
        proxy_headers=False,
        server_header=False,
        loop="auto",
        http="auto",
        timeout_graceful_shutdown=5,
    )


@cli.command()
@click.option("--db", default=None, help="SQLite file path [env PLAYHEAD_DB].")
def migrate(db: str | None) -> None:
    """Apply pending database migrations (SQLite or PostgreSQL) and exit."""
    settings = load_settings({"db": db})
    if settings.db.startswith(("postgres://", "postgresql://")):
        applied = asyncio.run(_migrate_postgres(settings.db))
    else:
        from playhead.storage.migrate import migrate_sqlite
        from playhead.storage.sqlite import connect

        conn = connect(settings.db.removeprefix("sqlite:///"))
        applied = migrate_sqlite(conn)
        conn.close()
    click.echo("applied: " + (", ".join(applied) if applied else "nothing (up to date)"))


async def _migrate_postgres(url: str) -> list[str]:
    try:
        import asyncpg  # type: ignore[import-untyped]
    except ImportError:
        raise click.UsageError(
            'PostgreSQL needs the "postgres" extra: pip install "playhead[postgres]"'
        ) from None
    from playhead.storage.migrate import migrate_postgres

    conn = await asyncpg.connect(url)
    try:
        return await migrate_postgres(conn)
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


def main() -> None:
    """Entry point of the ``playhead`` console script."""
    cli(prog_name="playhead")


if __name__ == "__main__":  # pragma: no cover
    main()
