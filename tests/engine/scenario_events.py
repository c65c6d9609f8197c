"""Turn the scenario JSON files into engine events (a tiny stand-in for the protocol decoder)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playhead.events import Event, Qoe

SCENARIO_DIR = Path(__file__).resolve().parents[1] / "scenarios" / "data"
_QOE_KEYS = {
    "media.qoe.bitrate": "bitrate",
    "media.qoe.droppedFrames": "dropped_frames",
    "media.qoe.framesPerSecond": "fps",
    "media.qoe.timeToStart": "time_to_start",
}


def scenario_files() -> list[Path]:
    """Return every scenario file, sorted by name."""
    return sorted(SCENARIO_DIR.glob("*.json"))


def to_event(raw: dict[str, Any], base_ts: int) -> Event:
    """Build the normalised :class:`Event` of one scenario entry."""
    params = {k: v for k, v in raw.get("params", {}).items() if v is not None}
    qoe_raw = {**raw.get("qoeData", {})}
    for key in list(params):
        if key.startswith("media.qoe."):
            qoe_raw[key] = params.pop(key)
    error_id = qoe_raw.pop("media.qoe.errorID", None) or params.pop("media.errorId", None)
    error_source = qoe_raw.pop("media.qoe.errorSource", None) or params.pop(
        "media.errorSource", None
    )
    if error_source is not None and error_source != "external":
        error_source = "player"
    qoe_fields = {_QOE_KEYS[k]: v for k, v in qoe_raw.items() if k in _QOE_KEYS}
    states_start: tuple[str, ...] = ()
    states_end: tuple[str, ...] = ()
    etype = raw["eventType"]
    if etype == "stateStart":
        states_start = (params.pop("media.state.name"),)
    elif etype == "stateEnd":
        states_end = (params.pop("media.state.name"),)
    return Event(
        type=etype,
        ts=base_ts + round(raw["t"] * 1000),
        playhead=float(raw["playhead"]),
        params=params,
        custom_metadata=raw.get("customMetadata", {}),
        qoe=Qoe(**qoe_fields) if qoe_fields else None,
        error_id=error_id,
        error_source=error_source,
        states_start=states_start,
        states_end=states_end,
    )


def load(path: Path) -> tuple[list[Event], dict[str, Any]]:
    """Return a scenario's events (sessionStart first) and its ``expect`` block."""
    data = json.loads(path.read_text())
    base = int(data["baseTs"])
    return [to_event(e, base) for e in data["events"]], data["expect"]
