"""``playhead simulate``: the click command over :func:`~playhead.simulator.runner.simulate`."""

from __future__ import annotations

import json
import socket

import click

from playhead.client import parse_endpoint

from .encode import ENCODERS
from .runner import DEFAULT_URL, is_loopback_url, simulate

__all__ = ["simulate_command"]


def _positive_or_none(value: float | None) -> float | None:
    return value if value else None


@click.command("simulate")
@click.option("--url", default=DEFAULT_URL, show_default=True, help="Playhead base URL.")
@click.option("--sessions", default=20, show_default=True, type=click.IntRange(min=0))
@click.option("--concurrency", default=10, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=0, show_default=True, type=int, help="Repeatable audience.")
@click.option(
    "--speed",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Time compression (60 = an hour of viewing in a minute; 0 = as fast as possible).",
)
@click.option("--max-requests", default=None, type=click.IntRange(min=1), help="Stop after N.")
@click.option("--max-seconds", default=None, type=click.FloatRange(min=0), help="Stop after S.")
@click.option("--allow-remote", is_flag=True, help="Allow a non-loopback URL.")
@click.option("--timeout", default=5.0, show_default=True, type=click.FloatRange(min=0.1))
@click.option("--progress/--no-progress", default=None, help="Progress line on stderr.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option(
    "--protocol",
    type=click.Choice(sorted(ENCODERS)),
    default="collection",
    show_default=True,
    help="Wire protocol: the Collection API (/api/v1) or the Media Edge API (/ee/va/v1).",
)
def simulate_command(
    url: str,
    sessions: int,
    concurrency: int,
    seed: int,
    speed: float,
    max_requests: int | None,
    max_seconds: float | None,
    allow_remote: bool,
    timeout: float,
    progress: bool | None,
    as_json: bool,
    protocol: str,
) -> None:
    """Send a simulated audience (VOD, live, ads, chapters, QoE, states) to a Playhead URL."""
    try:
        if allow_remote or is_loopback_url(url):  # else simulate() refuses the URL below
            _probe(url, timeout)
        summary = simulate(
            url,
            sessions=sessions,
            concurrency=concurrency,
            seed=seed,
            speed=speed,
            max_requests=max_requests,
            max_seconds=_positive_or_none(max_seconds),
            allow_remote=allow_remote,
            timeout=timeout,
            progress=progress,
            encoder=ENCODERS[protocol](),
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(json.dumps(summary.as_dict()) if as_json else summary.format())
    if summary.requests and not any(key.isdigit() for key in summary.status_counts):
        # every request failed below HTTP: the server went away (or never answered)
        raise click.ClickException(f"no HTTP answer from {url}; {_START_HINT}")


_START_HINT = "start a server first with `playhead serve` (or give its address with --url)"


def _probe(url: str, timeout: float) -> None:
    """Fail in one line, before any session is played, when nothing listens at ``url``."""
    _, host, port, _ = parse_endpoint(url)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise click.ClickException(f"nothing answered at {url} ({reason}); {_START_HINT}") from None
