"""The viewer simulator: pure generation and sending against the fake collector."""

from __future__ import annotations

import io
import itertools
import sys
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent / "client"))

from fakecollector import FakeCollector, validate

from playhead.simulator import (
    generate_session,
    simulate,
    simulate_command,
    simulate_sessions,
)

REQUIRED = {
    "adBreakStart": {"media.ad.podIndex", "media.ad.podSecond"},
    "adStart": {"media.ad.id", "media.ad.length", "media.ad.podPosition", "media.ad.playerName"},
    "chapterStart": {"media.chapter.index", "media.chapter.offset", "media.chapter.length"},
    "stateStart": {"media.state.name"},
    "stateEnd": {"media.state.name"},
}


def test_seeded_determinism() -> None:
    a = simulate_sessions(7, 30)
    b = simulate_sessions(7, 30)
    c = simulate_sessions(8, 30)
    assert a == b
    assert a != c
    assert generate_session(7, 3, 1_000_000) == generate_session(7, 3, 1_000_000)


def test_ts_strictly_increasing_and_bodies_valid() -> None:
    sessions = simulate_sessions(3, 80)
    types: Counter[str] = Counter()
    for events in sessions:
        assert events[0]["eventType"] == "sessionStart"
        assert all(e["eventType"] != "sessionStart" for e in events[1:])
        ts = [e["playerTime"]["ts"] for e in events]
        assert all(b - a >= 1 for a, b in itertools.pairwise(ts))
        for e in events:
            assert validate(e) == [], e
            types[e["eventType"]] += 1
            missing = REQUIRED.get(e["eventType"], set()) - set(e.get("params", {}))
            assert not missing, e
        params = events[0]["params"]
        if params["media.contentType"] == "live":
            assert all(0 <= e["playerTime"]["playhead"] < 86_400 for e in events)
        else:
            length = params["media.length"]
            assert all(0 <= e["playerTime"]["playhead"] <= length for e in events)
    # a realistic audience uses the whole vocabulary
    for needed in (
        "play", "ping", "pauseStart", "bufferStart", "bitrateChange", "error",
        "adBreakStart", "adStart", "adComplete", "adSkip", "adBreakComplete",
        "chapterStart", "chapterComplete", "stateStart", "sessionComplete", "sessionEnd",
    ):  # fmt: skip
        assert types[needed] > 0, needed
    kinds = Counter(s[0]["params"]["media.contentType"] for s in sessions)
    assert set(kinds) == {"vod", "live", "podcast"}


def test_ad_pings_every_second_and_content_every_ten() -> None:
    for events in simulate_sessions(5, 40):
        in_ad = False
        last = None
        for e in events:
            kind = e["eventType"]
            if kind == "adBreakStart":
                in_ad, last = True, e["playerTime"]["ts"]
            elif kind == "adBreakComplete":
                in_ad, last = False, e["playerTime"]["ts"]
            elif kind == "ping" and last is not None:
                gap = e["playerTime"]["ts"] - last
                assert gap <= (1_001 if in_ad else 10_001)
                last = e["playerTime"]["ts"]


def test_simulate_against_fake_collector() -> None:
    with FakeCollector() as fc:
        summary = simulate(fc.url, sessions=6, concurrency=3, seed=11, speed=0)
        assert summary.sessions_started == 6
        assert summary.sessions_finished == 6
        expected = sum(len(s) for s in simulate_sessions(11, 6))
        assert summary.events_sent == expected
        assert summary.requests == expected
        assert summary.status_counts == {"201": 6, "204": expected - 6}
        assert len(fc.state.sessions) == 6
        for sid, events in fc.state.sessions.items():
            ts = [e["playerTime"]["ts"] for e in events]
            assert all(b - a >= 1 for a, b in itertools.pairwise(ts)), sid
            assert fc.state.max_in_flight[sid] == 1
        assert "events/s" in summary.format()


def test_bounded_by_max_requests() -> None:
    with FakeCollector() as fc:
        summary = simulate(fc.url, sessions=50, concurrency=4, seed=1, speed=0, max_requests=37)
        assert summary.requests == 37
        assert len(fc.state.requests) == 37
        assert summary.stopped_by == "max-requests"


def test_bounded_by_max_seconds_with_speed() -> None:
    with FakeCollector() as fc:
        summary = simulate(fc.url, sessions=5, concurrency=5, seed=2, speed=1, max_seconds=1.0)
        assert summary.stopped_by == "max-seconds"
        assert summary.elapsed < 4
        # in real time only the first second of each session can have been sent
        for events in fc.state.sessions.values():
            span = events[-1]["playerTime"]["ts"] - events[0]["playerTime"]["ts"]
            assert span <= 1_500


def test_speed_compresses_time_but_not_timestamps() -> None:
    with FakeCollector() as fc:
        summary = simulate(fc.url, sessions=2, concurrency=2, seed=4, speed=400, max_seconds=1.5)
        assert summary.requests > 2
        spans = [
            e[-1]["playerTime"]["ts"] - e[0]["playerTime"]["ts"] for e in fc.state.sessions.values()
        ]
        assert max(spans) > 60_000  # more than a minute of simulated time in ~1.5 s


def test_retries_503_and_counts_statuses() -> None:
    with FakeCollector() as fc:
        fc.state.fail_next.extend([503, 503])
        summary = simulate(fc.url, sessions=1, concurrency=1, seed=3, speed=0)
        assert summary.status_counts["503"] == 2
        assert summary.sessions_finished == 1
        assert summary.requests == summary.events_sent + 2


def test_refuses_remote_urls() -> None:
    with pytest.raises(ValueError, match="non-loopback"):
        simulate("http://example.com:8000", sessions=1)
    result = CliRunner().invoke(simulate_command, ["--url", "http://10.1.2.3:8000"])
    assert result.exit_code == 2
    assert "non-loopback" in result.output


def test_cli_prints_summary_and_progress() -> None:
    with FakeCollector() as fc:
        result = CliRunner().invoke(
            simulate_command,
            ["--url", fc.url, "--sessions", "3", "--speed", "0", "--seed", "5", "--json"],
        )
        assert result.exit_code == 0, result.output
        assert '"sessions_started": 3' in result.output
    stream = io.StringIO()
    with FakeCollector() as fc:
        simulate(
            fc.url, sessions=1, speed=1, seed=0, max_seconds=2.6, progress=True,
            progress_stream=stream,
        )  # fmt: skip
    assert "[simulate]" in stream.getvalue()
