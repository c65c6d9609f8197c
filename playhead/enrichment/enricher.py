"""The session context of a first request: its User-Agent and what enrichment derives from it."""

from __future__ import annotations

from typing import Final

from playhead.enrichment.agent import describe_agent
from playhead.enrichment.geo import GeoDatabase

#: The dimensions enrichment adds to a session's context (what reports filter and break down by).
DIMENSIONS: Final = (
    "device.type",
    "browser.name",
    "browser.version",
    "os.name",
    "os.version",
    "geo.country",
    "geo.region",
    "isBot",
)


class Enricher:
    """Builds a new session's context from its request's User-Agent and client address.

    Args:
        geo: the operator's MaxMind database, or ``None`` for no geography.

    Usage::

        enrich = Enricher(GeoDatabase(path)).context
        enrich("Mozilla/5.0 (iPhone; …)", "203.0.113.7")
        # {"userAgent": "…", "device.type": "mobile", "browser.name": "Mobile Safari", …}
    """

    def __init__(self, geo: GeoDatabase | None = None) -> None:
        self.geo = geo
        describe_agent("Mozilla/5.0")  # builds the matchers now, not on the first viewer

    def context(self, user_agent: str | None, address: str | None) -> dict[str, str]:
        """The context kept with a session: the User-Agent and the dimensions derived from it
        and from the address (which is used here and not returned)."""
        out: dict[str, str] = {}
        if user_agent:
            info = describe_agent(user_agent)
            out["userAgent"] = user_agent
            out["device.type"] = info.device_type
            for key, value in (
                ("browser.name", info.browser),
                ("browser.version", info.browser_version),
                ("os.name", info.os),
                ("os.version", info.os_version),
            ):
                if value is not None:
                    out[key] = value
            out["isBot"] = "true" if info.is_bot else "false"
        else:
            out["isBot"] = "false"
        if self.geo is not None and address:
            country, region = self.geo.locate(address)
            if country:
                out["geo.country"] = country
            if region:
                out["geo.region"] = region
        return out
