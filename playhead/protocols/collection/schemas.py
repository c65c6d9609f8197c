"""Draft-04 JSON Schemas of what the server accepts, one per event type (decisions.md rule 8).

Built from the same tables the validator reads (:mod:`playhead.protocol.constants`), so the
schema served at ``GET /api/v1/schemas/{eventType}`` and the validation cannot drift apart.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from playhead.events import (
    EVENT_TYPES,
    LENIENT_PARAMS,
    MAX_LIST_ITEMS,
    MAX_METADATA_KEYS,
    MAX_STRING_CHARS,
    NUMBER_LIMIT,
    ParamType,
)
from playhead.protocols.collection.constants import (
    CUSTOM_METADATA_EVENTS,
    CUSTOM_METADATA_KEY_PATTERN,
    QOE_PARAMS,
    REQUIRED_PARAMS,
    WIRE_PARAMS,
)
from playhead.protocols.collection.decode import TS_LIMIT

# The limits of every value (decode.string_problem, decode.number_problem)
_RANGE = {"minimum": -NUMBER_LIMIT, "maximum": NUMBER_LIMIT}
_NUMBER = {"type": "number", **_RANGE}
_TEXT = {"maxLength": MAX_STRING_CHARS, "pattern": "^[^\\u0000]*$"}
# "(?!\n)": Python's "$" also matches before a final newline, ECMA's does not; with it, both
# regex dialects refuse "key\n" as the decoder does. The length is the string limit.
_METADATA_KEY_PATTERN = (
    CUSTOM_METADATA_KEY_PATTERN.replace("]+$", f"]{{1,{MAX_STRING_CHARS}}}$") + "(?!\n)"
)


def _param_schema(kind: ParamType) -> dict[str, Any]:
    if kind in ("number", "integer"):
        # any JSON number is accepted where the protocol says integer (rule 5)
        return {"type": ["number", "null"], **_RANGE}
    if kind == "customerIDs":
        return {
            "type": ["object", "null"],
            "maxProperties": MAX_LIST_ITEMS,
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "id": {"type": "string", **_TEXT},
                    "authState": {"type": "integer", **_RANGE},
                },
                "additionalProperties": False,
            },
        }
    if kind == "string":
        return {"type": ["string", "null"], **_TEXT}
    return {"type": [kind, "null"]}


@cache
def event_schema(event_type: str, *, strict: bool = False) -> dict[str, Any]:
    """The draft-04 JSON Schema of one event type (``KeyError`` for an unknown type)."""
    if event_type not in EVENT_TYPES:
        raise KeyError(event_type)
    params: dict[str, Any] = {
        k: _param_schema(v) for k, v in WIRE_PARAMS.get(event_type, {}).items()
    }
    params.update({k: _param_schema(v) for k, v in QOE_PARAMS.items()})
    if event_type == "statesUpdate":
        item = {
            "type": "object",
            "properties": {"media.state.name": {"type": "string", "minLength": 1, **_TEXT}},
            "required": ["media.state.name"],
            "additionalProperties": False,
        }
        states = {"type": ["array", "null"], "items": item, "maxItems": MAX_LIST_ITEMS}
        params["statesStart"] = states
        params["statesEnd"] = states
    lenient = () if strict else LENIENT_PARAMS.get(event_type, ())
    required = [k for k in REQUIRED_PARAMS.get(event_type, ()) if k not in lenient]
    params_schema: dict[str, Any] = {
        "type": ["object", "null"] if not required and event_type != "sessionStart" else "object",
        "properties": params,
        "additionalProperties": False,
    }
    if required:
        params_schema["required"] = required
    for key in required:  # a JSON null counts as absent, so required keys take no null
        params[key] = {**params[key], "type": params[key]["type"][0]}
    if event_type == "statesUpdate":
        params_schema["anyOf"] = [
            {"required": [key], "properties": {key: {"type": "array"}}}
            for key in ("statesStart", "statesEnd")
        ]
    properties: dict[str, Any] = {
        "eventType": {"type": "string", "enum": [event_type]},
        "playerTime": {"$ref": "#/definitions/playerTime"},
        "params": params_schema,
        "qoeData": {"$ref": "#/definitions/qoeData"},
        # customMetadata is only allowed where CUSTOM_METADATA_EVENTS says; null is always absent
        "customMetadata": {"type": "null"},
    }
    top_required = ["eventType", "playerTime"]
    if event_type == "sessionStart" or required:
        top_required.append("params")
    if event_type in CUSTOM_METADATA_EVENTS:
        properties["customMetadata"] = {"$ref": "#/definitions/customMetadata"}
    return {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "id": f"/api/v1/schemas/{event_type}",
        "title": event_type,
        "type": "object",
        "$ref": f"#/definitions/{event_type}",
        "definitions": {
            "playerTime": {
                "type": "object",
                "properties": {
                    "playhead": _NUMBER,
                    "ts": {"type": "number", "minimum": 1 - TS_LIMIT, "maximum": TS_LIMIT - 1},
                },
                "required": ["playhead", "ts"],
                "additionalProperties": False,
            },
            "qoeData": {
                "type": ["object", "null"],
                "properties": {k: _param_schema(v) for k, v in QOE_PARAMS.items()},
                "additionalProperties": False,
            },
            "customMetadata": {
                "type": ["object", "null"],
                "maxProperties": MAX_METADATA_KEYS,
                "patternProperties": {_METADATA_KEY_PATTERN: {"type": "string", **_TEXT}},
                "additionalProperties": False,
            },
            event_type: {
                "type": "object",
                "properties": properties,
                "required": top_required,
                "additionalProperties": False,
            },
        },
    }
