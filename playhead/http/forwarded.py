"""Which address a request came from, behind trusted reverse proxies.

A proxy appends the address it saw to ``X-Forwarded-For``; anyone can send the header, so it is
believed only as far as the hops are proxies the operator trusts (``--trusted-proxies``). The
client is the right-most address that is not one of them. With no trusted proxies (the default)
the header is ignored and the peer address is the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from playhead.errors import ConfigError
from playhead.http.asgi import Scope, client_address

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(spec: str) -> tuple[Network, ...]:
    """Comma-separated addresses or CIDR blocks (``10.0.0.0/8, ::1``) as networks."""
    networks = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ConfigError(
                f"--trusted-proxies: {part!r} is not an IP address or CIDR block"
            ) from None
    return tuple(networks)


def _address(text: str) -> Address | None:
    """An address of a forwarded hop (``[v6]:port`` and ``v4:port`` forms accepted)."""
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


class ClientResolver:
    """The client address of a request (a callable over the ASGI scope).

    Usage::

        resolve = ClientResolver(parse_networks("10.0.0.0/8"))
        resolve(scope)  # the first untrusted hop from the right, or the peer
    """

    def __init__(self, trusted: Iterable[Network] = ()) -> None:
        self.trusted = tuple(trusted)

    def _is_trusted(self, address: Address) -> bool:
        return any(address in network for network in self.trusted)

    def __call__(self, scope: Scope) -> str | None:
        peer = client_address(scope)
        if not self.trusted or peer is None:
            return peer
        current = _address(peer)
        if current is None or not self._is_trusted(current):
            return peer
        hops = [
            hop
            for name, value in scope.get("headers", ())
            if name == b"x-forwarded-for"
            for hop in value.decode("latin-1").split(",")
        ]
        for hop in reversed(hops):
            address = _address(hop)
            if address is None:
                break  # a garbled hop: believe nothing left of it
            current = address
            if not self._is_trusted(address):
                break
        return str(current)
