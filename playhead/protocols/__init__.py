"""Wire protocols: each turns its own request bodies into canonical events (pure).

A stored event keeps its body exactly as received and the name of its wire format, and
:func:`decode_stored` is the one way it is read back, whichever protocol it came by.
"""

from __future__ import annotations

from playhead.events import Event
from playhead.protocols.collection.decode import decode_event
from playhead.protocols.edge.decode import decode_stored as decode_stored_edge

COLLECTION = "collection"
EDGE = "edge"


def decode_stored(wire_format: str, body: bytes) -> Event:
    """Decode a stored event body of ``wire_format`` (accepted before, so leniently).

    Raises :class:`~playhead.errors.InvalidBody` when it no longer decodes, and
    :class:`ValueError` for a format this version does not know.
    """
    if wire_format == COLLECTION:
        return decode_event(body)
    if wire_format == EDGE:
        return decode_stored_edge(body)
    raise ValueError(f"unknown wire format {wire_format!r}")
