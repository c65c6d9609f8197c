"""The simulated audience: pure, seeded, protocol-neutral (no network, no clock, no I/O).

:func:`viewer_session` plays one viewer on a simulated clock and returns what their player
reports, as :class:`ViewerEvent` values: an event type, a timestamp, a playhead and the
``media.*`` keys of the media vocabulary (params, QoE data, custom metadata). An encoder
(:mod:`playhead.simulator.encode`) turns them into one wire protocol's requests; the runner
(:mod:`playhead.simulator.runner`) sends them.

The same ``(seed, index, start_ts)`` always gives the same events. The audience: VOD, live
and audio content with pre- and mid-roll ads, chapters, buffering, pauses, seeks, errors,
bitrate switches, player states and abandonment.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_START_TS",
    "ViewerEvent",
    "viewer_agent",
    "viewer_session",
    "viewer_sessions",
]

#: Start of the simulated clock for pure generation (2023-11-14T22:13:20Z).
DEFAULT_START_TS = 1_700_000_000_000


@dataclass(frozen=True, slots=True)
class ViewerEvent:
    """One thing a viewer's player reports, in no protocol's wire shape.

    Attributes:
        event_type: the media event (``sessionStart``, ``play``, ``adStart``, ...).
        ts: when it happened, epoch milliseconds (strictly increasing within a session).
        playhead: the main-content position in seconds (second of the day for live content).
        params: ``media.*`` (and ``analytics.*``/``visitor.*``) keys, or ``None``.
        qoe: ``media.qoe.*`` keys, or ``None``.
        custom_metadata: free string metadata, or ``None``.
    """

    event_type: str
    ts: int
    playhead: float
    params: dict[str, Any] | None = None
    qoe: dict[str, Any] | None = None
    custom_metadata: dict[str, str] | None = None


# (weight, User-Agent) of the devices viewers watch on: phones, desktops, tablets, TVs, a bot
_AGENTS = [
    (30, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
         "like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"),
    (25, "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/124.0.6367.82 Mobile Safari/537.36"),
    (20, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/124.0.0.0 Safari/537.36"),
    (8, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Version/17.4 Safari/605.1.15"),
    (6, "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Version/16.6 Mobile/15E148 Safari/604.1"),
    (5, "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"),
    (5, "Mozilla/5.0 (SMART-TV; LINUX; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) "
        "76.0.3809.146/6.0 TV Safari/537.36"),
    (1, "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
]  # fmt: skip
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
        self.events: list[ViewerEvent] = []
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
    ) -> None:
        ts = max(self.start_ts + int(self.t), self.last_ts + 1)
        self.last_ts = ts
        self.t = float(ts - self.start_ts)
        self.events.append(
            ViewerEvent(
                event_type,
                ts,
                self.playhead(),
                params or None,
                qoe or None,
                custom_metadata or None,
            )
        )

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


def viewer_agent(seed: int, index: int) -> str:
    """The User-Agent viewer ``index`` of ``seed`` watches with (deterministic; drawn apart from
    the session's events, so adding it changed none of them). About 1 in 100 is a crawler."""
    rng = random.Random(f"playhead-simulator-agent:{seed}:{index}")
    agent: str = rng.choices([a for _, a in _AGENTS], weights=[w for w, _ in _AGENTS])[0]
    return agent


def viewer_session(seed: int, index: int, start_ts: int = DEFAULT_START_TS) -> list[ViewerEvent]:
    """Return the events of viewer ``index`` for ``seed``, starting at ``start_ts``.

    Pure and deterministic: the same arguments always give the same events. ``ts`` values
    strictly increase (by at least 1 ms); the first event is the ``sessionStart``.
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


def viewer_sessions(
    seed: int, n: int, start_ts: int = DEFAULT_START_TS, spacing_ms: int = 2_000
) -> list[list[ViewerEvent]]:
    """Return the events of ``n`` viewers for ``seed`` (deterministic).

    Viewer ``i`` starts ``i * spacing_ms`` after ``start_ts``; each list begins with its
    ``sessionStart``.
    """
    return [viewer_session(seed, i, start_ts + i * spacing_ms) for i in range(n)]
