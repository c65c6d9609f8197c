"""Enrichment end to end: a real server behind a trusted proxy stores a new session's device,
browser, OS, bot flag and country, and never the client address."""

from __future__ import annotations

import json
import sqlite3
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playhead.protocols.edge.encode import from_collection
from tests.helpers import ServerProcess, start_body
from tests.helpers.server import free_port

ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/124.0.6367.82 Mobile Safari/537.36"
)


def post(url: str, body: Any, **headers: str) -> int:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json", **headers}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        status: int = response.status
        return status


def stored_contexts(db: Path) -> list[dict[str, str]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT context FROM sessions ORDER BY id").fetchall()
    return [json.loads(row[0]) for row in rows]


def test_sessions_are_enriched_over_both_protocols(
    server_process: Callable[..., ServerProcess], tmp_path: Path, mmdb: Path
) -> None:
    server = server_process("--trusted-proxies", "127.0.0.1", "--geoip-db", str(mmdb))
    server.start()
    forwarded = {"User-Agent": ANDROID, "X-Forwarded-For": "198.51.100.23, 203.0.113.7"}
    assert post(server.url + "/api/v1/sessions", start_body(), **forwarded) == 201
    _, edge = from_collection(start_body())
    assert post(server.url + "/ee/va/v1/sessionStart", edge, **forwarded) == 200
    bot = {"User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"}
    assert post(server.url + "/api/v1/sessions", start_body(), **bot) == 201
    server.stop()
    phone, edge_phone, crawler = stored_contexts(server.db)
    expected = {
        "userAgent": ANDROID,
        "device.type": "mobile",
        "browser.name": "Chrome Mobile",
        "browser.version": "124.0",
        "os.name": "Android",
        "os.version": "14",
        "isBot": "false",
        "geo.country": "DE",  # the right-most untrusted hop, not the left-most claim
        "geo.region": "BY",
    }
    assert phone == edge_phone == expected
    assert (crawler["isBot"], crawler["device.type"]) == ("true", "bot")
    assert "geo.country" not in crawler  # 127.0.0.1 itself is in no country
    with sqlite3.connect(server.db) as conn:
        dump = "\n".join(conn.iterdump())
    assert "203.0.113.7" not in dump and "198.51.100.23" not in dump


def test_a_bad_geoip_db_or_proxy_list_stops_serve_with_a_clear_message(tmp_path: Path) -> None:
    import subprocess
    import sys

    for args, message in (
        (["--geoip-db", str(tmp_path / "none.mmdb")], "no such file"),
        (["--trusted-proxies", "10.0.0.0/33"], "is not an IP address or CIDR block"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "playhead", "serve", "--port", str(free_port()),
             "--db", str(tmp_path / "x.db"), *args],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert done.returncode != 0
        assert message in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
