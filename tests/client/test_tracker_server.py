"""playhead.client and the simulator against the real server (``python -m playhead serve``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from playhead.client import Tracker
from tests.client.realserver import app_import_error, get_json, get_status, running_server

_WHY = app_import_error()
pytestmark = pytest.mark.skipif(_WHY is not None, reason=_WHY or "")

T0 = 1_750_000_000_000
PARAMS: dict[str, Any] = {
    "analytics.trackingServer": "example.sc.omtrdc.net",
    "analytics.reportSuite": "rsid",
    "visitor.marketingCloudOrgId": "ORG@AdobeOrg",
    "media.id": "movie-1",
    "media.name": "Movie",
    "media.length": 100.0,
    "media.contentType": "vod",
    "media.playerName": "pytest",
    "media.channel": "tests",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(tmp_path_factory.mktemp("server")) as url:
        yield url


@pytest.fixture(scope="module")
def prefixed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(tmp_path_factory.mktemp("prefixed"), "--prefix", "/va") as url:
        yield url


def _report(url: str, sid: str | None) -> Any:
    assert sid is not None
    return get_json(f"{url}/reports/sessions/{sid}")


def test_full_session_report(server: str) -> None:
    with Tracker(server) as tracker:
        s = tracker.start_session(PARAMS, custom_metadata={"show": "demo"}, ts=T0)
        s.ad_break_start(0, 1, 0, "pre", ts=T0 + 500)
        s.ad_start(0, "ad-1", 15, 1, "pytest", "Ad", ts=T0 + 600)
        s.ping(0, ts=T0 + 10_600)
        s.ad_complete(0, ts=T0 + 15_600)
        s.ad_break_complete(0, ts=T0 + 15_700)
        s.play(0, qoe={"media.qoe.timeToStart": 1500, "media.qoe.bitrate": 1000}, ts=T0 + 16_000)
        s.chapter_start(0, 1, 0, 50, "One", custom_metadata={"c": "1"}, ts=T0 + 16_001)
        s.ping(10, ts=T0 + 26_000)
        s.state_start(12, "fullScreen", ts=T0 + 28_000)
        s.pause(20, ts=T0 + 36_000)
        s.play(20, ts=T0 + 46_000)
        s.buffer(30, ts=T0 + 56_000)
        s.play(30, ts=T0 + 59_000)
        s.bitrate_change(35, 3000, ts=T0 + 64_000)
        s.error(40, "E1", ts=T0 + 69_000)
        s.chapter_complete(50, ts=T0 + 79_000)
        s.state_end(60, "fullScreen", ts=T0 + 89_000)
        s.complete(100, ts=T0 + 129_000)
        s.end(100, ts=T0 + 129_001)
        assert tracker.flush(15)
        assert s.errors == []
        assert s.responses == [201] + [204] * 19
        r = _report(server, s.sid)
    d, q = r["sessionDetails"], r["qoeDataDetails"]
    assert r["state"] == "closed" and r["closeReason"] == "sessionEnd"
    assert r["customMetadata"] == {"show": "demo"}
    assert d["isPlayed"] is True and d["isCompleted"] is True
    # content played 16-36 (20 s), 46-56 (10 s), 59-129 (70 s)
    assert d["timePlayed"] == pytest.approx(100.0)
    assert d["totalTimePlayed"] == pytest.approx(115.0)  # + the 15 s ad
    assert d["pauseCount"] == 1 and d["pauseTime"] == pytest.approx(10.0)
    assert q["bufferCount"] == 1 and q["bufferTime"] == pytest.approx(3.0)
    assert d["adCount"] == 1 and d["chapterCount"] == 1
    assert r["ads"][0]["timePlayed"] == pytest.approx(15.0)
    assert r["ads"][0]["isCompleted"] is True
    assert r["chapters"][0]["timePlayed"] == pytest.approx(49.999)  # 16.001-36, 46-56, 59-79
    assert q["timeToStart"] == pytest.approx(1.5)
    assert q["errorCount"] == 1 and q["playerSdkErrors"] == ["E1"]
    assert q["bitrateChangeCount"] == 1
    assert r["states"] == [
        {"name": "fullScreen", "isSet": True, "count": 1, "time": pytest.approx(61.0)}
    ]


def test_resume_after_410_on_real_server(server: str) -> None:
    with Tracker(server, backoff=0.01) as tracker:
        s = tracker.start_session(PARAMS, ts=T0)
        s.play(0, ts=T0 + 1_000)
        s.end(10, ts=T0 + 11_000)  # closes the session on the server
        assert tracker.flush(10)
        first = s.sid
        s.play(10, ts=T0 + 3_600_000)  # long after: 410, then a resume session
        s.ping(20, ts=T0 + 3_610_000)
        s.end(25, ts=T0 + 3_615_000)
        assert tracker.flush(10)
        assert s.responses == [201, 204, 204, 410, 201, 204, 204, 204]
        assert len(s.sids) == 2 and s.sids[0] == first
        r = _report(server, s.sids[1])
    assert r["params"]["media.resume"] is True
    assert r["sessionDetails"]["hasResume"] is True
    assert r["sessionDetails"]["timePlayed"] == pytest.approx(15.0)
    assert get_json(f"{server}/reports/sessions/{first}")["sessionDetails"]["timePlayed"] == (
        pytest.approx(10.0)
    )


def test_prefix_and_relative_location(prefixed_server: str) -> None:
    with Tracker(prefixed_server + "/va") as tracker:
        s = tracker.start_session(PARAMS, ts=T0)
        s.play(0, ts=T0 + 1_000)
        s.end(5, ts=T0 + 6_000)
        assert tracker.flush(10)
        assert s.responses == [201, 204, 204]
        assert _report(prefixed_server, s.sid)["sessionDetails"]["timePlayed"] == pytest.approx(5)


def test_bad_event_is_400_not_retried(server: str) -> None:
    with Tracker(server) as tracker:
        s = tracker.start_session(PARAMS, ts=T0)
        s.send("adBreakStart", 0, params={"media.ad.podSecond": 0}, ts=T0 + 1)
        s.send("play", 0, params={"media.unknownKey": "x"}, ts=T0 + 2)
        assert tracker.flush(10)
        assert s.responses == [201, 400, 400]
        assert get_status(f"{server}/reports/sessions/{s.sid}") == 200


def test_simulator_against_real_server(server: str) -> None:
    from playhead.simulator import simulate, simulate_sessions

    summary = simulate(server, sessions=12, concurrency=4, seed=21, speed=0)
    expected = sum(len(events) for events in simulate_sessions(21, 12))
    assert summary.status_counts == {"201": 12, "204": expected - 12}
    assert summary.sessions_finished == 12


def test_simulator_under_a_prefix(prefixed_server: str) -> None:
    from playhead.simulator import simulate, simulate_sessions

    summary = simulate(prefixed_server + "/va", sessions=3, concurrency=2, seed=4, speed=0)
    expected = sum(len(events) for events in simulate_sessions(4, 3))
    assert summary.status_counts == {"201": 3, "204": expected - 3}
    assert summary.sessions_finished == 3


def test_simulate_command_prints_the_summary(server: str) -> None:
    from click.testing import CliRunner

    from playhead.simulator import simulate_command, simulate_sessions

    args = ["--url", server, "--sessions", "3", "--speed", "0", "--seed", "5", "--json"]
    result = CliRunner().invoke(simulate_command, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    expected = sum(len(events) for events in simulate_sessions(5, 3))
    assert summary["sessions_started"] == summary["sessions_finished"] == 3
    assert summary["status_counts"] == {"201": 3, "204": expected - 3}
    assert summary["requests"] == summary["events_sent"] == expected


def test_simulate_command_speaks_the_edge_api(prefixed_server: str) -> None:
    from click.testing import CliRunner

    from playhead.simulator import simulate_command, simulate_sessions

    url = prefixed_server + "/va"
    args = ["--url", url, "--sessions", "3", "--speed", "0", "--seed", "8", "--json"]
    result = CliRunner().invoke(simulate_command, [*args, "--protocol", "edge"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    expected = sum(len(events) for events in simulate_sessions(8, 3))
    assert summary["sessions_started"] == summary["sessions_finished"] == 3
    assert summary["status_counts"] == {"200": 3, "204": expected - 3}
