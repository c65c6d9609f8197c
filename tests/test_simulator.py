"""The viewer simulator: the pure audience, the Collection encoder, and the runner over a
MockTransport answered by the in-memory fake collector (tests/client/fakecollector.py).
tests/client/test_tracker_server.py plays it against the real server, command line included."""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import io
import itertools
import json
import sys
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from playhead.client import MockTransport, Response
from playhead.simulator import (
    DEFAULT_URL,
    SimulationSummary,
    generate_session,
    simulate,
    simulate_command,
    simulate_sessions,
)
from playhead.simulator.audience import ViewerEvent, viewer_session, viewer_sessions
from playhead.simulator.encode import (
    ENCODERS,
    CollectionEncoder,
    EdgeEncoder,
    WireRequest,
    collection_body,
)
from tests.client.fakecollector import FakeCollector, validate

SIMULATOR = Path(__file__).resolve().parents[1] / "playhead" / "simulator"
REQUIRED = {
    "adBreakStart": {"media.ad.podIndex", "media.ad.podSecond"},
    "adStart": {"media.ad.id", "media.ad.length", "media.ad.podPosition", "media.ad.playerName"},
    "chapterStart": {"media.chapter.index", "media.chapter.offset", "media.chapter.length"},
    "stateStart": {"media.state.name"},
    "stateEnd": {"media.state.name"},
}


SIMULATOR_MAY_IMPORT = {"playhead.client", "playhead.protocols.edge.encode"}


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, separators=(",", ":")).encode()).hexdigest()


# ------------------------------------------------------------------------------- audience
def test_seeded_determinism() -> None:
    a = simulate_sessions(7, 30)
    b = simulate_sessions(7, 30)
    c = simulate_sessions(8, 30)
    assert a == b
    assert a != c
    assert generate_session(7, 3, 1_000_000) == generate_session(7, 3, 1_000_000)
    assert viewer_sessions(7, 5) == viewer_sessions(7, 5)


@pytest.mark.parametrize(
    ("args", "digest", "events"),
    [
        ((7, 30), "d223946b42c9991de5accbfd4310c47e6d4ba3fb439a3dac87581284204b8ff0", 2713),
        ((3, 80), "fee294b7c03bf415b7919f57d2af1266755235a6433b38b51c2c3bb384ea254e", 7778),
        ((0, 20), "74255b83ac736f2ec1534d4129de4f428306ecbfeb9263d283f372a3eab18577", 1474),
    ],
)
def test_same_bodies_as_before_the_split(args: tuple[int, int], digest: str, events: int) -> None:
    """Pinned from the single-module simulator: load scripts and bench/ see the same bytes."""
    sessions = simulate_sessions(*args)
    assert sum(len(s) for s in sessions) == events
    assert _digest(sessions) == digest
    bench = simulate_sessions(7, 100, spacing_ms=0)  # what bench/common.py plays
    assert _digest(bench) == "4436ef0cbefb6e8242670d48361abac7d17c0cf101ad1d71e8ef43ebd58cd339"
    one = generate_session(5, 3, 1234)
    assert _digest(one) == "8a2c3d835edc009084fb0bafce2d77a128220e1a92dbd3f0d224463470c0c9c4"


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


def test_audience_is_protocol_neutral_and_pure() -> None:
    events = viewer_session(9, 2, 1_000)
    assert all(isinstance(e, ViewerEvent) for e in events)
    assert events[0].event_type == "sessionStart" and events[0].ts == 1_000
    with pytest.raises(dataclasses.FrozenInstanceError):
        events[0].ts = 5  # type: ignore[misc]
    # no empty containers: absent is None (so no encoder has to tell {} from missing)
    for e in events:
        assert e.params is None or e.params
        assert e.qoe is None or e.qoe
        assert e.custom_metadata is None or e.custom_metadata
    # standard library only: no protocol, no network, no clock
    tree = ast.parse((SIMULATOR / "audience.py").read_text(encoding="utf-8"))
    imported = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported == {"__future__", "random", "dataclasses", "typing"}


