"""Viewer simulator: a realistic audience against any Playhead (or Media Collection API) URL.

``playhead simulate`` (the click command :data:`simulate_command`) and :func:`simulate` play
sessions of VOD, live and audio content with pre- and mid-roll ads, chapters, buffering,
pauses, seeks, errors, bitrate switches, player states and abandonment, over threads that send
through the Python client's transport (its keep-alive connection, retries and backoff).
``--speed`` compresses time: events are sent ``speed`` times faster than real time but carry
the timestamps they would have had in real time.

Three parts, each usable alone:

* :mod:`~playhead.simulator.audience`: the pure, seeded generator of protocol-neutral
  :class:`~playhead.simulator.audience.ViewerEvent` values.
* :mod:`~playhead.simulator.encode`: an :class:`~playhead.simulator.encode.Encoder` per wire
  protocol (the Collection API now); :func:`generate_session` and :func:`simulate_sessions`
  give the audience as Collection API bodies (no network), for load scripts and tests.
* :mod:`~playhead.simulator.runner`: :func:`simulate`, which plays the audience against a URL.
"""

from __future__ import annotations

from .audience import DEFAULT_START_TS as DEFAULT_START_TS  # importable as before the split
from .cli import simulate_command
from .encode import generate_session, simulate_sessions
from .runner import DEFAULT_URL, SimulationSummary, simulate
from .runner import is_loopback_url as is_loopback_url  # importable as before the split

__all__ = [
    "DEFAULT_URL",
    "SimulationSummary",
    "generate_session",
    "simulate",
    "simulate_command",
    "simulate_sessions",
]
