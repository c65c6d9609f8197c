"""Time buckets in a time zone: minute, hour and day buckets that begin where the zone's clock
says (half-hour and 45-minute offsets, daylight-saving changes included).

Within a stretch of constant UTC offset, an instant ``ts``'s bucket is the local-time index
``(ts + offset) // width``. :func:`key_sql` writes that as SQL with one ``CASE`` arm per offset
change in the range, so the database groups sessions by bucket directly; :func:`buckets`
lists every bucket of the range with the epoch ms at which it begins.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final
from zoneinfo import ZoneInfo

from playhead.errors import InvalidQuery

WIDTHS: Final[dict[str, int]] = {"minute": 60_000, "hour": 3_600_000, "day": 86_400_000}
MAX_BUCKETS: Final = 2000
_PROBE_MS: Final = 3 * 3_600_000  # offsets change at most once in any 3 hours


def offset_ms(tz: ZoneInfo, ts: int) -> int:
    """The zone's UTC offset at instant ``ts`` (epoch ms), in ms."""
    moment = dt.datetime.fromtimestamp(ts / 1000, dt.UTC).astimezone(tz)
    offset = moment.utcoffset()
    return 0 if offset is None else int(offset.total_seconds() * 1000)


@dataclass(frozen=True)
class Offsets:
    """The zone's offsets over a range: ``starts[i]`` is where ``offsets[i]`` takes effect."""

    starts: tuple[int, ...]
    offsets: tuple[int, ...]

    def at(self, ts: int) -> int:
        """The offset in force at ``ts``."""
        found = self.offsets[0]
        for start, offset in zip(self.starts, self.offsets, strict=True):
            if ts >= start:
                found = offset
        return found


def offsets(tz: ZoneInfo, from_ms: int, to_ms: int) -> Offsets:
    """Every offset of ``tz`` in force in ``[from_ms, to_ms)`` and where each begins."""
    starts, values = [from_ms], [offset_ms(tz, from_ms)]
    t = from_ms
    while t < to_ms:
        nxt = min(t + _PROBE_MS, to_ms)
        if offset_ms(tz, nxt) != values[-1]:
            lo, hi = t, nxt  # the change is in (lo, hi]
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset_ms(tz, mid) == values[-1]:
                    lo = mid
                else:
                    hi = mid
            starts.append(hi)
            values.append(offset_ms(tz, hi))
        t = nxt
    return Offsets(tuple(starts), tuple(values))


def key_of(ts: int, width: int, zone: Offsets) -> int:
    """The bucket index of instant ``ts``."""
    return (ts + zone.at(ts)) // width


def key_sql(column: str, width: int, zone: Offsets) -> str:
    """SQL giving the bucket index of ``column`` (epoch ms, never negative)."""
    if len(zone.offsets) == 1:
        return f"(({column} + {zone.offsets[0]}) / {width})"
    arms = " ".join(
        f"WHEN {column} < {start} THEN {offset}"
        for start, offset in zip(zone.starts[1:], zone.offsets[:-1], strict=True)
    )
    return f"(({column} + CASE {arms} ELSE {zone.offsets[-1]} END) / {width})"


def choose(bucket: str, from_ms: int, to_ms: int) -> str:
    """The bucket of ``auto``: minute up to 90 minutes, hour up to 15 days, day beyond."""
    if bucket != "auto":
        return bucket
    length = to_ms - from_ms
    if length <= 90 * 60_000:
        return "minute"
    if length <= 15 * 86_400_000:
        return "hour"
    return "day"


def buckets(width: int, zone: Offsets, from_ms: int, to_ms: int) -> list[tuple[int, int]]:
    """``(index, start epoch ms)`` of every bucket from the one holding ``from_ms`` to the one
    holding ``to_ms - 1`` (a 400 past :data:`MAX_BUCKETS`)."""
    first, last = key_of(from_ms, width, zone), key_of(to_ms - 1, width, zone)
    if last - first + 1 > MAX_BUCKETS:
        raise InvalidQuery.of(
            "bucket", f"gives {last - first + 1} buckets; at most {MAX_BUCKETS} (use a larger one)"
        )
    out: list[tuple[int, int]] = []
    for key in range(first, last + 1):
        start = key * width - zone.at(key * width - zone.offsets[0])
        start = key * width - zone.at(start)
        if key_of(start, width, zone) != key:
            continue  # a local hour skipped by a change to daylight-saving time
        out.append((key, start))
    return out
