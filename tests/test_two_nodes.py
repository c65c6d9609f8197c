"""A two-node deployment: two real ``playhead serve`` processes on different loopback ports,
one Redis (a database of its own, 14) and one PostgreSQL (a schema of its own), each event sent
to a random node. Every report must equal the single embedded process's; protocol statuses,
closes and summaries are global; a node killed or Redis flushed loses nothing.
"""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

import pytest
from starlette.testclient import TestClient

from playhead.simulator import generate_session
from tests.helpers import TS0, ServerProcess, ev, start_body
from tests.helpers.shared import (
    PgSchema,
    fresh_redis,
    needs_redis_and_postgres,
    redis_client,
)
from tests.scenarios.test_replay import FILES, mismatches, replay, wire_events

pytestmark = [
    pytest.mark.slow,
    needs_redis_and_postgres(),
]
IDLE = 3.0


def request(base: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """(status, Location or JSON body); status -1 when the node did not answer."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            raw = response.read()
            if response.headers.get("location"):
                return response.status, response.headers["location"]
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("retry-after")
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return -1, None


class Cluster:
    """Two nodes on one Redis database and one PostgreSQL schema."""

    def __init__(self, tmp: Path) -> None:
        self.redis = fresh_redis(14)
        self.pg = PgSchema()
        self.tmp = tmp
        self.nodes = [self._node(name) for name in ("a", "b")]

    def _node(self, name: str) -> ServerProcess:
        return ServerProcess(
            cast(Path, self.pg.url),
            "--state", self.redis, "--node-id", name, "--idle-timeout", str(IDLE),
            "--sweep-interval", "0.2", "--storage-timeout", "1", "--log-level", "info",
            log_dir=self.tmp,
        )  # fmt: skip

    def start(self) -> None:
        for node in self.nodes:
            if node.proc is None:
                node.start(timeout=30)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def urls(self) -> list[str]:
        return [node.url for node in self.nodes if node.proc is not None]

    def any(self, rng: random.Random) -> str:
        return rng.choice(self.urls())

    def start_session(self, rng: random.Random, body: dict[str, Any]) -> str:
        status, location = request(self.any(rng), "POST", "/api/v1/sessions", body)
        assert status == 201, status
        return str(location)

    def events(self, session: int) -> list[tuple[int, dict[str, Any]]]:
        rows = self.pg.rows(
            "SELECT seq, body FROM events WHERE session_id = $1 ORDER BY seq", session
        )
        return [(seq, json.loads(bytes(body))) for seq, body in rows]

    def session_id(self, sid: str) -> int:
        [(key,)] = self.pg.rows("SELECT id FROM sessions WHERE sid = $1", sid)
        return int(key)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    made = Cluster(tmp_path_factory.mktemp("two-nodes"))
    try:
        made.start()
        yield made
    finally:
        made.stop()
        made.pg.drop()
        redis_client(made.redis).flushdb()


def send_all(
    cluster: Cluster, location: str, events: list[dict[str, Any]], seed: int, parallel: int
) -> list[int]:
    """Send events of one session, each to a random node, ``parallel`` of them in flight."""
    rng = random.Random(seed)
    targets = [cluster.any(rng) for _ in events]
    if parallel == 1:
        return [
            request(t, "POST", location + "/events", e)[0]
            for t, e in zip(targets, events, strict=True)
        ]
    with ThreadPoolExecutor(parallel) as pool:
        return list(pool.map(lambda te: request(te[0], "POST", location + "/events", te[1])[0],
                             zip(targets, events, strict=True)))  # fmt: skip


def report(cluster: Cluster, location: str, rng: random.Random) -> dict[str, Any]:
    status, body = request(
        cluster.any(rng), "GET", "/reports/sessions/" + location.rsplit("/", 1)[1]
    )
    assert status == 200, status
    return cast(dict[str, Any], body)


def single_process(
    client: TestClient, doc: dict[str, Any], order: list[int] | None
) -> dict[str, Any]:
    got = replay(client, doc, order)
    got.pop("id")
    return got


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_scenarios_on_two_nodes_equal_the_single_process_report(
    cluster: Cluster, client: TestClient, path: Path
) -> None:
    doc = json.loads(path.read_text())
    events = wire_events(doc)
    rng = random.Random(path.stem)
    if events[0]["params"].get("media.downloaded"):
        status, location = request(cluster.any(rng), "POST", "/api/v1/downloaded", events)
        assert status == 201
        got = report(cluster, str(location), rng)
        assert mismatches(doc["expect"], got) == []
        got.pop("id")
        assert got == single_process(client, doc, None)
        return
    for seed, parallel in ((1, 1), (2, 4), (3, 4)):
        order = list(range(len(events) - 1))
        if seed > 1:
            random.Random(seed).shuffle(order)
        location = cluster.start_session(rng, events[0])
        statuses = send_all(cluster, location, [events[1 + i] for i in order], seed, parallel)
        assert statuses == [204] * len(order)
        got = report(cluster, location, rng)
        assert mismatches(doc["expect"], got) == [], (seed, parallel)
        got.pop("id")
        assert got == single_process(client, doc, order), (seed, parallel)


def test_unknown_and_closed_sessions_and_the_straggler_grace_across_nodes(cluster: Cluster) -> None:
    a, b = cluster.urls()
    for url in (a, b):
        assert (
            request(url, "POST", f"/api/v1/sessions/{'ab' * 32}/events", ev("ping", TS0))[0] == 404
        )
    location = request(a, "POST", "/api/v1/sessions", start_body())[1]
    assert request(a, "POST", location + "/events", ev("play", TS0 + 1000, 0))[0] == 204
    assert request(b, "POST", location + "/events", ev("sessionEnd", TS0 + 60_000, 59))[0] == 204
    closed_at = time.monotonic()
    # stamped before the end and within the grace: counts, on the other node
    assert request(a, "POST", location + "/events", ev("ping", TS0 + 50_000, 49))[0] == 204
    # stamped after the end: refused on both nodes, within a second of the close
    assert request(a, "POST", location + "/events", ev("ping", TS0 + 70_000, 69))[0] == 410
    assert request(b, "POST", location + "/events", ev("ping", TS0 + 71_000, 70))[0] == 410
    assert time.monotonic() - closed_at < 1.0
    body = report(cluster, location, random.Random(1))
    assert body["sessionDetails"]["timePlayed"] == pytest.approx(59.0)
    refusals = [
        d
        for d in body.get("diagnostics", [])
        if "410" in json.dumps(d) or "refused" in json.dumps(d)
    ]
    assert refusals, body.get("diagnostics")


def test_each_session_closes_once_with_one_final_summary(cluster: Cluster) -> None:
    cluster.pg.rows("CREATE TABLE IF NOT EXISTS final_writes (session_id BIGINT)")
    cluster.pg.rows(
        "CREATE OR REPLACE FUNCTION note_final() RETURNS trigger AS $$ BEGIN"
        " IF NEW.final THEN INSERT INTO final_writes VALUES (NEW.session_id); END IF;"
        " RETURN NEW; END $$ LANGUAGE plpgsql"
    )
    cluster.pg.rows(
        "CREATE OR REPLACE TRIGGER final_written AFTER INSERT OR UPDATE ON session_summaries"
        " FOR EACH ROW EXECUTE FUNCTION note_final()"
    )
    rng = random.Random(7)
    sids = []
    for _ in range(30):
        location = cluster.start_session(rng, start_body())
        assert (
            request(cluster.any(rng), "POST", location + "/events", ev("play", TS0 + 1000, 0))[0]
            == 204
        )
        sids.append(location.rsplit("/", 1)[1])
    keys = [cluster.session_id(sid) for sid in sids]
    deadline = time.monotonic() + IDLE + 15
    while time.monotonic() < deadline:
        rows = cluster.pg.rows(
            "SELECT count(*) FROM sessions WHERE id = ANY($1::bigint[]) AND state = 'closed'", keys
        )
        if rows[0][0] == len(keys):
            break
        time.sleep(0.2)
    time.sleep(1.0)  # any second close or summary would come now
    closed = cluster.pg.rows(
        "SELECT close_reason, count(*) FROM sessions WHERE id = ANY($1::bigint[]) GROUP BY 1", keys
    )
    assert closed == [("idle", 30)]
    writes = Counter(k for (k,) in cluster.pg.rows("SELECT session_id FROM final_writes"))
    assert {k: writes[k] for k in keys} == dict.fromkeys(keys, 1)


def _load(
    cluster: Cluster, sessions: int, seed: int, during: Any
) -> tuple[dict[str, list[dict[str, Any]]], Counter[int]]:
    """Play generated sessions against random nodes, 8 requests in flight; ``during`` runs
    once a third of the events were sent. Returns the acknowledged events per session and the
    statuses met. Failed requests are retried (503, or no answer: another node) until
    acknowledged or refused."""
    bodies = [generate_session(seed, i, start_ts=TS0) for i in range(sessions)]
    rng = random.Random(seed)
    locations = [cluster.start_session(rng, b[0]) for b in bodies]
    acked: dict[str, list[dict[str, Any]]] = {loc: [] for loc in locations}
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    total = sum(len(b) - 1 for b in bodies)
    sent = [0]
    fired = threading.Event()

    def play(k: int) -> None:
        local = random.Random(seed * 1000 + k)
        for body in bodies[k][1:]:
            for _ in range(200):
                status, _ = request(cluster.any(local), "POST", locations[k] + "/events", body)
                with lock:
                    statuses[status] += 1
                if status in (204, 410, 400):
                    break
                if status == -1:
                    break  # no answer: unknown outcome; never resent (it may be stored)
                time.sleep(0.05)
            with lock:
                if status == 204:
                    acked[locations[k]].append(body)
                sent[0] += 1
                if sent[0] >= total // 3 and not fired.is_set():
                    fired.set()
                    during()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(play, range(sessions)))
    return acked, statuses


def _check_log_and_reports(
    cluster: Cluster, acked: dict[str, list[dict[str, Any]]], client: TestClient
) -> None:
    rng = random.Random(3)
    for location, events in acked.items():
        sid = location.rsplit("/", 1)[1]
        stored = cluster.events(cluster.session_id(sid))
        counts = Counter(json.dumps(body, sort_keys=True) for _, body in stored)
        assert max(counts.values()) == 1, "an event stored twice"
        for body in events:
            assert counts[json.dumps(body, sort_keys=True)] == 1, "an acknowledged event lost"
        # the report equals the single process's over the same stored events, in seq order
        embedded = client.post("/api/v1/sessions", json=stored[0][1]).headers["location"]
        for _, body in stored[1:]:
            client.post(embedded + "/events", json=body)
        want = client.get("/reports/sessions/" + embedded.rsplit("/", 1)[1]).json()
        got = report(cluster, location, rng)
        for doc in (want, got):
            # what the lifecycle adds (the embedded copy is still open, had no refusals)
            for key in ("id", "state", "closeReason"):
                doc.pop(key)
            doc["sessionDetails"].pop("secondsSinceLastCall")
            doc["diagnostics"] = [d for d in doc["diagnostics"] if "(410)" not in d["problem"]]
        assert got == want


def test_a_node_killed_under_load_loses_and_duplicates_nothing(
    cluster: Cluster, client: TestClient
) -> None:
    victim = cluster.nodes[0]
    acked, statuses = _load(cluster, 12, seed=11, during=victim.kill)
    try:
        assert statuses[204] > 100
        assert statuses[404] == 0 and statuses[500] == 0
        time.sleep(4.0)  # the survivor folds in from the log what the dead node left reserved
        _check_log_and_reports(cluster, acked, client)
    finally:
        cluster.start()


def test_redis_flushed_mid_run_loses_nothing_and_reports_stay_exact(
    cluster: Cluster, client: TestClient
) -> None:
    acked, statuses = _load(
        cluster, 12, seed=12, during=lambda: redis_client(cluster.redis).flushdb()
    )
    assert statuses[204] > 100
    assert statuses[503] > 0  # met while the state was rebuilt, and retried
    assert statuses[404] == 0 and statuses[500] == 0
    time.sleep(4.0)
    _check_log_and_reports(cluster, acked, client)


def test_simulated_sessions_shuffled_on_two_nodes_equal_the_single_process(
    cluster: Cluster, client: TestClient
) -> None:
    """The property, over the simulator's sessions: any arrival order, any node, four events of
    one session in flight at once, and the report is the single process's for the same log."""
    rng = random.Random(21)
    acked: dict[str, list[dict[str, Any]]] = {}
    for i in range(6):
        bodies = generate_session(21, i, start_ts=TS0)
        location = cluster.start_session(rng, bodies[0])
        rest = bodies[1:]
        rng.shuffle(rest)
        statuses = send_all(cluster, location, rest, seed=i, parallel=4)
        assert set(statuses) <= {204, 410}, Counter(statuses)
        acked[location] = [b for b, s in zip(rest, statuses, strict=True) if s == 204]
        assert len(acked[location]) >= len(rest) // 2
    _check_log_and_reports(cluster, acked, client)


def test_two_workers_on_one_port_share_sqlite_and_redis(tmp_path: Path) -> None:
    redis_url = fresh_redis(13)
    server = ServerProcess(tmp_path / "w.db", "--state", redis_url, "--workers", "2",
                           "--node-id", "box", "--log-level", "info", log_dir=tmp_path)  # fmt: skip
    try:
        server.start(timeout=30)
        location = request(server.url, "POST", "/api/v1/sessions", start_body())[1]
        events = [ev("play", TS0 + 1000, 0)]
        events += [ev("ping", TS0 + 1000 + 10_000 * i, 10 * i) for i in range(1, 30)]
        with ThreadPoolExecutor(4) as pool:
            statuses = list(pool.map(
                lambda e: request(server.url, "POST", location + "/events", e)[0], events
            ))  # fmt: skip
        assert statuses == [204] * 30
        body = report(cast(Cluster, _One(server.url)), location, random.Random(1))
        assert body["sessionDetails"]["timePlayed"] == pytest.approx(290.0)
    finally:
        server.stop()
        redis_client(redis_url).flushdb()
    log = server.log.read_text()
    assert "box/w1" in log and "box/w2" in log
    assert "2 worker(s)" in log


class _One:
    """A one-node stand-in for :class:`Cluster` where only ``any`` is needed."""

    def __init__(self, url: str) -> None:
        self.url = url

    def any(self, rng: random.Random) -> str:
        return self.url
