"""Country and region of a client address, from a MaxMind-format database the operator supplies
(GeoLite2/GeoIP2 Country or City, or any ``.mmdb`` with the same ``country.iso_code`` and
``subdivisions[].iso_code`` members)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import maxminddb

from playhead.errors import ConfigError


class GeoDatabase:
    """An open ``.mmdb`` file, read through a memory map (lookups take about a microsecond).

    Usage::

        geo = GeoDatabase("/var/lib/GeoLite2-City.mmdb")
        geo.locate("203.0.113.7")  # ("DE", "BY"), or (None, None) when unknown
    """

    def __init__(self, path: str) -> None:
        if not Path(path).is_file():
            raise ConfigError(f"--geoip-db {path!r}: no such file")
        try:
            self._reader = maxminddb.open_database(path)
        except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
            raise ConfigError(f"--geoip-db {path!r} is not a MaxMind database: {exc}") from None
        self.path = path

    def locate(self, address: str) -> tuple[str | None, str | None]:
        """The ISO country code and the first subdivision's code of ``address``."""
        try:
            ip = ipaddress.ip_address(address)
            if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
                ip = ip.ipv4_mapped  # a dual-stack socket's view of an IPv4 client
            record: Any = self._reader.get(ip)
        except (ValueError, maxminddb.InvalidDatabaseError):
            return None, None
        if not isinstance(record, dict):
            return None, None
        country = record.get("country") or record.get("registered_country") or {}
        subdivisions = record.get("subdivisions") or [{}]
        code = country.get("iso_code") if isinstance(country, dict) else None
        region = subdivisions[0].get("iso_code") if isinstance(subdivisions[0], dict) else None
        return (
            code if isinstance(code, str) else None,
            region if isinstance(region, str) else None,
        )

    def close(self) -> None:
        """Release the file."""
        self._reader.close()
