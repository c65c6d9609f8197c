"""Client addresses: truncated to /24 (IPv4) and /48 (IPv6), and never stored as sent."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from playhead.addresses import truncate_ip
from playhead.app import create_app
from playhead.config import load_settings
from tests.helpers import TS0, ev, start_body


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("10.1.2.3", "10.1.2.0/24"),
        ("2001:db8:abcd:12:34::1", "2001:db8:abcd::/48"),
        ("[2001:db8:1:2::5]", "2001:db8:1::/48"),
        ("fe80::1%eth0", "fe80::/48"),
        ("::ffff:198.51.100.9", "198.51.100.0/24"),
        ("testclient", None),
        ("", None),
        (None, None),
    ],
)
def test_truncate_ip(address: str | None, network: str | None) -> None:
    assert truncate_ip(address) == network


def dump(db: Path) -> str:
    """Every value of every table, as text."""
    conn = sqlite3.connect(db)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        out = []
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                out.append(
                    " ".join(v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in row)
                )
        return "\n".join(out)
    finally:
        conn.close()


@pytest.mark.parametrize(("store_ip", "network"), [("none", None), ("truncated", "203.0.113.0/24")])
def test_the_address_is_never_stored_as_sent(
    tmp_path: Path, store_ip: str, network: str | None
) -> None:
    db = tmp_path / "ip.db"
    app = create_app(load_settings({"db": str(db), "store_ip": store_ip}))
    with TestClient(app, client=("203.0.113.77", 50000)) as client:
        response = client.post("/api/v1/sessions", json=start_body())
        assert response.status_code == 201
        sid = response.headers["location"].rsplit("/", 1)[1]
        assert (
            client.post(f"/api/v1/sessions/{sid}/events", json=ev("play", TS0)).status_code == 204
        )
        edge = client.post("/ee/va/v1/sessionStart", content=b"{}")
        assert edge.status_code in (200, 207)
        downloaded = client.post(
            "/api/v1/downloaded", json=[start_body(), ev("sessionEnd", TS0 + 1)]
        )
        assert downloaded.status_code == 201
    conn = sqlite3.connect(db)
    try:
        networks = [r[0] for r in conn.execute("SELECT client_network FROM sessions ORDER BY id")]
    finally:
        conn.close()
    assert networks == [network, network]
    assert "203.0.113.77" not in dump(db)
