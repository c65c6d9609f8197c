"""Helpers shared by the test suites (bodies, apps, real servers, HTTP assertions)."""

from __future__ import annotations

from tests.helpers.app import FakeClock, held, open_session, services, sweep
from tests.helpers.bodies import START_PARAMS, TS0, ev, start_body
from tests.helpers.http import CORS, assert_cors, assert_error, events_url
from tests.helpers.server import ROOT, SCENARIO_DIR, ServerProcess, free_port

__all__ = [
    "CORS",
    "ROOT",
    "SCENARIO_DIR",
    "START_PARAMS",
    "TS0",
    "FakeClock",
    "ServerProcess",
    "assert_cors",
    "assert_error",
    "ev",
    "events_url",
    "free_port",
    "held",
    "open_session",
    "services",
    "start_body",
    "sweep",
]
