"""Country and region from a MaxMind-format database (built by the test with mmdb-writer)."""

from __future__ import annotations

from pathlib import Path

import pytest

from playhead.enrichment import GeoDatabase
from playhead.errors import ConfigError


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("203.0.113.7", ("DE", "BY")),
        ("198.51.100.200", ("BR", None)),
        ("2001:db8::1", ("FR", None)),
        ("192.0.2.1", (None, None)),  # not in the database
        ("not-an-address", (None, None)),
        ("::ffff:203.0.113.9", ("DE", "BY")),  # an IPv4-mapped IPv6 address
    ],
)
def test_locate(mmdb: Path, address: str, expected: tuple[str | None, str | None]) -> None:
    geo = GeoDatabase(str(mmdb))
    try:
        assert geo.locate(address) == expected
    finally:
        geo.close()


def test_a_missing_or_foreign_file_is_a_clear_startup_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        GeoDatabase(str(tmp_path / "absent.mmdb"))
    junk = tmp_path / "junk.mmdb"
    junk.write_bytes(b"not a maxmind database" * 10)
    with pytest.raises(ConfigError, match="not a MaxMind database"):
        GeoDatabase(str(junk))
