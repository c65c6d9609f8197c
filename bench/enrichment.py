"""What enrichment costs ingest: whole simulated sessions through the real ASGI app, in process.

Two arms of one run, interleaved round by round on a fresh SQLite database each, the process
pinned to one CPU:

* ``off`` — the collector keeps the User-Agent alone (no parsing, no geography);
* ``on``  — the enricher of ``playhead serve --geoip-db``: User-Agent parsing (cached), bot
  detection, a country lookup in a MaxMind database built here with mmdb-writer.

Traffic: realistic sessions from the simulator (sessionStart first, then every event of the
session, Collection API bodies), each session with a User-Agent drawn from ``--agents``
distinct strings (a Zipf-like mix, as real audiences are) and a client address in the
database. Requests go straight into the ASGI callable (no sockets), so the share of the work
that enrichment adds is larger here than over HTTP: an upper bound. A second measure sends only
sessionStarts, each with a User-Agent never seen before (the cache's worst case), and prints
the cost per start in microseconds.

Target (issue: enrichment ≤ 5 % of ingest throughput): ``on/off`` events/s ratio ≥ 0.95.
Writes bench/results/enrichment.json.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import AsgiDriver, pin_self, scripts, verdict, write_result

from playhead.app import create_app
from playhead.config import load_settings
from playhead.enrichment import Enricher, GeoDatabase

TARGET_RATIO = 0.95
BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{v}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_{v} like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Version/17.{v} Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel {v}) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.{v}.82 Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_{v}) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (SMART-TV; LINUX; Tizen 6.{v}) AppleWebKit/537.36 (KHTML, like Gecko) "
    "76.0.3809.146/6.0 TV Safari/537.36",
]


def agents(n: int, rng: random.Random) -> list[str]:
    """``n`` distinct, realistic User-Agents."""
    return [rng.choice(BROWSERS).format(v=i) for i in range(n)]


def build_geo(path: Path) -> Path:
    """A MaxMind database covering 10.0.0.0/8 (the addresses the bench's viewers come from)."""
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(ip_version=6, database_type="GeoIP2-City", ipv4_compatible=True)
    for i, country in enumerate(["DE", "FR", "US", "BR", "JP", "IN", "GB", "ES"]):
        writer.insert_network(
            IPSet([f"10.{i * 32}.0.0/11"]),
            {"country": {"iso_code": country}, "subdivisions": [{"iso_code": f"R{i}"}]},
        )
    writer.to_db_file(str(path))
    return path


async def run_arm(
    enrich: bool,
    sessions: list[list[bytes]],
    viewer_agents: list[str],
    addresses: list[str],
    geo_path: Path,
    only_starts: bool = False,
) -> dict[str, float]:
    """One round of one arm on a fresh database: events/s and seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings({"db": str(Path(tmp) / "bench.db")})
        app = create_app(settings)
        collector = app.collector
        collector.enrich = Enricher(GeoDatabase(str(geo_path))).context if enrich else None
        driver = AsgiDriver(app)
        await driver.start()
        events = 0
        started = time.perf_counter()
        for i, session in enumerate(sessions):
            agent, address = viewer_agents[i], addresses[i]
            status, headers = await driver.post(
                "/api/v1/sessions", session[0], agent=agent, client=address
            )
            assert status == 201, status
            events += 1
            if only_starts:
                continue
            sid = headers[b"location"].decode().rsplit("/", 1)[1]
            path = f"/api/v1/sessions/{sid}/events"
            for body in session[1:]:
                status, _ = await driver.post(path, body, agent=agent, client=address)
                assert status in (204, 410), status
                events += 1
        elapsed = time.perf_counter() - started
        await driver.stop()
    return {"events": events, "seconds": elapsed, "events_per_s": events / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=400, help="sessions per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--agents", type=int, default=300, help="distinct User-Agents")
    parser.add_argument("--starts", type=int, default=3000, help="starts in the worst case")
    args = parser.parse_args()
    pin_self("0")
    rng = random.Random(7)
    bodies = scripts(args.sessions, seed=7)
    pool = agents(args.agents, rng)
    weights = [1 / (k + 1) for k in range(len(pool))]  # Zipf-like: a few agents dominate
    viewer_agents = rng.choices(pool, weights=weights, k=len(bodies))
    addresses = [
        f"10.{rng.randrange(256)}.{rng.randrange(256)}.{i % 250 + 1}" for i in range(len(bodies))
    ]
    with tempfile.TemporaryDirectory() as tmp:
        geo_path = build_geo(Path(tmp) / "bench.mmdb")
        rounds: dict[str, list[float]] = {"off": [], "on": []}
        for r in range(args.rounds):
            order = ("off", "on") if r % 2 == 0 else ("on", "off")
            for arm in order:
                # a fresh cache each round: every round pays for its first sight of each agent
                from playhead.enrichment.agent import describe_agent

                describe_agent.cache_clear()
                result = asyncio.run(
                    run_arm(arm == "on", bodies, viewer_agents, addresses, geo_path)
                )
                rounds[arm].append(result["events_per_s"])
                print(f"round {r + 1} {arm:>3}: {result['events_per_s']:8.0f} events/s "
                      f"({result['events']} events)", flush=True)  # fmt: skip
        # worst case: only sessionStarts, every User-Agent new
        unique = [f"{rng.choice(BROWSERS).format(v=i)} probe/{i}" for i in range(args.starts)]
        starts = [bodies[i % len(bodies)][:1] for i in range(args.starts)]
        start_addresses = [addresses[i % len(addresses)] for i in range(args.starts)]
        worst: dict[str, list[float]] = {"off": [], "on": []}
        for r in range(3):
            for arm in ("off", "on") if r % 2 == 0 else ("on", "off"):
                describe_agent.cache_clear()
                result = asyncio.run(
                    run_arm(arm == "on", starts, unique, start_addresses, geo_path, True)
                )
                worst[arm].append(result["seconds"] / args.starts * 1e6)
    off, on = statistics.median(rounds["off"]), statistics.median(rounds["on"])
    ratio = on / off
    extra_us = statistics.median(worst["on"]) - statistics.median(worst["off"])
    ok = ratio >= TARGET_RATIO
    print()
    print(f"whole sessions, {args.agents} distinct agents, median of {args.rounds} rounds:")
    print(f"  enrichment off {off:8.0f} events/s")
    print(f"  enrichment on  {on:8.0f} events/s   ratio {ratio:.3f} "
          f"(target ≥ {TARGET_RATIO}) {verdict(ok)}")  # fmt: skip
    print(
        f"worst case (only starts, every agent new): +{extra_us:.0f} µs per sessionStart "
        f"({statistics.median(worst['off']):.0f} → {statistics.median(worst['on']):.0f} µs)"
    )
    write_result(
        "enrichment",
        {
            "sessions": args.sessions,
            "rounds": args.rounds,
            "agents": args.agents,
            "events_per_s_off": rounds["off"],
            "events_per_s_on": rounds["on"],
            "median_off": off,
            "median_on": on,
            "ratio": ratio,
            "target_ratio": TARGET_RATIO,
            "pass": ok,
            "worst_case_us_per_start_off": worst["off"],
            "worst_case_us_per_start_on": worst["on"],
            "worst_case_extra_us_per_start": extra_us,
        },
    )


if __name__ == "__main__":
    main()
