"""The runner: plays the simulated audience against a URL over the client's transport.

:func:`simulate` runs ``concurrency`` worker threads; each plays one session at a time through
its own :class:`playhead.client.Transport` (one keep-alive connection), so the simulator
retries and backs off exactly as the Python client does, with its own policy: up to
:data:`RETRIES` retries of network errors and of the statuses in :data:`RETRY_STATUSES`.
Every attempt counts against ``max_requests`` and in the summary's status counts (a network
error under its exception's name). ``speed`` compresses time: events are sent ``speed`` times
faster than real time but carry the timestamps they would have had in real time (a
simulated clock that starts at the wall-clock time the run starts).
"""

from __future__ import annotations

import http.client
import ipaddress
import sys
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from playhead.client import BaseTransport, HTTPTransport, Response, Transport, TransportError

from .audience import ViewerEvent, viewer_agent, viewer_session
from .encode import CollectionEncoder, Encoder, WireRequest

__all__ = [
    "DEFAULT_URL",
    "RETRIES",
    "RETRY_STATUSES",
    "SimulationSummary",
    "is_loopback_url",
    "simulate",
]

DEFAULT_URL = "http://127.0.0.1:8000"
#: Retries after the first attempt of a request (network errors and :data:`RETRY_STATUSES`).
RETRIES = 3
#: The statuses a simulated player retries: the server is overloaded (queue full, storage slow).
RETRY_STATUSES = frozenset({503})
#: First retry delay (doubled each retry, jittered) and the longest one, seconds.
BACKOFF = 0.2
MAX_BACKOFF = 2.0


@dataclass
class SimulationSummary:
    """What a :func:`simulate` run did."""

    sessions_planned: int = 0
    sessions_started: int = 0
    sessions_finished: int = 0
    events_sent: int = 0
    requests: int = 0
    status_counts: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0
    stopped_by: str | None = None

    @property
    def events_per_second(self) -> float:
        """Accepted events (sessionStart included) per second of wall time."""
        return self.events_sent / self.elapsed if self.elapsed > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {
            "sessions_planned": self.sessions_planned,
            "sessions_started": self.sessions_started,
            "sessions_finished": self.sessions_finished,
            "events_sent": self.events_sent,
            "requests": self.requests,
            "status_counts": dict(sorted(self.status_counts.items())),
            "elapsed": round(self.elapsed, 3),
            "events_per_second": round(self.events_per_second, 1),
            "stopped_by": self.stopped_by,
        }

    def format(self) -> str:
        """A short human-readable report."""
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(self.status_counts.items()))
        lines = [
            f"sessions   {self.sessions_started} started, {self.sessions_finished} finished"
            + f" (of {self.sessions_planned})",
            f"events     {self.events_sent} accepted, {self.requests} requests",
            f"statuses   {statuses or '-'}",
            f"time       {self.elapsed:.1f} s, {self.events_per_second:.1f} events/s",
        ]
        if self.stopped_by:
            lines.append(f"stopped by {self.stopped_by}")
        return "\n".join(lines)


def is_loopback_url(url: str) -> bool:
    """True when ``url``'s host is ``localhost`` or a loopback address."""
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Stopped(Exception):
    """The run is stopping (``max-requests`` reached, ``max-seconds`` passed): send nothing more."""


class _MeteredTransport(BaseTransport):
    """One worker's transport, counted against the run: the request budget and every answer."""

    def __init__(self, run: _Run, inner: BaseTransport, *, owned: bool) -> None:
        self.run = run
        self.inner = inner
        self.owned = owned

    def request(self, method: str, path: str, body: bytes, headers: Mapping[str, str]) -> Response:
        if not self.run.take_request():
            raise _Stopped
        try:
            response = self.inner.request(method, path, body, headers)
        except (OSError, http.client.HTTPException) as exc:
            self.run.count(type(exc).__name__, accepted=False)
            raise
        self.run.count(str(response.status), accepted=200 <= response.status < 300)
        return response

    def close(self) -> None:
        if self.owned:
            self.inner.close()


