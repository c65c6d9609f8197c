"""Replay every scenario file through the pure fold and compare with its ``expect`` block."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import msgspec
import pytest

from playhead.engine import Lifecycle, Limits, SessionFold, fold
from tests.engine.scenario_events import load, scenario_files

FILES = scenario_files()


def _compare(actual: Any, expected: Any, path: str, out: list[str]) -> None:
    if isinstance(expected, dict):
        for key, value in expected.items():
            if key not in actual:
                out.append(f"{path}.{key} missing")
            else:
                _compare(actual[key], value, f"{path}.{key}", out)
    elif isinstance(expected, list):
        if len(actual) != len(expected):
            out.append(f"{path}: {len(actual)} items, expected {len(expected)}")
            return
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            _compare(a, e, f"{path}[{i}]", out)
    elif isinstance(expected, float):
        if (
            isinstance(actual, bool)
            or not isinstance(actual, (int, float))
            or abs(actual - expected) > 0.01
        ):
            out.append(f"{path}: {actual!r}, expected {expected!r}")
    elif type(actual) is not type(expected) or actual != expected:
        out.append(f"{path}: {actual!r}, expected {expected!r}")


def _lifecycle(expect: dict[str, Any]) -> Lifecycle:
    return Lifecycle(state=expect["state"], close_reason=expect["closeReason"], closed_ms=1)


def _report(path: Path, shuffle_seed: int | None) -> tuple[dict[str, Any], dict[str, Any]]:
    events, expect = load(path)
    rest = events[1:]
    if shuffle_seed is not None:
        # A true re-arrival: seq and receive time follow the shuffled order.
        random.Random(shuffle_seed).shuffle(rest)
    items = [(e, i + 1, 5000 + i) for i, e in enumerate(rest)]
    f = fold("sid", events[0], 5000, items, Limits())
    return msgspec.to_builtins(f.report(_lifecycle(expect))), expect


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_scenario_in_order_matches_expect(path: Path) -> None:
    report, expect = _report(path, None)
    mismatches: list[str] = []
    _compare(report, expect, "", mismatches)
    assert mismatches == []
    assert report["diagnostics"] == []


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_scenario_shuffled_gives_identical_report(path: Path, seed: int) -> None:
    in_order, _ = _report(path, None)
    shuffled, _ = _report(path, seed)
    assert shuffled == in_order


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_incremental_apply_is_byte_identical_to_fold(path: Path) -> None:
    events, expect = load(path)
    live = SessionFold.begin("sid", events[0], 5000, Limits())
    for i, e in enumerate(events[1:]):
        assert live.in_order(e, i + 1)
        live.apply(e, i + 1, 5000 + i)
    full = fold(
        "sid", events[0], 5000, [(e, i + 1, 5000 + i) for i, e in enumerate(events[1:])], Limits()
    )
    lifecycle = _lifecycle(expect)
    assert msgspec.json.encode(live.report(lifecycle)) == msgspec.json.encode(
        full.report(lifecycle)
    )


def test_there_are_five_scenarios() -> None:
    assert [p.stem for p in FILES] == [
        "buffer-and-pause-abandoned",
        "chapters-around-midroll",
        "downloaded-batch",
        "timeline-1-preroll-buffer-midroll-pause",
        "timeline-3-chapters",
    ]
