"""Viewer simulator: a realistic audience against any Playhead (or Media Collection API) URL.

``playhead simulate`` (the click command :data:`simulate_command`) and :func:`simulate` play
sessions of VOD, live and audio content with pre- and mid-roll ads, chapters, buffering,
pauses, seeks, errors, bitrate switches, player states and abandonment, over threads with
keep-alive ``http.client`` connections. ``--speed`` compresses time: events are sent
``speed`` times faster than real time but carry the timestamps they would have had in real
time (a simulated clock that starts at the wall-clock time the run starts).

:func:`simulate_sessions` is the pure generator (no network): the event bodies of ``n``
sessions for a seed, for load scripts and tests.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import random
import socket
import sys
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from typing import IO, Any

import click

from playhead.client._transport import parse_endpoint

__all__ = [
    "DEFAULT_URL",
    "SimulationSummary",
    "generate_session",
    "simulate",
    "simulate_command",
    "simulate_sessions",
]

DEFAULT_URL = "http://127.0.0.1:8000"
#: Start of the simulated clock for pure generation (2023-11-14T22:13:20Z).
DEFAULT_START_TS = 1_700_000_000_000

Event = dict[str, Any]

_SHOWS = ["Harbour Lights", "The Long Field", "Night Market", "Copper Coast", "Glasshouse"]
_CHANNELS = ["web", "mobile-web", "smart-tv", "app"]
_ADVERTISERS = ["Acme", "Globex", "Initech", "Umbrella", "Hooli"]
_STATE_NAMES = ["fullScreen", "mute", "closedCaptioning", "pictureInPicture", "inFocus"]
_BITRATES = [400_000, 800_000, 1_500_000, 3_000_000, 6_000_000]


# ------------------------------------------------------------------------------------------
# pure generation
# ------------------------------------------------------------------------------------------
class _Builder:
    """Builds one session's events on a simulated clock (``t`` ms after ``start_ts``)."""

    def __init__(self, rng: random.Random, start_ts: int, live: bool) -> None:
        self.rng = rng
        self.start_ts = start_ts
        self.live = live
        self.t = 0.0  # ms since start_ts
        self.ph = 0.0  # main-content playhead (VOD/audio)
        self.events: list[Event] = []
        self.last_ts = start_ts - 1
        self.next_ping = 10_000.0
        self.ping_ms = 10_000.0
        self.in_ad = False
        self.playing = False
        self.bitrate = rng.choice(_BITRATES[1:4])
        self.dropped = 0
        self.open_states: set[str] = set()

    def playhead(self) -> float:
        if self.live:
            return round(((self.start_ts + self.t) / 1000.0) % 86_400, 3)
        return round(self.ph, 3)

    def emit(
        self,
        event_type: str,
        params: dict[str, Any] | None = None,
        qoe: dict[str, Any] | None = None,
        custom_metadata: dict[str, str] | None = None,
    ) -> Event:
        ts = max(self.start_ts + int(self.t), self.last_ts + 1)
        self.last_ts = ts
        self.t = float(ts - self.start_ts)
        body: Event = {
            "playerTime": {"playhead": self.playhead(), "ts": ts},
            "eventType": event_type,
        }
        if params:
            body["params"] = params
        if qoe:
            body["qoeData"] = qoe
        if custom_metadata:
            body["customMetadata"] = custom_metadata
        self.events.append(body)
        return body

    def wait(self, seconds: float, *, advance: bool) -> None:
        """Let ``seconds`` pass (pinging on schedule); the playhead moves when ``advance``."""
        end = self.t + seconds * 1000.0
        while self.next_ping <= end:
            step = self.next_ping - self.t
            self.t = self.next_ping
            if advance and not self.in_ad:
                self.ph += step / 1000.0
            qoe = None
            if self.playing and self.rng.random() < 0.05:
                self.dropped += self.rng.randint(1, 30)
                qoe = {"media.qoe.droppedFrames": self.dropped}
            self.emit("ping", qoe=qoe)
            self.next_ping = self.t + self.ping_ms
        if advance and not self.in_ad:
            self.ph += (end - self.t) / 1000.0
        self.t = end

    def set_ping(self, interval_ms: float) -> None:
        self.ping_ms = interval_ms
        self.next_ping = self.t + interval_ms

    def ad_break(self, pod_index: int, ads: int, ad_seconds: list[float]) -> bool:
        """Play one ad break; return False if the viewer left during it."""
        self.emit(
            "adBreakStart",
            params={
                "media.ad.podIndex": pod_index,
                "media.ad.podSecond": self.playhead(),
                "media.ad.podFriendlyName": f"pod{pod_index}",
            },
        )
        self.in_ad = True
        self.set_ping(1_000)
        for position in range(1, ads + 1):
            length = ad_seconds[position - 1]
            ad_id = f"ad-{self.rng.randint(1000, 9999)}"
            self.emit(
                "adStart",
                params={
                    "media.ad.id": ad_id,
                    "media.ad.name": f"Spot {ad_id}",
                    "media.ad.length": length,
                    "media.ad.podPosition": position,
                    "media.ad.playerName": "playhead-simulator",
                    "media.ad.advertiser": self.rng.choice(_ADVERTISERS),
                },
                custom_metadata={"campaign": f"c{self.rng.randint(1, 20)}"},
            )
            if not self.playing:
                self.emit("play")
                self.playing = True
            roll = self.rng.random()
            if roll < 0.04:  # left during the ad
                self.wait(self.rng.uniform(1, length), advance=False)
                self.emit("adSkip")
                self.emit("adBreakComplete")
                self.in_ad = False
                return False
            if roll < 0.2:
                self.wait(self.rng.uniform(5, max(5.5, length - 1)), advance=False)
                self.emit("adSkip")
            else:
                self.wait(length, advance=False)
                self.emit("adComplete")
        self.emit("adBreakComplete")
        self.in_ad = False
        self.set_ping(10_000)
        return True

    def qoe(self, **extra: int) -> dict[str, Any]:
        data: dict[str, Any] = {
            "media.qoe.bitrate": self.bitrate,
            "media.qoe.framesPerSecond": 30 if self.bitrate < 3_000_000 else 60,
            "media.qoe.droppedFrames": self.dropped,
        }
        data.update(extra)
        return data

    def incident(self, length: float) -> str | None:
        """Maybe something happens while playing main content; return "leave" to abandon."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.10:  # rebuffer
            self.emit("bufferStart")
            self.playing = False
            self.wait(rng.uniform(0.5, 6), advance=False)
            self.emit("play")
            self.playing = True
        elif roll < 0.17:  # pause
            self.emit("pauseStart")
            self.playing = False
            self.wait(rng.expovariate(1 / 25) + 1, advance=False)
            if rng.random() < 0.1:
                return "leave"
            self.emit("play")
            self.playing = True
        elif roll < 0.22 and not self.live:  # seek
            self.emit("pauseStart")
            self.playing = False
            target = self.ph + rng.uniform(-60, 180)
            self.wait(rng.uniform(0.2, 1.5), advance=False)
            self.ph = min(max(0.0, target), max(0.0, length - 1))
            self.emit("play")
            self.playing = True
        elif roll < 0.30:  # bitrate switch
            choices = [b for b in _BITRATES if b != self.bitrate]
            self.bitrate = rng.choice(choices)
            self.emit("bitrateChange", qoe=self.qoe())
        elif roll < 0.38:  # player state toggle
            name = rng.choice(_STATE_NAMES[:4])
            if name in self.open_states:
                self.open_states.discard(name)
                self.emit("stateEnd", params={"media.state.name": name})
            else:
                self.open_states.add(name)
                self.emit("stateStart", params={"media.state.name": name})
        elif roll < 0.395:  # error
            source = "player" if rng.random() < 0.7 else "external"
            code = rng.choice(["MEDIA_ERR_NETWORK", "MEDIA_ERR_DECODE", "DRM-1", "CDN-503"])
            self.emit("error", qoe={"media.qoe.errorID": code, "media.qoe.errorSource": source})
            if rng.random() < 0.3:
                return "leave"
        return None


def generate_session(seed: int, index: int, start_ts: int = DEFAULT_START_TS) -> list[Event]:
    """Return the event bodies of session ``index`` for ``seed``, starting at ``start_ts``.

    Pure and deterministic: the same arguments always give the same bodies. ``ts`` values
    strictly increase (by at least 1 ms); the first body is the ``sessionStart``.
    """
    rng = random.Random(f"playhead-simulator:{seed}:{index}")
    kind = rng.choices(["vod", "live", "podcast"], weights=[65, 20, 15])[0]
    live = kind == "live"
    if kind == "vod":
        length = float(rng.choice([95, 240, 600, 1_320, 2_700]))
    elif kind == "podcast":
        length = float(rng.choice([600, 1_800]))
    else:
        length = 86_400.0
    b = _Builder(rng, start_ts, live)
    show = rng.choice(_SHOWS)
    resume = kind != "live" and rng.random() < 0.05
    params: dict[str, Any] = {
        "analytics.trackingServer": "metrics.example.com",
        "analytics.reportSuite": "playhead-sim",
        "analytics.enableSSL": True,
        "visitor.marketingCloudOrgId": "0000000000000000@AdobeOrg",
        "visitor.marketingCloudUserId": f"{rng.getrandbits(64):016x}",
        "media.id": f"{kind}-{show.lower().replace(' ', '-')}-{rng.randint(1, 40)}",
        "media.name": f"{show} ({kind})",
        "media.length": length,
        "media.contentType": kind,
        "media.streamType": "audio" if kind == "podcast" else "video",
        "media.playerName": "playhead-simulator",
        "media.channel": rng.choice(_CHANNELS),
        "media.libraryVersion": "playhead-simulator-1",
        "media.resume": resume,
    }
    if kind == "podcast":
        params["media.artist"] = show
    else:
        params["media.show"] = show
    if resume:
        b.ph = round(rng.uniform(0.1, 0.6) * length, 1)
    b.emit(
        "sessionStart",
        params=params,
        custom_metadata={"segment": rng.choice(["a", "b", "c"]), "sim.index": str(index)},
    )
    if kind == "vod" and rng.random() < 0.3:
        b.open_states.add("fullScreen")
        b.emit("stateStart", params={"media.state.name": "fullScreen"})

    # time to start, pre-roll
    b.wait(rng.uniform(0.2, 2.5), advance=False)
    pod = 1
    if kind == "vod" and not resume and rng.random() < 0.5:
        n = rng.choice([1, 1, 2])
        if not b.ad_break(pod, n, [float(rng.choice([15, 30])) for _ in range(n)]):
            b.emit("sessionEnd")
            return b.events
        pod += 1
    tts = int(b.t)
    b.emit("play", qoe=b.qoe(**{"media.qoe.timeToStart": tts}))
    b.playing = True

    # what this viewer will watch
    if live:
        watch_until = b.t / 1000 + rng.uniform(60, 1_800)
    elif rng.random() < 0.45:
        watch_until = length
    else:
        watch_until = max(b.ph + 5, rng.uniform(0.05, 0.95) * length)
    chapters: list[tuple[float, float]] = []
    if kind == "vod" and length >= 600:
        count = rng.choice([3, 4])
        size = length / count
        chapters = [(i * size, size) for i in range(count)]
    midroll_every = rng.choice([300.0, 600.0]) if live else 0.0
    next_midroll = (b.t / 1000 + midroll_every) if live else 0.0

    def chapter_at(ph: float) -> int:
        for i, (offset, size) in enumerate(chapters):
            if offset <= ph < offset + size:
                return i
        return len(chapters) - 1

    current_chapter = -1
    left = False
    for _ in range(10_000):  # bounded: every step moves time forward
        position = b.t / 1000 if live else b.ph
        if position >= watch_until - 1e-6:
            break
        if chapters:
            idx = chapter_at(b.ph)
            if idx != current_chapter:
                if current_chapter >= 0:
                    done = b.ph >= sum(chapters[current_chapter]) - 1
                    b.emit("chapterComplete" if done else "chapterSkip")
                    current_chapter = -1
                    if idx > 0 and rng.random() < 0.6:
                        if not b.ad_break(pod, 1, [float(rng.choice([15, 20, 30]))]):
                            left = True
                            break
                        pod += 1
                offset, size = chapters[idx]
                b.emit(
                    "chapterStart",
                    params={
                        "media.chapter.index": idx + 1,
                        "media.chapter.offset": offset,
                        "media.chapter.length": size,
                        "media.chapter.friendlyName": f"Part {idx + 1}",
                    },
                    custom_metadata={"chapter.kind": "main"},
                )
                current_chapter = idx
        if live and midroll_every and b.t / 1000 >= next_midroll:
            if not b.ad_break(pod, rng.choice([1, 2]), [30.0, 30.0]):
                left = True
                break
            pod += 1
            next_midroll = b.t / 1000 + midroll_every
        # play a stretch of content up to the next boundary
        step = rng.uniform(5, 90)
        if chapters:
            offset, size = chapters[current_chapter]
            step = min(step, max(0.5, offset + size - b.ph))
        if live:
            step = min(step, max(0.5, watch_until - b.t / 1000))
            if midroll_every:
                step = min(step, max(0.5, next_midroll - b.t / 1000))
        else:
            step = min(step, max(0.5, watch_until - b.ph))
        b.wait(step, advance=True)
        if not live and b.ph > length:
            b.ph = length
        if b.incident(length) == "leave":
            left = True
            break

    completed = not left and not live and b.ph >= length - 1e-6
    if current_chapter >= 0:
        b.emit("chapterComplete" if completed else "chapterSkip")
    if completed:
        b.emit("sessionComplete")
        if rng.random() < 0.8:
            b.emit("sessionEnd")
    elif rng.random() < 0.75:  # the rest just vanish (the server's idle timeout closes them)
        b.emit("sessionEnd")
    return b.events


def simulate_sessions(
    seed: int, n: int, start_ts: int = DEFAULT_START_TS, spacing_ms: int = 2_000
) -> list[list[Event]]:
    """Return the event bodies of ``n`` sessions for ``seed`` (no network; deterministic).

    Session ``i`` starts ``i * spacing_ms`` after ``start_ts``. Each list begins with its
    ``sessionStart``; the other bodies go to ``/api/v1/sessions/{sid}/events`` in order.
    """
    return [generate_session(seed, i, start_ts + i * spacing_ms) for i in range(n)]


# ------------------------------------------------------------------------------------------
# sending
# ------------------------------------------------------------------------------------------
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
    ) -> None:
        self.scheme, self.host, self.port, self.prefix = parse_endpoint(url)
        self.speed = speed
        self.max_requests = max_requests
        self.timeout = timeout
        self.summary = summary
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

    def connect(self) -> http.client.HTTPConnection:
        if self.scheme == "https":
            return http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

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

    def post(
        self, conn_box: list[http.client.HTTPConnection], path: str, body: Event
    ) -> tuple[int | None, str | None]:
        """POST with up to 3 retries on 503/network errors; (status, Location)."""
        payload = json.dumps(body, separators=(",", ":")).encode()
        for attempt in range(4):
            if attempt and self.stop.wait(min(2.0, 0.1 * 2**attempt)):
                return None, None
            if not self.take_request():
                return None, None
            try:
                conn = conn_box[0]
                conn.request("POST", path, payload, {"Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                status, location = resp.status, resp.getheader("Location")
                if resp.will_close:
                    conn.close()
            except (OSError, http.client.HTTPException) as exc:
                conn_box[0].close()
                conn_box[0] = self.connect()
                key = type(exc).__name__
                with self.lock:
                    self.summary.status_counts[key] += 1
                continue
            with self.lock:
                self.summary.status_counts[str(status)] += 1
                if 200 <= status < 300:
                    self.summary.events_sent += 1
            if status == 503:
                continue
            return status, location
        return None, None

    def play_session(self, conn_box: list[http.client.HTTPConnection], events: list[Event]) -> None:
        start = events[0]
        if not self.sleep_until_ts(start["playerTime"]["ts"]):
            return
        status, location = self.post(conn_box, self.prefix + "/api/v1/sessions", start)
        if status != 201 or not location:
            return
        with self.lock:
            self.summary.sessions_started += 1
        sid = location.rstrip("/").split("/")[-1]
        path = f"{self.prefix}/api/v1/sessions/{sid}/events"
        for body in events[1:]:
            if not self.sleep_until_ts(body["playerTime"]["ts"]):
                return
            status, _ = self.post(conn_box, path, body)
            if status is None or status in (404, 410):
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
    )
    stream = progress_stream or sys.stderr
    show = progress if progress is not None else stream.isatty()
    next_index = iter(range(sessions))
    index_lock = threading.Lock()

    def worker() -> None:
        conn_box = [run.connect()]
        try:
            while not run.stop.is_set():
                with index_lock:
                    i = next(next_index, None)
                if i is None:
                    return
                events = generate_session(seed, i, run.sim_now())
                run.play_session(conn_box, events)
        finally:
            conn_box[0].close()

    threads = [
        threading.Thread(target=worker, name=f"simulate-{n}", daemon=True)
        for n in range(min(concurrency, max(1, sessions)))
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


# ------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------
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
