"""The selection every report takes: a time range, filters on dimensions, a time zone.

Parsed from query parameters by :func:`parse`; every malformed one is an
:class:`~playhead.errors.InvalidQuery` naming ``query.NAME``. :func:`where` turns a selection
into SQL over ``session_facts`` (alias ``ss``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from playhead.errors import FieldError, InvalidQuery
from playhead.reports import dimensions
from playhead.reports.dimensions import Dialect

DAY_MS = 86_400_000
# Epoch ms the range may name: years 1970 to 9999 (anything else is a typo).
_MAX_MS = 253_402_300_799_999
_INTEGER = re.compile(r"-?\d{1,16}")


@dataclass(frozen=True)
class Filter:
    """``filter=DIM:VALUE`` (``exclude`` for ``filter=!DIM:VALUE``)."""

    dimension: str
    value: str
    exclude: bool = False

    def text(self) -> str:
        """The filter as it is written in a query."""
        return f"{'!' if self.exclude else ''}{self.dimension}:{self.value}"


@dataclass(frozen=True)
class Selection:
    """Which sessions a report covers: ``from_ms <= firstEventTs < to_ms`` and the filters."""

    from_ms: int
    to_ms: int
    filters: tuple[Filter, ...] = ()
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    compare: bool = False
    # read every row rather than the range's index (SQLite: for a range covering much of the
    # table, fetching each row through the index costs about three times a plain scan)
    scan: bool = False

    def previous(self) -> Selection:
        """The range of the same length just before this one, with the same filters."""
        length = self.to_ms - self.from_ms
        return replace(self, from_ms=self.from_ms - length, to_ms=self.from_ms, compare=False)


def parse_time(name: str, text: str) -> int:
    """Epoch ms from epoch milliseconds or an ISO-8601 date-time (a date alone is its
    midnight UTC; a date-time without an offset is UTC)."""
    text = text.strip()
    if _INTEGER.fullmatch(text):
        ms = int(text)
    else:
        try:
            if len(text) == 10:
                day = dt.date.fromisoformat(text)
                moment = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
            else:
                moment = dt.datetime.fromisoformat(text)
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=dt.UTC)
            ms = round(moment.timestamp() * 1000)
        except (ValueError, OverflowError, OSError):
            raise InvalidQuery.of(
                name, "must be epoch milliseconds or an ISO-8601 date-time"
            ) from None
    if not 0 <= ms <= _MAX_MS:
        raise InvalidQuery.of(name, "must be between 1970 and 9999")
    return ms


def parse_filter(text: str) -> Filter:
    """One ``filter`` value: ``DIM:VALUE`` or ``!DIM:VALUE`` (the first ``:`` separates)."""
    exclude = text.startswith("!")
    body = text[1:] if exclude else text
    name, colon, value = body.partition(":")
    if not colon:
        raise InvalidQuery.of("filter", f"{text!r} is not DIM:VALUE or !DIM:VALUE")
    problem = dimensions.problem(name)
    if problem is not None:
        raise InvalidQuery.of("filter", f"{name!r} {problem}")
    return Filter(name, value, exclude)


def parse_tz(text: str) -> ZoneInfo:
    """An IANA time zone name."""
    try:
        if not text or text.startswith("/") or ".." in text:
            raise ValueError(text)
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidQuery.of("tz", f"{text!r} is not an IANA time zone name") from None


def one(query: Any, name: str) -> str | None:
    """The single value of a query parameter (``None`` when absent; twice is a 400)."""
    values = query.getlist(name)
    if not values:
        return None
    if len(values) > 1:
        raise InvalidQuery.of(name, "may be given once")
    value: str = values[0]
    return value


def parse(query: Any, now_ms: int) -> Selection:
    """The selection of a request's query parameters (``query.getlist(name)`` gives a
    parameter's values); ``to`` defaults to ``now_ms``, ``from`` to ``to`` minus 24 h."""
    errors: list[FieldError] = []

    def attempt(fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except InvalidQuery as exc:
            errors.extend(exc.errors)
            return None

    to_text, from_text = attempt(one, query, "to"), attempt(one, query, "from")
    to_ms = now_ms if to_text is None else attempt(parse_time, "to", to_text)
    from_ms = (
        (None if to_ms is None else max(0, to_ms - DAY_MS))
        if from_text is None
        else attempt(parse_time, "from", from_text)
    )
    filters = tuple(f for f in (attempt(parse_filter, t) for t in query.getlist("filter")) if f)
    tz_text = attempt(one, query, "tz")
    tz = ZoneInfo("UTC") if tz_text is None else attempt(parse_tz, tz_text)
    compare_text = attempt(one, query, "compare")
    if compare_text not in (None, "previous"):
        errors.append(FieldError("query.compare", "must be 'previous'"))
    if from_ms is not None and to_ms is not None and from_ms >= to_ms:
        errors.append(FieldError("query.from", "must be before to"))
    if errors or from_ms is None or to_ms is None:
        raise InvalidQuery(errors=errors)
    return Selection(from_ms, to_ms, filters, tz, compare_text == "previous")


def where(selection: Selection, dialect: Dialect) -> tuple[str, tuple[Any, ...]]:
    """``WHERE`` conditions (without the keyword) and their arguments for ``selection``:
    the range, the filters (values of one dimension OR-ed, dimensions AND-ed, exclusions
    AND-ed with everything) and the default exclusions of dimensions not filtered on."""
    column = "+ss.first_event_ts" if selection.scan else "ss.first_event_ts"
    conditions = [f"{column} >= ?", f"{column} < ?"]
    args: list[Any] = [selection.from_ms, selection.to_ms]
    more, more_args = filter_conditions(selection.filters, dialect)
    return " AND ".join([*conditions, *more]), (*args, *more_args)


def filter_conditions(
    filters: Sequence[Filter], dialect: Dialect
) -> tuple[list[str], tuple[Any, ...]]:
    """The SQL conditions of ``filters`` and of the default exclusions, with their arguments."""
    conditions: list[str] = []
    args: list[Any] = []
    included: dict[str, list[str]] = {}
    for f in filters:
        if not f.exclude:
            included.setdefault(f.dimension, []).append(f.value)
    for name, values in included.items():
        unique = list(dict.fromkeys(values))
        marks = ", ".join("?" * len(unique))
        # without (none) among the values, the bare expression (NULL is in no list) lets an
        # index on it serve (media.id's)
        if dimensions.NONE in unique:
            expression = dimensions.valued(name, dialect)
        else:
            expression = dimensions.expression(name, dialect)
        conditions.append(f"{expression} IN ({marks})")
        args.extend(unique)
    for f in filters:
        if f.exclude:
            conditions.append(dimensions.excluding(f.dimension, dialect))
            args.append(f.value)
    named = {f.dimension for f in filters}
    for name, value in dimensions.DEFAULT_EXCLUDED.items():
        if name not in named:  # written in the SQL: the partial index of migration 0007 serves it
            conditions.append(dimensions.excluding(name, dialect, value))
    return conditions, tuple(args)
