"""The exports stream every selected session: CSV and Parquet rows as the list and the
per-session reports say, NDJSON the reports themselves; without pyarrow Parquet is a 501."""

from __future__ import annotations

import builtins
import io
from typing import Any

import msgspec
import pytest
from starlette.testclient import TestClient

from playhead.reports.export import COLUMNS, KINDS, csv_rows
from tests.reports import oracle
from tests.reports.audience import Audience, report


@pytest.fixture(scope="module")
def reports(audience_app: tuple[TestClient, Audience]) -> list[dict[str, Any]]:
    client, audience = audience_app
    return [report(client, sid) for sid in audience.sids]


def expected_row(r: dict[str, Any]) -> dict[str, Any]:
    """What the export says of one session, from its report."""
    sd, q, s = r["sessionDetails"], r["qoeDataDetails"], r["scores"]
    return {
        "id": r["id"], "state": r["state"], "closeReason": r["closeReason"],
        "firstEventTs": r["firstEventTs"], "lastEventTs": r["lastEventTs"],
        "media.id": r["params"].get("media.id"), "media.name": r["params"].get("media.name"),
        "viewer": oracle.viewer(r), "timePlayed": sd["timePlayed"],
        "isCompleted": sd["isCompleted"], "errorCount": q["errorCount"],
        "experience": s["experience"], "isPlayed": sd["isPlayed"],
        "isDroppedBeforeStart": q["isDroppedBeforeStart"], "hasResume": sd["hasResume"],
        "isDownloaded": sd["isDownloaded"], "viewerKey": oracle.viewer(r),
        **{f"hasProgress{p}": sd[f"hasProgress{p}"] for p in (10, 25, 50, 75, 95)},
        **{k: q[k] for k in ("hasBufferImpactedStreams", "hasStallImpactedStreams",
                             "hasErrorImpactedStreams", "hasBitrateChangeImpactedStreams",
                             "hasDroppedFrameImpactedStreams", "bufferCount", "stallCount",
                             "bitrateChangeCount", "droppedFrames", "bufferTime", "stallTime",
                             "timeToStart", "bitrateAverage")},
        "hasPauseImpactedStreams": sd["hasPauseImpactedStreams"],
        "pauseCount": sd["pauseCount"], "estimatedStreams": sd["estimatedStreams"],
        "adBreaks": len({a["podIndex"] for a in r["ads"]}),
        "adStarts": sum(a["isStarted"] for a in r["ads"]),
        "adCompletes": sum(a["isCompleted"] for a in r["ads"]),
        "adSkips": sum(a["isSkipped"] for a in r["ads"]),
        "chapterStarts": sum(c["isStarted"] for c in r["chapters"]),
        "chapterCompletes": sum(c["isCompleted"] for c in r["chapters"]),
        "chapterSkips": sum(c["isSkipped"] for c in r["chapters"]),
        "totalTimePlayed": sd["totalTimePlayed"], "uniqueTimePlayed": sd["uniqueTimePlayed"],
        "pauseTime": sd["pauseTime"],
        "adTimePlayed": float(sum(a["timePlayed"] for a in r["ads"])),
        "chapterTimePlayed": float(sum(c["timePlayed"] for c in r["chapters"])),
        "averageMinuteAudience": sd["averageMinuteAudience"],
        "bitrateAverageBucket": q["bitrateAverageBucket"],
        "playbackSuccess": s["playbackSuccess"], "startup": s["startup"],
        "smoothness": s["smoothness"],
    }  # fmt: skip


def _csv_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else str(value)


def test_csv_has_a_row_per_selected_session(
    audience_app: tuple[TestClient, Audience], reports: list[dict[str, Any]]
) -> None:
    client, audience = audience_app
    params = {"from": audience.start_ts, "to": audience.end_ts + 1, "filter": "!state:open"}
    response = client.get("/reports/sessions.csv", params=params)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert b"\r\n" in response.content
    rows = list(csv_rows(response.content))
    assert rows[0] == list(COLUMNS)
    chosen = oracle.selected(reports, audience.start_ts, audience.end_ts + 1, ["!state:open"])
    chosen.sort(key=lambda r: r["firstEventTs"])
    assert len(rows) == 1 + len(chosen)
    for row, r in zip(rows[1:], chosen, strict=True):
        expected = expected_row(r)
        assert set(expected) == set(COLUMNS)
        got = dict(zip(COLUMNS, row, strict=True))
        for name in COLUMNS:
            want = expected[name]
            if KINDS[name] == "float" and want is not None:
                assert float(got[name]) == pytest.approx(want), name
            else:
                assert got[name] == _csv_text(want), name


def test_csv_quotes_values_with_commas_and_quotes(client: TestClient) -> None:
    from tests.helpers import TS0, open_session
    from tests.reports.audience import summarize

    open_session(client, **{"media.name": 'He said "hi", then left'})
    summarize(client)
    response = client.get("/reports/sessions.csv", params={"from": TS0, "to": TS0 + 1})
    assert b'"He said ""hi"", then left"' in response.content
    rows = list(csv_rows(response.content))
    assert rows[1][COLUMNS.index("media.name")] == 'He said "hi", then left'


def test_ndjson_is_every_report(
    audience_app: tuple[TestClient, Audience], reports: list[dict[str, Any]]
) -> None:
    client, audience = audience_app
    params = {"from": audience.start_ts, "to": audience.end_ts + 1}
    response = client.get("/reports/sessions.ndjson", params=params)
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [msgspec.json.decode(line) for line in response.content.splitlines()]
    by_id = {r["id"]: r for r in reports}
    assert [line["id"] for line in lines] == sorted(by_id, key=lambda i: by_id[i]["firstEventTs"])
    for line in lines:
        expected = dict(by_id[line["id"]])
        # stored reports leave out the 410 refusals' diagnostic (the session row counts them)
        expected["diagnostics"] = [
            d for d in expected["diagnostics"] if "refused after" not in d["problem"]
        ]
        assert oracle.differences(_floats(expected), _floats(line)) == []


def _floats(value: Any) -> Any:
    """``value`` with every integer a float (a report writes 0 where another writes 0.0)."""
    if isinstance(value, dict):
        return {k: _floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_floats(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def test_parquet_has_the_csv_columns(
    audience_app: tuple[TestClient, Audience], reports: list[dict[str, Any]]
) -> None:
    pq = pytest.importorskip("pyarrow.parquet", reason='pip install "playhead[parquet]"')
    client, audience = audience_app
    params = {"from": audience.start_ts, "to": audience.end_ts + 1}
    response = client.get("/reports/sessions.parquet", params=params)
    assert response.status_code == 200
    table = pq.read_table(io.BytesIO(response.content))
    assert table.column_names == list(COLUMNS)
    got = table.to_pylist()
    chosen = sorted(reports, key=lambda r: r["firstEventTs"])
    assert len(got) == len(chosen)
    for row, r in zip(got, chosen, strict=True):
        assert oracle.differences(_floats(expected_row(r)), _floats(row)) == []


def test_parquet_without_pyarrow_is_a_501_naming_the_extra(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = builtins.__import__

    def without_pyarrow(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("pyarrow"):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_pyarrow)
    response = client.get("/reports/sessions.parquet")
    assert response.status_code == 501
    assert "playhead[parquet]" in response.json()["message"]
