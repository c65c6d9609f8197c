"""Small builders for engine tests: events at seconds offsets and whole-session folds."""

from __future__ import annotations

from typing import Any

import msgspec

from playhead.engine import Lifecycle, Limits, SessionFold, SessionReport, fold
from playhead.events import Event, Qoe

BASE = 1_700_000_000_000
FULL_START: dict[str, Any] = {
    "analytics.trackingServer": "t.example.com",
    "analytics.reportSuite": "rs",
    "visitor.marketingCloudOrgId": "org@AdobeOrg",
    "media.playerName": "p",
    "media.channel": "c",
    "media.id": "m",
    "media.length": 100.0,
    "media.contentType": "VOD",
}
OPEN = Lifecycle()


def ev(etype: str, t: float, ph: float = 0.0, **kw: Any) -> Event:
    """Return an event of type ``etype`` at ``t`` seconds after BASE with playhead ``ph``."""
    return Event(type=etype, ts=BASE + round(t * 1000), playhead=ph, **kw)


def start(
    t: float = 0.0, ph: float = 0.0, qoe: Qoe | None = None, extra: dict[str, Any] | None = None
) -> Event:
    """Return a sessionStart with every required param, overridden/extended by ``extra``."""
    p = {**FULL_START, **(extra or {})}
    return ev("sessionStart", t, ph, params={k: v for k, v in p.items() if v is not None}, qoe=qoe)


def ad_break(t: float, ph: float = 0.0, index: int = 1) -> Event:
    """Return an adBreakStart."""
    return ev("adBreakStart", t, ph, params={"media.ad.podIndex": index, "media.ad.podSecond": ph})


def ad(t: float, ph: float = 0.0, ad_id: str = "a1", position: int = 1) -> Event:
    """Return an adStart with every required param."""
    params = {
        "media.ad.id": ad_id,
        "media.ad.length": 15,
        "media.ad.podPosition": position,
        "media.ad.playerName": "p",
    }
    return ev("adStart", t, ph, params=params)


def chapter(t: float, ph: float = 0.0, index: int = 1) -> Event:
    """Return a chapterStart."""
    params = {
        "media.chapter.index": index,
        "media.chapter.offset": ph,
        "media.chapter.length": 30,
    }
    return ev("chapterStart", t, ph, params=params)


def run(
    first: Event, *rest: Event, limits: Limits | None = None, lifecycle: Lifecycle = OPEN
) -> SessionReport:
    """Fold ``first`` and ``rest`` (arrival order = argument order) and return the report."""
    return folded(first, *rest, limits=limits).report(lifecycle)


def folded(first: Event, *rest: Event, limits: Limits | None = None) -> SessionFold:
    """Fold ``first`` and ``rest`` (arrival order = argument order) with fold()."""
    items = [(e, i + 1, 1000 + i) for i, e in enumerate(rest)]
    return fold("sid", first, 999, items, limits or Limits())


def incremental(first: Event, *rest: Event, limits: Limits | None = None) -> SessionFold:
    """Apply ``rest`` one by one (all must be in order) and return the fold."""
    f = SessionFold.begin("sid", first, 999, limits or Limits())
    for i, e in enumerate(rest):
        assert f.in_order(e, i + 1)
        f.apply(e, i + 1, 1000 + i)
    return f


def encode(report: SessionReport) -> bytes:
    """Return the report's JSON bytes."""
    return msgspec.json.encode(report)


def problems(report: SessionReport) -> list[str]:
    """Return the report's diagnostic problems in order."""
    return [d.problem for d in report.diagnostics]
