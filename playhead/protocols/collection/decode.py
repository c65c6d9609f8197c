"""Bytes → validated, normalised :class:`~playhead.events.Event`.

Two passes (decisions.md rules 2, 4, 5):

1. msgspec decodes the envelope into :class:`WireEvent` (types, unknown top-level members,
   the ``eventType`` enum) — the fast path every valid event takes.
2. :func:`check_members` validates ``params``, ``qoeData`` and ``customMetadata`` against the
   tables in :mod:`playhead.protocol.constants` and normalises the variants clients send.

When pass 1 fails, the body is decoded untyped and every envelope member is checked by hand so
that the 400 names *every* bad field, not just the first one msgspec met.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec

from playhead.errors import MAX_PROBLEMS, FieldError, InvalidBody
from playhead.events import (
    EVENT_TYPES,
    LENIENT_PARAMS,
    MAX_LIST_ITEMS,
    MAX_METADATA_KEYS,
    MAX_STRING_CHARS,
    NUMBER_LIMIT,
    VIEWER_PARAMS,
    Event,
    EventType,
    ParamType,
    Qoe,
)
from playhead.protocols.collection.constants import (
    CUSTOM_METADATA_EVENTS,
    CUSTOM_METADATA_KEY_PATTERN,
    ERROR_PARAMS,
    QOE_PARAMS,
    REQUIRED_PARAMS,
    STATES_UPDATE_KEYS,
    WIRE_PARAMS,
)


class PlayerTime(msgspec.Struct, forbid_unknown_fields=True):
    """``playerTime`` on the wire: playhead seconds and client epoch milliseconds."""

    playhead: float
    ts: int | float


class WireEvent(msgspec.Struct, forbid_unknown_fields=True):
    """One event body as it travels on the wire (the envelope of protocol.md §2.1)."""

    playerTime: PlayerTime  # noqa: N815 - wire name
    eventType: EventType  # noqa: N815 - wire name
    params: dict[str, Any] | None = None
    qoeData: dict[str, Any] | None = None  # noqa: N815 - wire name
    customMetadata: dict[str, Any] | None = None  # noqa: N815 - wire name


_event_decoder = msgspec.json.Decoder(WireEvent)
_batch_decoder = msgspec.json.Decoder(list[WireEvent])
_any_decoder = msgspec.json.Decoder()
_METADATA_KEY = re.compile(CUSTOM_METADATA_KEY_PATTERN)
_ENVELOPE = ("playerTime", "eventType", "params", "qoeData", "customMetadata")
_EMPTY: dict[str, Any] = {}
_NO_ERRORS: list[FieldError] = []  # shared, never appended to
_CANONICAL_KEYS = {key: key for table in WIRE_PARAMS.values() for key in table}


def param_path(key: str, member: str = "params") -> str:
    """JSONPath of one key inside ``params``/``qoeData``/``customMetadata`` (a key longer than
    the string limit is cut, so an error body never echoes a huge key)."""
    if len(key) > MAX_STRING_CHARS:
        key = key[:MAX_STRING_CHARS] + "…"
    return f'$.{member}["{key}"]'


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def string_problem(value: str) -> str | None:
    """``None`` when a string may be stored and kept, else the problem (length, NUL)."""
    if len(value) > MAX_STRING_CHARS:
        return f"longer than {MAX_STRING_CHARS} characters"
    if "\x00" in value:
        return "contains a NUL character"
    return None


def number_problem(value: int | float) -> str | None:
    """``None`` for a finite number within ±2**53, else the problem."""
    if value.__class__ is int:
        ok = -NUMBER_LIMIT <= value <= NUMBER_LIMIT
    else:
        ok = math.isfinite(value) and -NUMBER_LIMIT <= value <= NUMBER_LIMIT
    return None if ok else "out of range (a finite number within ±2^53)"


def _type_problem(expected: ParamType, value: Any) -> str | None:
    """``None`` when ``value`` has the JSON type ``expected`` and fits the limits, else the
    problem text."""
    if expected == "string":
        if isinstance(value, str):
            return string_problem(value)
        want = "a string"
    elif expected in ("number", "integer"):
        # rule 5: numbers are accepted where the protocol says number, integer or float
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return number_problem(value)
        want = "a number"
    elif expected == "boolean":
        if isinstance(value, bool):
            return None
        want = "a boolean"
    else:
        return _customer_ids_problem(value)
    return f"expected {want}, got {_json_type(value)}"


def _customer_ids_problem(value: Any) -> str | None:
    if not isinstance(value, dict):
        return f"expected an object, got {_json_type(value)}"
    if len(value) > MAX_LIST_ITEMS:
        return f"more than {MAX_LIST_ITEMS} entries"
    for id_type, entry in value.items():
        problem = string_problem(id_type)
        if problem:
            return f"entry name {problem}"
        if not isinstance(entry, dict):
            return f"entry {id_type!r}: expected an object, got {_json_type(entry)}"
        for key, item in entry.items():
            if key == "id":
                if not isinstance(item, str):
                    return f"entry {id_type!r}: id must be a string"
                problem = string_problem(item)
                if problem:
                    return f"entry {id_type!r}: id {problem}"
            elif key == "authState":
                if not isinstance(item, int) or isinstance(item, bool):
                    return f"entry {id_type!r}: authState must be an integer"
                if number_problem(item):
                    return f"entry {id_type!r}: authState out of range"
            else:
                return f"entry {id_type!r}: unknown member {key!r}"
    return None


def _states_list(value: Any, key: str, errors: list[FieldError], names: list[str]) -> None:
    """Validate one ``statesStart``/``statesEnd`` array, collecting its state names."""
    path = param_path(key)
    if not isinstance(value, list):
        errors.append(FieldError(path, f"expected an array, got {_json_type(value)}"))
        return
    if len(value) > MAX_LIST_ITEMS:
        errors.append(FieldError(path, f"more than {MAX_LIST_ITEMS} entries"))
        return
    for i, item in enumerate(value):
        item_path = f"{path}[{i}]"
        if not isinstance(item, dict) or set(item) != {"media.state.name"}:
            errors.append(FieldError(item_path, 'expected {"media.state.name": "<name>"}'))
        elif not isinstance(item["media.state.name"], str) or not item["media.state.name"]:
            errors.append(FieldError(item_path, "media.state.name must be a non-empty string"))
        elif problem := string_problem(item["media.state.name"]):
            errors.append(FieldError(item_path, f"media.state.name {problem}"))
        else:
            names.append(item["media.state.name"])


def params_have(params: dict[str, Any] | None, keys: tuple[str, ...]) -> bool:
    """True when ``params`` carries a non-null value for any of ``keys``."""
    return params is not None and any(params.get(k) is not None for k in keys)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def check_members(
    event_type: str,
    ts: int,
    playhead: float,
    params: dict[str, Any] | None,
    qoe_data: dict[str, Any] | None,
    custom_metadata: dict[str, Any] | None,
    *,
    strict: bool,
    errors: list[FieldError],
) -> Event | None:
    """Validate the members of one event and build its :class:`Event` (``None`` if invalid).

    Problems are appended to ``errors``; nothing is raised, so callers can report every field.
    """
    allowed = WIRE_PARAMS.get(event_type, _EMPTY)
    shared = event_type in CUSTOM_METADATA_EVENTS
    kept: dict[str, Any] = {}
    qoe_values: dict[str, Any] = {}
    states_start: list[str] = []
    states_end: list[str] = []
    error_id: Any = None
    error_source: Any = None

    if params:
        for key, value in params.items():
            if value is None:
                continue  # a JSON null counts as absent (rule 5)
            if key in allowed:
                problem = _type_problem(allowed[key], value)
                if problem:
                    errors.append(FieldError(param_path(key), problem))
                elif key in ERROR_PARAMS:
                    if key == "media.errorId":
                        error_id = value
                    else:
                        error_source = value
                else:
                    # one shared copy per process of each key and each descriptive value: live
                    # sessions of one app and title then share them (bench/memory.py)
                    if shared and value.__class__ is str and key not in VIEWER_PARAMS:
                        value = sys.intern(value)
                    kept[_CANONICAL_KEYS[key]] = value
            elif key in QOE_PARAMS:
                problem = _type_problem(QOE_PARAMS[key], value)
                if problem:
                    errors.append(FieldError(param_path(key), problem))
                else:
                    qoe_values[key] = value
            elif event_type == "statesUpdate" and key in STATES_UPDATE_KEYS:
                target = states_start if key == "statesStart" else states_end
                _states_list(value, key, errors, target)
            else:
                errors.append(FieldError(param_path(key), f"unknown parameter for {event_type}"))
    elif params is None and event_type == "sessionStart":
        errors.append(FieldError("$.params", "required for sessionStart"))
        params = _EMPTY

    lenient = () if strict else LENIENT_PARAMS.get(event_type, ())
    for key in REQUIRED_PARAMS.get(event_type, ()):
        if key not in kept and key not in lenient and (params is None or params.get(key) is None):
            errors.append(FieldError(param_path(key), f"required for {event_type}"))
    if event_type == "statesUpdate" and not params_have(params, STATES_UPDATE_KEYS):
        errors.append(FieldError("$.params", "statesUpdate needs statesStart or statesEnd"))

    if qoe_data:
        for key, value in qoe_data.items():
            if value is None:
                continue
            if key not in QOE_PARAMS:
                errors.append(FieldError(param_path(key, "qoeData"), "unknown QoE key"))
                continue
            problem = _type_problem(QOE_PARAMS[key], value)
            if problem:
                errors.append(FieldError(param_path(key, "qoeData"), problem))
            else:
                qoe_values[key] = value

    metadata: dict[str, str] = _EMPTY
    if custom_metadata is not None:
        if event_type not in CUSTOM_METADATA_EVENTS:
            errors.append(
                FieldError(
                    "$.customMetadata",
                    "allowed only on sessionStart, adStart and chapterStart",
                )
            )
        else:
            if len(custom_metadata) > MAX_METADATA_KEYS:
                errors.append(FieldError("$.customMetadata", f"more than {MAX_METADATA_KEYS} keys"))
            for key, value in custom_metadata.items():
                if len(key) > MAX_STRING_CHARS:
                    errors.append(
                        FieldError(
                            param_path(key, "customMetadata"),
                            f"key longer than {MAX_STRING_CHARS} characters",
                        )
                    )
                elif not _METADATA_KEY.fullmatch(key):
                    errors.append(
                        FieldError(
                            param_path(key, "customMetadata"), "key must match ^[a-zA-Z0-9_.]+$"
                        )
                    )
                elif not isinstance(value, str):
                    errors.append(
                        FieldError(
                            param_path(key, "customMetadata"),
                            f"expected a string, got {_json_type(value)}",
                        )
                    )
                elif problem := string_problem(value):
                    errors.append(FieldError(param_path(key, "customMetadata"), problem))
            if not errors:  # every key and value is a string now
                metadata = {sys.intern(k): sys.intern(v) for k, v in custom_metadata.items()}

    if errors:
        return None

    if event_type == "stateStart":
        states_start.append(kept.pop("media.state.name"))
    elif event_type == "stateEnd":
        states_end.append(kept.pop("media.state.name"))

    qoe = None
    if qoe_values:
        error_id = qoe_values.get("media.qoe.errorID", error_id)
        error_source = qoe_values.get("media.qoe.errorSource", error_source)
        if (
            "media.qoe.bitrate" in qoe_values
            or "media.qoe.droppedFrames" in qoe_values
            or "media.qoe.framesPerSecond" in qoe_values
            or "media.qoe.timeToStart" in qoe_values
        ):
            qoe = Qoe(
                bitrate=_number(qoe_values.get("media.qoe.bitrate")),
                dropped_frames=_number(qoe_values.get("media.qoe.droppedFrames")),
                fps=_number(qoe_values.get("media.qoe.framesPerSecond")),
                time_to_start=_number(qoe_values.get("media.qoe.timeToStart")),
            )
    if event_type != "error":
        error_id = error_source = None
    elif error_source is not None:
        # rule 5: an errorSource other than "external" counts as "player"
        error_source = "external" if error_source.lower() == "external" else "player"

    return Event(
        type=event_type,
        ts=ts,
        playhead=playhead,
        params=kept,
        custom_metadata=metadata,
        qoe=qoe,
        error_id=error_id,
        error_source=error_source,
        states_start=tuple(states_start),
        states_end=tuple(states_end),
        missing=tuple(k for k in lenient if k not in kept),
    )


# Event types valid with no params at all: the common, bare events take a shortcut.
_BARE_OK = frozenset(EVENT_TYPES) - set(REQUIRED_PARAMS) - {"sessionStart", "statesUpdate"}
# playerTime.ts is epoch milliseconds; beyond ±2**53 it is no time (nor exact in JavaScript),
# and it must fit the database's 64-bit integers
TS_LIMIT = 2**53
# msgspec reports bad UTF-8 inside strings as UnicodeDecodeError, not as DecodeError, and
# nesting deeper than the interpreter's recursion limit as RecursionError
_UNDECODABLE = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)


def _time_errors(ts: float, playhead: float, prefix: str) -> list[FieldError]:
    """Range problems of ``playerTime`` (its types are already right)."""
    errors = []
    if not (-TS_LIMIT < ts < TS_LIMIT):
        errors.append(FieldError(f"{prefix}.playerTime.ts", "out of range for epoch milliseconds"))
    if number_problem(playhead):
        errors.append(
            FieldError(f"{prefix}.playerTime.playhead", "must be a finite number within ±2^53")
        )
    return errors


def _from_wire(
    wire: WireEvent, strict: bool, prefix: str = "$"
) -> tuple[Event | None, list[FieldError]]:
    pt = wire.playerTime
    ts, playhead = pt.ts, pt.playhead
    if (
        not wire.params
        and wire.qoeData is None
        and wire.customMetadata is None
        and wire.eventType in _BARE_OK
        and type(ts) is int
        and -TS_LIMIT < ts < TS_LIMIT
        and -NUMBER_LIMIT <= playhead <= NUMBER_LIMIT  # also false for NaN
    ):
        return Event(wire.eventType, ts, playhead), _NO_ERRORS
    errors = _time_errors(ts, playhead, prefix)
    event = check_members(
        wire.eventType,
        int(ts) if not errors else 0,
        playhead,
        wire.params,
        wire.qoeData,
        wire.customMetadata,
        strict=strict,
        errors=errors,
    )
    if prefix != "$":
        errors = [
            e if e.path.startswith(prefix) else FieldError(prefix + e.path[1:], e.problem)
            for e in errors
        ]
    return (event if not errors else None), errors


def _item_errors(body: Any, prefix: str, strict: bool) -> list[FieldError]:
    """Every problem of one untyped event body: its envelope, then its members (slow path)."""
    if not isinstance(body, dict):
        return [FieldError(prefix, f"expected an event object, got {_json_type(body)}")]
    errors: list[FieldError] = []
    for key in body:
        if key not in _ENVELOPE:
            errors.append(FieldError(f"{prefix}.{key}", "unknown member"))
    pt = body.get("playerTime")
    times: dict[str, float] = {}
    if pt is None:
        errors.append(FieldError(f"{prefix}.playerTime", "required"))
    elif not isinstance(pt, dict):
        errors.append(
            FieldError(f"{prefix}.playerTime", f"expected an object, got {_json_type(pt)}")
        )
    else:
        for key in pt:
            if key not in ("playhead", "ts"):
                errors.append(FieldError(f"{prefix}.playerTime.{key}", "unknown member"))
        for key, want in (("playhead", "a number"), ("ts", "an integer")):
            value = pt.get(key)
            if value is None:
                errors.append(FieldError(f"{prefix}.playerTime.{key}", "required"))
            elif isinstance(value, bool) or not isinstance(value, (int, float)):
                errors.append(
                    FieldError(
                        f"{prefix}.playerTime.{key}", f"expected {want}, got {_json_type(value)}"
                    )
                )
            else:
                times[key] = value
        if len(times) == 2:
            errors += _time_errors(times["ts"], times["playhead"], prefix)
    et = body.get("eventType")
    if et is None:
        errors.append(FieldError(f"{prefix}.eventType", "required"))
    elif et not in EVENT_TYPES:
        errors.append(
            FieldError(
                f"{prefix}.eventType",
                f"unknown event type {et!r}"
                if isinstance(et, str)
                else f"expected a string, got {_json_type(et)}",
            )
        )
    members_ok = True
    for key in ("params", "qoeData", "customMetadata"):
        value = body.get(key)
        if value is not None and not isinstance(value, dict):
            members_ok = False
            errors.append(
                FieldError(f"{prefix}.{key}", f"expected an object, got {_json_type(value)}")
            )
    if members_ok and et in EVENT_TYPES:
        # the members are checked even when the envelope failed, so every bad field is named
        member_errors: list[FieldError] = []
        check_members(
            et,
            0,
            0.0,
            body.get("params"),
            body.get("qoeData"),
            body.get("customMetadata"),
            strict=strict,
            errors=member_errors,
        )
        errors += [FieldError(prefix + e.path[1:], e.problem) for e in member_errors]
    return errors


def _malformed(exc: Exception) -> InvalidBody:
    if isinstance(exc, RecursionError):
        return InvalidBody(errors=[FieldError("$", "malformed JSON: nested too deeply")])
    return InvalidBody(errors=[FieldError("$", f"malformed JSON: {exc}")])


def decode_event(raw: bytes, *, strict: bool = False) -> Event:
    """Decode and validate one event body; raise :class:`InvalidBody` naming every bad field."""
    try:
        wire = _event_decoder.decode(raw)
    except _UNDECODABLE:
        try:
            body = _any_decoder.decode(raw)
        except _UNDECODABLE as exc:
            raise _malformed(exc) from None
        errors = _item_errors(body, "$", strict)
        raise InvalidBody(errors=errors or [FieldError("$", "invalid event")]) from None
    event, errors = _from_wire(wire, strict)
    if event is None:
        raise InvalidBody(errors=errors)
    return event


def _bounded(groups: Iterable[list[FieldError]]) -> tuple[list[FieldError], int]:
    """The first :data:`MAX_PROBLEMS` problems of ``groups``, and how many more there were
    (so a huge invalid batch never builds a huge error body)."""
    kept: list[FieldError] = []
    omitted = 0
    for group in groups:
        room = MAX_PROBLEMS - len(kept)
        if room > 0:
            kept += group[:room]
        omitted += max(0, len(group) - room)
    return kept, omitted


def decode_batch(raw: bytes, *, strict: bool = False) -> list[Event]:
    """Decode a downloaded-content batch (a JSON array of events); all valid or InvalidBody."""
    try:
        wires = _batch_decoder.decode(raw)
    except _UNDECODABLE:
        try:
            body = _any_decoder.decode(raw)
        except _UNDECODABLE as exc:
            raise _malformed(exc) from None
        if not isinstance(body, list):
            raise InvalidBody(errors=[FieldError("$", "expected an array of events")]) from None
        kept, omitted = _bounded(
            _item_errors(item, f"$[{i}]", strict) for i, item in enumerate(body)
        )
        raise InvalidBody(
            errors=kept or [FieldError("$", "invalid batch")], omitted=omitted
        ) from None
    events: list[Event] = []

    def item_errors() -> Iterator[list[FieldError]]:
        for i, wire in enumerate(wires):
            event, errors = _from_wire(wire, strict, prefix=f"$[{i}]")
            if errors:
                yield errors
            elif event is not None:
                events.append(event)

    kept, omitted = _bounded(item_errors())
    if kept:
        raise InvalidBody(errors=kept, omitted=omitted)
    if not events:
        raise InvalidBody(errors=[FieldError("$", "a batch needs at least a sessionStart")])
    return events


def is_array(raw: bytes) -> bool:
    """True when the body's first non-blank character opens a JSON array."""
    return raw.lstrip()[:1] == b"["