class _Run:
    def __init__(
        self,
        url: str,
        *,
        speed: float,
        max_requests: int | None,
        max_seconds: float | None,
        timeout: float,
        summary: SimulationSummary,
        encoder: Encoder,
        transport: BaseTransport | None,
    ) -> None:
        self.url = url
        self.speed = speed
        self.max_requests = max_requests
        self.timeout = timeout
        self.summary = summary
        self.encoder = encoder
        self.transport = transport
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.real_start = time.monotonic()
        self.sim_epoch = int(time.time() * 1000)
        self.deadline = None if not max_seconds else self.real_start + max_seconds

    def halt(self, reason: str) -> None:
        with self.lock:
            if self.summary.stopped_by is None:
                self.summary.stopped_by = reason
        self.stop.set()

    def sim_now(self) -> int:
        """The simulated clock, epoch ms."""
        elapsed = time.monotonic() - self.real_start
        factor = self.speed if self.speed > 0 else 1.0
        return self.sim_epoch + int(elapsed * 1000 * factor)

    def sleep_until_ts(self, ts: int) -> bool:
        """Wait until simulated time ``ts``; False if the run must stop."""
        if self.speed > 0:
            due = self.real_start + (ts - self.sim_epoch) / 1000.0 / self.speed
            for _ in range(100_000):  # bounded: each wait is at most 0.5 s
                now = time.monotonic()
                if self.deadline is not None and now >= self.deadline:
                    self.halt("max-seconds")
                    return False
                if now >= due or self.stop.is_set():
                    break
                self.stop.wait(min(0.5, due - now))
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.halt("max-seconds")
        return not self.stop.is_set()

    def pause(self, seconds: float) -> None:
        """The retry delay of the client's transport, cut short when the run stops."""
        if self.stop.wait(seconds):
            raise _Stopped

    def take_request(self) -> bool:
        with self.lock:
            if self.max_requests is not None and self.summary.requests >= self.max_requests:
                allowed = False
            else:
                self.summary.requests += 1
                allowed = True
        if not allowed:
            self.halt("max-requests")
        return allowed

    def count(self, key: str, *, accepted: bool) -> None:
        with self.lock:
            self.summary.status_counts[key] += 1
            if accepted:
                self.summary.events_sent += 1

    def sender(self) -> Transport:
        """A worker's own client transport (one keep-alive connection unless one was given)."""
        inner = self.transport or HTTPTransport(self.url, timeout=self.timeout)
        return Transport(
            self.url,
            max_retries=RETRIES,
            backoff=BACKOFF,
            max_backoff=MAX_BACKOFF,
            sleep=self.pause,
            retry_statuses=RETRY_STATUSES,
            transport=_MeteredTransport(self, inner, owned=self.transport is None),
        )

    def post(
        self, sender: Transport, request: WireRequest, headers: Mapping[str, str] | None = None
    ) -> Response | None:
        """Send with the client's retries; ``None`` when the run stopped or retries ran out."""
        try:
            response = sender.post(sender.prefix + request.path, request.body, headers)
        except (_Stopped, TransportError):
            return None
        if response.status in sender.retry_statuses:
            return None  # still overloaded after every retry
        return response

    def play_session(
        self, sender: Transport, events: list[ViewerEvent], agent: str | None = None
    ) -> None:
        encoder = self.encoder
        start = events[0]
        if not self.sleep_until_ts(start.ts):
            return
        # the User-Agent matters at the start only (enrichment reads it there)
        headers = {"User-Agent": agent} if agent else None
        response = self.post(sender, encoder.start(start), headers)
        sid = None if response is None else encoder.session_id(response)
        if sid is None:
            return
        with self.lock:
            self.summary.sessions_started += 1
        for event in events[1:]:
            if not self.sleep_until_ts(event.ts):
                return
            response = self.post(sender, encoder.event(sid, event))
            if response is None or encoder.session_gone(response.status):
                return
        with self.lock:
            self.summary.sessions_finished += 1


