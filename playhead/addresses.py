"""Client addresses, never kept as sent: truncated to their network (``--store-ip``).

:func:`truncate_ip` keeps the first 24 bits of an IPv4 address and the first 48 of an IPv6
one (an IPv4-mapped IPv6 address counts as IPv4), which names a network of hundreds of hosts
rather than one. It is pure, so enrichment (geography) can use the same rule.
"""

from __future__ import annotations

import ipaddress
from typing import Final

IPV4_PREFIX: Final = 24
IPV6_PREFIX: Final = 48


def truncate_ip(address: str | None) -> str | None:
    """The network of ``address`` in CIDR notation (``203.0.113.0/24``, ``2001:db8:1::/48``),
    or ``None`` when it is missing or not an IP address."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = IPV4_PREFIX if ip.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))
