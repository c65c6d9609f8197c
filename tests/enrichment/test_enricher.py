"""A new session's context: the User-Agent's dimensions and the address's country, never the
address itself."""

from __future__ import annotations

from pathlib import Path

from playhead.enrichment import DIMENSIONS, Enricher, GeoDatabase

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like"
    " Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)


def test_context_of_a_phone_in_a_known_country(mmdb: Path) -> None:
    context = Enricher(GeoDatabase(str(mmdb))).context(IPHONE, "203.0.113.7")
    assert context == {
        "userAgent": IPHONE,
        "device.type": "mobile",
        "browser.name": "Mobile Safari",
        "browser.version": "17.4",
        "os.name": "iOS",
        "os.version": "17.4",
        "isBot": "false",
        "geo.country": "DE",
        "geo.region": "BY",
    }
    assert set(context) - {"userAgent"} <= set(DIMENSIONS)
    assert "203.0.113.7" not in context.values()


def test_context_without_agent_address_or_database() -> None:
    assert Enricher().context(None, "203.0.113.7") == {"isBot": "false"}
    crawler = Enricher().context("Googlebot/2.1 (+http://www.google.com/bot.html)", None)
    assert (crawler["isBot"], crawler["device.type"]) == ("true", "bot")


def test_an_address_the_database_does_not_know_adds_no_geography(mmdb: Path) -> None:
    context = Enricher(GeoDatabase(str(mmdb))).context(None, "192.0.2.1")
    assert context == {"isBot": "false"}