def simulate(
    url: str = DEFAULT_URL,
    *,
    sessions: int = 20,
    concurrency: int = 10,
    seed: int = 0,
    speed: float = 60.0,
    max_requests: int | None = None,
    max_seconds: float | None = None,
    allow_remote: bool = False,
    timeout: float = 5.0,
    progress: bool | None = None,
    progress_stream: IO[str] | None = None,
    encoder: Encoder | None = None,
    transport: BaseTransport | None = None,
) -> SimulationSummary:
    """Play ``sessions`` simulated viewers against ``url`` and return a summary.

    Args:
        url: the collector's base URL (a path prefix such as ``/va`` is kept).
        sessions: how many viewing sessions to play.
        concurrency: sessions played at once (one thread and keep-alive connection each).
        seed: makes the audience repeatable (same seed, same events apart from ``ts``).
        speed: time compression (60 = an hour of viewing in a minute); ``0`` sends as fast as
            possible. Timestamps follow the simulated clock in either case.
        max_requests: stop after this many HTTP requests (``None``: no limit).
        max_seconds: stop after this much wall time (``None``: no limit).
        allow_remote: permit a non-loopback host.
        timeout: socket timeout per request, seconds.
        progress: write a progress line to stderr every second (``None``: when stderr is a
            terminal and the run lasts more than two seconds).
        progress_stream: where the progress line goes (default stderr).
        encoder: the wire protocol (default :class:`CollectionEncoder`).
        transport: what sends each request (default: one keep-alive
            :class:`~playhead.client.HTTPTransport` per worker thread). A transport given here
            is shared by every worker, so it must be thread-safe (a
            :class:`~playhead.client.MockTransport` with a thread-safe handler); the caller
            closes it.

    Raises:
        ValueError: a non-loopback URL without ``allow_remote``, or bad arguments.
    """
    if not allow_remote and not is_loopback_url(url):
        raise ValueError(f"refusing non-loopback URL {url!r} (pass allow_remote=True)")
    if sessions < 0 or concurrency < 1 or speed < 0:
        raise ValueError("sessions >= 0, concurrency >= 1 and speed >= 0 are required")
    summary = SimulationSummary(sessions_planned=sessions)
    run = _Run(
        url,
        speed=speed,
        max_requests=max_requests,
        max_seconds=max_seconds,
        timeout=timeout,
        summary=summary,
        encoder=encoder if encoder is not None else CollectionEncoder(),
        transport=transport,
    )
    stream = progress_stream or sys.stderr
    show = progress if progress is not None else stream.isatty()
    next_index = iter(range(sessions))
    index_lock = threading.Lock()

    def worker(sender: Transport) -> None:
        try:
            while not run.stop.is_set():
                with index_lock:
                    i = next(next_index, None)
                if i is None:
                    return
                events = viewer_session(seed, i, run.sim_now())
                run.play_session(sender, events, viewer_agent(seed, i))
        finally:
            sender.close()

    senders = [run.sender() for _ in range(min(concurrency, max(1, sessions)))]
    threads = [
        threading.Thread(target=worker, args=(sender,), name=f"simulate-{n}", daemon=True)
        for n, sender in enumerate(senders)
    ]
    for t in threads:
        t.start()
    printed = False
    last_print = 0.0
    for _ in range(10_000_000):  # bounded by max_seconds / the sessions themselves
        alive = [t for t in threads if t.is_alive()]
        if not alive:
            break
        alive[0].join(1.0)
        summary.elapsed = time.monotonic() - run.real_start
        if run.deadline is not None and time.monotonic() >= run.deadline + run.timeout * 5:
            run.halt("max-seconds")
            break
        if show and summary.elapsed > 2 and summary.elapsed - last_print >= 0.95:
            last_print = summary.elapsed
            with run.lock:
                line = (
                    f"\r[simulate] {summary.elapsed:6.1f}s  sessions {summary.sessions_started}"
                    f"/{sessions}  events {summary.events_sent}  "
                    f"{summary.events_per_second:7.1f} ev/s  requests {summary.requests}"
                )
            stream.write(line)
            stream.flush()
            printed = True
    if run.deadline is not None and time.monotonic() >= run.deadline:
        run.halt("max-seconds")
    for t in threads:
        t.join(run.timeout + 1)
    summary.elapsed = time.monotonic() - run.real_start
    if printed:
        stream.write("\n")
        stream.flush()
    return summary
