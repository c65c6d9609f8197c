"""End to end: the demo page in headless Chromium, its tracker, the real server, the report.

Needs ``/usr/bin/chromium`` (Debian package ``chromium``), the ``playwright`` Python package
(never ``playwright install``: the system browser is used) and a server that imports. Skips
with the reason when one is missing.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.client.realserver import app_import_error, get_json, running_server

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)
VIDEO = Path(__file__).resolve().parents[2] / "playhead" / "static" / "demo.webm"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--autoplay-policy=no-user-gesture-required",
]


def _missing() -> str | None:
    if CHROMIUM is None:
        return "chromium is not installed (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install playwright)"
    if not VIDEO.exists():
        return f"{VIDEO} is missing (made with ffmpeg)"
    return app_import_error()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    why = _missing()
    if why:
        pytest.skip(why)
    with running_server(tmp_path_factory.mktemp("e2e")) as url:
        yield url


def _wait(page: Any, expression: str, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what} ({expression})")
        page.wait_for_timeout(50)


def test_demo_page_session_report(server: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{server}/demo", wait_until="load", timeout=15_000)
            _wait(page, "!!window.playheadDemo", 10, "the tracker")
            _wait(page, "document.getElementById('video').readyState >= 3", 10, "video data")
            duration = page.evaluate("document.getElementById('video').duration")
            assert 10 <= duration <= 15

            page.evaluate("document.getElementById('video').play()")
            _wait(page, "!!window.playheadDemo.sid", 10, "the session id")
            _wait(page, "document.getElementById('video').currentTime >= 2", 10, "2 s of play")
            page.evaluate("document.getElementById('video').pause()")  # the one user pause
            page.wait_for_timeout(2_000)
            # seek forward while paused, then mute, then play to the end
            page.evaluate(
                "(v => { v.currentTime = v.currentTime + 3; })(document.getElementById('video'))"
            )
            _wait(page, "!document.getElementById('video').seeking", 10, "the seek")
            page.evaluate("document.getElementById('video').muted = true")
            page.evaluate("document.getElementById('video').play()")
            _wait(page, "document.getElementById('video').ended", 30, "the end of the video")
            assert page.evaluate("window.playheadDemo.session.flush(5000)") is True
            played = page.evaluate("window.playheadDemo.played()")
            sid = page.evaluate("window.playheadDemo.sid")
            responses = page.evaluate("window.playheadDemo.responses")
            tracker_errors = page.evaluate("window.playheadDemo.session.errors")
            # the demo page renders the live report within a couple of refreshes
            _wait(page, "document.getElementById('raw').textContent.includes('isCompleted')", 5,
                  "the rendered report")  # fmt: skip
        finally:
            browser.close()

    assert errors == []
    assert tracker_errors == []
    assert len(sid) == 64
    assert {k for k in responses if k.startswith("4")} == set()
    assert responses["201"] == 1 and responses["204"] >= 5
    report = get_json(f"{server}/reports/sessions/{sid}")
    d = report["sessionDetails"]
    assert d["isPlayed"] is True
    assert d["isCompleted"] is True
    assert 6 <= played <= 13  # 12 s clip, 3 s skipped by the seek
    print(f"page played {played:.3f} s, report timePlayed {d['timePlayed']} s")
    assert abs(d["timePlayed"] - played) <= 1.5, (d["timePlayed"], played)
    assert d["pauseCount"] >= 1
    assert d["pauseTime"] >= 1.8
    mute = [s for s in report["states"] if s["name"] == "mute"]
    assert mute and mute[0]["isSet"] is True and mute[0]["count"] == 1
    assert report["qoeDataDetails"]["timeToStart"] is not None
    assert report["qoeDataDetails"]["timeToStart"] < 5
