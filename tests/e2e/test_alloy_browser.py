"""End to end: the Adobe Web SDK (``@adobe/alloy`` 2.33.1, vendored) in headless Chromium
reports media sessions to a real ``playhead serve``, and the reports say what the page played.

The SDK only speaks ``https://{edgeDomain}`` on port 443 (its ``edgeDomain`` may not carry a
port), so the server runs with a throwaway self-signed certificate (``--tls-certfile``) on a
free port and with ``--edge-cors-credentials`` (the SDK fetches with credentials), and
Chromium maps the name ``edge.playhead.test`` to it (``--host-resolver-rules``) and accepts
the certificate (``--ignore-certificate-errors``).
Every Edge request is real browser traffic to that server (cross-origin, CORS checked by the
browser). The page and the vendored SDK come from a small static server of the test's own on
another loopback port, so Playhead needs no test route. (Not from ``page.route``: Chromium's
local network access checks refuse a page of a public-looking origin any request to a loopback
address. A real page and a real Playhead are both public, or both local.)

Needs ``/usr/bin/chromium`` (Debian package ``chromium``), the ``playwright`` Python package
(never ``playwright install``) and the ``openssl`` command; skips naming what is missing.
"""

from __future__ import annotations

import http.server
import json
import shutil
import sqlite3
import ssl
import threading
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.helpers import ServerProcess
from tests.helpers.tls import OPENSSL, self_signed

HERE = Path(__file__).resolve().parent
ALLOY = HERE / "vendor" / "alloy-2.33.1.min.js"
PAGE = HERE / "alloy_page.html"
EDGE_HOST = "edge.playhead.test"
pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)


def _missing() -> str | None:
    if CHROMIUM is None:
        return "chromium is not installed (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install playwright)"
    if OPENSSL is None:
        return "the openssl command is not installed (for the server's test certificate)"
    return None


