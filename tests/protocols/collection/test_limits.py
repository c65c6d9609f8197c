"""The limits of what one event may carry: every value the database could not store, or that
would let one session grow without bound, is a 400 naming the field (operations: Limits)."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from playhead.errors import MAX_PROBLEMS, InvalidBody
from playhead.protocols.collection.decode import decode_batch, decode_event
from tests.helpers import TS0, ev, start_body


def errors_of(raw: bytes) -> list[tuple[str, str]]:
    with pytest.raises(InvalidBody) as info:
        decode_event(raw)
    return [(e.path, e.problem) for e in info.value.errors]


def encode(body: Any) -> bytes:
    return json.dumps(body).encode()


OUT_OF_RANGE = "out of range (a finite number within ±2^53)"


@pytest.mark.parametrize(
    ("event", "path"),
    [
        (ev("adBreakStart", TS0, params={"media.ad.podIndex": 2**63, "media.ad.podSecond": 0}),
         '$.params["media.ad.podIndex"]'),
        (ev("chapterStart", TS0, params={"media.chapter.index": -(2**64),
            "media.chapter.offset": 0, "media.chapter.length": 1}),
         '$.params["media.chapter.index"]'),
        (ev("ping", TS0, qoeData={"media.qoe.droppedFrames": 2**53 + 1}),
         '$.qoeData["media.qoe.droppedFrames"]'),
        (ev("ping", TS0, qoeData={"media.qoe.bitrate": 1e308}), '$.qoeData["media.qoe.bitrate"]'),
        (ev("ping", TS0, params={"media.qoe.bitrate": 10**400}),
         '$.params["media.qoe.bitrate"]'),
    ],
)  # fmt: skip
def test_numbers_beyond_2_53_are_refused(event: dict[str, Any], path: str) -> None:
    assert errors_of(encode(event)) == [(path, OUT_OF_RANGE)]


def test_numbers_at_the_limit_are_accepted() -> None:
    event = decode_event(encode(ev("ping", TS0, qoeData={"media.qoe.droppedFrames": 2**53})))
    assert event.qoe is not None and event.qoe.dropped_frames == 2**53


def test_playhead_must_be_finite_and_bounded() -> None:
    raw = encode(ev("ping", TS0, 1e300))
    assert errors_of(raw) == [("$.playerTime.playhead", "must be a finite number within ±2^53")]


def test_huge_ts_integer_is_refused_not_a_crash() -> None:
    raw = b'{"playerTime":{"playhead":0,"ts":1' + b"0" * 400 + b'},"eventType":"ping"}'
    assert errors_of(raw) == [("$.playerTime.ts", "out of range for epoch milliseconds")]


@pytest.mark.parametrize(
    ("event", "path"),
    [
        (start_body(**{"media.name": "a\x00b"}), '$.params["media.name"]'),
        (ev("error", TS0, params={"media.errorId": "\x00"}), '$.params["media.errorId"]'),
        (ev("error", TS0, qoeData={"media.qoe.errorID": "x\x00"}),
         '$.qoeData["media.qoe.errorID"]'),
        (ev("stateStart", TS0, params={"media.state.name": "\x00"}),
         '$.params["media.state.name"]'),
        (start_body() | {"customMetadata": {"k": "v\x00"}}, '$.customMetadata["k"]'),
    ],
)  # fmt: skip
def test_nul_characters_are_refused(event: dict[str, Any], path: str) -> None:
    assert errors_of(encode(event)) == [(path, "contains a NUL character")]


def test_strings_over_1024_characters_are_refused() -> None:
    assert errors_of(encode(start_body(**{"media.show": "s" * 1025}))) == [
        ('$.params["media.show"]', "longer than 1024 characters")
    ]
    assert decode_event(encode(start_body(**{"media.show": "é" * 1024}))).params["media.show"]


def test_custom_metadata_is_capped_at_100_keys() -> None:
    ok = start_body() | {"customMetadata": {f"k{i}": "v" for i in range(100)}}
    assert len(decode_event(encode(ok)).custom_metadata) == 100
    too_many = start_body() | {"customMetadata": {f"k{i}": "v" for i in range(101)}}
    assert errors_of(encode(too_many)) == [("$.customMetadata", "more than 100 keys")]


def test_a_huge_unknown_key_is_not_echoed_whole() -> None:
    key = "x" * 60_000
    [(path, problem)] = errors_of(encode(ev("ping", TS0, params={key: 1})))
    assert problem == "unknown parameter for ping"
    assert len(path) < 1100 and path.endswith('…"]')


def test_deep_nesting_is_a_400() -> None:
    raw = b'{"playerTime":{"playhead":0,"ts":1},"eventType":"ping","params":{"a":'
    raw += b"[" * 5000 + b"]" * 5000 + b"}}"
    assert errors_of(raw) == [("$", "malformed JSON: nested too deeply")]


def test_deep_nesting_in_a_batch_is_a_400() -> None:
    with pytest.raises(InvalidBody) as info:
        decode_batch(b"[" * 5000 + b"]" * 5000)
    assert [(e.path, e.problem) for e in info.value.errors] == [
        ("$", "malformed JSON: nested too deeply")
    ]


def test_a_huge_invalid_batch_lists_100_problems_and_counts_the_rest() -> None:
    items = [start_body()] + [ev("ping", TS0 + i, params={"bad": 1}) for i in range(5000)]
    with pytest.raises(InvalidBody) as info:
        decode_batch(encode(items))
    assert len(info.value.errors) == MAX_PROBLEMS
    assert info.value.omitted == 4900
    body = msgspec.json.decode(info.value.body())
    assert len(body["errors"]) == MAX_PROBLEMS + 1
    assert body["errors"][-1] == {"path": "$", "problem": "4900 more problems not listed"}
    assert body["errors"][0] == {
        "path": '$[1].params["bad"]',
        "problem": "unknown parameter for ping",
    }


def test_a_huge_untyped_invalid_batch_is_bounded_too() -> None:
    items = [start_body()] + [{"eventType": "ping", "junk": i} for i in range(3000)]
    with pytest.raises(InvalidBody) as info:
        decode_batch(encode(items))
    assert len(info.value.errors) == MAX_PROBLEMS
    # each junk item has two problems: the unknown member and the missing playerTime
    assert info.value.omitted == 2 * 3000 - MAX_PROBLEMS
