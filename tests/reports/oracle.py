"""The aggregate formulas of the spec, applied in the test to per-session reports: an oracle
written apart from playhead.reports (it reads only the session report documents)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

Report = dict[str, Any]

VIEWER_KEYS = ("visitor.marketingCloudUserId", "analytics.visitorId", "analytics.aid")


def viewer(r: Report) -> str | None:
    for key in VIEWER_KEYS:
        value = r["params"].get(key)
        if isinstance(value, str) and value:
            return value
    return None


def text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def dimension(r: Report, name: str) -> str:
    """A session's value of a dimension, ``(none)`` when it has none."""
    if name == "state":
        return str(r["state"])
    if name == "closeReason":
        return r["closeReason"] or "(none)"
    if name == "bitrateBucket":
        return r["qoeDataDetails"]["bitrateAverageBucket"] or "(none)"
    if name == "viewer":
        return viewer(r) or "(none)"
    if name.startswith("meta."):
        value = r["customMetadata"].get(name[5:])
        return "(none)" if value is None else text(value)
    value = r["params"].get(name)
    if value is None:
        return "(none)"
    return text(value).lower() if name == "media.contentType" else text(value)


def selected(reports: Iterable[Report], start: int, end: int, filters: list[str]) -> list[Report]:
    """The reports a selection picks (values of one dimension OR-ed, dimensions AND-ed,
    exclusions AND-ed)."""
    include: dict[str, set[str]] = {}
    exclude: list[tuple[str, str]] = []
    for f in filters:
        negated = f.startswith("!")
        name, _, value = (f[1:] if negated else f).partition(":")
        if negated:
            exclude.append((name, value))
        else:
            include.setdefault(name, set()).add(value)
    return [
        r
        for r in reports
        if start <= r["firstEventTs"] < end
        and all(dimension(r, name) in values for name, values in include.items())
        and all(dimension(r, name) != value for name, value in exclude)
    ]


def _rate(n: float, d: float) -> float | None:
    return n / d if d else None


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def metrics(reports: list[Report]) -> dict[str, Any]:
    """Every metric of section 3 over ``reports``."""

    def count(pred: Callable[[Report], Any]) -> int:
        return sum(1 for r in reports if pred(r))

    def total(get: Callable[[Report], float]) -> float:
        return float(sum(get(r) for r in reports))

    sd = lambda r: r["sessionDetails"]  # noqa: E731
    q = lambda r: r["qoeDataDetails"]  # noqa: E731
    viewers = {viewer(r) or f"session:{r['id']}" for r in reports}
    m: dict[str, Any] = {
        "mediaStarts": len(reports),
        "uniqueViewers": len(viewers),
        "contentStarts": count(lambda r: sd(r)["isPlayed"]),
        "contentCompletes": count(lambda r: sd(r)["isCompleted"]),
        "dropsBeforeStart": count(lambda r: q(r)["isDroppedBeforeStart"]),
        "resumes": count(lambda r: sd(r)["hasResume"]),
        "downloaded": count(lambda r: sd(r)["isDownloaded"]),
    }
    for p in (10, 25, 50, 75, 95):
        m[f"progress{p}"] = count(lambda r, p=p: sd(r)[f"hasProgress{p}"])
    for name, group, field in (
        ("bufferImpacted", q, "hasBufferImpactedStreams"),
        ("stallImpacted", q, "hasStallImpactedStreams"),
        ("errorImpacted", q, "hasErrorImpactedStreams"),
        ("pauseImpacted", sd, "hasPauseImpactedStreams"),
        ("bitrateChangeImpacted", q, "hasBitrateChangeImpactedStreams"),
        ("droppedFrameImpacted", q, "hasDroppedFrameImpactedStreams"),
    ):
        m[name] = count(lambda r, g=group, f=field: g(r)[f])
    for name, group in (
        ("pauseCount", sd), ("bufferCount", q), ("stallCount", q), ("errorCount", q),
        ("bitrateChangeCount", q), ("droppedFrames", q), ("estimatedStreams", sd),
    ):  # fmt: skip
        m[name] = int(total(lambda r, g=group, n=name: g(r)[n]))
    m["adBreaks"] = sum(len({a["podIndex"] for a in r["ads"]}) for r in reports)
    for kind in ("ad", "chapter"):
        items = [x for r in reports for x in r[f"{kind}s"]]
        m[f"{kind}Starts"] = sum(1 for x in items if x["isStarted"])
        m[f"{kind}Completes"] = sum(1 for x in items if x["isCompleted"])
        m[f"{kind}Skips"] = sum(1 for x in items if x["isSkipped"])
        m[f"{kind}TimePlayed"] = float(sum(x["timePlayed"] for x in items))
    for name in ("timePlayed", "totalTimePlayed", "uniqueTimePlayed", "pauseTime"):
        m[name] = total(lambda r, n=name: sd(r)[n])
    for name in ("bufferTime", "stallTime"):
        m[name] = total(lambda r, n=name: q(r)[n])
    m["averageMinuteAudience"] = total(lambda r: sd(r)["averageMinuteAudience"] or 0)
    m["contentStartRate"] = _rate(m["contentStarts"], m["mediaStarts"])
    m["completionRate"] = _rate(m["contentCompletes"], m["contentStarts"])
    m["dropBeforeStartRate"] = _rate(m["dropsBeforeStart"], m["mediaStarts"])
    m["errorRate"] = _rate(m["errorImpacted"], m["mediaStarts"])
    waiting = m["bufferTime"] + m["stallTime"]
    m["rebufferRatio"] = _rate(waiting, m["totalTimePlayed"] + waiting)
    m["adCompletionRate"] = _rate(m["adCompletes"], m["adStarts"])
    m["chapterCompletionRate"] = _rate(m["chapterCompletes"], m["chapterStarts"])
    m["averageTimePlayed"] = _rate(m["timePlayed"], m["contentStarts"])
    starts = sorted(q(r)["timeToStart"] for r in reports if q(r)["timeToStart"] is not None)

    def nearest(p: int) -> float | None:
        return starts[math.ceil(p / 100 * len(starts)) - 1] if starts else None

    m["timeToStart"] = {
        "count": len(starts),
        "mean": _mean(starts),
        **{f"p{p}": nearest(p) for p in (50, 90, 95, 99)},
    }
    weighted = [
        (q(r)["bitrateAverage"], sd(r)["totalTimePlayed"])
        for r in reports
        if q(r)["bitrateAverage"] is not None
    ]
    weights = sum(w for _, w in weighted)
    m["bitrateAverage"] = sum(b * w for b, w in weighted) / weights if weights else None
    for name, part in (
        ("experienceScore", "experience"),
        ("playbackSuccessScore", "playbackSuccess"),
        ("startupScore", "startup"),
        ("smoothnessScore", "smoothness"),
    ):
        m[name] = _mean([r["scores"][part] for r in reports if r["scores"][part] is not None])
    return m


