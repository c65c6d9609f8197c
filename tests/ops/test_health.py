"""``/healthz`` and ``/readyz``: the app's answers, each failing part named, and a real server
whose database file disappears."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from playhead.ops.health import readiness
from tests.helpers import ServerProcess, services


def test_healthz_and_readyz_answer_ok(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok"}


def test_readyz_is_503_while_draining(client: TestClient) -> None:
    services(client).draining = True
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.headers["retry-after"] == "1"
    assert ready.json() == {
        "message": "Not ready: server.",
        "errors": [{"path": "$", "problem": "server: shutting down"}],
    }


class _Storage:
    def __init__(self, problem: str | None = None, depth: int = 0, read_fails: bool = False):
        self._problem, self._depth, self._read_fails = problem, depth, read_fails

    def problem(self) -> str | None:
        return self._problem

    def write_backlog(self) -> int:
        return self._depth

    async def read(self, query: Any) -> int:
        if self._read_fails:
            await asyncio.sleep(10)
        return 1


class _State:
    def __init__(self, fails: bool = False) -> None:
        self.fails = fails

    async def count(self) -> int:
        if self.fails:
            raise ConnectionError("redis went away")
        return 0


def check(storage: _Storage, state: _State, queue_size: int = 100) -> list[tuple[str, str]]:
    failing = asyncio.run(readiness(storage, state, queue_size, timeout=0.05))  # type: ignore[arg-type]
    return [(f.part, f.problem) for f in failing]


def test_each_failing_part_is_named() -> None:
    assert check(_Storage(), _State()) == []
    assert check(_Storage(problem="the database file /x.db is gone"), _State()) == [
        ("storage", "the database file /x.db is gone")
    ]
    assert check(_Storage(read_fails=True), _State()) == [
        ("storage", "does not answer a read (TimeoutError)")
    ]
    assert check(_Storage(), _State(fails=True)) == [
        ("live state", "does not answer (ConnectionError)")
    ]
    assert check(_Storage(depth=100), _State(), queue_size=100) == [
        ("write queue", "full (100 of 100 jobs waiting)")
    ]
    assert check(_Storage(depth=99), _State(), queue_size=100) == []


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_readyz_of_a_real_server_fails_once_its_database_is_gone(
    server_process: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    db = tmp_path / "ready.db"
    server = server_process(db=db)
    server.start()
    assert _get(server.url + "/readyz") == (200, {"status": "ok"})
    db.unlink()
    status, body = 200, None
    for _ in range(50):  # the store notices within a checkpoint tick (0.1 s)
        status, body = _get(server.url + "/readyz")
        if status == 503:
            break
        urllib.request.urlopen(server.url + "/healthz", timeout=5).read()
        time.sleep(0.1)
    assert status == 503, body
    assert body == {
        "message": "Not ready: storage.",
        "errors": [{"path": "$", "problem": f"storage: the database file {db} is gone"}],
    }
    assert _get(server.url + "/healthz") == (200, {"status": "ok"})
