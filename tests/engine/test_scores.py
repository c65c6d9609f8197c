"""The per-session experience score (docs/reports.md): each part from a folded session."""

from __future__ import annotations

import math

import msgspec
import pytest

from playhead.engine import Lifecycle
from playhead.engine.report import QoeDataDetails, SessionDetails
from playhead.engine.scores import rebuffer_ratio, session_scores
from tests.engine.builders import ev, run, start


def test_a_smooth_session_that_started_at_once_scores_100() -> None:
    r = run(start(), ev("play", 0), ev("ping", 10, 10))
    assert msgspec.to_builtins(r.scores) == {
        "experience": 100.0,
        "playbackSuccess": 100.0,
        "startup": 100.0,
        "smoothness": 100.0,
    }


def test_a_slow_start_and_a_buffer_lower_startup_and_smoothness() -> None:
    # 2 s to start, then 8 s played, 2 s buffering, 10 s played
    r = run(
        start(),
        ev("play", 2),
        ev("bufferStart", 10, 8),
        ev("play", 12, 8),
        ev("ping", 22, 18),
    )
    assert r.qoe_data_details.time_to_start == 2.0
    startup = 100 * 8 / 10
    ratio = 2 / (18 + 2)
    smooth = (100 / math.sqrt(1 + 0.25) + 100 * math.exp(-10 * ratio)) / 2
    assert r.scores.startup == pytest.approx(startup)
    assert r.scores.smoothness == pytest.approx(smooth)
    assert r.scores.experience == pytest.approx((startup + smooth) / 2)
    assert r.scores.playback_success == 100.0


def test_a_short_session_that_never_played_has_no_score() -> None:
    r = run(start(), ev("ping", 0.5))
    assert msgspec.to_builtins(r.scores) == {
        "experience": None,
        "playbackSuccess": None,
        "startup": None,
        "smoothness": None,
    }


def test_left_before_starting_scores_50_and_an_error_before_playing_0() -> None:
    closed = Lifecycle("closed", "sessionEnd", 20_000)
    left = run(start(), ev("ping", 10), lifecycle=closed)
    assert left.qoe_data_details.is_dropped_before_start is True
    assert (left.scores.playback_success, left.scores.experience) == (50.0, 50.0)
    assert left.scores.smoothness is None
    failed = run(start(), ev("error", 3, 0, error_id="E1"), ev("ping", 10), lifecycle=closed)
    assert failed.qoe_data_details.error_count == 1
    assert (failed.scores.playback_success, failed.scores.experience) == (0.0, 0.0)


def test_the_rebuffer_ratio_of_nothing_is_zero() -> None:
    sd = msgspec.convert(
        {"isViewed": False, "isPlayed": False, "isCompleted": False, "hasResume": False,
         "isDownloaded": False, "hasSegmentView": False, "timePlayed": 0, "totalTimePlayed": 0,
         "uniqueTimePlayed": 0, "averageMinuteAudience": None, "estimatedStreams": 0,
         "hasProgress10": False, "hasProgress25": False, "hasProgress50": False,
         "hasProgress75": False, "hasProgress95": False, "pauseCount": 0, "pauseTime": 0,
         "hasPauseImpactedStreams": False, "adCount": 0, "chapterCount": 0,
         "secondsSinceLastCall": 0},
        SessionDetails,
    )  # fmt: skip
    q = msgspec.convert(
        {"timeToStart": None, "bitrateAverage": None, "bitrateAverageBucket": None,
         "bitrateChangeCount": 0, "hasBitrateChangeImpactedStreams": False, "bufferCount": 0,
         "bufferTime": 0, "hasBufferImpactedStreams": False, "stallCount": 0, "stallTime": 0,
         "hasStallImpactedStreams": False, "droppedFrames": 0,
         "hasDroppedFrameImpactedStreams": False, "errorCount": 0,
         "hasErrorImpactedStreams": False, "playerSdkErrors": [], "externalErrors": [],
         "isDroppedBeforeStart": False},
        QoeDataDetails,
    )  # fmt: skip
    assert rebuffer_ratio(sd, q) == 0.0
    assert session_scores(0, 5000, sd, q).playback_success == 100.0
