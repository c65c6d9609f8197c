"""High-level Python tracker: sessions and events of the Streaming Media Collection API.

Example::

    from playhead.client import Tracker

    tracker = Tracker("http://127.0.0.1:8000")
    session = tracker.start_session({
        "analytics.trackingServer": "example.sc.omtrdc.net",
        "analytics.reportSuite": "rsid",
        "visitor.marketingCloudOrgId": "ORG@AdobeOrg",
        "media.id": "movie-1", "media.length": 120.0, "media.contentType": "vod",
        "media.playerName": "py", "media.channel": "docs",
    })
    session.play(0)
    session.ping(10)
    session.complete(120)
    session.end(120)
    tracker.flush(5)

Calls never block on the network: each builds its event at once (stamping ``playerTime.ts``
from the tracker's monotonic clock) and queues it; one worker thread per tracker sends the
queue in order, one request at a time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Self

from ._transport import BaseTransport, PlayheadError, ResponseError, Transport, TransportError
from ._worker import Worker

__all__ = ["Clock", "Session", "Tracker"]

JSONDict = dict[str, Any]

#: Event types that close or finish a session: never worth re-opening a session for.
_FINAL_EVENTS = frozenset({"sessionEnd", "sessionComplete"})
_PLAYBACK_STATE = {"play": "playing", "pauseStart": "paused", "bufferStart": "buffering"}


class Clock:
    """Epoch milliseconds from one monotonic clock, strictly increasing by at least 1 ms.

    The wall clock is read once, at creation; later values add the monotonic time elapsed, so
    a wall-clock step (NTP, DST, a user changing the time) never reorders events.
    """

    def __init__(self, wall_ms: float | None = None) -> None:
        self._base_wall_ms = time.time() * 1000.0 if wall_ms is None else wall_ms
        self._base_mono_ns = time.monotonic_ns()
        self._last = 0
        self._lock = threading.Lock()

    def now(self) -> int:
        """Return the next timestamp: ``max(now, previous + 1)``."""
        elapsed_ms = (time.monotonic_ns() - self._base_mono_ns) / 1e6
        with self._lock:
            value = max(int(self._base_wall_ms + elapsed_ms), self._last + 1)
            self._last = value
            return value

    def observe(self, ts: int) -> None:
        """Note an explicit timestamp so later automatic ones stay after it."""
        with self._lock:
            self._last = max(self._last, ts)


class Session:
    """One viewing session. Create it with :meth:`Tracker.start_session`.

    Every method queues one event and returns at once. ``playhead`` is the main-content
    position in seconds (second of the day for live streams; the main-content position,
    constant, during ad breaks). ``ts`` (epoch ms) overrides the clock, for replays.

    Attributes:
        sids: every session id the server gave this session, in order (more than one when a
            ``404``/``410`` made the tracker open a resume session).
        errors: every error met while sending (``400`` answers, exhausted retries, ...).
    """

    def __init__(
        self,
        tracker: Tracker,
        params: Mapping[str, Any],
        custom_metadata: Mapping[str, str] | None,
        qoe: Mapping[str, Any] | None,
    ) -> None:
        self._tracker = tracker
        self.params: JSONDict = dict(params)
        self.custom_metadata: dict[str, str] | None = (
            dict(custom_metadata) if custom_metadata else None
        )
        self.sids: list[str] = []
        self.errors: list[PlayheadError] = []
        self.responses: list[int] = []
        self._api_version = "v1"
        self._started = threading.Event()
        self._failed = False
        self._state = "starting"
        self._lock = threading.Lock()

    # -- state -------------------------------------------------------------------------------
    @property
    def sid(self) -> str | None:
        """The current session id, or ``None`` until the server has answered."""
        with self._lock:
            return self.sids[-1] if self.sids else None

    def wait_for_sid(self, timeout: float | None = None) -> str | None:
        """Block until the session has an id (or its start failed); return the id."""
        self._started.wait(timeout)
        return self.sid

    # -- sending (caller thread) ---------------------------------------------------------------
    def _body(
        self,
        event_type: str,
        playhead: float,
        params: Mapping[str, Any] | None,
        qoe: Mapping[str, Any] | None,
        custom_metadata: Mapping[str, str] | None,
        ts: int | None,
    ) -> JSONDict:
        clock = self._tracker.clock
        if ts is None:
            stamp = clock.now()
        else:
            stamp = int(ts)
            clock.observe(stamp)
        body: JSONDict = {
            "playerTime": {"playhead": float(playhead), "ts": stamp},
            "eventType": event_type,
        }
        if params:
            body["params"] = dict(params)
        if qoe:
            body["qoeData"] = dict(qoe)
        if custom_metadata:
            body["customMetadata"] = {str(k): str(v) for k, v in custom_metadata.items()}
        return body

    def send(
        self,
        event_type: str,
        playhead: float,
        params: Mapping[str, Any] | None = None,
        qoe: Mapping[str, Any] | None = None,
        custom_metadata: Mapping[str, str] | None = None,
        ts: int | None = None,
    ) -> JSONDict:
        """Queue any event and return the body that will be sent.

        ``sessionStart`` is not allowed here (use :meth:`Tracker.start_session`).
        """
        if event_type == "sessionStart":
            raise ValueError("use Tracker.start_session() to start a session")
        body = self._body(event_type, playhead, params, qoe, custom_metadata, ts)
        self._tracker._submit(lambda: self._deliver(body))
        return body

    # -- sending (worker thread) ---------------------------------------------------------------
    def _record(self, exc: PlayheadError) -> None:
        self.errors.append(exc)
        self._tracker._report(exc)

    def _open(self, body: JSONDict) -> bool:
        """POST a sessionStart; return True when a sid arrived."""
        transport = self._tracker.transport
        try:
            version, sid = transport.start_session(body)
        except PlayheadError as exc:
            if isinstance(exc, ResponseError):
                self.responses.append(exc.status)
            self._record(exc)
            return False
        self.responses.append(201)
        with self._lock:
            self._api_version = version
            self.sids.append(sid)
        return True

    def _start(self, body: JSONDict) -> None:
        try:
            if not self._open(body):
                self._failed = True
        finally:
            self._started.set()

    def _post(self, sid: str, body: JSONDict) -> int | None:
        try:
            response = self._tracker.transport.send_event(sid, body, self._api_version)
        except TransportError as exc:
            self._record(exc)
            return None
        self.responses.append(response.status)
        return response.status

    def _deliver(self, body: JSONDict) -> None:
        sid = self.sid
        if sid is None:
            # the sessionStart failed: nothing can be attributed to a session
            self._record(PlayheadError(f"{body['eventType']} dropped: the session has no id"))
            return
        status = self._post(sid, body)
        resumable = status in (404, 410) and body["eventType"] not in _FINAL_EVENTS
        if resumable and self._resume(body):
            new_sid = self.sid
            assert new_sid is not None
            status = self._post(new_sid, body)
        if status is not None and not 200 <= status < 300:
            self._record(ResponseError(status, b"", f"{body['eventType']}: HTTP {status}"))
        if status is not None and 200 <= status < 300:
            state = _PLAYBACK_STATE.get(body["eventType"])
            if state is not None:
                self._state = state

    def _resume(self, body: JSONDict) -> bool:
        """Open a new session with ``media.resume: true`` before ``body`` (after a 404/410)."""
        ts = int(body["playerTime"]["ts"])
        playhead = float(body["playerTime"]["playhead"])
        params = dict(self.params)
        params["media.resume"] = True
        start: JSONDict = {
            "playerTime": {"playhead": playhead, "ts": ts - 2},
            "eventType": "sessionStart",
            "params": params,
        }
        if self.custom_metadata:
            start["customMetadata"] = dict(self.custom_metadata)
        if not self._open(start):
            return False
        if self._state == "playing" and body["eventType"] != "play":
            new_sid = self.sid
            assert new_sid is not None
            play: JSONDict = {
                "playerTime": {"playhead": playhead, "ts": ts - 1},
                "eventType": "play",
            }
            self._post(new_sid, play)
        return True

    # -- convenience methods ---------------------------------------------------------------------
    def play(
        self, playhead: float, *, qoe: Mapping[str, Any] | None = None, ts: int | None = None
    ) -> JSONDict:
        """The player entered the playing state (start, resume, end of buffering or seek)."""
        return self.send("play", playhead, qoe=qoe, ts=ts)

    def pause(
        self, playhead: float, *, qoe: Mapping[str, Any] | None = None, ts: int | None = None
    ) -> JSONDict:
        """The viewer paused (also used for a seek in progress)."""
        return self.send("pauseStart", playhead, qoe=qoe, ts=ts)

    def buffer(
        self, playhead: float, *, qoe: Mapping[str, Any] | None = None, ts: int | None = None
    ) -> JSONDict:
        """The player started buffering (ended by the next :meth:`play`)."""
        return self.send("bufferStart", playhead, qoe=qoe, ts=ts)

    def ping(
        self, playhead: float, *, qoe: Mapping[str, Any] | None = None, ts: int | None = None
    ) -> JSONDict:
        """Heartbeat: every 10 s on main content, every 1 s inside ads."""
        return self.send("ping", playhead, qoe=qoe, ts=ts)

    def bitrate_change(
        self,
        playhead: float,
        bitrate: int,
        *,
        qoe: Mapping[str, Any] | None = None,
        ts: int | None = None,
    ) -> JSONDict:
        """The bitrate switched to ``bitrate``."""
        data: JSONDict = dict(qoe or {})
        data["media.qoe.bitrate"] = int(bitrate)
        return self.send("bitrateChange", playhead, qoe=data, ts=ts)

    def error(
        self,
        playhead: float,
        error_id: str,
        source: str = "player",
        *,
        qoe: Mapping[str, Any] | None = None,
        ts: int | None = None,
    ) -> JSONDict:
        """A player (``"player"``) or external (``"external"``) error."""
        data: JSONDict = dict(qoe or {})
        data["media.qoe.errorID"] = str(error_id)
        data["media.qoe.errorSource"] = source
        return self.send("error", playhead, qoe=data, ts=ts)

    def ad_break_start(
        self,
        playhead: float,
        pod_index: int,
        pod_second: float,
        friendly_name: str | None = None,
        *,
        ts: int | None = None,
    ) -> JSONDict:
        """An ad break (pod) begins."""
        params: JSONDict = {
            "media.ad.podIndex": int(pod_index),
            "media.ad.podSecond": float(pod_second),
        }
        if friendly_name is not None:
            params["media.ad.podFriendlyName"] = friendly_name
        return self.send("adBreakStart", playhead, params=params, ts=ts)

    def ad_break_complete(self, playhead: float, *, ts: int | None = None) -> JSONDict:
        """The ad break ended."""
        return self.send("adBreakComplete", playhead, ts=ts)

    def ad_start(
        self,
        playhead: float,
        ad_id: str,
        length: float,
        pod_position: int,
        player_name: str,
        name: str | None = None,
        *,
        params: Mapping[str, Any] | None = None,
        custom_metadata: Mapping[str, str] | None = None,
        ts: int | None = None,
    ) -> JSONDict:
        """An ad begins inside the open ad break (``params`` adds standard ad metadata)."""
        all_params: JSONDict = dict(params or {})
        all_params.update(
            {
                "media.ad.id": ad_id,
                "media.ad.length": float(length),
                "media.ad.podPosition": int(pod_position),
                "media.ad.playerName": player_name,
            }
        )
        if name is not None:
            all_params["media.ad.name"] = name
        return self.send(
            "adStart", playhead, params=all_params, custom_metadata=custom_metadata, ts=ts
        )

    def ad_complete(self, playhead: float, *, ts: int | None = None) -> JSONDict:
        """The ad played to its end."""
        return self.send("adComplete", playhead, ts=ts)

    def ad_skip(self, playhead: float, *, ts: int | None = None) -> JSONDict:
        """The ad was skipped."""
        return self.send("adSkip", playhead, ts=ts)

    def chapter_start(
        self,
        playhead: float,
        index: int,
        offset: float,
        length: float,
        friendly_name: str | None = None,
        *,
        custom_metadata: Mapping[str, str] | None = None,
        ts: int | None = None,
    ) -> JSONDict:
        """A chapter begins."""
        params: JSONDict = {
            "media.chapter.index": int(index),
            "media.chapter.offset": float(offset),
            "media.chapter.length": float(length),
        }
        if friendly_name is not None:
            params["media.chapter.friendlyName"] = friendly_name
        return self.send(
            "chapterStart", playhead, params=params, custom_metadata=custom_metadata, ts=ts
        )

    def chapter_complete(self, playhead: float, *, ts: int | None = None) -> JSONDict:
        """The chapter played to its end."""
        return self.send("chapterComplete", playhead, ts=ts)

    def chapter_skip(self, playhead: float, *, ts: int | None = None) -> JSONDict:
        """The chapter was left before its end."""
        return self.send("chapterSkip", playhead, ts=ts)

    def state_start(self, playhead: float, name: str, *, ts: int | None = None) -> JSONDict:
        """A player state (``fullScreen``, ``mute``, ...) became active."""
        return self.send("stateStart", playhead, params={"media.state.name": name}, ts=ts)

    def state_end(self, playhead: float, name: str, *, ts: int | None = None) -> JSONDict:
        """A player state ended."""
        return self.send("stateEnd", playhead, params={"media.state.name": name}, ts=ts)

    def complete(self, playhead: float, *, ts: int | None = None) -> JSONDict:
        """The main content played to its end (Content Complete; does not close)."""
        return self.send("sessionComplete", playhead, ts=ts)

    def end(self, playhead: float, *, ts: int | None = None) -> JSONDict:
        """Close the session now (the viewer left)."""
        return self.send("sessionEnd", playhead, ts=ts)


class Tracker:
    """Sends sessions to one endpoint, in order, from one background thread.

    Args:
        endpoint: base URL of the collector, e.g. ``http://127.0.0.1:8000`` or
            ``https://metrics.example.com/va`` (the path prefix is kept).
        timeout: seconds per HTTP attempt.
        max_retries: retries of network errors and 408/429/5xx answers (never 400).
        backoff: first retry delay in seconds, doubled each time.
        queue_size: most events waiting to be sent; beyond it new events are dropped.
        on_error: called (on the worker thread) with every :class:`PlayheadError` met.
        transport: what sends each HTTP request (default: an :class:`HTTPTransport` to
            ``endpoint`` with ``timeout``); pass a :class:`MockTransport` to test without a
            server. The tracker retries over it, and closes it in :meth:`close`.

    Attributes:
        transport: the :class:`Transport` (paths, retries) the worker thread sends through.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        timeout: float = 5.0,
        max_retries: int = 5,
        backoff: float = 0.25,
        queue_size: int = 10_000,
        on_error: Callable[[PlayheadError], None] | None = None,
        transport: BaseTransport | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.transport = Transport(
            endpoint,
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            transport=transport,
        )
        self.clock = Clock()
        self._on_error = on_error
        self._worker = Worker(queue_size, name="playhead-tracker")

    @property
    def dropped(self) -> int:
        """Events dropped because the queue was full."""
        return self._worker.dropped

    def _submit(self, task: Callable[[], None]) -> None:
        if not self._worker.submit(task):
            self._report(PlayheadError("queue full: event dropped"))

    def _report(self, exc: PlayheadError) -> None:
        if self._on_error is not None:
            self._on_error(exc)

    def start_session(
        self,
        params: Mapping[str, Any],
        custom_metadata: Mapping[str, str] | None = None,
        qoe: Mapping[str, Any] | None = None,
        *,
        playhead: float = 0.0,
        ts: int | None = None,
    ) -> Session:
        """Queue a ``sessionStart`` and return its :class:`Session` at once.

        Events of the session queued before the server answers are sent after it, with the
        session id it returned.
        """
        session = Session(self, params, custom_metadata, qoe)
        body = session._body("sessionStart", playhead, params, qoe, custom_metadata, ts)
        self._submit(lambda: session._start(body))
        return session

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued event is sent; ``False`` if ``timeout`` ran out first."""
        return self._worker.flush(timeout)

    def close(self, timeout: float | None = 5.0) -> bool:
        """Flush, stop the worker thread and close the connection."""
        done = self._worker.close(timeout)
        self.transport.close()
        return done

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
