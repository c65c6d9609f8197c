"""The client address behind trusted proxies: X-Forwarded-For believed only from them."""

from __future__ import annotations

from typing import Any

import pytest

from playhead.errors import ConfigError
from playhead.http.forwarded import ClientResolver, parse_networks


def scope(peer: str | None, *forwarded: str) -> dict[str, Any]:
    return {
        "client": (peer, 5000) if peer else None,
        "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded],
    }


PROXIES = parse_networks("10.0.0.0/8, 192.168.1.1, ::1")


@pytest.mark.parametrize(
    ("request_scope", "client"),
    [
        (scope("10.1.2.3", "203.0.113.7"), "203.0.113.7"),
        (scope("10.1.2.3", "198.51.100.1, 203.0.113.7"), "203.0.113.7"),  # right-most untrusted
        (scope("10.1.2.3", "203.0.113.7, 10.9.9.9"), "203.0.113.7"),  # through two proxies
        (scope("10.1.2.3", "203.0.113.7", "10.9.9.9"), "203.0.113.7"),  # repeated header
        (scope("203.0.113.50", "1.2.3.4"), "203.0.113.50"),  # not a trusted peer: ignored
        (scope("10.1.2.3"), "10.1.2.3"),  # a proxy without the header
        (scope("10.1.2.3", "10.2.2.2"), "10.2.2.2"),  # only proxies: the left-most
        (scope("10.1.2.3", "1.1.1.1, garbage"), "10.1.2.3"),  # nothing left of garbage
        (scope("::1", "[2001:db8::5]:4711"), "2001:db8::5"),
        (scope("10.1.2.3", "203.0.113.7:8080"), "203.0.113.7"),
        (scope(None, "203.0.113.7"), None),
    ],
)
def test_trusted_proxies(request_scope: dict[str, Any], client: str | None) -> None:
    assert ClientResolver(PROXIES)(request_scope) == client


def test_without_trusted_proxies_the_header_is_never_believed() -> None:
    assert ClientResolver()(scope("10.1.2.3", "203.0.113.7")) == "10.1.2.3"


def test_a_bad_proxy_list_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match=r"'10\.0\.0\.300' is not an IP address"):
        parse_networks("10.0.0.1,10.0.0.300")
    assert parse_networks(" , ") == ()
