"""Draining on ``SIGTERM`` (or ``SIGINT``): the uvicorn server Playhead runs.

On the signal the app is told at once (readiness answers ``503``, so a load balancer stops
sending), uvicorn stops accepting connections, closes idle keep-alive ones and waits for the
requests in flight; then the app's shutdown commits the write queue and stores every held
session's summary. All of it is bounded by ``--drain-timeout``: uvicorn gets most of it for the
requests in flight, the shutdown the rest (see :func:`shutdown_budget`).
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from types import FrameType

import uvicorn

log = logging.getLogger("playhead")

# Share of the drain timeout given to requests in flight (the rest: the app's shutdown).
IN_FLIGHT_SHARE = 0.6


class DrainingServer(uvicorn.Server):
    """uvicorn's server, calling ``on_signal`` when a shutdown signal arrives."""

    def __init__(self, config: uvicorn.Config, on_signal: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_signal = on_signal

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Tell the app a drain began, then let uvicorn stop as it does."""
        if not self.should_exit:
            try:
                self._on_signal()
            except Exception:  # the drain must go on whatever the callback did
                log.exception("drain notification failed")
        super().handle_exit(sig, frame)
        if sig == signal.SIGTERM:
            # uvicorn raises the signal again once it stopped, so the process would end "killed
            # by SIGTERM"; a completed drain is a normal exit (status 0)
            captured: list[int] = getattr(self, "_captured_signals", [])
            while sig in captured:
                captured.remove(sig)


def in_flight_timeout(drain_timeout: float) -> float:
    """Seconds uvicorn may wait for requests in flight (its ``timeout_graceful_shutdown``)."""
    return max(0.1, drain_timeout * IN_FLIGHT_SHARE)


def shutdown_budget(drain_timeout: float, signalled_at: float | None) -> float:
    """Seconds the app's shutdown may take: what is left of the drain timeout since the signal
    (monotonic time), at least a tenth of it; without a signal, the share not given to
    requests in flight."""
    floor = drain_timeout * 0.1
    if signalled_at is None:
        return drain_timeout * (1 - IN_FLIGHT_SHARE)
    return max(floor, drain_timeout - (time.monotonic() - signalled_at))
