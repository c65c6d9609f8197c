"""playhead.client.Tracker over a MockTransport answered by the in-memory fake collector
(tests/client/fakecollector.py): no HTTP server. test_tracker_server.py runs it against the real
server, test_transport.py tests the transports themselves."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from typing import Any

import pytest

from playhead.client import (
    BaseTransport,
    Clock,
    MockTransport,
    PlayheadError,
    Response,
    ResponseError,
    Tracker,
    TransportError,
    parse_location,
)
from tests.client.fakecollector import FakeCollector

PARAMS: dict[str, Any] = {
    "analytics.trackingServer": "example.sc.omtrdc.net",
    "analytics.reportSuite": "rsid",
    "visitor.marketingCloudOrgId": "ORG@AdobeOrg",
    "media.id": "movie-1",
    "media.name": "Movie",
    "media.length": 120.0,
    "media.contentType": "vod",
    "media.playerName": "pytest",
    "media.channel": "tests",
}


def _sid(session: Any) -> str:
    sid = session.wait_for_sid(5)
    assert sid is not None
    return str(sid)


def _tracker(fc: FakeCollector, **options: Any) -> Tracker:
    options.setdefault("backoff", 0.01)
    return Tracker(fc.url, transport=fc.transport, **options)


def test_events_in_order_with_increasing_ts_and_custom_metadata() -> None:
    fc = FakeCollector()
    with _tracker(fc) as tracker:
        s = tracker.start_session(PARAMS, custom_metadata={"show": "x", "n": 3})  # type: ignore[dict-item]
        s.play(0)
        s.ping(10)
        s.pause(12)
        s.play(12)
        s.ad_break_start(12, 1, 12.0, "mid")
        s.ad_start(12, "ad-1", 15, 1, "pytest", "Ad 1", custom_metadata={"campaign": "c"})
        s.ad_complete(12)
        s.ad_break_complete(12)
        s.chapter_start(12, 1, 0, 60, "One")
        s.state_start(13, "mute")
        s.state_end(14, "mute")
        s.bitrate_change(15, 2_000_000)
        s.error(16, "E42", "external")
        s.chapter_complete(60)
        s.complete(120)
        s.end(120)
        assert tracker.flush(10)
        sid = _sid(s)
        assert len(sid) == 64
        assert fc.event_types(sid) == [
            "sessionStart", "play", "ping", "pauseStart", "play", "adBreakStart", "adStart",
            "adComplete", "adBreakComplete", "chapterStart", "stateStart", "stateEnd",
            "bitrateChange", "error", "chapterComplete", "sessionComplete", "sessionEnd",
        ]  # fmt: skip
        events = fc.events(sid)
        ts = [e["playerTime"]["ts"] for e in events]
        assert all(b - a >= 1 for a, b in itertools.pairwise(ts))
        assert events[0]["customMetadata"] == {"show": "x", "n": "3"}
        assert events[6]["params"]["media.ad.podPosition"] == 1
        assert events[6]["customMetadata"] == {"campaign": "c"}
        assert events[12]["qoeData"] == {"media.qoe.bitrate": 2_000_000}
        assert events[13]["qoeData"] == {
            "media.qoe.errorID": "E42",
            "media.qoe.errorSource": "external",
        }
        assert fc.state.max_in_flight[sid] == 1
        assert set(fc.statuses()) == {201, 204}
        assert s.errors == []


def test_events_queued_before_sid_are_sent_after_it() -> None:
    fc = FakeCollector()
    fc.state.gate.clear()  # the sessionStart is not answered: events pile up behind it
    with _tracker(fc) as tracker:
        s = tracker.start_session(PARAMS)
        for i in range(5):
            s.ping(i * 10)
        assert tracker.flush(0.1) is False
        assert s.sid is None
        assert tracker._worker.pending() == 6
        fc.state.gate.set()
        assert tracker.flush(10)
        sid = _sid(s)
    assert fc.event_types(sid) == ["sessionStart"] + ["ping"] * 5
    assert [e["playerTime"]["playhead"] for e in fc.events(sid)[1:]] == [0, 10, 20, 30, 40]
    assert max(fc.state.max_in_flight.values()) == 1


def test_location_with_prefix_is_put_back() -> None:
    fc = FakeCollector(prefix="/va")
    with _tracker(fc) as tracker:
        assert fc.url.endswith("/va")
        s = tracker.start_session(PARAMS)
        s.play(0)
        assert tracker.flush(10)
        sid = _sid(s)
        paths = [r.path for r in fc.state.requests]
        assert paths == ["/va/api/v1/sessions", f"/va/api/v1/sessions/{sid}/events"]
        assert fc.event_types(sid) == ["sessionStart", "play"]


def test_parse_location_forms() -> None:
    sid = "ab" * 32
    assert parse_location(f"/api/v1/sessions/{sid}") == ("v1", sid)
    assert parse_location(f"https://h.example/va/api/v1/sessions/{sid}") == ("v1", sid)
    with pytest.raises(PlayheadError):
        parse_location("/somewhere/else")


def test_retry_on_503_then_success() -> None:
    fc = FakeCollector()
    with _tracker(fc) as tracker:
        fc.state.fail_next.extend([503, 503])
        s = tracker.start_session(PARAMS)
        s.play(0)
        assert tracker.flush(10)
        sid = _sid(s)
        assert fc.statuses() == [503, 503, 201, 204]
        assert fc.event_types(sid) == ["sessionStart", "play"]
        assert s.errors == []


def test_event_retry_on_503_keeps_order() -> None:
    fc = FakeCollector()
    with _tracker(fc) as tracker:
        s = tracker.start_session(PARAMS)
        _sid(s)
        fc.state.fail_events_only = True
        fc.state.fail_next.extend([503, 500, 429])
        s.play(0)
        s.ping(10)
        assert tracker.flush(10)
        assert fc.statuses() == [201, 503, 500, 429, 204, 204]
        assert fc.event_types(_sid(s)) == ["sessionStart", "play", "ping"]


def test_no_retry_on_400() -> None:
    fc = FakeCollector()
    with _tracker(fc) as tracker:
        s = tracker.start_session(PARAMS)
        _sid(s)
        s.send("adBreakStart", 0, params={"media.ad.podSecond": 0})  # podIndex missing
        s.play(0)
        assert tracker.flush(10)
        assert fc.statuses() == [201, 400, 204]
        assert len(s.errors) == 1
        assert isinstance(s.errors[0], ResponseError)
        assert s.errors[0].status == 400


def test_bad_session_start_is_not_retried_and_events_are_dropped() -> None:
    errors: list[PlayheadError] = []
    fc = FakeCollector()
    with _tracker(fc, on_error=errors.append) as tracker:
        bad = dict(PARAMS)
        del bad["media.id"]
        s = tracker.start_session(bad)
        s.play(0)
        assert tracker.flush(10)
        assert s.sid is None
        assert fc.statuses() == [400]
        assert isinstance(errors[0], ResponseError)
        body = errors[0].json()
        assert body["message"] == "invalid"
        assert "media.id" in body["errors"][0]["problem"]
        assert len(errors) == 2  # the dropped play is reported too


def test_resume_on_410() -> None:
    fc = FakeCollector()
    with _tracker(fc) as tracker:
        s = tracker.start_session(PARAMS, custom_metadata={"k": "v"})
        s.play(0)
        assert tracker.flush(10)
        first = _sid(s)
        fc.close_session(first)
        s.ping(10)
        s.ping(20)
        assert tracker.flush(10)
        assert len(s.sids) == 2
        second = s.sids[1]
        assert second != first
        assert fc.statuses() == [201, 204, 410, 201, 204, 204, 204]
        events = fc.events(second)
        assert [e["eventType"] for e in events] == ["sessionStart", "play", "ping", "ping"]
        assert events[0]["params"]["media.resume"] is True
        assert events[0]["params"]["media.id"] == "movie-1"
        assert events[0]["customMetadata"] == {"k": "v"}
        ts = [e["playerTime"]["ts"] for e in events]
        assert ts == sorted(ts) and len(set(ts)) == 4
        assert [e["playerTime"]["playhead"] for e in events] == [10, 10, 10, 20]


def test_resume_on_404_but_not_for_session_end() -> None:
    fc = FakeCollector()
    with _tracker(fc) as tracker:
        s = tracker.start_session(PARAMS)
        sid = _sid(s)
        with fc.state.lock:
            del fc.state.sessions[sid]
        s.end(5)
        assert tracker.flush(10)
        assert fc.statuses() == [201, 404]
        assert s.sids == [sid]
        s.pause(5)
        assert tracker.flush(10)
        assert fc.statuses() == [201, 404, 404, 201, 204]
        assert len(s.sids) == 2


def test_network_errors_are_retried_in_order() -> None:
    fc = FakeCollector()
    with _tracker(fc) as tracker:
        fc.state.fail_next.extend([ConnectionRefusedError(), ConnectionResetError()])
        s = tracker.start_session(PARAMS)
        sid = _sid(s)
        fc.state.fail_next.append(TimeoutError())
        s.play(0)
        s.ping(10)
        assert tracker.flush(10)
    assert fc.statuses() == [None, None, 201, None, 204, 204]
    assert fc.event_types(sid) == ["sessionStart", "play", "ping"]
    assert s.errors == []


def test_exhausted_network_errors_are_reported_and_the_session_goes_on() -> None:
    errors: list[PlayheadError] = []
    fc = FakeCollector()
    with _tracker(fc, max_retries=2, on_error=errors.append) as tracker:
        s = tracker.start_session(PARAMS)
        sid = _sid(s)
        fc.state.fail_next.extend([ConnectionResetError()] * 3)
        s.play(0)
        s.ping(10)
        assert tracker.flush(10)
    assert fc.statuses() == [201, None, None, None, 204]
    assert fc.event_types(sid) == ["sessionStart", "ping"]
    assert len(s.errors) == 1 and isinstance(s.errors[0], TransportError)
    assert "after 3 attempts" in str(s.errors[0])
    assert errors == s.errors
    assert s.responses == [201, 204]


def test_flush_timeout_returns_false_then_true() -> None:
    fc = FakeCollector()
    with _tracker(fc) as tracker:
        fc.state.gate.clear()
        s = tracker.start_session(PARAMS)
        s.play(0)
        assert tracker.flush(0.05) is False
        fc.state.gate.set()
        assert tracker.flush(10) is True
        assert fc.event_types(_sid(s)) == ["sessionStart", "play"]


def test_explicit_ts_for_replays_and_clock_monotonic() -> None:
    clock = Clock(wall_ms=1_000.0)
    values = [clock.now() for _ in range(1000)]
    assert all(b - a >= 1 for a, b in itertools.pairwise(values))
    assert values[0] >= 1_000
    fc = FakeCollector()
    with _tracker(fc) as tracker:
        s = tracker.start_session(PARAMS, ts=1_700_000_000_000)
        s.play(0, ts=1_700_000_000_500)
        s.ping(10, ts=1_700_000_010_500)
        assert tracker.flush(10)
        assert [e["playerTime"]["ts"] for e in fc.events(_sid(s))] == [
            1_700_000_000_000,
            1_700_000_000_500,
            1_700_000_010_500,
        ]


def test_session_start_not_allowed_through_send() -> None:
    fc = FakeCollector()
    with _tracker(fc) as tracker:
        s = tracker.start_session(PARAMS)
        with pytest.raises(ValueError, match="start_session"):
            s.send("sessionStart", 0)


def test_requests_are_json_posts_with_json_headers() -> None:
    fc = FakeCollector()
    with _tracker(fc) as tracker:
        s = tracker.start_session(PARAMS, ts=1_700_000_000_000)
        s.play(0, ts=1_700_000_000_500)
        assert tracker.flush(10)
    assert [r.method for r in fc.state.requests] == ["POST", "POST"]
    for r in fc.state.requests:
        assert r.headers == {"Content-Type": "application/json", "Accept": "application/json"}
    assert fc.state.requests[1].body == {
        "playerTime": {"playhead": 0.0, "ts": 1_700_000_000_500},
        "eventType": "play",
    }


def test_canned_answers_from_a_plain_handler() -> None:
    """The seam needs no fake collector: a function answering (method, path, body, headers)."""
    seen: list[tuple[str, str, dict[str, Any]]] = []
    sid = "cd" * 32

    def handler(method: str, path: str, body: bytes, headers: Mapping[str, str]) -> Response:
        seen.append((method, path, json.loads(body)))
        if path == "/va/api/v1/sessions":
            return Response(201, {"location": f"/api/v1/sessions/{sid}"})
        return Response(204)

    with Tracker("https://metrics.example.com/va/", transport=MockTransport(handler)) as tracker:
        s = tracker.start_session(PARAMS)
        s.end(0)
        assert tracker.flush(10)
    assert s.sids == [sid] and s.responses == [201, 204]
    assert [(m, p, b["eventType"]) for m, p, b in seen] == [
        ("POST", "/va/api/v1/sessions", "sessionStart"),
        ("POST", f"/va/api/v1/sessions/{sid}/events", "sessionEnd"),
    ]


def test_201_without_location_is_an_error_and_events_are_dropped() -> None:
    errors: list[PlayheadError] = []
    transport = MockTransport(lambda *_: Response(201))
    with Tracker("http://c.test", transport=transport, on_error=errors.append) as tracker:
        s = tracker.start_session(PARAMS)
        s.play(0)
        assert tracker.flush(10)
    assert s.sid is None and s.responses == []  # the start failed: no status is recorded
    assert [str(e) for e in errors] == [
        "201 without a Location header",
        "play dropped: the session has no id",
    ]


def test_close_closes_the_transport() -> None:
    class Closing(BaseTransport):
        closed = 0

        def request(
            self, method: str, path: str, body: bytes, headers: Mapping[str, str]
        ) -> Response:
            return Response(201, {"Location": "/api/v1/sessions/" + "ef" * 32})

        def close(self) -> None:
            self.closed += 1

    transport = Closing()
    tracker = Tracker("http://c.test", transport=transport)
    assert tracker.transport.transport is transport
    tracker.start_session(PARAMS)
    assert tracker.close(10)
    assert transport.closed == 1
