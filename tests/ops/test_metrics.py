"""``GET /metrics``: every metric of the operations table, counted through the real app, and
the multi-process collector adding up two processes that wrote into one folder."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from tests.helpers import ROOT, TS0, FakeClock, ev, open_session, sweep


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, by name and sorted labels."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def v(got: Samples, name: str, **labels: str) -> float:
    """The value of one sample."""
    return got[(name, tuple(sorted(labels.items())))]


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


def test_every_metric_of_the_table_is_exposed(client: TestClient) -> None:
    got = scrape(client)
    names = {name for name, _ in got}
    for name in (
        "playhead_http_request_duration_seconds_count",
        "playhead_events_refused_total",
        "playhead_sessions_open",
        "playhead_write_queue_depth",
        "playhead_write_batch_seconds_count",
        "playhead_viewers_now",
        "playhead_report_columns_sessions",
    ):
        assert name in names, name
    for reason in ("invalid", "unknown_session", "closed", "too_large", "overloaded"):
        assert v(got, "playhead_events_refused_total", reason=reason) == 0


def test_requests_events_and_refusals_are_counted(client: TestClient) -> None:
    sid = open_session(client, **{"visitor.marketingCloudUserId": "viewer-a"})
    open_session(client, **{"analytics.visitorId": "viewer-a"})  # the same viewer
    open_session(client)  # no viewer key: a viewer of its own
    url = f"/api/v1/sessions/{sid}/events"
    assert client.post(url, json=ev("play", TS0 + 1000, 1)).status_code == 204
    assert client.post(url, json=ev("ping", TS0 + 2000, 2)).status_code == 204
    assert client.post(url, content=b"{not json").status_code == 400
    unknown = "/api/v1/sessions/" + "0" * 64 + "/events"
    assert client.post(unknown, json=ev("play", TS0)).status_code == 404
    assert client.post(url, content=b"x" * 70_000).status_code == 413
    assert client.post(url, json=ev("sessionEnd", TS0 + 3000, 3)).status_code == 204
    assert client.get(f"/reports/sessions/{sid}").status_code == 200
    got = scrape(client)
    statuses = [
        v(got, "playhead_http_requests_total", route="collection", status=s)
        for s in ("201", "204", "400", "404", "413")
    ]
    assert statuses == [3, 3, 1, 1, 1]
    assert v(got, "playhead_http_requests_total", route="reports", status="200") == 1
    assert v(got, "playhead_http_request_duration_seconds_count", route="collection") == 9
    assert v(got, "playhead_http_request_duration_seconds_sum", route="collection") > 0
    assert (
        v(got, "playhead_http_request_duration_seconds_bucket", le="+Inf", route="collection") == 9
    )
    accepted = [
        v(got, "playhead_events_accepted_total", event_type=t)
        for t in ("sessionStart", "play", "ping", "sessionEnd")
    ]
    assert accepted == [3, 1, 1, 1]
    refused = [
        v(got, "playhead_events_refused_total", reason=r)
        for r in ("invalid", "unknown_session", "too_large")
    ]
    assert refused == [1, 1, 1]
    assert v(got, "playhead_sessions_closed_total", reason="sessionEnd") == 1
    assert v(got, "playhead_sessions_open") == 2
    # viewer-a's other session, and the session naming no viewer
    assert v(got, "playhead_viewers_now") == 2
    # a store this small is asked directly: no report process holds its sessions
    assert client.get("/reports/summary", params={"from": 0}).status_code == 200
    assert v(scrape(client), "playhead_report_columns_sessions") == 0
    assert v(got, "playhead_write_batch_seconds_count") >= 1
    # a second scrape adds nothing that did not happen (increments are moved once)
    again = scrape(client)
    assert again[("playhead_events_accepted_total", (("event_type", "play"),))] == 1


def test_closed_sessions_and_410s(make_client: Callable[..., TestClient]) -> None:
    clock = FakeClock()
    client = make_client(clock=clock, idle_timeout=5)
    sid = open_session(client)
    clock.advance(6)
    assert sweep(client) == 1
    url = f"/api/v1/sessions/{sid}/events"
    assert client.post(url, json=ev("ping", TS0 + 1000)).status_code == 410
    got = scrape(client)
    assert v(got, "playhead_sessions_closed_total", reason="idle") == 1
    assert v(got, "playhead_events_refused_total", reason="closed") == 1
    assert v(got, "playhead_sessions_open") == 0


def test_edge_requests_are_counted_under_their_route(client: TestClient) -> None:
    assert client.post("/ee/va/v1/sessionStart", content=b"[]").status_code == 207
    assert client.post("/ee/va/v1/nope", content=b"{}").status_code == 404
    got = scrape(client)
    assert v(got, "playhead_http_requests_total", route="edge", status="207") == 1
    assert v(got, "playhead_http_requests_total", route="edge", status="404") == 1
    assert v(got, "playhead_events_refused_total", reason="invalid") == 1


_WRITER = textwrap.dedent(
    """
    import asyncio, sys
    sys.path.insert(0, {root!r})
    from playhead.ops.metrics import Metrics
    from playhead.tally import Tally

    class Storage:
        def queue_depth(self): return {depth}
    class State:
        async def count(self): return 7
        async def sessions(self):
            return
            yield

    tally = Tally()
    metrics = Metrics(tally, Storage(), State())
    for _ in range({n}):
        tally.accept("ping")
        tally.routes["collection"].record(204, 0.002)
    asyncio.run(metrics.update())
    """
)


def test_multiprocess_collector_adds_up_two_processes(tmp_path: Path) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    for n, depth in ((3, 10), (5, 4)):
        code = _WRITER.format(root=str(ROOT), n=n, depth=depth)
        subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    reader = _WRITER.format(root=str(ROOT), n=0, depth=0) + (
        "sys.stdout.write(asyncio.run(metrics.render()).decode())"
    )
    out = subprocess.run(
        [sys.executable, "-c", reader], env=env, check=True, timeout=60, capture_output=True,
        text=True,
    ).stdout  # fmt: skip
    got = samples(out)
    assert v(got, "playhead_events_accepted_total", event_type="ping") == 8
    assert v(got, "playhead_http_requests_total", route="collection", status="204") == 8
    name = "playhead_http_request_duration_seconds_bucket"
    assert v(got, name, le="0.0025", route="collection") == 8
    assert v(got, name, le="0.001", route="collection") == 0
    # live gauges: summed (queue depth) or the largest (sessions open) over the processes
    # whose files are there (a finished worker's are dropped by mark_process_dead)
    assert v(got, "playhead_write_queue_depth") == 14
    assert v(got, "playhead_sessions_open") == 7


def test_single_process_histogram_buckets_are_cumulative(client: TestClient) -> None:
    services = client.app.fallback.state.services  # type: ignore[attr-defined]
    route = services.collector.tally.routes["reports"]
    for seconds in (0.0004, 0.003, 0.003, 20.0):
        route.record(200, seconds)
    got = scrape(client)
    buckets = [
        v(got, "playhead_http_request_duration_seconds_bucket", le=le, route="reports")
        for le in ("0.0005", "0.001", "0.005", "10.0", "+Inf")
    ]
    assert buckets == [1, 1, 3, 3, 4]
    assert (
        abs(v(got, "playhead_http_request_duration_seconds_sum", route="reports") - 20.0064) < 1e-9
    )


def test_metrics_need_the_read_token_when_one_is_set(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(read_token="r34d")
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = client.get("/metrics", headers={"Authorization": "Bearer r34d"})
    assert ok.status_code == 200
    assert "playhead_sessions_open" in ok.text
    assert client.get("/healthz").status_code == 200  # health checks stay open


def test_a_dead_workers_live_gauges_are_dropped(tmp_path: Path) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    pids = []
    for n, depth in ((3, 10), (5, 4)):
        code = _WRITER.format(root=str(ROOT), n=n, depth=depth) + "print(__import__('os').getpid())"
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, check=True, timeout=60, capture_output=True,
            text=True,
        ).stdout  # fmt: skip
        pids.append(int(out.strip()))
    reader = (
        (
            f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
            "from playhead.ops.multiproc import mark_process_dead\n"
            f"mark_process_dead({pids[0]})\n"
        )
        + _WRITER.format(root=str(ROOT), n=0, depth=0)
        + ("sys.stdout.write(asyncio.run(metrics.render()).decode())")
    )
    out = subprocess.run(
        [sys.executable, "-c", reader], env=env, check=True, timeout=60, capture_output=True,
        text=True,
    ).stdout  # fmt: skip
    got = samples(out)
    assert v(got, "playhead_write_queue_depth") == 4  # the first writer's 10 is gone
    assert v(got, "playhead_events_accepted_total", event_type="ping") == 8  # counters stay
