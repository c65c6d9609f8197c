"""Schemathesis fuzzes the report endpoints from the OpenAPI document, over a store with
sessions in it: never a 5xx, and every answer matches its documented schema."""

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
from tests.helpers import FakeClock
from tests.reports.audience import replay

schemathesis = pytest.importorskip("schemathesis")
from schemathesis.checks import (  # noqa: E402
    not_a_server_error,
    response_schema_conformance,
)

DOC = json.loads((Path(playhead.__file__).parent / "openapi.json").read_text())
schema = schemathesis.openapi.from_dict(DOC).include(path_regex=r"^/reports/[a-z/.]+$")


@pytest.fixture(scope="module")
def app_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One app with a replayed audience for every generated case of the module."""
    db = tmp_path_factory.mktemp("fuzz") / "playhead.db"
    clock = FakeClock()
    with TestClient(create_app(load_settings({"db": str(db)}), clock=clock)) as client:
        replay(client, clock)
        yield client


@schema.parametrize()
@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_reports_never_5xx_and_match_their_schema(case: Any, app_client: TestClient) -> None:
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    kwargs.pop("cookies", None)
    response = app_client.request(**kwargs)
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
