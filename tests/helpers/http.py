"""Shared assertions of the HTTP suites."""

from __future__ import annotations

from typing import Any

CORS = {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": "OPTIONS,POST,PUT",
    "access-control-allow-headers": "Content-Type",
    "access-control-expose-headers": "Location",
    "access-control-max-age": "86400",
}


def assert_cors(response: Any) -> None:
    for name, value in CORS.items():
        assert response.headers.get(name) == value, (name, response.headers.get(name))


def assert_error(response: Any, status: int, paths: list[str] | None = None) -> dict[str, Any]:
    """The rule-4 error shape with ``status`` and exactly the error ``paths`` (in any order)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert_cors(response)
    body = response.json()
    assert set(body) == {"message", "errors"}
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["errors"], list)
    for item in body["errors"]:
        assert set(item) == {"path", "problem"}
        assert isinstance(item["path"], str) and item["path"].startswith("$")
        assert isinstance(item["problem"], str) and item["problem"]
    if paths is not None:
        assert sorted(e["path"] for e in body["errors"]) == sorted(paths)
    return body


def events_url(sid: str, prefix: str = "") -> str:
    return f"{prefix}/api/v1/sessions/{sid}/events"
