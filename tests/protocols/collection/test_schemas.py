"""The draft-04 schemas served per event type agree with what decode_event accepts (rule 8)."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from playhead.errors import InvalidBody
from playhead.events import EVENT_TYPES, LENIENT_PARAMS
from playhead.protocols.collection.constants import (
    CUSTOM_METADATA_EVENTS,
    QOE_PARAMS,
    REQUIRED_PARAMS,
    WIRE_PARAMS,
)
from playhead.protocols.collection.decode import decode_event
from playhead.protocols.collection.schemas import event_schema
from tests.helpers import TS0, ev
from tests.protocols.collection.test_decode import MINIMAL_PARAMS, minimal

DRAFT_04 = "http://json-schema.org/draft-04/schema#"


def accepted_by_decoder(body: Any, strict: bool = False) -> bool:
    try:
        decode_event(json.dumps(body).encode(), strict=strict)
    except InvalidBody:
        return False
    return True


# ---------------------------------------------------------------- structure
@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_schema_is_draft_04(event_type: str) -> None:
    schema = event_schema(event_type)
    assert schema["$schema"] == DRAFT_04
    assert schema["id"] == f"/api/v1/schemas/{event_type}"
    assert schema["type"] == "object"
    assert schema["$ref"] == f"#/definitions/{event_type}"
    body = schema["definitions"][event_type]
    assert body["additionalProperties"] is False
    assert body["properties"]["eventType"] == {"type": "string", "enum": [event_type]}
    assert body["required"][:2] == ["eventType", "playerTime"]
    player_time = schema["definitions"]["playerTime"]
    assert player_time["required"] == ["playhead", "ts"]
    assert player_time["additionalProperties"] is False


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_schema_params_match_tables(event_type: str) -> None:
    params = event_schema(event_type)["definitions"][event_type]["properties"]["params"]
    expected = set(WIRE_PARAMS.get(event_type, {})) | set(QOE_PARAMS)
    if event_type == "statesUpdate":
        expected |= {"statesStart", "statesEnd"}
    assert set(params["properties"]) == expected
    assert params["additionalProperties"] is False
    lenient = LENIENT_PARAMS.get(event_type, ())
    assert params.get("required", []) == [
        k for k in REQUIRED_PARAMS.get(event_type, ()) if k not in lenient
    ]
    strict = event_schema(event_type, strict=True)["definitions"][event_type]["properties"][
        "params"
    ]
    assert strict.get("required", []) == list(REQUIRED_PARAMS.get(event_type, ()))


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_custom_metadata_only_where_allowed(event_type: str) -> None:
    properties = event_schema(event_type)["definitions"][event_type]["properties"]
    if event_type in CUSTOM_METADATA_EVENTS:
        assert properties["customMetadata"] == {"$ref": "#/definitions/customMetadata"}
    else:
        # absent, or only a JSON null (which the decoder treats as absent)
        assert properties.get("customMetadata", {"type": "null"}) == {"type": "null"}


def test_unknown_type_raises_key_error() -> None:
    with pytest.raises(KeyError):
        event_schema("pause")


# ---------------------------------------------------------------- accept/reject agreement
def _cases(event_type: str) -> list[tuple[str, dict[str, Any]]]:
    """Bodies, valid and invalid, on which the schema and the decoder must agree."""
    base = minimal(event_type)
    cases: list[tuple[str, dict[str, Any]]] = [("minimal", base)]

    def variant(name: str, change: Any) -> None:
        body = copy.deepcopy(base)
        change(body)
        cases.append((name, body))

    variant("extra top-level", lambda b: b.update(extra=1))
    variant("playerTime extra", lambda b: b["playerTime"].update(x=1))
    variant("ts string", lambda b: b["playerTime"].update(ts="1"))
    variant("playhead missing", lambda b: b["playerTime"].pop("playhead"))
    variant("float ts", lambda b: b["playerTime"].update(ts=float(TS0)))
    variant("unknown param", lambda b: b.setdefault("params", {}).update({"media.bogus": 1}))
    variant("qoe in params", lambda b: b.setdefault("params", {}).update({"media.qoe.bitrate": 5}))
    variant("qoe wrong type", lambda b: b.update(qoeData={"media.qoe.bitrate": "5"}))
    variant("qoe unknown", lambda b: b.update(qoeData={"media.qoe.nope": 5}))
    variant("qoe null value", lambda b: b.update(qoeData={"media.qoe.bitrate": None}))
    variant("qoeData null", lambda b: b.update(qoeData=None))
    variant("customMetadata null", lambda b: b.update(customMetadata=None))
    variant("customMetadata", lambda b: b.update(customMetadata={"a_b.c": "v"}))
    variant("customMetadata bad key", lambda b: b.update(customMetadata={"a b": "v"}))
    variant("customMetadata newline key", lambda b: b.update(customMetadata={"ab\n": "v"}))
    variant("customMetadata number", lambda b: b.update(customMetadata={"a": 1}))
    variant("customMetadata NUL", lambda b: b.update(customMetadata={"a": "x\x00"}))
    variant("customMetadata long", lambda b: b.update(customMetadata={"a": "x" * 1025}))
    variant("customMetadata at limit", lambda b: b.update(customMetadata={"a": "x" * 1024}))
    variant("customMetadata long key", lambda b: b.update(customMetadata={"k" * 1025: "v"}))
    variant(
        "customMetadata 100 keys",
        lambda b: b.update(customMetadata={f"k{i}": "v" for i in range(100)}),
    )
    variant(
        "customMetadata 101 keys",
        lambda b: b.update(customMetadata={f"k{i}": "v" for i in range(101)}),
    )
    variant("qoe huge int", lambda b: b.update(qoeData={"media.qoe.bitrate": 2**53 + 1}))
    variant("qoe at limit", lambda b: b.update(qoeData={"media.qoe.bitrate": 2**53}))
    variant("qoe 1e308", lambda b: b.update(qoeData={"media.qoe.bitrate": 1e308}))
    variant("playhead 1e300", lambda b: b["playerTime"].update(playhead=1e300))
    if MINIMAL_PARAMS.get(event_type) is None:
        variant("params empty", lambda b: b.update(params={}))
        variant("params null", lambda b: b.update(params=None))
    for key, value in (MINIMAL_PARAMS.get(event_type) or {}).items():
        if key in ("statesStart", "statesEnd"):
            continue
        variant(f"missing {key}", lambda b, k=key: b["params"].pop(k))
        variant(f"null {key}", lambda b, k=key: b["params"].update({k: None}))
        wrong = 1 if isinstance(value, str) else "1"
        variant(f"wrong type {key}", lambda b, k=key, w=wrong: b["params"].update({k: w}))
        if isinstance(value, str):
            variant(f"NUL in {key}", lambda b, k=key: b["params"].update({k: "a\x00b"}))
            variant(f"long {key}", lambda b, k=key: b["params"].update({k: "a" * 1025}))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            variant(f"huge {key}", lambda b, k=key: b["params"].update({k: 10**20}))
    if event_type == "statesUpdate":
        variant("statesStart empty", lambda b: b["params"].update(statesStart=[]))
        variant(
            "statesStart null",
            lambda b: b["params"].update(statesStart=None, statesEnd=[{"media.state.name": "x"}]),
        )
        variant(
            "states 101 items",
            lambda b: b["params"].update(statesStart=[{"media.state.name": "x"}] * 101),
        )
        variant(
            "state name NUL",
            lambda b: b["params"].update(statesStart=[{"media.state.name": "x\x00"}]),
        )
        variant(
            "states item extra",
            lambda b: b["params"].update(statesStart=[{"media.state.name": "x", "y": 1}]),
        )
    return cases


AGREEMENT_CASES = [(t, name, body) for t in EVENT_TYPES for name, body in _cases(t)]
AGREEMENT_IDS = [f"{t}-{name}" for t, name, _ in AGREEMENT_CASES]


@pytest.mark.parametrize(("event_type", "name", "body"), AGREEMENT_CASES, ids=AGREEMENT_IDS)
@pytest.mark.parametrize("strict", [False, True])
def test_schema_and_decoder_agree(
    event_type: str, name: str, body: dict[str, Any], strict: bool
) -> None:
    jsonschema = pytest.importorskip(
        "jsonschema", reason="jsonschema is not installed in the venv: agreement check skipped"
    )
    validator = jsonschema.Draft4Validator(event_schema(event_type, strict=strict))
    schema_ok = validator.is_valid(body)
    assert schema_ok == accepted_by_decoder(body, strict=strict), (
        f"schema says {'valid' if schema_ok else 'invalid'}, decode_event disagrees"
    )


# A self-contained check of the same agreement for the draft-04 keywords the schemas use, so the
# property is tested even where jsonschema is not installed.
_KNOWN_KEYWORDS = {
    "$schema",
    "id",
    "title",
    "type",
    "$ref",
    "definitions",
    "properties",
    "required",
    "additionalProperties",
    "patternProperties",
    "items",
    "minLength",
    "maxLength",
    "pattern",
    "maxProperties",
    "maxItems",
    "anyOf",
    "enum",
    "minimum",
    "maximum",
}
_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _keywords(schema: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(schema, dict):
        for key, value in schema.items():
            found.add(key)
            if key in ("properties", "definitions", "patternProperties"):
                for sub in value.values():
                    found |= _keywords(sub)
            elif key in ("items", "additionalProperties") and isinstance(value, dict):
                found |= _keywords(value)
            elif key == "anyOf":
                for sub in value:
                    found |= _keywords(sub)
    return found


def _valid(schema: dict[str, Any], value: Any, root: dict[str, Any]) -> bool:
    if "$ref" in schema:
        target = root["definitions"][schema["$ref"].rsplit("/", 1)[1]]
        if not _valid(target, value, root):
            return False
    if "type" in schema:
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_TYPES[k](value) for k in kinds):
            return False
    if "enum" in schema and value not in schema["enum"]:
        return False
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get(
            "maxLength", len(value)
        ):
            return False
        if "pattern" in schema and not re.search(schema["pattern"].replace("$", r"\Z"), value):
            return False
    if isinstance(value, dict) and len(value) > schema.get("maxProperties", len(value)):
        return False
    if isinstance(value, list) and len(value) > schema.get("maxItems", len(value)):
        return False
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if number and "minimum" in schema and value < schema["minimum"]:
        return False
    if number and "maximum" in schema and value > schema["maximum"]:
        return False
    if "anyOf" in schema and not any(_valid(s, value, root) for s in schema["anyOf"]):
        return False
    items = schema.get("items")
    if isinstance(value, list) and items and not all(_valid(items, v, root) for v in value):
        return False
    if isinstance(value, dict):
        if any(k not in value for k in schema.get("required", [])):
            return False
        props = schema.get("properties", {})
        patterns = schema.get("patternProperties", {})
        for key, item in value.items():
            matched = False
            if key in props:
                matched = True
                if not _valid(props[key], item, root):
                    return False
            for pattern, sub in patterns.items():
                # ECMA-262 semantics: "$" matches only at the very end
                if re.search(pattern.replace("$", r"\Z"), key):
                    matched = True
                    if not _valid(sub, item, root):
                        return False
            if not matched:
                extra = schema.get("additionalProperties", True)
                if extra is False or (isinstance(extra, dict) and not _valid(extra, item, root)):
                    return False
    return True


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_schemas_use_only_known_keywords(event_type: str) -> None:
    assert _keywords(event_schema(event_type)) <= _KNOWN_KEYWORDS


@pytest.mark.parametrize(("event_type", "name", "body"), AGREEMENT_CASES, ids=AGREEMENT_IDS)
def test_schema_and_decoder_agree_builtin_checker(
    event_type: str, name: str, body: dict[str, Any]
) -> None:
    schema = event_schema(event_type)
    schema_ok = _valid(schema, body, schema)
    decoder_ok = accepted_by_decoder(body)
    assert schema_ok == decoder_ok, (
        f"{name}: schema says {'valid' if schema_ok else 'invalid'}, "
        f"decode_event says {'valid' if decoder_ok else 'invalid'}"
    )


def test_builtin_checker_sanity() -> None:
    schema = event_schema("sessionStart")
    assert _valid(schema, minimal("sessionStart"), schema)
    assert not _valid(schema, ev("sessionStart", TS0), schema)
    assert not _valid(schema, minimal("sessionStart") | {"x": 1}, schema)
