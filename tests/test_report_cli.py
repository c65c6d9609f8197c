"""``playhead report``: the summary and a breakdown of a database, as a table or JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from playhead.app import create_app
from playhead.cli import cli
from playhead.config import load_settings
from tests.helpers import TS0, ev, start_body
from tests.reports.audience import summarize


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A database with three sessions: two VOD (one completed), one live."""
    path = tmp_path / "r.db"
    with TestClient(create_app(load_settings({"db": str(path)}))) as client:
        for i, kind in enumerate(["VOD", "VOD", "Live"]):
            body = start_body(TS0 + i, **{"media.contentType": kind, "media.length": 10})
            sid = client.post("/api/v1/sessions", json=body).headers["location"].rsplit("/")[-1]
            events = [ev("play", TS0 + 1000, 0), ev("ping", TS0 + 11000, 10)]
            if i == 0:
                events.append(ev("sessionComplete", TS0 + 11000, 10))
            for e in events:
                client.post(f"/api/v1/sessions/{sid}/events", content=json.dumps(e))
        summarize(client)
    return path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["report", *args])
    return result.exit_code, result.output


def test_summary_table(db: Path) -> None:
    code, out = run("--db", str(db), "--from", str(TS0), "--to", str(TS0 + 60_000))
    assert code == 0, out
    lines = {line.split("  ")[0].strip(): line.split()[-1] for line in out.splitlines()[2:]}
    assert lines["Media starts"] == "3"
    assert lines["Completes"] == "1"
    assert lines["Completion rate"] == "33.3%"
    assert lines["Time played"] == "0:00:30"


def test_breakdown_table_and_json(db: Path) -> None:
    code, out = run(
        "--db", str(db), "--from", str(TS0), "--to", str(TS0 + 60_000),
        "--by", "media.contentType", "--metric", "mediaStarts", "--metric", "completionRate",
    )  # fmt: skip
    assert code == 0, out
    rows = [line.split() for line in out.splitlines()]
    assert rows[0] == ["media.contentType", "mediaStarts", "completionRate"]
    assert rows[2:] == [["vod", "2", "50.0%"], ["live", "1", "0.0%"], ["(total)", "3", "33.3%"]]
    code, out = run("--db", str(db), "--from", str(TS0), "--to", str(TS0 + 60_000), "--json")
    body = json.loads(out)
    assert body["metrics"]["mediaStarts"] == 3 and body["from"] == TS0


def test_bad_options_are_one_line(db: Path, tmp_path: Path) -> None:
    code, out = run("--db", str(db), "--from", "soon")
    assert code == 2
    assert out.strip() == "Error: --from must be epoch milliseconds or an ISO-8601 date-time"
    code, out = run("--db", str(db), "--by", 'a"b')
    assert code == 2 and out.startswith("Error: --by ")
    code, out = run("--db", str(tmp_path / "none.db"))
    assert code == 2 and "no database" in out
