"""decode_event / decode_batch: every event type, every standard param, rule 5 variants (pure)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from playhead.errors import InvalidBody
from playhead.events import (
    AD_BREAK_PARAMS,
    AD_PARAMS,
    CHAPTER_PARAMS,
    EVENT_TYPES,
    SESSION_PARAMS,
    Event,
    Qoe,
)
from playhead.protocols.collection.constants import REQUIRED_PARAMS
from playhead.protocols.collection.decode import decode_batch, decode_event
from tests.helpers import START_PARAMS, TS0, ev, start_body


def enc(body: Any) -> bytes:
    return json.dumps(body).encode()


def decode(body: Any, **kw: Any) -> Event:
    return decode_event(enc(body), **kw)


def errors_of(
    body: Any, *, raw: bool = False, batch: bool = False, **kw: Any
) -> list[tuple[str, str]]:
    data = body if raw else enc(body)
    with pytest.raises(InvalidBody) as info:
        (decode_batch if batch else decode_event)(data, **kw)
    assert info.value.status == 400
    assert info.value.errors, "an InvalidBody must name at least one field"
    return [(e.path, e.problem) for e in info.value.errors]


def paths_of(body: Any, **kw: Any) -> list[str]:
    return [p for p, _ in errors_of(body, **kw)]


def p(key: str, member: str = "params") -> str:
    return f'$.{member}["{key}"]'


# Minimal valid params of each event type (None: the event needs none).
MINIMAL_PARAMS: dict[str, dict[str, Any] | None] = {
    "sessionStart": dict(START_PARAMS),
    "adBreakStart": {"media.ad.podIndex": 1, "media.ad.podSecond": 0.0},
    "adStart": {
        "media.ad.id": "ad-1",
        "media.ad.length": 15,
        "media.ad.podPosition": 1,
        "media.ad.playerName": "p",
    },
    "chapterStart": {
        "media.chapter.index": 1,
        "media.chapter.offset": 0,
        "media.chapter.length": 60,
    },
    "stateStart": {"media.state.name": "mute"},
    "stateEnd": {"media.state.name": "mute"},
    "statesUpdate": {"statesStart": [{"media.state.name": "mute"}]},
}
NO_PARAM_TYPES = [t for t in EVENT_TYPES if t not in MINIMAL_PARAMS and t != "error"]


def minimal(event_type: str, ts: int = TS0 + 1000, playhead: float = 3.5) -> dict[str, Any]:
    params = MINIMAL_PARAMS.get(event_type)
    body = ev(event_type, ts, playhead)
    if params is not None:
        body["params"] = dict(params)
    return body


def test_there_are_twenty_event_types() -> None:
    assert len(EVENT_TYPES) == 20
    assert set(MINIMAL_PARAMS) | set(NO_PARAM_TYPES) | {"error"} == set(EVENT_TYPES)


# ---------------------------------------------------------------- every event type: valid
@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_minimal_body_of_every_type_decodes(event_type: str) -> None:
    event = decode(minimal(event_type))
    assert event.type == event_type
    assert event.ts == TS0 + 1000
    assert isinstance(event.ts, int)
    assert event.playhead == 3.5
    assert event.custom_metadata == {}
    assert event.qoe is None
    assert event.error_id is None and event.error_source is None


@pytest.mark.parametrize("event_type", ["sessionStart", "adBreakStart", "adStart", "chapterStart"])
def test_params_of_standard_events_are_kept(event_type: str) -> None:
    assert decode(minimal(event_type)).params == MINIMAL_PARAMS[event_type]


def test_state_events_normalise_to_state_lists() -> None:
    start = decode(minimal("stateStart"))
    assert (start.states_start, start.states_end, start.params) == (("mute",), (), {})
    end = decode(minimal("stateEnd"))
    assert (end.states_start, end.states_end, end.params) == ((), ("mute",), {})


def test_states_update_lists() -> None:
    body = ev(
        "statesUpdate",
        TS0,
        1,
        params={
            "statesStart": [{"media.state.name": "fullScreen"}, {"media.state.name": "mute"}],
            "statesEnd": [{"media.state.name": "inFocus"}],
        },
    )
    event = decode(body)
    assert event.states_start == ("fullScreen", "mute")
    assert event.states_end == ("inFocus",)
    assert event.params == {}
    only_end = decode(ev("statesUpdate", TS0, 1, params={"statesEnd": [{"media.state.name": "x"}]}))
    assert (only_end.states_start, only_end.states_end) == ((), ("x",))


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({}, "$.params"),
        ({"statesStart": "mute"}, p("statesStart")),
        ({"statesStart": [{"name": "mute"}]}, p("statesStart") + "[0]"),
        ({"statesEnd": [{"media.state.name": ""}]}, p("statesEnd") + "[0]"),
        (
            {"statesEnd": [{"media.state.name": "a"}, {"media.state.name": 3}]},
            p("statesEnd") + "[1]",
        ),
    ],
)
def test_states_update_invalid(params: dict[str, Any], path: str) -> None:
    paths = paths_of(ev("statesUpdate", TS0, 1, params=params))
    assert paths[0] == path
    # a list whose every item is bad may also add the "needs statesStart or statesEnd" note
    assert set(paths[1:]) <= {"$.params"}


def test_states_update_without_params_is_refused() -> None:
    assert paths_of(ev("statesUpdate", TS0, 1)) == ["$.params"]


def test_error_event_minimal() -> None:
    event = decode(ev("error", TS0, 2))
    assert (event.type, event.error_id, event.error_source) == ("error", None, None)


# ---------------------------------------------------------------- every event type: invalid
@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_unknown_params_key_is_named(event_type: str) -> None:
    body = minimal(event_type)
    body.setdefault("params", {})["media.bogus"] = "x"
    assert errors_of(body) == [(p("media.bogus"), f"unknown parameter for {event_type}")]


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_wrong_qoe_type_is_named(event_type: str) -> None:
    body = minimal(event_type)
    body["qoeData"] = {"media.qoe.bitrate": "fast"}
    assert errors_of(body) == [
        (p("media.qoe.bitrate", "qoeData"), "expected a number, got a string")
    ]


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_wrong_playhead_type_is_named(event_type: str) -> None:
    body = minimal(event_type)
    body["playerTime"]["playhead"] = "3"
    assert paths_of(body) == ["$.playerTime.playhead"]


REQUIRED_CASES = [(t, k) for t, keys in REQUIRED_PARAMS.items() for k in keys]


@pytest.mark.parametrize(("event_type", "key"), REQUIRED_CASES)
def test_missing_required_param_is_named(event_type: str, key: str) -> None:
    body = minimal(event_type)
    del body["params"][key]
    if key in (
        "analytics.trackingServer",
        "analytics.reportSuite",
        "visitor.marketingCloudOrgId",
        "media.channel",
        "media.playerName",
        "media.ad.playerName",
    ):
        assert decode(body).type == event_type  # lenient (rule 5)
        assert errors_of(body, strict=True) == [(p(key), f"required for {event_type}")]
    else:
        assert errors_of(body) == [(p(key), f"required for {event_type}")]


@pytest.mark.parametrize(("event_type", "key"), REQUIRED_CASES)
def test_required_param_of_wrong_type_is_named(event_type: str, key: str) -> None:
    body = minimal(event_type)
    value = body["params"][key]
    body["params"][key] = True if isinstance(value, str) else "1"
    want = "a string" if isinstance(value, str) else "a number"
    got = "a boolean" if isinstance(value, str) else "a string"
    assert errors_of(body) == [(p(key), f"expected {want}, got {got}")]


@pytest.mark.parametrize(
    "event_type",
    ["sessionStart", "adBreakStart", "adStart", "chapterStart", "stateStart", "stateEnd"],
)
def test_missing_params_member_names_required_keys(event_type: str) -> None:
    body = minimal(event_type)
    del body["params"]
    paths = paths_of(body, strict=True)
    if event_type == "sessionStart":
        assert paths[0] == "$.params"
    assert {x for x in paths if x != "$.params"} == {p(k) for k in REQUIRED_PARAMS[event_type]}


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_unknown_top_level_member_is_named(event_type: str) -> None:
    body = minimal(event_type)
    body["extra"] = 1
    assert errors_of(body) == [("$.extra", "unknown member")]


# ---------------------------------------------------------------- every standard param
def _good(kind: str) -> Any:
    return {
        "string": "v",
        "number": 12.5,
        "integer": 3,
        "boolean": True,
        "customerIDs": {"crm": {"id": "u1", "authState": 1}},
    }[kind]


def _bad(kind: str) -> tuple[Any, str]:
    return {
        "string": (5, "expected a string, got a number"),
        "number": ("5", "expected a number, got a string"),
        "integer": ("5", "expected a number, got a string"),
        "boolean": ("false", "expected a boolean, got a string"),
        "customerIDs": ([1], "expected an object, got an array"),
    }[kind]


PARAM_CASES = (
    [("sessionStart", k, t) for k, t in SESSION_PARAMS.items()]
    + [("adStart", k, t) for k, t in AD_PARAMS.items()]
    + [("adBreakStart", k, t) for k, t in AD_BREAK_PARAMS.items()]
    + [("chapterStart", k, t) for k, t in CHAPTER_PARAMS.items()]
)


@pytest.mark.parametrize(("event_type", "key", "kind"), PARAM_CASES)
def test_standard_param_of_its_type_is_accepted(event_type: str, key: str, kind: str) -> None:
    body = minimal(event_type)
    if key == "media.downloaded":
        value: Any = False
    else:
        value = _good(kind)
    body["params"][key] = value
    assert decode(body).params[key] == value


@pytest.mark.parametrize(("event_type", "key", "kind"), PARAM_CASES)
def test_standard_param_of_wrong_type_is_refused(event_type: str, key: str, kind: str) -> None:
    body = minimal(event_type)
    value, problem = _bad(kind)
    body["params"][key] = value
    assert errors_of(body) == [(p(key), problem)]


def test_boolean_is_not_a_number() -> None:
    body = minimal("sessionStart")
    body["params"]["media.length"] = True
    assert errors_of(body) == [(p("media.length"), "expected a number, got a boolean")]


@pytest.mark.parametrize(
    "value",
    [
        {"crm": "u1"},
        {"crm": {"id": 1}},
        {"crm": {"id": "u", "authState": "1"}},
        {"crm": {"id": "u", "authState": True}},
        {"crm": {"id": "u", "other": 1}},
    ],
)
def test_customer_ids_entries_checked(value: Any) -> None:
    body = minimal("sessionStart")
    body["params"]["visitor.customerIDs"] = value
    assert paths_of(body) == [p("visitor.customerIDs")]


# ---------------------------------------------------------------- rule 5 variants
QOE_FULL = {
    "media.qoe.bitrate": 3000,
    "media.qoe.droppedFrames": 4,
    "media.qoe.framesPerSecond": 25,
    "media.qoe.timeToStart": 1200,
}
QOE_EXPECTED = Qoe(bitrate=3000.0, dropped_frames=4.0, fps=25.0, time_to_start=1200.0)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_qoe_in_qoe_data_on_every_event(event_type: str) -> None:
    body = minimal(event_type)
    body["qoeData"] = dict(QOE_FULL)
    assert decode(body).qoe == QOE_EXPECTED


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_qoe_in_params_on_every_event(event_type: str) -> None:
    body = minimal(event_type)
    body.setdefault("params", {}).update(QOE_FULL)
    event = decode(body)
    assert event.qoe == QOE_EXPECTED
    assert not any(k.startswith("media.qoe.") for k in event.params)


def test_partial_qoe_leaves_others_none() -> None:
    event = decode(ev("bitrateChange", TS0, 1, qoeData={"media.qoe.bitrate": 512.5}))
    assert event.qoe == Qoe(bitrate=512.5)


def test_bitrate_change_qoe_key_is_accepted_and_ignored() -> None:
    assert decode(ev("ping", TS0, 1, qoeData={"media.qoe.bitrateChange": 1})).qoe is None
    assert decode(ev("ping", TS0, 1, params={"media.qoe.bitrateChange": 2})).qoe is None
    assert paths_of(ev("ping", TS0, 1, qoeData={"media.qoe.bitrateChange": "x"})) == [
        p("media.qoe.bitrateChange", "qoeData")
    ]


def test_unknown_qoe_key_is_named() -> None:
    assert errors_of(ev("ping", TS0, 1, qoeData={"media.qoe.nope": 1})) == [
        (p("media.qoe.nope", "qoeData"), "unknown QoE key")
    ]


@pytest.mark.parametrize(
    ("members", "error_id", "source"),
    [
        (
            {"qoeData": {"media.qoe.errorID": "E1", "media.qoe.errorSource": "player"}},
            "E1",
            "player",
        ),
        (
            {"qoeData": {"media.qoe.errorID": "E1", "media.qoe.errorSource": "external"}},
            "E1",
            "external",
        ),
        ({"params": {"media.errorId": "E2", "media.errorSource": "external"}}, "E2", "external"),
        ({"params": {"media.errorId": "E2", "media.errorSource": "player"}}, "E2", "player"),
        ({"params": {"media.errorId": "E3", "media.errorSource": "cdn"}}, "E3", "player"),
        (
            {"qoeData": {"media.qoe.errorID": "E4", "media.qoe.errorSource": "whatever"}},
            "E4",
            "player",
        ),
        (
            {"params": {"media.qoe.errorID": "E5", "media.qoe.errorSource": "external"}},
            "E5",
            "external",
        ),
        ({"params": {"media.errorSource": "external"}}, None, "external"),
        ({"params": {"media.errorId": "E6"}}, "E6", None),
    ],
)
def test_error_id_and_source_variants(
    members: dict[str, Any], error_id: str | None, source: str | None
) -> None:
    event = decode(ev("error", TS0, 2, **members))
    assert (event.error_id, event.error_source) == (error_id, source)


def test_error_params_are_not_allowed_on_other_events() -> None:
    assert paths_of(ev("play", TS0, 1, params={"media.errorId": "E"})) == [p("media.errorId")]


def test_error_ids_dropped_on_non_error_events() -> None:
    event = decode(
        ev("ping", TS0, 1, qoeData={"media.qoe.errorID": "E", "media.qoe.errorSource": "x"})
    )
    assert (event.error_id, event.error_source) == (None, None)


def test_error_id_of_wrong_type_is_named() -> None:
    assert paths_of(ev("error", TS0, 1, params={"media.errorId": 5})) == [p("media.errorId")]
    assert paths_of(ev("error", TS0, 1, qoeData={"media.qoe.errorID": 5})) == [
        p("media.qoe.errorID", "qoeData")
    ]


def test_pod_index_zero_is_accepted() -> None:
    body = minimal("adBreakStart")
    body["params"]["media.ad.podIndex"] = 0
    assert decode(body).params["media.ad.podIndex"] == 0


@pytest.mark.parametrize("content_type", ["vod", "VOD", "VoD", "Live", "linear", "podcast", "aod"])
def test_content_type_in_any_case(content_type: str) -> None:
    assert (
        decode(start_body(**{"media.contentType": content_type})).params["media.contentType"]
        == content_type
    )


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("media.ad.podIndex", 2.0),
        ("media.ad.podIndex", 2),
        ("media.ad.podSecond", 30),
        ("media.ad.podSecond", 30.25),
    ],
)
def test_numbers_where_integer_or_number(key: str, value: float) -> None:
    body = minimal("adBreakStart")
    body["params"][key] = value
    assert decode(body).params[key] == value


def test_float_qoe_integer_accepted() -> None:
    assert decode(ev("ping", TS0, 1, qoeData={"media.qoe.bitrate": 1500.5})).qoe == Qoe(
        bitrate=1500.5
    )


def test_float_and_integer_player_time() -> None:
    event = decode(ev("ping", TS0, 7))
    assert (event.ts, event.playhead) == (TS0, 7.0)
    event = decode({"playerTime": {"playhead": 7.25, "ts": float(TS0)}, "eventType": "ping"})
    assert (event.ts, event.playhead) == (TS0, 7.25)
    assert isinstance(event.ts, int)


@pytest.mark.parametrize("event_type", [t for t in EVENT_TYPES if t not in MINIMAL_PARAMS])
def test_empty_params_on_any_event(event_type: str) -> None:
    event = decode(ev(event_type, TS0, 1, params={}))
    assert (event.type, event.params) == (event_type, {})


@pytest.mark.parametrize(
    ("event_type", "key"),
    [
        ("sessionStart", "media.name"),
        ("sessionStart", "media.resume"),
        ("sessionStart", "visitor.customerIDs"),
        ("adStart", "media.ad.name"),
        ("adBreakStart", "media.ad.podFriendlyName"),
        ("chapterStart", "media.chapter.friendlyName"),
    ],
)
def test_null_optional_key_counts_as_absent(event_type: str, key: str) -> None:
    body = minimal(event_type)
    body["params"][key] = None
    event = decode(body)
    assert key not in event.params
    assert event.params == MINIMAL_PARAMS[event_type]


def test_null_qoe_key_counts_as_absent() -> None:
    event = decode(ev("ping", TS0, 1, qoeData={"media.qoe.bitrate": None, "media.qoe.fps": None}))
    assert event.qoe is None


def test_null_required_key_is_missing() -> None:
    assert errors_of(
        start_body(**{"media.id": None}) | {"params": {**START_PARAMS, "media.id": None}}
    ) == [(p("media.id"), "required for sessionStart")]


@pytest.mark.parametrize("event_type", ["sessionStart", "adStart", "chapterStart"])
def test_custom_metadata_allowed(event_type: str) -> None:
    body = minimal(event_type)
    body["customMetadata"] = {"show_id": "42", "a.b_c.9": "", "X": "y"}
    assert decode(body).custom_metadata == {"show_id": "42", "a.b_c.9": "", "X": "y"}


@pytest.mark.parametrize(
    "event_type", [t for t in EVENT_TYPES if t not in ("sessionStart", "adStart", "chapterStart")]
)
def test_custom_metadata_refused_elsewhere(event_type: str) -> None:
    body = minimal(event_type)
    body["customMetadata"] = {"k": "v"}
    assert errors_of(body) == [
        ("$.customMetadata", "allowed only on sessionStart, adStart and chapterStart")
    ]


@pytest.mark.parametrize("key", ["has space", "dash-key", "ümlaut", "", "a/b", "abc\n", "a$"])
def test_custom_metadata_key_pattern(key: str) -> None:
    body = start_body() | {"customMetadata": {key: "v"}}
    assert errors_of(body) == [(p(key, "customMetadata"), "key must match ^[a-zA-Z0-9_.]+$")]


@pytest.mark.parametrize(
    ("value", "got"), [(1, "a number"), (True, "a boolean"), ([], "an array"), ({}, "an object")]
)
def test_custom_metadata_values_are_strings(value: Any, got: str) -> None:
    body = start_body() | {"customMetadata": {"k": value}}
    assert errors_of(body) == [(p("k", "customMetadata"), f"expected a string, got {got}")]


LENIENT = [
    "analytics.trackingServer",
    "analytics.reportSuite",
    "visitor.marketingCloudOrgId",
    "media.channel",
    "media.playerName",
]


@pytest.mark.parametrize("key", LENIENT)
def test_lenient_session_keys(key: str) -> None:
    missing = start_body(**{key: None})
    assert key not in decode(missing).params
    nulled = start_body() | {"params": {**START_PARAMS, key: None}}
    assert key not in decode(nulled).params
    assert errors_of(missing, strict=True) == [(p(key), "required for sessionStart")]
    assert errors_of(nulled, strict=True) == [(p(key), "required for sessionStart")]


def test_all_lenient_session_keys_missing_at_once() -> None:
    body = start_body(**{k: None for k in LENIENT})
    assert decode(body).params == {
        "media.id": "test-1",
        "media.length": 120,
        "media.contentType": "VOD",
    }
    assert sorted(paths_of(body, strict=True)) == sorted(p(k) for k in LENIENT)


def test_lenient_ad_player_name() -> None:
    body = minimal("adStart")
    del body["params"]["media.ad.playerName"]
    assert decode(body).params == {
        "media.ad.id": "ad-1",
        "media.ad.length": 15,
        "media.ad.podPosition": 1,
    }
    assert errors_of(body, strict=True) == [(p("media.ad.playerName"), "required for adStart")]


def test_lenient_keys_still_type_checked() -> None:
    assert paths_of(start_body(**{"media.channel": 7})) == [p("media.channel")]


def test_downloaded_flag_decodes_either_way() -> None:
    # the live/batch decision is the collector's; the decoder keeps the flag
    assert decode(start_body(**{"media.downloaded": True})).params["media.downloaded"] is True
    assert decode(start_body(**{"media.downloaded": False})).params["media.downloaded"] is False


# ---------------------------------------------------------------- envelope and malformed JSON
@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b"not json", b'{"eventType": "play",}', b"\xff\xfe\x00", b'{"a":1} trailing'],
)
def test_malformed_json_is_one_error_at_root(raw: bytes) -> None:
    errors = errors_of(raw, raw=True)
    assert len(errors) == 1
    assert errors[0][0] == "$"
    assert errors[0][1].startswith("malformed JSON")


@pytest.mark.parametrize(
    ("raw", "got"),
    [
        (b"[]", "an array"),
        (b"1", "a number"),
        (b'"x"', "a string"),
        (b"null", "null"),
        (b"true", "a boolean"),
    ],
)
def test_non_object_body(raw: bytes, got: str) -> None:
    assert errors_of(raw, raw=True) == [("$", f"expected an event object, got {got}")]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"eventType": "play"}, [("$.playerTime", "required")]),
        ({"playerTime": {"playhead": 0}, "eventType": "play"}, [("$.playerTime.ts", "required")]),
        ({"playerTime": {"ts": 1}, "eventType": "play"}, [("$.playerTime.playhead", "required")]),
        (
            {"playerTime": {"ts": 1, "playhead": 0, "x": 1}, "eventType": "play"},
            [("$.playerTime.x", "unknown member")],
        ),
        (
            {"playerTime": [], "eventType": "play"},
            [("$.playerTime", "expected an object, got an array")],
        ),
        (
            {"playerTime": {"ts": "1", "playhead": 0}, "eventType": "play"},
            [("$.playerTime.ts", "expected an integer, got a string")],
        ),
        ({"playerTime": {"ts": 1, "playhead": 0}}, [("$.eventType", "required")]),
        (
            {"playerTime": {"ts": 1, "playhead": 0}, "eventType": "pause"},
            [("$.eventType", "unknown event type 'pause'")],
        ),
        (
            {"playerTime": {"ts": 1, "playhead": 0}, "eventType": 3},
            [("$.eventType", "expected a string, got a number")],
        ),
        (
            {"playerTime": {"ts": 1, "playhead": 0}, "eventType": "play", "params": []},
            [("$.params", "expected an object, got an array")],
        ),
        (
            {"playerTime": {"ts": 1, "playhead": 0}, "eventType": "play", "qoeData": "x"},
            [("$.qoeData", "expected an object, got a string")],
        ),
    ],
)
def test_envelope_errors(body: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert errors_of(body) == expected


def test_several_bad_envelope_fields_all_named() -> None:
    body = {"playerTime": {"playhead": "0"}, "eventType": "nope", "foo": 1, "params": 3}
    assert sorted(paths_of(body)) == sorted(
        ["$.foo", "$.playerTime.ts", "$.playerTime.playhead", "$.eventType", "$.params"]
    )


def test_several_bad_params_all_named() -> None:
    body = start_body(**{"media.length": "60", "media.id": None, "analytics.enableSSL": "false"})
    body["params"]["bogus"] = 1
    body["qoeData"] = {"media.qoe.bitrate": "x"}
    body["customMetadata"] = {"bad key": "v", "n": 1}
    assert sorted(paths_of(body)) == sorted(
        [
            p("media.length"),
            p("media.id"),
            p("analytics.enableSSL"),
            p("bogus"),
            p("media.qoe.bitrate", "qoeData"),
            p("bad key", "customMetadata"),
            p("n", "customMetadata"),
        ]
    )


def test_envelope_and_member_errors_all_named() -> None:
    """Rule 4: every field that failed is named, also when the envelope has a problem too."""
    body = start_body(**{"media.length": "60"})
    body["params"]["bogus"] = 1
    body["extra"] = True
    assert sorted(paths_of(body)) == sorted(["$.extra", p("media.length"), p("bogus")])


def test_number_out_of_range_is_400() -> None:
    errors = errors_of(b'{"playerTime":{"playhead":0,"ts":1e400},"eventType":"play"}', raw=True)
    assert [e[0] for e in errors] == ["$"]


# ---------------------------------------------------------------- batches
def test_batch_decodes_in_order() -> None:
    events = decode_batch(enc([start_body(), ev("play", TS0 + 1, 0), ev("sessionEnd", TS0 + 9, 8)]))
    assert [(e.type, e.ts) for e in events] == [
        ("sessionStart", TS0),
        ("play", TS0 + 1),
        ("sessionEnd", TS0 + 9),
    ]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"[]", [("$", "a batch needs at least a sessionStart")]),
        (b"{}", [("$", "expected an array of events")]),
        (b"[", None),
    ],
)
def test_batch_root_errors(raw: bytes, expected: list[tuple[str, str]] | None) -> None:
    errors = errors_of(raw, raw=True, batch=True)
    if expected is None:
        assert (
            len(errors) == 1 and errors[0][0] == "$" and errors[0][1].startswith("malformed JSON")
        )
    else:
        assert errors == expected


def test_batch_member_errors_carry_index_prefix() -> None:
    batch = [
        start_body(**{"media.length": "x"}),
        ev("play", TS0 + 1, 0),
        ev("ping", TS0 + 2, 1, params={"bogus": 1}, qoeData={"media.qoe.bitrate": "x"}),
    ]
    assert errors_of(batch, batch=True) == [
        ('$[0].params["media.length"]', "expected a number, got a string"),
        ('$[2].params["bogus"]', "unknown parameter for ping"),
        ('$[2].qoeData["media.qoe.bitrate"]', "expected a number, got a string"),
    ]


def test_batch_envelope_errors_carry_index_prefix() -> None:
    batch = [start_body(), {"eventType": "play"}, ev("ping", TS0, 1) | {"x": 1}, 5]
    assert errors_of(batch, batch=True) == [
        ("$[1].playerTime", "required"),
        ("$[2].x", "unknown member"),
        ("$[3]", "expected an event object, got a number"),
    ]


def test_batch_lenient_and_strict() -> None:
    batch = [start_body(**{"media.channel": None}), ev("play", TS0 + 1, 0)]
    assert len(decode_batch(enc(batch))) == 2
    assert errors_of(batch, batch=True, strict=True) == [
        ('$[0].params["media.channel"]', "required for sessionStart")
    ]


def test_batch_envelope_and_member_errors_all_named() -> None:
    """Rule 4 for batches: an envelope problem in one element must not hide the others'."""
    batch = [start_body() | {"extra": 1}, ev("play", TS0 + 1, 0, params={"bogus": 1})]
    assert sorted(paths_of(batch, batch=True)) == ["$[0].extra", '$[1].params["bogus"]']


@pytest.mark.parametrize(
    "raw",
    [
        b'{"playerTime":{"playhead":0,"ts":1},"eventType":"pl\x80ay"}',
        b'{"playerTime":{"playhead":0,"ts":1},"eventType":"play","params":{"\xff":1}}',
        b'{"playerTime":{"playhead":0,"ts":1},"eventType":"sessionStart","params":{"media.id":"\xc3"}}',
    ],
)
def test_invalid_utf8_inside_json_is_invalid_body(raw: bytes) -> None:
    errors = errors_of(raw, raw=True)
    assert [e[0] for e in errors] == ["$"]
    with pytest.raises(InvalidBody):
        decode_batch(b"[" + raw + b"]")