def differences(expected: Any, got: Any, path: str = "") -> list[str]:
    """Every place ``got`` differs from ``expected`` (floats within 1e-6 relative; integers
    and nulls exactly; NaN never)."""
    if isinstance(expected, dict):
        if not isinstance(got, dict) or set(got) != set(expected):
            return [
                f"{path}: {sorted(expected)} != {sorted(got) if isinstance(got, dict) else got}"
            ]
        return [d for k in expected for d in differences(expected[k], got[k], f"{path}.{k}")]
    if isinstance(expected, list):
        if not isinstance(got, list) or len(got) != len(expected):
            return [f"{path}: {expected!r} != {got!r}"]
        return [
            d
            for i, (a, b) in enumerate(zip(expected, got, strict=True))
            for d in differences(a, b, f"{path}[{i}]")
        ]
    if expected is None or isinstance(expected, (bool, str)):
        return (
            []
            if got == expected and type(got) is type(expected)
            else [f"{path}: {expected!r} != {got!r}"]
        )
    if isinstance(expected, int) and not isinstance(expected, bool):
        if isinstance(got, int) and not isinstance(got, bool) and got == expected:
            return []
        return [f"{path}: {expected!r} != {got!r}"]
    if not isinstance(got, (int, float)) or isinstance(got, bool) or math.isnan(got):
        return [f"{path}: {expected!r} != {got!r}"]
    return (
        []
        if math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-6)
        else [f"{path}: {expected!r} != {got!r}"]
    )


def scalar(m: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """The named metrics of a metrics dict."""
    return {name: m[name] for name in names}


def concurrency(
    reports: list[Report], start: int, end: int, step_ms: int, filters: list[str]
) -> list[dict[str, Any]]:
    """Per step: sessions with a watching span (any state but paused and ended) overlapping
    it, and the seconds of those spans inside it; sessions picked by timeline overlap."""
    chosen = [
        r
        for r in selected(reports, 0, 2**62, filters)
        if r["firstEventTs"] < end and r["lastEventTs"] > start
    ]
    points = []
    t = start
    while t < end:
        top = t + step_ms
        viewers, watch = 0, 0.0
        for r in chosen:
            spans = [
                s for s in r["timeline"]
                if s["state"] not in ("paused", "ended") and s["to"] > t and s["from"] < top
                and s["to"] > start and s["from"] < end
            ]  # fmt: skip
            if spans:
                viewers += 1
                watch += sum(
                    (min(s["to"], top, end) - max(s["from"], t, start)) / 1000 for s in spans
                )
        points.append({"t": t, "viewers": viewers, "watchTime": watch})
        t += step_ms
    return points


def retention(chosen: list[Report], points: int) -> dict[str, Any]:
    """The audience-retention curve of the sessions that played among ``chosen``."""
    played = [r for r in chosen if r["sessionDetails"]["isPlayed"]]
    lengths = [r["params"].get("media.length") for r in played]
    lengths = [x for x in lengths if isinstance(x, (int, float)) and x > 0]
    if not lengths:
        return {"length": None, "sessions": len(played), "points": []}
    length = float(max(lengths))
    curve = []
    for i in range(points):
        p = (i + 0.5) * length / points
        inside = sum(1 for r in played if any(lo <= p <= hi for lo, hi in r["watchedRanges"]))
        curve.append({"position": p, "share": inside / len(played)})
    return {"length": length, "sessions": len(played), "points": curve}
