"""Schemathesis fuzzes the Collection API from the OpenAPI document: never a 5xx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from starlette.testclient import TestClient

import playhead
from playhead.app import create_app
from playhead.config import load_settings
from tests.helpers import open_session

schemathesis = pytest.importorskip("schemathesis")
from schemathesis.checks import not_a_server_error  # noqa: E402

DOC = json.loads((Path(playhead.__file__).parent / "openapi.json").read_text())
schema = schemathesis.openapi.from_dict(DOC).include(path_regex="^/(api|ee/va|ee)/v1/")


@pytest.fixture(scope="module")
def app_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One app (lifespan running) for every generated case of the module."""
    db = tmp_path_factory.mktemp("fuzz") / "playhead.db"
    with TestClient(create_app(load_settings({"db": str(db)}))) as client:
        yield client


@pytest.fixture(scope="module")
def live_sid(app_client: TestClient) -> str:
    return open_session(app_client)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_collection_api_never_5xx(case: Any, app_client: TestClient, live_sid: str) -> None:
    if "sid" in (case.path_parameters or {}):
        case.path_parameters["sid"] = live_sid  # events of a real session, not only 404s
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    kwargs.pop("cookies", None)  # requests-style keywords mapped onto the httpx TestClient
    if isinstance(kwargs.get("data"), (bytes, str)):
        kwargs["content"] = kwargs.pop("data")
    response = app_client.request(**kwargs)
    case.validate_response(response, checks=[not_a_server_error])