class Browser:
    """A page of ``alloy_page.html`` in headless Chromium, and what it sent to the Edge."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.sent: list[tuple[str, dict[str, Any]]] = []  # (path, body) of each Edge request
        self.answers: list[tuple[str, int]] = []  # (path, status)
        self.console_errors: list[str] = []
        page.on("request", self._request)
        page.on("response", self._response)
        page.on("requestfailed", lambda r: self.console_errors.append(f"failed {r.url}"))
        page.on("pageerror", lambda exc: self.console_errors.append(str(exc)))
        page.on(
            "console",
            lambda m: self.console_errors.append(m.text) if m.type == "error" else None,
        )

    def _request(self, request: Any) -> None:
        url = urlsplit(request.url)
        if url.hostname == EDGE_HOST:
            self.sent.append((url.path, json.loads(request.post_data or "{}")))

    def _response(self, response: Any) -> None:
        url = urlsplit(response.url)
        if url.hostname == EDGE_HOST:
            self.answers.append((url.path, response.status))

    def paths(self) -> list[str]:
        """The Edge paths posted in order, ``/ee/va/v1/`` left out."""
        return [p.removeprefix("/ee/va/v1/") for p, _ in self.sent]


class _PageFiles(http.server.BaseHTTPRequestHandler):
    """Serves the test page at ``/`` and the vendored SDK at ``/alloy.js``, nothing else."""

    files = {"/": (PAGE, "text/html"), "/alloy.js": (ALLOY, "text/javascript")}

    def do_GET(self) -> None:
        """Answer one of the two files, or 404."""
        found = self.files.get(self.path.split("?")[0])
        body = found[0].read_bytes() if found else b""
        self.send_response(200 if found else 404)
        self.send_header("Content-Type", found[1] if found else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def edge(
    server_process: Callable[..., ServerProcess], tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[ServerProcess, Browser]]:
    """A Playhead server over HTTPS and a page with the Web SDK pointed at it; the server runs
    with ``--edge-cors-credentials`` unless the test's parameter says ``False``."""
    why = _missing()
    if why:
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    cert, key = self_signed(tmp_path, EDGE_HOST)
    credentials = ["--edge-cors-credentials"] if getattr(request, "param", True) else []
    server = server_process("--tls-certfile", str(cert), "--tls-keyfile", str(key), *credentials)
    server.start()
    args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--ignore-certificate-errors",
        f"--host-resolver-rules=MAP {EDGE_HOST} 127.0.0.1:{server.port}",
    ]
    pages = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _PageFiles)
    threading.Thread(target=pages.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
            try:
                page = browser.new_page()
                page.set_default_timeout(30_000)
                watched = Browser(page)
                page.goto(f"http://127.0.0.1:{pages.server_port}/", timeout=15_000)
                configured = page.evaluate("window.configured")
                assert configured is True, page.evaluate("window.setupError")
                yield server, watched
            finally:
                browser.close()
    finally:
        pages.shutdown()
        pages.server_close()


def report(server: ServerProcess, sid: str) -> dict[str, Any]:
    """``GET /reports/sessions/{sid}`` of the server (over its HTTPS)."""
    context = server.ssl_context or ssl.create_default_context()
    with urllib.request.urlopen(
        f"{server.url}/reports/sessions/{sid}", timeout=10, context=context
    ) as response:
        doc: dict[str, Any] = json.loads(response.read())
        return doc


# The Media JS-compatible tracker: the page keeps the playhead up to date every 100 ms while
# it plays, like a player's timeupdate handler, and notes Date.now() just before each tracker
# call. The SDK stamps each event with new Date() inside that call, so the page's own
# intervals are the ones the report's times come from (to a few ms).
LEGACY_SESSION = """async () => {
  const Media = await alloy("getMediaAnalyticsTracker", {});
  const tracker = Media.getInstance();
  const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
  const calls = {};
  let playing = false, position = 0, since = 0;
  const clock = setInterval(() => {
    if (playing) tracker.updatePlayhead(position + (Date.now() - since) / 1000);
  }, 100);
  const play = () => { since = Date.now(); playing = true; return tracker.trackPlay(); };
  const stop = () => { position += (Date.now() - since) / 1000; playing = false; };
  const media = Media.createMediaObject(
    "Playhead clip", "clip-1", 30, Media.StreamType.VOD, Media.MediaType.Video);
  calls.start = Date.now();
  const started = await tracker.trackSessionStart(
    media, {[Media.VideoMetadataKeys.Show]: "Playhead show", "e2e.page": "alloy"});
  calls.play = Date.now();
  await play();
  await sleep(12000);                    // the SDK pings 10 s after the play event's answer
  calls.pause = Date.now();
  stop();
  await tracker.trackPause();
  await sleep(1500);
  calls.resume = Date.now();
  await play();
  await sleep(1000);
  calls.complete = Date.now();
  stop();
  await tracker.trackComplete();
  calls.end = Date.now();
  await tracker.trackSessionEnd();
  clearInterval(clock);
  return {sid: started.sessionId, calls, position};
}"""

# The Web SDK's own API: createMediaSession with a player id (the SDK asks the page for the
# playhead and QoE on each event and pings by itself), then sendMediaEvent.
MEDIA_SESSION = """async () => {
  const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
  const calls = {};
  let playhead = 0;
  const getPlayerDetails = () => ({playhead, qoeDataDetails: {bitrate: 2000000}});
  const send = (eventType, more = {}) => alloy("sendMediaEvent",
    {playerId: "p1", xdm: {eventType, ...more}});
  calls.start = Date.now();
  const started = await alloy("createMediaSession", {playerId: "p1", getPlayerDetails,
    xdm: {mediaCollection: {sessionDetails: {name: "clip-2", friendlyName: "Second clip",
      length: 60, contentType: "vod", streamType: "video"}}}});
  calls.play = Date.now();
  await send("media.play");
  await send("media.statesUpdate", {mediaCollection: {statesStart: [{name: "mute"}]}});
  await sleep(1000);
  playhead = 1;
  calls.buffer = Date.now();
  await send("media.bufferStart");
  await sleep(500);
  calls.resume = Date.now();
  await send("media.play");
  await sleep(1000);
  playhead = 2;
  calls.end = Date.now();
  await send("media.sessionEnd");
  return {sid: started.sessionId, calls};
}"""


def test_the_media_tracker_of_the_web_sdk(edge: tuple[ServerProcess, Browser]) -> None:
    server, browser = edge
    result = browser.page.evaluate(LEGACY_SESSION)
    sid, calls = result["sid"], result["calls"]

    assert browser.console_errors == []
    assert len(sid) == 64 and set(sid) <= set("0123456789abcdef")
    paths = browser.paths()
    pings = [body for path, body in browser.sent if path == "/ee/va/v1/ping"]
    assert [p for p in paths if p != "ping"] == [
        "/ee/v1/interact",
        "play",
        "pauseStart",
        "play",
        "sessionComplete",
        "sessionEnd",
    ]
    assert len(pings) == 1  # 12 s of play, a 10 s ping interval
    assert paths.index("ping") == 2  # during the first play, before the pause
    ping = pings[0]["events"][0]["xdm"]["mediaCollection"]
    assert ping["sessionID"] == sid
    assert 9 <= ping["playhead"] <= 12  # the page's playhead, 10 s after play (an integer)
    assert sorted({status for _, status in browser.answers}) == [200, 204]
    assert browser.answers[0] == ("/ee/v1/interact", 200)

    doc = report(server, sid)
    assert (doc["state"], doc["closeReason"]) == ("closed", "sessionEnd")
    assert doc["params"] == {
        "media.id": "clip-1",
        "media.name": "Playhead clip",
        "media.length": 30,
        "media.contentType": "vod",
        "media.streamType": "video",
        "media.show": "Playhead show",
        "media.playerName": "e2e-player",  # from the SDK's streamingMedia configuration
        "media.channel": "e2e-channel",
        "media.sdkVersion": "e2e-1.0",
    }
    assert doc["customMetadata"] == {"e2e.page": "alloy"}
    details = doc["sessionDetails"]
    played = (calls["pause"] - calls["play"] + calls["complete"] - calls["resume"]) / 1000
    paused = (calls["resume"] - calls["pause"]) / 1000
    print(f"page played {played:.3f} s, paused {paused:.3f} s; report {details['timePlayed']}"
          f" s, {details['pauseTime']} s")  # fmt: skip
    assert 12.9 <= played <= 14  # the page's sleeps: 12 s + 1 s
    assert abs(details["timePlayed"] - played) <= 0.2, (details["timePlayed"], played)
    assert details["pauseCount"] == 1
    assert abs(details["pauseTime"] - paused) <= 0.2, (details["pauseTime"], paused)
    assert details["isCompleted"] is True
    assert details["isPlayed"] is True
    assert doc["qoeDataDetails"]["timeToStart"] == pytest.approx(
        (calls["play"] - calls["start"]) / 1000, abs=0.2
    )
    # the interact request's User-Agent reached enrichment: headless Chromium is a bot
    with sqlite3.connect(server.db) as conn:
        [(raw,)] = conn.execute("SELECT context FROM sessions WHERE sid = ?", (sid,)).fetchall()
    context = json.loads(raw)
    assert "HeadlessChrome" in context["userAgent"]
    assert (context["isBot"], context["device.type"]) == ("true", "bot")


def test_the_web_sdk_media_session_api(edge: tuple[ServerProcess, Browser]) -> None:
    server, browser = edge
    result = browser.page.evaluate(MEDIA_SESSION)
    sid, calls = result["sid"], result["calls"]

    assert browser.console_errors == []
    assert browser.paths() == [
        "/ee/v1/interact",
        "play",
        "statesUpdate",
        "bufferStart",
        "play",
        "sessionEnd",
    ]
    assert [status for _, status in browser.answers] == [200, 204, 204, 204, 204, 204]
    start = browser.sent[0][1]["events"][0]["xdm"]
    assert start["eventType"] == "media.sessionStart"
    assert "web" in start and "implementationDetails" in start  # the SDK's context, dropped

    doc = report(server, sid)
    assert (doc["state"], doc["closeReason"]) == ("closed", "sessionEnd")
    assert doc["params"]["media.id"] == "clip-2"
    assert doc["params"]["media.name"] == "Second clip"
    assert doc["params"]["media.playerName"] == "e2e-player"
    details = doc["sessionDetails"]
    played = (calls["buffer"] - calls["play"] + calls["end"] - calls["resume"]) / 1000
    buffered = (calls["resume"] - calls["buffer"]) / 1000
    assert abs(details["timePlayed"] - played) <= 0.2, (details["timePlayed"], played)
    assert details["isCompleted"] is False
    qoe = doc["qoeDataDetails"]
    assert qoe["bufferCount"] == 1
    assert abs(qoe["bufferTime"] - buffered) <= 0.2, (qoe["bufferTime"], buffered)
    assert qoe["bitrateAverage"] == 2000000
    [mute] = [s for s in doc["states"] if s["name"] == "mute"]
    assert (mute["isSet"], mute["count"]) == (True, 1)


@pytest.mark.parametrize("edge", [False], indirect=True)
def test_without_credentialed_cors_the_browser_hides_every_answer(
    edge: tuple[ServerProcess, Browser],
) -> None:
    _, browser = edge
    outcome = browser.page.evaluate("""async () => {
      try {
        await alloy("createMediaSession", {xdm: {mediaCollection: {playhead: 0,
          sessionDetails: {name: "clip-3", length: 60, contentType: "vod"}}}});
        return "started";
      } catch (e) { return String(e); }
    }""")
    assert "Failed to fetch" in outcome  # the SDK never sees the 200 and its session id
    assert [path for path, _ in browser.sent] == ["/ee/v1/interact"]  # it reached the server
    assert any("Access-Control-Allow-Origin" in e for e in browser.console_errors)
