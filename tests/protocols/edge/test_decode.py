"""The Media Edge decoder maps every XDM field onto the canonical event of its Collection API
twin, checks the same limits, and reads back what it stored."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from playhead.errors import InvalidBody
from playhead.events import Event
from playhead.protocols.collection.decode import decode_event
from playhead.protocols.edge.decode import decode, decode_downloaded, decode_stored
from playhead.protocols.edge.encode import downloaded_from_collection, from_collection
from playhead.protocols.edge.mapping import (
    AD_DETAILS,
    CHAPTER_DETAILS,
    POD_DETAILS,
    SESSION_DETAILS,
)
from playhead.simulator import simulate_sessions
from tests.helpers import TS0, ev, start_body

SID = "ab" * 32


def canonical(event: Event) -> Event:
    """An event without what only the Collection API carries (analytics.* and org params, the
    configuration keys the Edge API does not expect, and media.libraryVersion, which has no XDM
    field)."""
    params = {
        k: v
        for k, v in event.params.items()
        if not k.startswith(
            (
                "analytics.",
                "visitor.marketingCloudOrgId",
                "visitor.customerIDs",
                "visitor.aamLocationHint",
                "appInstallationId",
                "media.libraryVersion",
            )
        )
    }
    return msgspec.structs.replace(event, params=params, missing=())


def edge_decoded(body: dict[str, Any]) -> Event:
    name, edge = from_collection(body, None if body["eventType"] == "sessionStart" else SID)
    decoded = decode(name, json.dumps(edge).encode())
    assert decoded.sid == (None if name == "sessionStart" else SID)
    return decoded.event


def test_every_simulated_event_decodes_to_its_collection_twin() -> None:
    seen = set()
    for session in simulate_sessions(11, 60):
        for body in session:
            if body["eventType"] in ("stateStart", "stateEnd"):
                continue  # statesUpdate on the Edge API: compared below
            twin = decode_event(json.dumps(body).encode())
            assert canonical(edge_decoded(body)) == canonical(twin), body["eventType"]
            seen.add(body["eventType"])
    assert {"sessionStart", "play", "ping", "adStart", "chapterStart", "error"} <= seen


def test_states_travel_as_states_update() -> None:
    event = edge_decoded(ev("stateStart", TS0, 1, params={"media.state.name": "mute"}))
    assert (event.type, event.states_start, event.states_end) == ("statesUpdate", ("mute",), ())


MEMBER_OF = {
    id(SESSION_DETAILS): "sessionDetails",
    id(POD_DETAILS): "advertisingPodDetails",
    id(AD_DETAILS): "advertisingDetails",
    id(CHAPTER_DETAILS): "chapterDetails",
}
EVENT_OF = {
    "sessionDetails": "sessionStart",
    "advertisingPodDetails": "adBreakStart",
    "advertisingDetails": "adStart",
    "chapterDetails": "chapterStart",
}


def sample_value(kind: str, field: str) -> Any:
    """A value of the given XDM kind, distinct per field for strings."""
    if kind == "boolean":
        return True
    return 7 if kind in ("number", "integer") else f"v-{field}"


@pytest.mark.parametrize("table", [SESSION_DETAILS, POD_DETAILS, AD_DETAILS, CHAPTER_DETAILS])
def test_each_mapped_field_reaches_its_canonical_key(table: dict[str, Any]) -> None:
    member = MEMBER_OF[id(table)]
    name = EVENT_OF[member]
    values = {f: sample_value(spec.kind, f) for f, spec in table.items()}
    if name == "sessionStart":
        values["isDownloaded"] = False
    mc: dict[str, Any] = {"playhead": 3, member: values}
    if name != "sessionStart":
        mc["sessionID"] = SID
    body = {
        "events": [
            {
                "xdm": {
                    "eventType": f"media.{name}",
                    "timestamp": "2026-12-01T10:00:00.250+01:00",
                    "mediaCollection": mc,
                }
            }
        ]
    }
    event = decode(name, json.dumps(body).encode()).event
    assert event.ts == 1796115600250 and event.playhead == 3.0
    assert event.params == {spec.key: values[f] for f, spec in table.items()}


def test_strict_refuses_missing_player_keys_and_lenient_notes_them() -> None:
    _, body = from_collection(start_body(**{"media.playerName": None, "media.channel": None}))
    raw = json.dumps(body).encode()
    assert decode("sessionStart", raw).event.missing == ("media.playerName", "media.channel")
    with pytest.raises(InvalidBody) as info:
        decode("sessionStart", raw, strict=True)
    assert info.value.errors[0].path == "$.events[0].xdm.mediaCollection.sessionDetails.playerName"


def test_stored_events_read_back_without_the_path() -> None:
    for body in (
        start_body(),
        ev("ping", TS0 + 10, 5),
        ev("error", TS0, 1, params={"media.errorId": "E"}),
    ):
        name, edge = from_collection(body, None if body["eventType"] == "sessionStart" else SID)
        raw = json.dumps(edge).encode()
        assert decode_stored(raw) == decode(name, raw).event


def test_downloaded_items_are_stored_as_single_events() -> None:
    bodies = [start_body(), ev("play", TS0 + 1000, 0), ev("sessionEnd", TS0 + 5000, 4)]
    items = decode_downloaded(json.dumps(downloaded_from_collection(bodies)).encode())
    assert [e.type for e, _ in items] == ["sessionStart", "play", "sessionEnd"]
    assert [decode_stored(stored) for _, stored in items] == [e for e, _ in items]


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        (b"{", "$"),
        (b'{"events": []}', "$.events"),
        (b'{"events": [{"xdm": {}}]}', "$.events[0].xdm.eventType"),
        (
            json.dumps(
                {
                    "events": [
                        {
                            "xdm": {
                                "eventType": "media.ping",
                                "timestamp": "2026-01-01T00:00:00Z",
                                "mediaCollection": {"sessionID": SID, "playhead": 1},
                            }
                        }
                    ],
                    "extra": 1,
                }
            ).encode(),
            "$.extra",
        ),
        (b"[" * 3000, "$"),
    ],
)
def test_malformed_bodies_name_the_field(raw: bytes, path: str) -> None:
    with pytest.raises(InvalidBody) as info:
        decode("ping", raw)
    assert info.value.errors[0].path == path
