"""Hypothesis strategies for engine tests: random sessions as lists of steps."""

from __future__ import annotations

import msgspec
from hypothesis import strategies as st

from playhead.events import Event, Qoe
from tests.engine.builders import ad, ad_break, chapter, ev

KINDS = [
    *["ping"] * 8,
    "play",
    "play",
    "pauseStart",
    "bufferStart",
    "adBreakStart",
    "adStart",
    "adComplete",
    "adSkip",
    "adBreakComplete",
    "chapterStart",
    "chapterComplete",
    "chapterSkip",
    "stateStart",
    "stateEnd",
    "statesUpdate",
    "bitrateChange",
    "error",
    "sessionComplete",
    "sessionEnd",
]
STATE_NAMES = ["mute", "FullScreen", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]

Step = tuple[str, int, float, int, float | None]
# one event: its kind, ts step (ms), playhead step (s), a name index, a bitrate or None
step = st.tuples(
    st.sampled_from(KINDS),
    st.sampled_from([0, 0, 500, 1000, 5000, 10_000]),  # ts step in ms: ties are common
    st.sampled_from([0.0, 0.0, 1.0, 5.0, 10.0, 40.0, -20.0]),  # playhead step (seeks too)
    st.integers(min_value=0, max_value=len(STATE_NAMES) - 1),
    st.sampled_from([None, 800.0, 2000.0]),
)


def build(steps: list[Step]) -> list[Event]:
    """The events of ``steps``, after a sessionStart at BASE (see :data:`step`)."""
    events: list[Event] = []
    t_ms = 0
    ph = 0.0
    for kind, dt, dph, name_i, bitrate in steps:
        t_ms += dt
        ph = max(0.0, ph + dph)
        t = t_ms / 1000
        qoe = Qoe(bitrate=bitrate) if bitrate is not None else None
        if kind == "adBreakStart":
            e = ad_break(t, ph)
        elif kind == "adStart":
            e = ad(t, ph)
        elif kind == "chapterStart":
            e = chapter(t, ph)
        elif kind == "stateStart":
            e = ev(kind, t, ph, states_start=(STATE_NAMES[name_i],))
        elif kind == "stateEnd":
            e = ev(kind, t, ph, states_end=(STATE_NAMES[name_i],))
        elif kind == "statesUpdate":
            other = STATE_NAMES[(name_i + 1) % len(STATE_NAMES)]
            e = ev(kind, t, ph, states_start=(STATE_NAMES[name_i],), states_end=(other,))
        elif kind == "error":
            e = ev(kind, t, ph, error_id=f"e{name_i % 3}", error_source=("external", None)[dt % 2])
        else:
            e = ev(kind, t, ph)
        if qoe is not None:
            e = msgspec.structs.replace(e, qoe=qoe)
        events.append(e)
    return events


# Runs of two to four pings at one playhead, ten seconds apart: stalls (rule 15) and their
# journal, rare among independent steps, become common.
ping_run = st.integers(min_value=2, max_value=4).map(lambda n: [("ping", 10_000, 0.0, 0, None)] * n)


def _pod(pings: int, end: str) -> list[Step]:
    return [
        ("adBreakStart", 1000, 0.0, 0, None),
        ("adStart", 0, 0.0, 0, None),
        *[("ping", 5000, 0.0, 0, None)] * pings,
        (end, 0, 0.0, 0, None),
        ("adBreakComplete", 0, 0.0, 0, None),
        ("play", 0, 0.0, 0, None),
    ]


# A whole ad break of one ad played for a few pings.
ad_pod = st.builds(
    _pod, st.integers(min_value=0, max_value=3), st.sampled_from(["adComplete", "adSkip"])
)
# Sessions as steps, with ping runs and ad breaks mixed in.
steps_with_runs = st.lists(st.one_of(step.map(lambda s: [s]), ping_run, ad_pod), max_size=25).map(
    lambda blocks: [s for block in blocks for s in block]
)
