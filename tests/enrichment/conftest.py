"""A small MaxMind database built for the tests (none is shipped)."""

from __future__ import annotations

from pathlib import Path

import pytest


def build_mmdb(path: Path) -> Path:
    """Write a GeoIP2-City-shaped ``.mmdb`` with two IPv4 blocks and one IPv6 block."""
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(ip_version=6, database_type="GeoIP2-City", ipv4_compatible=True)
    writer.insert_network(
        IPSet(["203.0.113.0/24"]),
        {"country": {"iso_code": "DE"}, "subdivisions": [{"iso_code": "BY"}]},
    )
    writer.insert_network(IPSet(["198.51.100.0/24"]), {"country": {"iso_code": "BR"}})
    writer.insert_network(IPSet(["2001:db8::/32"]), {"registered_country": {"iso_code": "FR"}})
    writer.to_db_file(str(path))
    return path


@pytest.fixture
def mmdb(tmp_path: Path) -> Path:
    """Path of a fresh test database."""
    return build_mmdb(tmp_path / "test-city.mmdb")
