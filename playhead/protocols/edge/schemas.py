"""JSON Schemas of the Media Edge API bodies Playhead accepts, one per event name, derived
from the very Structs the decoder validates with (:mod:`playhead.protocols.edge.model`)."""

from __future__ import annotations

from functools import cache
from typing import Any

import msgspec

from playhead.protocols.edge.mapping import DOWNLOADED, EVENT_NAMES
from playhead.protocols.edge.model import DownloadedBody, body


@cache
def event_schema(event_name: str) -> dict[str, Any]:
    """The JSON Schema (2020-12, as msgspec writes it) of one event's body; KeyError if unknown."""
    if event_name == DOWNLOADED:
        schema = msgspec.json.schema(DownloadedBody)
    elif event_name in EVENT_NAMES:
        schema = msgspec.json.schema(body(event_name, strict=False))
    else:
        raise KeyError(event_name)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"/ee/va/v1/schemas/{event_name}",
        "title": f"media.{event_name}",
        **schema,
    }
