"""Structured logs: JSON lines of a real server (start, traffic, timeout closes, stop) and the
overload warning."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from playhead.errors import Overloaded
from playhead.ops.logs import JsonFormatter, logging_config
from playhead.ops.stats import TrafficLog
from playhead.tally import Tally
from tests.helpers import TS0, ServerProcess, ev, start_body


def test_json_formatter_writes_one_object_with_the_data() -> None:
    record = logging.LogRecord("playhead.ops", logging.INFO, __file__, 1, "traffic: %d", (5,), None)
    record.data = {"events_per_s": 5.0, "level": "not overridden"}
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "info"
    assert line["logger"] == "playhead.ops"
    assert line["message"] == "traffic: 5"
    assert line["events_per_s"] == 5.0
    assert line["time"].endswith("Z") and len(line["time"]) == len("2026-01-01T00:00:00.000Z")


def test_logging_config_chooses_the_formatter() -> None:
    json_config = logging_config("info", "json", node="h:8000/w2")
    assert json_config["formatters"]["playhead"] == {"()": JsonFormatter, "node": "h:8000/w2"}
    text = logging_config("debug", "text", node="h:8000/w2")
    assert text["formatters"]["playhead"]["format"] == (
        "%(asctime)s h:8000/w2 %(levelname)s %(name)s: %(message)s"
    )
    assert text["loggers"]["playhead"]["level"] == "DEBUG"
    record = logging.LogRecord("playhead", logging.INFO, __file__, 1, "x", (), None)
    assert json.loads(JsonFormatter("n1").format(record))["node"] == "n1"
    assert "node" not in json.loads(JsonFormatter().format(record))


class _Storage:
    def queue_depth(self) -> int:
        return 3


class _State:
    async def count(self) -> int:
        return 2


def test_overload_is_warned_once_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    tally = Tally()
    traffic = TrafficLog(tally, _Storage(), _State())  # type: ignore[arg-type]
    caplog.set_level(logging.INFO, "playhead")

    async def scenario() -> None:
        await traffic.overload()  # nothing refused: nothing said
        tally.refuse(Overloaded())
        tally.refuse(Overloaded())
        await traffic.overload()
        tally.refuse(Overloaded())
        await traffic.overload()  # within 10 s of the last warning: kept for the next
        tally.accept("ping", 40)
        await traffic.traffic()

    asyncio.run(scenario())
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["overloaded: 2 events refused with 503 (write queue 3, sessions open 2)"]
    assert traffic._overload_unlogged == 1
    info = [r for r in caplog.records if r.getMessage().startswith("traffic:")]
    assert len(info) == 1
    assert info[0].data["sessions_open"] == 2  # type: ignore[attr-defined]
    assert info[0].data["queue_depth"] == 3  # type: ignore[attr-defined]


def _post(url: str, body: object) -> urllib.request.Request:
    return urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST"
    )


def test_a_real_server_logs_json_lines(
    server_process: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    server = server_process(
        "--log-format", "json", "--log-level", "debug", "--stats-interval", "0.3",
        "--idle-timeout", "0.5", "--sweep-interval", "0.1", db=tmp_path / "logs.db",
    )  # fmt: skip
    server.start()
    with urllib.request.urlopen(_post(server.url + "/api/v1/sessions", start_body())) as r:
        sid = r.headers["Location"].rsplit("/", 1)[1]
    urllib.request.urlopen(_post(f"{server.url}/api/v1/sessions/{sid}/events", ev("play", TS0)))
    time.sleep(1.2)
    assert server.proc is not None
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=15) == 0
    server.proc = None
    lines = [
        json.loads(line) for line in server.log.read_text().splitlines() if line.startswith("{")
    ]
    messages = [line["message"] for line in lines]
    assert any(m.startswith("started: storage SQLite") for m in messages)
    traffic = [line for line in lines if line["message"].startswith("traffic:")]
    assert traffic and {"events_per_s", "sessions_open", "queue_depth"} <= set(traffic[0])
    assert max(t["events_per_s"] for t in traffic) > 0
    closed = [line for line in lines if line["message"] == f"session {sid} closed: idle"]
    assert closed and closed[0]["level"] == "debug"
    assert any(m.startswith("stopped:") for m in messages)
    assert all(line["level"] in ("debug", "info", "warning") for line in lines)