def test_simulator_imports_only_the_public_client() -> None:
    for path in sorted(SIMULATOR.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [node.module or ""]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                # the Edge encoder reads the Edge protocol's own mapping table backwards
                assert module in SIMULATOR_MAY_IMPORT or top != "playhead", (path.name, module)
                assert top in sys.stdlib_module_names | {"__future__", "click", "playhead"}


# -------------------------------------------------------------------------------- encoder
def test_collection_encoder_requests() -> None:
    enc = CollectionEncoder()
    assert enc.name == "collection"
    start = ViewerEvent("sessionStart", 10, 0.0, {"media.id": "m"}, None, {"k": "v"})
    ping = ViewerEvent("ping", 20, 1.5, None, {"media.qoe.droppedFrames": 3})
    assert enc.start(start) == WireRequest(
        "/api/v1/sessions",
        {
            "playerTime": {"playhead": 0.0, "ts": 10},
            "eventType": "sessionStart",
            "params": {"media.id": "m"},
            "customMetadata": {"k": "v"},
        },
    )
    request = enc.event("s1", ping)
    assert request.path == "/api/v1/sessions/s1/events"
    assert json.dumps(request.body) == (
        '{"playerTime": {"playhead": 1.5, "ts": 20}, "eventType": "ping", '
        '"qoeData": {"media.qoe.droppedFrames": 3}}'
    )
    # bodies are fresh: changing one changes neither the event nor the next encoding
    request.body["qoeData"]["media.qoe.droppedFrames"] = 99
    assert collection_body(ping)["qoeData"] == {"media.qoe.droppedFrames": 3}


def test_collection_encoder_reads_the_answers() -> None:
    enc = CollectionEncoder()
    sid = "ab" * 32
    assert enc.session_id(Response(201, {"Location": f"/api/v1/sessions/{sid}"})) == sid
    assert enc.session_id(Response(201, {"location": f"http://h/va/api/v1/sessions/{sid}"})) == sid
    assert enc.session_id(Response(201)) is None
    assert enc.session_id(Response(201, {"Location": "/elsewhere"})) is None
    assert enc.session_id(Response(400, {"Location": f"/api/v1/sessions/{sid}"})) is None
    assert [s for s in (204, 400, 404, 410, 413, 503) if enc.session_gone(s)] == [404, 410]


def test_edge_encoder_requests_and_answers() -> None:
    enc = EdgeEncoder()
    sid = "cd" * 32
    start = ViewerEvent("sessionStart", 10, 0.0, {"media.id": "m", "media.name": "M"}, None, None)
    request = enc.start(start)
    assert request.path == "/ee/va/v1/sessionStart"
    xdm = request.body["events"][0]["xdm"]
    assert xdm["eventType"] == "media.sessionStart"
    assert xdm["timestamp"] == "1970-01-01T00:00:00.010Z"
    assert xdm["mediaCollection"] == {
        "playhead": 0.0,
        "sessionDetails": {"name": "m", "friendlyName": "M"},
    }
    mute = ViewerEvent("stateStart", 20, 1.0, {"media.state.name": "mute"}, None, None)
    request = enc.event(sid, mute)
    assert request.path == "/ee/va/v1/statesUpdate"
    assert request.body["events"][0]["xdm"]["mediaCollection"] == {
        "playhead": 1.0,
        "sessionID": sid,
        "statesStart": [{"name": "mute"}],
    }
    handle = {"handle": [{"type": "media-analytics:new-session", "payload": [{"sessionId": sid}]}]}
    assert enc.session_id(Response(200, {}, json.dumps(handle).encode())) == sid
    assert enc.session_id(Response(207, {}, json.dumps(handle).encode())) is None
    assert enc.session_id(Response(200, {}, b'{"handle": []}')) is None
    assert enc.session_id(Response(200, {}, b"not json")) is None
    assert [s for s in (204, 400, 404, 410, 503) if enc.session_gone(s)] == [404, 410]
    assert sorted(ENCODERS) == ["collection", "edge"]


def _play(client: Any, protocol: str) -> tuple[SimulationSummary, dict[str, Any]]:
    """Simulate 3 sessions against ``client`` over ``protocol``; the reports by sim.index."""
    sids: list[str] = []
    encoder = ENCODERS[protocol]()

    def handler(method: str, path: str, body: bytes, headers: Mapping[str, str]) -> Response:
        answer = client.post(path, content=body, headers={"Content-Type": "application/json"})
        response = Response(answer.status_code, dict(answer.headers), answer.content)
        if path.endswith(("/sessions", "/sessionStart")):
            sids.append(encoder.session_id(response))
        return response

    summary = simulate(
        "http://localhost", sessions=3, concurrency=1, seed=5, speed=0,
        encoder=encoder, transport=MockTransport(handler),
    )  # fmt: skip
    reports = {}
    for sid in sids:
        report = client.get(f"/reports/sessions/{sid}").json()
        reports[report["customMetadata"]["sim.index"]] = report
    return summary, reports


def test_simulate_plays_a_real_app_over_either_protocol(make_client: Any) -> None:
    """The same audience over either protocol opens the same sessions with the same metrics."""
    total = sum(len(s) for s in simulate_sessions(5, 3))
    runs = {}
    for protocol, first in (("collection", "201"), ("edge", "200")):
        summary, reports = _play(make_client(), protocol)
        assert summary.status_counts == {first: 3, "204": total - 3}, protocol
        assert summary.sessions_finished == 3
        runs[protocol] = reports
    assert sorted(runs["edge"]) == ["0", "1", "2"]
    for index, report in runs["collection"].items():
        edge = runs["edge"][index]
        assert edge["params"]["media.id"] == report["params"]["media.id"]
        assert edge["sessionDetails"]["timePlayed"] == report["sessionDetails"]["timePlayed"]
        assert edge["qoeDataDetails"] == report["qoeDataDetails"]
        assert len(edge["ads"]) == len(report["ads"])
        assert len(edge["chapters"]) == len(report["chapters"])


def test_generate_session_is_the_encoded_audience() -> None:
    events = viewer_session(4, 1, 5_000)
    assert generate_session(4, 1, 5_000) == [collection_body(e) for e in events]
    assert simulate_sessions(4, 3, 5_000, 100)[2] == generate_session(4, 2, 5_200)


# --------------------------------------------------------------------------------- runner
def _simulate(fc: FakeCollector, **options: Any) -> SimulationSummary:
    options.setdefault("speed", 0)
    return simulate(fc.url, transport=fc.transport, **options)


def test_simulate_over_the_client_transport() -> None:
    fc = FakeCollector()
    summary = _simulate(fc, sessions=6, concurrency=3, seed=11)
    assert summary.sessions_started == 6
    assert summary.sessions_finished == 6
    expected = sum(len(s) for s in simulate_sessions(11, 6))
    assert summary.events_sent == expected
    assert summary.requests == expected
    assert summary.status_counts == {"201": 6, "204": expected - 6}
    assert summary.stopped_by is None
    assert len(fc.state.sessions) == 6
    for sid, events in fc.state.sessions.items():
        ts = [e["playerTime"]["ts"] for e in events]
        assert all(b - a >= 1 for a, b in itertools.pairwise(ts)), sid
        assert fc.state.max_in_flight[sid] == 1
    # the same audience as the generator, apart from ts (the run's clock)
    played = sorted(
        (int(e[0]["customMetadata"]["sim.index"]), [b["eventType"] for b in e])
        for e in fc.state.sessions.values()
    )
    assert played == [
        (i, [b["eventType"] for b in s]) for i, s in enumerate(simulate_sessions(11, 6))
    ]
    assert {r.headers["Content-Type"] for r in fc.state.requests} == {"application/json"}
    assert "events/s" in summary.format()


def test_prefix_is_kept() -> None:
    fc = FakeCollector(prefix="/va")
    summary = _simulate(fc, sessions=2, concurrency=1, seed=1)
    assert summary.sessions_finished == 2
    assert all(r.path.startswith("/va/api/v1/sessions") for r in fc.state.requests)


def test_bounded_by_max_requests() -> None:
    fc = FakeCollector()
    summary = _simulate(fc, sessions=50, concurrency=4, seed=1, max_requests=37)
    assert summary.requests == 37
    assert len(fc.state.requests) == 37
    assert summary.stopped_by == "max-requests"
    assert sum(summary.status_counts.values()) == 37


def test_bounded_by_max_seconds_with_speed() -> None:
    fc = FakeCollector()
    summary = _simulate(fc, sessions=5, concurrency=5, seed=2, speed=1, max_seconds=1.0)
    assert summary.stopped_by == "max-seconds"
    assert summary.elapsed < 4
    # in real time only the first second of each session can have been sent
    assert fc.state.sessions
    for events in fc.state.sessions.values():
        span = events[-1]["playerTime"]["ts"] - events[0]["playerTime"]["ts"]
        assert span <= 1_500


def test_every_retry_counts_against_max_requests() -> None:
    fc = FakeCollector()
    fc.state.fail_next.extend([503] * 4)
    summary = _simulate(fc, sessions=3, concurrency=1, seed=2, max_requests=2)
    assert summary.stopped_by == "max-requests"
    assert summary.status_counts == {"503": 2}
    assert (summary.requests, len(fc.state.requests), summary.sessions_started) == (2, 2, 0)


def test_speed_compresses_time_but_not_timestamps() -> None:
    fc = FakeCollector()
    summary = _simulate(fc, sessions=2, concurrency=2, seed=4, speed=400, max_seconds=1.5)
    assert summary.requests > 2
    spans = [
        e[-1]["playerTime"]["ts"] - e[0]["playerTime"]["ts"] for e in fc.state.sessions.values()
    ]
    assert max(spans) > 60_000  # more than a minute of simulated time in ~1.5 s


def test_retries_503_and_counts_statuses() -> None:
    fc = FakeCollector()
    fc.state.fail_next.extend([503, 503])
    summary = _simulate(fc, sessions=1, concurrency=1, seed=3)
    assert summary.status_counts["503"] == 2
    assert summary.sessions_finished == 1
    assert summary.requests == summary.events_sent + 2
    assert fc.statuses()[:3] == [503, 503, 201]


def test_a_session_still_overloaded_after_three_retries_is_abandoned() -> None:
    fc = FakeCollector()
    fc.state.fail_events_only = True
    fc.state.fail_next.extend([503] * 4)
    summary = _simulate(fc, sessions=1, concurrency=1, seed=3)
    assert summary.status_counts == {"201": 1, "503": 4}
    assert (summary.requests, summary.events_sent) == (5, 1)
    assert (summary.sessions_started, summary.sessions_finished) == (1, 0)


def test_only_503_is_retried() -> None:
    fc = FakeCollector()
    fc.state.fail_events_only = True
    fc.state.fail_next.extend([500, 429])
    summary = _simulate(fc, sessions=1, concurrency=1, seed=3)
    assert summary.status_counts["500"] == 1 and summary.status_counts["429"] == 1
    assert summary.sessions_finished == 1  # each lost one event; the session went on
    expected = len(generate_session(3, 0))
    assert summary.requests == expected and summary.events_sent == expected - 2


def test_network_errors_are_counted_by_name_and_retried() -> None:
    fc = FakeCollector()
    fc.state.fail_next.extend([ConnectionRefusedError(), ConnectionResetError()])
    summary = _simulate(fc, sessions=1, concurrency=1, seed=3)
    assert summary.status_counts["ConnectionRefusedError"] == 1
    assert summary.status_counts["ConnectionResetError"] == 1
    assert summary.sessions_finished == 1
    assert summary.requests == summary.events_sent + 2


def test_network_errors_after_every_retry_abandon_the_session() -> None:
    fc = FakeCollector()
    fc.state.fail_next.extend([TimeoutError()] * 4)
    summary = _simulate(fc, sessions=1, concurrency=1, seed=3)
    assert summary.status_counts == {"TimeoutError": 4}
    assert (summary.requests, summary.events_sent, summary.sessions_started) == (4, 0, 0)


@pytest.mark.parametrize("status", [404, 410])
def test_stops_a_session_on_404_and_410(status: int) -> None:
    fc = FakeCollector()
    fc.state.fail_events_only = True
    fc.state.fail_next.append(status)
    summary = _simulate(fc, sessions=2, concurrency=1, seed=3)
    assert summary.status_counts[str(status)] == 1
    assert (summary.sessions_started, summary.sessions_finished) == (2, 1)
    first = next(iter(fc.state.sessions.values()))
    assert len(first) == 1  # its sessionStart only: nothing was sent after the refusal
    assert summary.requests == 2 + len(generate_session(3, 1))


def test_a_400_loses_one_event_not_the_session() -> None:
    fc = FakeCollector()
    fc.state.fail_events_only = True
    fc.state.fail_next.append(400)
    summary = _simulate(fc, sessions=1, concurrency=1, seed=3)
    assert summary.status_counts["400"] == 1
    assert summary.sessions_finished == 1


def test_a_start_without_a_session_is_not_played() -> None:
    fc = FakeCollector()
    fc.state.fail_next.append(400)
    summary = _simulate(fc, sessions=1, concurrency=1, seed=3)
    assert summary.status_counts == {"400": 1}
    assert (summary.requests, summary.sessions_started) == (1, 0)


def test_any_encoder_drives_the_runner() -> None:
    """The seam a second protocol (Media Edge) plugs into: the runner knows no Collection API."""

    class Toy:
        name = "toy"

        def start(self, event: ViewerEvent) -> WireRequest:
            return WireRequest("/toy/start", {"type": event.event_type, "at": event.ts})

        def session_id(self, response: Response) -> str | None:
            return str(json.loads(response.body)["id"]) if response.status == 200 else None

        def event(self, sid: str, event: ViewerEvent) -> WireRequest:
            return WireRequest("/toy/event", {"id": sid, "type": event.event_type})

        def session_gone(self, status: int) -> bool:
            return status == 400

    seen: list[tuple[str, Any]] = []

    def handler(method: str, path: str, body: bytes, headers: Mapping[str, str]) -> Response:
        seen.append((path, json.loads(body)))
        if path == "/p/toy/start":
            return Response(200, {}, b'{"id": "s-1"}')
        return Response(204)

    summary = simulate(
        "http://localhost/p", sessions=1, concurrency=1, seed=3, speed=0,
        encoder=Toy(), transport=MockTransport(handler),
    )  # fmt: skip
    types = [e["eventType"] for e in generate_session(3, 0)]
    assert seen[0] == ("/p/toy/start", {"type": "sessionStart", "at": seen[0][1]["at"]})
    assert seen[1:] == [("/p/toy/event", {"id": "s-1", "type": t}) for t in types[1:]]
    assert summary.status_counts == {"200": 1, "204": len(types) - 1}
    assert summary.sessions_finished == 1


def test_refuses_remote_urls() -> None:
    with pytest.raises(ValueError, match="non-loopback"):
        simulate("http://example.com:8000", sessions=1)
    result = CliRunner().invoke(simulate_command, ["--url", "http://10.1.2.3:8000"])
    assert result.exit_code == 2
    assert "non-loopback" in result.output


def test_refuses_bad_arguments_before_sending() -> None:
    fc = FakeCollector()
    with pytest.raises(ValueError, match="http"):
        simulate("ftp://127.0.0.1", allow_remote=True, transport=fc.transport)
    with pytest.raises(ValueError, match="concurrency"):
        simulate(DEFAULT_URL, concurrency=0, transport=fc.transport)
    assert fc.state.requests == []


def test_progress_line() -> None:
    stream = io.StringIO()
    fc = FakeCollector()
    simulate(
        fc.url, sessions=1, speed=1, seed=0, max_seconds=2.6, progress=True,
        progress_stream=stream, transport=fc.transport,
    )  # fmt: skip
    line = stream.getvalue()
    assert line.startswith("\r[simulate]") and line.endswith("\n")
    assert "sessions 1/1" in line and "ev/s" in line


def test_summary_as_dict_and_format() -> None:
    summary = SimulationSummary(
        sessions_planned=3, sessions_started=2, sessions_finished=1, events_sent=10,
        requests=12, status_counts=Counter({"503": 2, "201": 2, "204": 8}), elapsed=2.0,
        stopped_by="max-requests",
    )  # fmt: skip
    assert summary.as_dict() == {
        "sessions_planned": 3, "sessions_started": 2, "sessions_finished": 1,
        "events_sent": 10, "requests": 12, "status_counts": {"201": 2, "204": 8, "503": 2},
        "elapsed": 2.0, "events_per_second": 5.0, "stopped_by": "max-requests",
    }  # fmt: skip
    assert summary.format().splitlines() == [
        "sessions   2 started, 1 finished (of 3)",
        "events     10 accepted, 12 requests",
        "statuses   201: 2, 204: 8, 503: 2",
        "time       2.0 s, 5.0 events/s",
        "stopped by max-requests",
    ]


def test_each_viewer_starts_with_its_own_user_agent() -> None:
    from playhead.simulator.audience import viewer_agent

    seen: dict[str, str | None] = {}

    def handler(method: str, path: str, body: bytes, headers: Mapping[str, str]) -> Response:
        doc = json.loads(body)
        if path == "/api/v1/sessions":
            seen[doc["customMetadata"]["sim.index"]] = headers.get("User-Agent")
            return Response(201, {"Location": f"/api/v1/sessions/{'ab' * 32}"})
        assert "User-Agent" not in headers  # only the start needs it
        return Response(204)

    simulate("http://localhost", sessions=40, concurrency=2, seed=9, speed=0,
             transport=MockTransport(handler))  # fmt: skip
    assert seen == {str(i): viewer_agent(9, i) for i in range(40)}
    assert len(set(seen.values())) >= 5  # a mix of devices, not one agent
    assert viewer_agent(9, 3) == viewer_agent(9, 3)
