"""Report rendering: lifecycle fields, secondsSinceLastCall (rule 21), diagnostics, JSON shape."""

from __future__ import annotations

import json

import msgspec
import pytest

from playhead.engine import Lifecycle
from tests.engine.builders import BASE, ad, ad_break, encode, ev, folded, problems, run, start


def _closed(reason: str, closed_ms: int) -> Lifecycle:
    return Lifecycle(state="closed", close_reason=reason, closed_ms=closed_ms)


# folded() receives the start at 999 and the n-th later event at 1000 + n - 1.
@pytest.mark.parametrize(
    ("reason", "closed_ms", "seconds"),
    [
        ("sessionEnd", 5000, 0),
        ("idle", 601_001, 600.0),
        ("stalledPlayhead", 3501, 2.5),
        ("maxDuration", 1001, 0.0),
        ("downloaded", 1001, 0.0),
    ],
)
def test_seconds_since_last_call_per_close_reason(
    reason: str, closed_ms: int, seconds: float
) -> None:
    f = folded(start(), ev("play", 0), ev("ping", 10, 10))
    r = f.report(_closed(reason, closed_ms))
    assert r.session_details.seconds_since_last_call == seconds
    assert (r.state, r.close_reason) == ("closed", reason)


def test_idle_after_complete_reports_session_complete_and_zero() -> None:
    f = folded(start(), ev("play", 0), ev("sessionComplete", 10, 10))
    r = f.report(_closed("idle", 601_000))
    assert r.close_reason == "sessionComplete"
    assert r.session_details.seconds_since_last_call == 0


def test_open_session_reports_zero_and_no_drop_before_start() -> None:
    r = run(start(), ev("ping", 10))
    assert (r.state, r.close_reason) == ("open", None)
    assert r.session_details.seconds_since_last_call == 0
    assert r.qoe_data_details.is_dropped_before_start is False
    closed = folded(start(), ev("ping", 10)).report(_closed("idle", 601_000))
    assert closed.qoe_data_details.is_dropped_before_start is True


def test_downloaded_flag_from_param_or_reason() -> None:
    assert run(start(extra={"media.downloaded": True})).session_details.is_downloaded is True
    f = folded(start(), ev("play", 0))
    assert f.report(Lifecycle()).session_details.is_downloaded is False
    assert f.report(_closed("downloaded", 1000)).session_details.is_downloaded is True


def test_lenient_params_and_refused_events_diagnostics() -> None:
    # the protocol's decoder says which configuration keys an event lacked (Event.missing)
    s = msgspec.structs.replace(
        start(extra={"media.channel": None, "media.playerName": None}),
        missing=("media.channel", "media.playerName"),
    )
    no_player = ad(1)
    no_player = no_player.__class__(
        type="adStart",
        ts=no_player.ts,
        playhead=0.0,
        params={k: v for k, v in no_player.params.items() if k != "media.ad.playerName"},
        missing=("media.ad.playerName",),
    )
    f = folded(s, ad_break(1), no_player, ev("ping", 5))
    r = f.report(Lifecycle(state="closed", close_reason="idle", closed_ms=2000, refused=3))
    assert problems(r) == [
        "sessionStart without media.channel, media.playerName (accepted; --strict would refuse it)",
        "adStart without media.ad.playerName (accepted; --strict would refuse it)",
        "3 events refused after the session closed (410)",
    ]
    assert [(d.ts, d.event_type) for d in r.diagnostics] == [
        (BASE, "sessionStart"),
        (BASE + 1000, "adStart"),
        (BASE + 5000, None),
    ]


def test_report_json_shape() -> None:
    r = run(
        start(),
        ad_break(0),
        ad(0),
        ev("adComplete", 5),
        ev("adBreakComplete", 5),
        ev("play", 5),
        ev("stateStart", 6, 1, states_start=("mute",)),
        ev("ping", 10, 5),
    )
    doc = json.loads(encode(r))
    assert list(doc) == [
        "id",
        "state",
        "closeReason",
        "firstEventTs",
        "lastEventTs",
        "params",
        "customMetadata",
        "sessionDetails",
        "qoeDataDetails",
        "ads",
        "chapters",
        "states",
        "diagnostics",
        "scores",
        "timeline",
        "watchedRanges",
    ]
    assert list(doc["ads"][0]) == [
        "podIndex",
        "podSecond",
        "podFriendlyName",
        "podPosition",
        "id",
        "name",
        "length",
        "timePlayed",
        "isStarted",
        "isCompleted",
        "isSkipped",
        "params",
        "customMetadata",
    ]
    assert doc["ads"][0]["podIndex"] == 1
    assert doc["ads"][0]["timePlayed"] == 5.0
    assert doc["states"] == [{"name": "mute", "isSet": True, "count": 1, "time": 4.0}]
    assert doc["lastEventTs"] == BASE + 10_000
    assert doc["sessionDetails"]["timePlayed"] == 5.0
    assert len(doc["sessionDetails"]) == 22
    assert len(doc["qoeDataDetails"]) == 18
