"""Playhead's experience score of one session, computed from its report alone.

Four parts, each 0-100 or ``None`` where it does not apply. They are modelled on the kinds of
sub-score published QoE scores use (did playback work, how fast did it start, how smooth was
it), with Playhead's own formulas:

- ``playbackSuccess``: ``None`` for a session shorter than 1 s of event time that never
  played; 0 when an error kept it from playing; 50 when the viewer left before it started;
  else 100.
- ``startup``: ``100 * 8 / (8 + t)`` for a time to start of ``t`` seconds.
- ``smoothness`` (sessions that played): the mean of ``100 / sqrt(1 + (c / 2) ** 2)`` for ``c``
  buffer and stall events and ``100 * exp(-10 * r)`` for the rebuffer ratio ``r``.
- ``experience``: ``playbackSuccess`` for a session that did not play, otherwise
  ``playbackSuccess`` times the mean of ``startup`` and ``smoothness`` (those present) / 100.
"""

from __future__ import annotations

import math

from playhead.engine.report import QoeDataDetails, Scores, SessionDetails


def rebuffer_ratio(sd: SessionDetails, q: QoeDataDetails) -> float:
    """``(bufferTime + stallTime) / (totalTimePlayed + bufferTime + stallTime)``, 0 for 0/0."""
    waiting = q.buffer_time + q.stall_time
    whole = sd.total_time_played + waiting
    return waiting / whole if whole > 0 else 0.0


def session_scores(
    first_event_ts: int, last_event_ts: int, sd: SessionDetails, q: QoeDataDetails
) -> Scores:
    """The experience score parts of one session (see the module docstring)."""
    played = sd.is_played
    success: float | None
    if last_event_ts - first_event_ts < 1000 and not played:
        success = None
    elif q.error_count > 0 and not played:
        success = 0.0
    elif q.is_dropped_before_start:
        success = 50.0
    else:
        success = 100.0
    startup = None if q.time_to_start is None else 800.0 / (8.0 + q.time_to_start)
    smoothness = None
    if played:
        count = q.buffer_count + q.stall_count
        ratio = rebuffer_ratio(sd, q)
        smoothness = (100.0 / math.sqrt(1 + (count / 2) ** 2) + 100.0 * math.exp(-10 * ratio)) / 2
    experience = None
    if success is not None:
        if not played:
            experience = success
        else:
            parts = [p for p in (startup, smoothness) if p is not None]
            experience = success * (sum(parts) / len(parts)) / 100.0
    return Scores(
        experience=experience, playback_success=success, startup=startup, smoothness=smoothness
    )
