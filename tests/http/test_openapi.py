"""The OpenAPI document at /openapi.json: valid, complete, and true to what the server answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from openapi_spec_validator import validate as validate_spec
from starlette.routing import Mount, Route

import playhead
from tests.helpers import TS0, ev, open_session, start_body
from tests.reports.audience import summarize

DOC_PATH = Path(playhead.__file__).parent / "openapi.json"
# The ingest APIs are bare ASGI in front of the Starlette routes (http/ingest.py).
COLLECTION = {
    ("/ee/va/v1/{eventName}", "post"),
    ("/ee/va/v1/{eventName}", "options"),
    ("/ee/va/v1/downloaded", "post"),
    ("/ee/va/v1/downloaded", "options"),
    ("/ee/va/v1/schemas/{eventName}", "get"),
    ("/ee/va/v1/schemas/{eventName}", "options"),
    ("/ee/v1/interact", "post"),
    ("/ee/v1/interact", "options"),
    ("/api/v1/sessions", "post"),
    ("/api/v1/sessions", "options"),
    ("/api/v1/sessions/{sid}/events", "post"),
    ("/api/v1/sessions/{sid}/events", "options"),
    ("/api/v1/downloaded", "post"),
    ("/api/v1/downloaded", "options"),
    ("/api/v1/schemas/{eventType}", "get"),
    ("/api/v1/schemas/{eventType}", "options"),
}
EXAMPLES = {"example", "examples"}  # literal values, not schemas: never resolved
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
CORS = {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": "OPTIONS,POST,PUT",
    "access-control-allow-headers": "Content-Type",
    "access-control-expose-headers": "Location",
    "access-control-max-age": "86400",
}


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return json.loads(DOC_PATH.read_text())


def validator(doc: dict[str, Any], name: str) -> jsonschema.Draft202012Validator:
    """A JSON Schema validator of ``components.schemas[name]``, its $refs resolved in ``doc``."""
    root = {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    jsonschema.Draft202012Validator.check_schema(root)
    return jsonschema.Draft202012Validator(root)


def resolve(doc: dict[str, Any], node: Any) -> Any:
    """``node`` with every local $ref replaced by its target (none is recursive)."""
    if isinstance(node, dict):
        if "$ref" in node:
            target: Any = doc
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            return resolve(doc, target)
        return {k: v if k in EXAMPLES else resolve(doc, v) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve(doc, v) for v in node]
    return node


def documented_operations(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, m) for path, item in doc["paths"].items() for m in item if m in METHODS}


# ---- the document itself


def test_served_and_valid(client: Any, doc: dict[str, Any]) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == doc
    validate_spec(response.json())
    assert doc["openapi"].startswith("3.1")


def test_every_route_documented_and_vice_versa(client: Any, doc: dict[str, Any]) -> None:
    routed = set(COLLECTION)
    for route in client.app.fallback.routes:
        if isinstance(route, Mount):
            routed.add((route.path + "/{path}", "get"))
        else:
            assert isinstance(route, Route)
            routed |= {(route.path, m.lower()) for m in route.methods or () if m != "HEAD"}
    assert documented_operations(doc) == routed


def test_collection_paths_documented_with_cors_headers(doc: dict[str, Any]) -> None:
    for path, method in COLLECTION:
        for status, response in doc["paths"][path][method]["responses"].items():
            headers = resolve(doc, response).get("headers", {})
            for name, value in CORS.items():
                documented = {k.lower(): v for k, v in headers.items()}[name]
                assert documented["required"] is True, (path, method, status, name)
                if path.startswith("/ee/") and name == "access-control-allow-origin":
                    # the Edge API gives a request's Origin back (credentialed CORS)
                    check = jsonschema.Draft202012Validator(documented["schema"])
                    assert check.is_valid(value) and check.is_valid("https://a.example")
                    assert {k.lower() for k in headers} >= {
                        "access-control-allow-credentials",
                        "vary",
                    }, (path, method, status)
                else:
                    assert documented["schema"]["enum"] == [value]
            if status == "201":
                assert "Location" in headers


def test_every_example_validates(doc: dict[str, Any]) -> None:
    for name, schema in doc["components"]["schemas"].items():
        if "example" in schema:
            validator(doc, name).validate(schema["example"])
    for item in doc["paths"].values():
        for method, op in item.items():
            if method not in METHODS:
                continue
            contents = [op.get("requestBody", {}).get("content", {})] + [
                resolve(doc, r).get("content", {}) for r in op["responses"].values()
            ]
            for content in contents:
                for media in content.values():
                    schema = resolve(doc, media.get("schema", {}))
                    examples = [media["example"]] if "example" in media else []
                    examples += [e["value"] for e in media.get("examples", {}).values()]
                    for example in examples:
                        jsonschema.Draft202012Validator(schema).validate(example)


def test_request_examples_are_accepted(client: Any, doc: dict[str, Any]) -> None:
    start = doc["paths"]["/api/v1/sessions"]["post"]["requestBody"]["content"]["application/json"]
    for example in start["examples"].values():
        response = client.post("/api/v1/sessions", json=example["value"])
        assert response.status_code == 201, response.text
    batch = doc["paths"]["/api/v1/downloaded"]["post"]["requestBody"]["content"]
    response = client.post("/api/v1/downloaded", json=batch["application/json"]["example"])
    assert response.status_code == 201, response.text
    sid = open_session(client)
    events = doc["paths"]["/api/v1/sessions/{sid}/events"]["post"]["requestBody"]["content"]
    for example in events["application/json"]["examples"].values():
        response = client.post(f"/api/v1/sessions/{sid}/events", json=example["value"])
        assert response.status_code == 204, response.text


def test_event_types_match_served_schemas(client: Any, doc: dict[str, Any]) -> None:
    for event_type in doc["components"]["schemas"]["EventType"]["enum"]:
        assert client.get(f"/api/v1/schemas/{event_type}").status_code == 200
    assert client.get("/api/v1/schemas/pause").status_code == 404


# ---- responses against the documented schemas


def full_session(client: Any) -> list[dict[str, Any]]:
    """A session with ads, chapters, states, QoE and errors; the report after each step."""
    sid = (
        client.post(
            "/api/v1/sessions",
            json=start_body(**{"media.length": 100}) | {"customMetadata": {"a": "b"}},
        )
        .headers["location"]
        .rsplit("/", 1)[1]
    )
    url = f"/api/v1/sessions/{sid}/events"
    reports = [client.get(f"/reports/sessions/{sid}").json()]
    ad_break = {"media.ad.podFriendlyName": "pre", "media.ad.podIndex": 0, "media.ad.podSecond": 0}
    ad = {"media.ad.id": "a1", "media.ad.length": 5, "media.ad.podPosition": 1}
    chapter = {"media.chapter.index": 1, "media.chapter.offset": 0, "media.chapter.length": 50}
    events = [
        ev("adBreakStart", TS0 + 100, 0, params=ad_break),
        ev("adStart", TS0 + 200, 0, params=ad | {"media.ad.playerName": "p"}),
        ev("play", TS0 + 300, 0, qoeData={"media.qoe.bitrate": 2500}),
        ev("adComplete", TS0 + 5300, 0),
        ev("adStart", TS0 + 5400, 0, params={**ad, "media.ad.id": "a2"}, customMetadata={"x": "y"}),
        ev("adSkip", TS0 + 6000, 0),
        ev("adBreakComplete", TS0 + 6100, 0),
        ev("chapterStart", TS0 + 6200, 0, params=chapter, customMetadata={"c": "d"}),
        ev("play", TS0 + 6300, 0),
        ev("stateStart", TS0 + 7000, 1, params={"media.state.name": "fullscreen"}),
        ev("ping", TS0 + 16000, 10),
        ev("bufferStart", TS0 + 17000, 11),
        ev("play", TS0 + 18000, 11),
        ev("error", TS0 + 19000, 12, qoeData={"media.qoe.errorID": "E1"}),
        ev(
            "error", TS0 + 19500, 12, params={"media.errorId": "X", "media.errorSource": "external"}
        ),
        ev("stateEnd", TS0 + 20000, 13, params={"media.state.name": "mute"}),
        ev("pauseStart", TS0 + 21000, 14),
        ev("adComplete", TS0 + 22000, 14),
        ev("play", TS0 + 23000, 14, qoeData={"media.qoe.droppedFrames": 3}),
        ev("chapterComplete", TS0 + 60000, 51),
        ev("sessionComplete", TS0 + 100000, 100),
    ]
    for event in events:
        response = client.post(url, json=event)
        assert response.status_code == 204, response.text
        reports.append(client.get(f"/reports/sessions/{sid}").json())
    assert client.post(url, json=ev("sessionEnd", TS0 + 101000, 100)).status_code == 204
    assert client.post(url, json=ev("ping", TS0 + 200000, 100)).status_code == 410
    reports.append(client.get(f"/reports/sessions/{sid}").json())
    return reports


def test_session_reports_match_schema(client: Any, doc: dict[str, Any]) -> None:
    check = validator(doc, "SessionReport")
    reports = full_session(client)
    for report in reports:
        check.validate(report)
    first, last = reports[0], reports[-1]
    assert first["state"] == "open" and first["closeReason"] is None
    assert first["qoeDataDetails"]["timeToStart"] is None
    assert first["qoeDataDetails"]["bitrateAverage"] is None
    assert last["state"] == "closed" and last["closeReason"] == "sessionEnd"
    assert len(last["ads"]) == 2 and len(last["chapters"]) == 1
    assert last["ads"][1]["podFriendlyName"] == "pre" and last["ads"][1]["name"] is None
    assert last["chapters"][0]["friendlyName"] is None
    assert [s["name"] for s in last["states"]] == ["fullScreen"]
    assert any(d["eventType"] is None for d in last["diagnostics"])
    assert last["qoeDataDetails"]["playerSdkErrors"] == ["E1"]
    assert last["qoeDataDetails"]["externalErrors"] == ["X"]
    assert last["qoeDataDetails"]["bitrateAverageBucket"] == "2500-2599"


def test_errors_report_and_session_events_match_schema(client: Any, doc: dict[str, Any]) -> None:
    reports = full_session(client)
    sid = reports[-1]["id"]
    summarize(client)  # the summaries the errors report reads
    answer = client.get(f"/reports/errors?from={TS0}&to={TS0 + 86_400_000}")
    assert answer.status_code == 200, answer.text
    validator(doc, "ErrorsReport").validate(answer.json())
    assert {(e["errorId"], e["source"]) for e in answer.json()["errors"]} == {
        ("E1", "player"), ("X", "external")
    }  # fmt: skip
    page = client.get(f"/reports/sessions/{sid}/events?limit=5").json()
    validator(doc, "SessionEvents").validate(page)
    assert len(page["events"]) == 5 and page["next"] == 4


def test_minimal_and_downloaded_reports_match_schema(client: Any, doc: dict[str, Any]) -> None:
    check = validator(doc, "SessionReport")
    sid = open_session(client, **{"media.length": 0})
    check.validate(client.get(f"/reports/sessions/{sid}").json())
    batch = [
        start_body(**{"media.downloaded": True}),
        ev("play", TS0 + 1, 0),
        ev("ping", TS0 + 9, 8),
    ]
    response = client.post("/api/v1/downloaded", json=batch)
    assert response.status_code == 201
    report = client.get(response.headers["location"].replace("/api/v1", "/reports")).json()
    check.validate(report)
    assert report["closeReason"] == "downloaded"
    assert report["sessionDetails"]["isDownloaded"] is True


def test_report_schemas_require_every_field(doc: dict[str, Any]) -> None:
    for name in (
        "SessionReport",
        "SessionDetails",
        "QoeDataDetails",
        "AdReport",
        "ChapterReport",
        "StateReport",
        "Diagnostic",
    ):
        schema = doc["components"]["schemas"][name]
        assert schema["additionalProperties"] is False, name
        assert sorted(schema["required"]) == sorted(schema["properties"]), name


def test_report_schema_matches_structs(doc: dict[str, Any]) -> None:
    import msgspec

    from playhead.engine import report as structs

    schemas = doc["components"]["schemas"]
    for name, struct in [
        ("SessionReport", structs.SessionReport),
        ("SessionDetails", structs.SessionDetails),
        ("QoeDataDetails", structs.QoeDataDetails),
        ("AdReport", structs.AdReport),
        ("ChapterReport", structs.ChapterReport),
        ("StateReport", structs.StateReport),
        ("Diagnostic", structs.Diagnostic),
    ]:
        info = msgspec.inspect.type_info(struct)
        wire = [f.encode_name for f in info.fields]  # type: ignore[attr-defined]
        assert wire == list(schemas[name]["properties"]), name


def test_error_bodies_match_schema(client: Any, doc: dict[str, Any]) -> None:
    check = validator(doc, "Error")
    sid = open_session(client)
    url = f"/api/v1/sessions/{sid}/events"
    bad = ev("play", TS0, "0", params={"media.bogus": 1})
    cases = [
        (client.post("/api/v1/sessions", content=b"{nope"), 400),
        (client.post(url, json=bad), 400),
        (client.post("/api/v1/downloaded", json=[ev("play", TS0)]), 400),
        (client.post(f"/api/v1/sessions/{'0' * 64}/events", json=ev("play", TS0)), 404),
        (client.post("/api/v1/sessions/nope/events", json=ev("play", TS0)), 404),
        (client.get("/reports/sessions/nope"), 404),
        (client.get("/api/v1/schemas/pause"), 404),
        (client.post(url, content=b" " * 70000), 413),
        (client.get("/api/v1/sessions"), 405),
    ]
    client.post(url, json=ev("sessionEnd", TS0 + 10))
    cases.append((client.post(url, json=ev("ping", TS0 + 99_000)), 410))
    for response, status in cases:
        assert response.status_code == status, response.text
        check.validate(response.json())
    assert len(cases[1][0].json()["errors"]) == 2


def test_collection_responses_match_documented_statuses(client: Any, doc: dict[str, Any]) -> None:
    sid = open_session(client)
    calls = [
        ("post", "/api/v1/sessions", client.post("/api/v1/sessions", json=start_body())),
        ("post", "/api/v1/sessions/{sid}/events", client.post(
            f"/api/v1/sessions/{sid}/events", json=ev("play", TS0 + 1))),
        ("options", "/api/v1/downloaded", client.options("/api/v1/downloaded")),
        ("get", "/api/v1/schemas/{eventType}", client.get("/api/v1/schemas/ping")),
    ]  # fmt: skip
    for method, path, response in calls:
        documented = doc["paths"][path][method]["responses"]
        assert str(response.status_code) in documented, (method, path, response.status_code)
        for name, value in CORS.items():
            assert response.headers[name] == value
    assert calls[0][2].content == b""
    assert calls[0][2].headers["location"].startswith("/api/v1/sessions/")
