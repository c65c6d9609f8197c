"""Picking the media session starts out of a Web SDK interact body."""

from __future__ import annotations

import msgspec
import pytest

from playhead.errors import FieldError, InvalidBody
from playhead.protocols.edge.decode import decode, decode_stored
from playhead.protocols.edge.interact import at_index, split_interact


def test_a_session_start_is_rewritten_to_a_media_edge_body_without_the_context() -> None:
    xdm = {
        "eventType": "media.sessionStart",
        "timestamp": "2026-12-01T10:00:00.000Z",
        "mediaCollection": {
            "playhead": 0,
            "qoeDataDetails": None,
            "sessionDetails": {"name": "m-1", "length": 60, "contentType": "vod"},
        },
        "identityMap": {"ECID": [{"id": "ECID-1"}]},
        "web": {"webPageDetails": {"URL": "https://example.com/"}},
        "device": {"screenWidth": 1280},
    }
    raw = msgspec.json.encode(
        {"events": [{"xdm": {"eventType": "web.x"}}, {"xdm": xdm, "query": {"a": 1}}]}
    )
    split = split_interact(raw)
    assert split.ignored == [(0, "web.x")]
    [(index, body)] = split.starts
    assert index == 1
    kept = {k: v for k, v in xdm.items() if k not in ("web", "device")}
    assert msgspec.json.decode(body) == {"events": [{"xdm": kept}]}
    event = decode("sessionStart", body).event
    assert event.params["media.id"] == "m-1"
    assert event.params["visitor.marketingCloudUserId"] == "ECID-1"
    assert decode_stored(body) == event  # what is stored replays (restart, refold) the same


def test_an_ignored_event_type_is_cut_and_a_missing_one_named() -> None:
    raw = msgspec.json.encode({"events": [{"xdm": {"eventType": "x" * 500}}, {"xdm": {}}]})
    assert split_interact(raw).ignored == [(0, "x" * 100), (1, "(none)")]


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        (b"{", "$"),
        (b"[1]", "$"),
        (b'{"events": {}}', "$.events"),
        (b'{"events": [1]}', "$.events[0].xdm"),
        (b'{"events": [{"xdm": []}]}', "$.events[0].xdm"),
        (b"[" * 100_000, "$"),
    ],
)
def test_a_body_that_is_not_an_interact_request_is_refused(raw: bytes, path: str) -> None:
    with pytest.raises(InvalidBody) as caught:
        split_interact(raw)
    assert caught.value.errors[0].path == path


def test_errors_point_back_into_the_interact_body() -> None:
    errors = [FieldError("$.events[0].xdm.timestamp", "bad"), FieldError("$", "other")]
    assert at_index(errors, 0) == errors
    assert at_index(errors, 3) == [
        FieldError("$.events[3].xdm.timestamp", "bad"),
        FieldError("$", "other"),
    ]
