"""What the HTTP adapter knows of a request, handed to the collection service with its event."""

from __future__ import annotations

import msgspec


class Received(msgspec.Struct, frozen=True, gc=False):
    """One request as received.

    Attributes:
        raw: the body exactly as received (stored as is: the event log keeps what was sent).
        format: the wire format it came in (``"collection"``, later ``"edge"``), stored beside
            it so the log can be read back (:func:`playhead.protocols.decode_stored`).
        server_ms: the server clock when it arrived, epoch ms.
        user_agent: the request's ``User-Agent``, if any.
        client: the client's address as the transport saw it, if known: used (enrichment,
            ``--store-ip truncated`` keeps its network), never stored as sent.
    """

    raw: bytes
    format: str
    server_ms: int
    user_agent: str | None = None
    client: str | None = None

    def context(self) -> dict[str, str]:
        """What a new session keeps of its request (for enrichment): never the address."""
        return {"userAgent": self.user_agent} if self.user_agent else {}
