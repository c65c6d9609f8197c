"""A small asyncio/uvloop HTTP/1.1 load generator over raw keep-alive connections.

* :class:`Traffic` walks a pool of sessions through realistic simulator scripts (valid,
  increasing ``ts`` per session; one request in flight per session; finished sessions are
  replaced through ``POST /api/v1/sessions``).
* :func:`closed_loop` — C connections, each sends its next request when the last is answered.
* :func:`open_loop` — requests are *scheduled* at a fixed rate; latency is measured from the
  scheduled time (no coordinated omission), whether or not a connection was free then.
* ``python bench/loadgen.py pool --port P --sessions 5000 --lua bench/lua/data.lua`` pre-creates
  the session pool for wrk and writes the Lua data file.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from array import array
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import percentile, pin_self, scripts

try:
    import uvloop
except ImportError:  # pragma: no cover
    uvloop = None


def post(path: str, body: bytes) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


class Conn(asyncio.Protocol):
    """One keep-alive connection, one request at a time."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes, bytes]] | None = None
        self.transport: asyncio.Transport | None = None
        self.closed = False

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection lost"))
        self.waiter = None

    def data_received(self, data: bytes) -> None:
        self.buf += data
        buf = self.buf
        if self.waiter is None:
            return
        i = buf.find(b"\r\n\r\n")
        if i < 0:
            return
        head = bytes(buf[:i])
        status = int(head[9:12])
        n = 0
        if status not in (204, 304):
            lower = head.lower()
            j = lower.find(b"\r\ncontent-length:")
            if j >= 0:
                end = lower.find(b"\r\n", j + 2)
                n = int(lower[j + 17 : end if end >= 0 else None])
            elif b"chunked" in lower:
                k = buf.find(b"0\r\n\r\n", i + 4)
                if k < 0:
                    return
                n = k + 5 - (i + 4)
        if len(buf) < i + 4 + n:
            return
        body = bytes(buf[i + 4 : i + 4 + n])
        del buf[: i + 4 + n]
        waiter, self.waiter = self.waiter, None
        waiter.set_result((status, head, body))

    async def request(self, data: bytes) -> tuple[int, bytes, bytes]:
        if self.closed or self.transport is None:
            raise ConnectionError("closed")
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self.waiter


async def connect(port: int) -> Conn:
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_connection(Conn, "127.0.0.1", port)
    return proto


def location_sid(head: bytes) -> str | None:
    j = head.lower().find(b"\r\nlocation:")
    if j < 0:
        return None
    end = head.find(b"\r\n", j + 2)
    value = head[j + 11 : end if end >= 0 else None].strip().decode()
    return value.rsplit("/", 1)[-1]


class Traffic:
    """Sessions walking through simulator scripts; at most one request in flight per session."""

    def __init__(
        self,
        script_bodies: list[list[bytes]],
        pool: list[tuple[str, int]],
        seed: int = 1,
        spread: bool = True,
        renew: bool = True,
    ) -> None:
        self.scripts = script_bodies
        self.rng = random.Random(seed)
        self.renew = renew
        # slot: [sid or None, script index, next position, busy]
        self.slots: list[list[Any]] = []
        for sid, j in pool:
            n = len(self.scripts[j])
            pos = self.rng.randrange(1, max(2, n - 1)) if spread and n > 2 else 1
            self.slots.append([sid, j, pos, False])
        self.cursor = 0
        self.starts = 0
        self.events = 0
        self.status: dict[int, int] = {}
        self.acked: list[tuple[str, bytes]] = []  # filled when record=True
        self.record = False

    def next(self) -> tuple[int, bytes] | None:
        """(slot, request bytes) of the next request, or None when every session is busy."""
        slots = self.slots
        n = len(slots)
        for _ in range(n):
            i = self.cursor
            self.cursor = (i + 1) % n
            slot = slots[i]
            if slot[3]:
                continue
            if slot[0] is None and not self.renew:
                continue
            slot[3] = True
            if slot[0] is None:
                slot[1] = self.rng.randrange(len(self.scripts))
                return i, post("/api/v1/sessions", self.scripts[slot[1]][0])
            return i, post(f"/api/v1/sessions/{slot[0]}/events", self.scripts[slot[1]][slot[2]])
        return None

    def done(self, i: int, status: int, head: bytes | None) -> None:
        slot = self.slots[i]
        slot[3] = False
        self.status[status] = self.status.get(status, 0) + 1
        if slot[0] is None:
            if status == 201 and head is not None:
                slot[0] = location_sid(head)
                slot[2] = 1
                self.starts += 1
                if self.record:
                    self.acked.append((slot[0], self.scripts[slot[1]][0]))
            return
        if 200 <= status < 300:
            self.events += 1
            if self.record:
                self.acked.append((slot[0], self.scripts[slot[1]][slot[2]]))
            slot[2] += 1
            if slot[2] >= len(self.scripts[slot[1]]):
                slot[0] = None
        elif status in (404, 410):
            slot[0] = None
        # other statuses (503...) retry the same event later

    def failed(self, i: int) -> None:
        self.slots[i][3] = False
        self.status[-1] = self.status.get(-1, 0) + 1


def stats(lat_us: array, elapsed: float, traffic: Traffic) -> dict[str, Any]:
    values = sorted(lat_us)
    total = sum(traffic.status.values())
    ok = sum(v for k, v in traffic.status.items() if 200 <= k < 300)
    return {
        "requests": total,
        "ok_2xx": ok,
        "non_2xx": total - ok,
        "status_counts": {str(k): v for k, v in sorted(traffic.status.items())},
        "session_starts": traffic.starts,
        "elapsed_s": round(elapsed, 3),
        "requests_per_s": round(total / elapsed, 1) if elapsed else 0.0,
        "ok_per_s": round(ok / elapsed, 1) if elapsed else 0.0,
        "latency_ms": {
            "p50": round(percentile(values, 50) / 1000, 3),
            "p90": round(percentile(values, 90) / 1000, 3),
            "p99": round(percentile(values, 99) / 1000, 3),
            "p99.9": round(percentile(values, 99.9) / 1000, 3),
            "max": round(values[-1] / 1000, 3) if values else None,
        },
    }


async def closed_loop(
    port: int, traffic: Traffic, connections: int, duration: float, max_requests: int = 10**9
) -> dict[str, Any]:
    conns = [await connect(port) for _ in range(connections)]
    lat = array("d")
    deadline = time.perf_counter() + duration
    sent = 0

    async def worker(conn: Conn) -> None:
        nonlocal sent
        while time.perf_counter() < deadline and sent < max_requests:
            item = traffic.next()
            if item is None:
                await asyncio.sleep(0.001)
                continue
            i, data = item
            sent += 1
            t = time.perf_counter()
            try:
                status, head, _ = await conn.request(data)
            except ConnectionError:
                traffic.failed(i)
                return
            lat.append((time.perf_counter() - t) * 1e6)
            traffic.done(i, status, head)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    elapsed = time.perf_counter() - t0
    for c in conns:
        if c.transport:
            c.transport.close()
    return stats(lat, elapsed, traffic)


async def open_loop(
    port: int, traffic: Traffic, rate: float, duration: float, connections: int = 256
) -> dict[str, Any]:
    """Fixed-rate generator: request k is due at t0 + k/rate; latency counts from then."""
    idle: asyncio.Queue[Conn] = asyncio.Queue()
    for _ in range(connections):
        idle.put_nowait(await connect(port))
    lat = array("d")
    lag = array("d")
    dropped = 0
    total = int(rate * duration)
    pending: set[asyncio.Task[None]] = set()

    async def one(due: float) -> None:
        conn = await idle.get()
        item = traffic.next()
        if item is None:  # every session busy: count as an error rather than block forever
            idle.put_nowait(conn)
            traffic.status[-2] = traffic.status.get(-2, 0) + 1
            return
        i, data = item
        try:
            status, head, _ = await conn.request(data)
        except ConnectionError:
            traffic.failed(i)
            return
        lat.append((time.perf_counter() - due) * 1e6)
        traffic.done(i, status, head)
        idle.put_nowait(conn)

    t0 = time.perf_counter()
    hard_stop = t0 + duration + 10.0
    for k in range(total):
        due = t0 + k / rate
        now = time.perf_counter()
        if due > now + 0.0005:
            await asyncio.sleep(due - now)
            now = time.perf_counter()
        lag.append(now - due)
        if len(pending) > rate * 2:  # more than 2 s of backlog: stop adding, it is saturated
            dropped += 1
            continue
        task = asyncio.ensure_future(one(due))
        pending.add(task)
        task.add_done_callback(pending.discard)
        if now > hard_stop:
            break
    send_elapsed = time.perf_counter() - t0
    if pending:
        await asyncio.wait(pending, timeout=max(0.1, hard_stop - time.perf_counter()))
    for t in pending:
        t.cancel()
    elapsed = time.perf_counter() - t0
    while not idle.empty():
        c = idle.get_nowait()
        if c.transport:
            c.transport.close()
    out = stats(lat, elapsed, traffic)
    lag_sorted = sorted(lag)
    out.update(
        target_rate=rate,
        scheduled=total,
        dropped_backlog=dropped,
        schedule_elapsed_s=round(send_elapsed, 3),
        achieved_rate=round(out["requests"] / elapsed, 1) if elapsed else 0.0,
        generator_lag_ms={
            "p50": round(percentile(lag_sorted, 50) * 1000, 3),
            "p99": round(percentile(lag_sorted, 99) * 1000, 3),
        },
    )
    return out


async def make_pool(
    port: int, script_bodies: list[list[bytes]], n: int, connections: int = 32, seed: int = 3
) -> list[tuple[str, int]]:
    """Create ``n`` sessions; return (sid, script index) pairs."""
    rng = random.Random(seed)
    plan = [rng.randrange(len(script_bodies)) for _ in range(n)]
    out: list[tuple[str, int]] = []
    conns = [await connect(port) for _ in range(connections)]
    it = iter(plan)

    async def worker(conn: Conn) -> None:
        for j in it:
            status, head, body = await conn.request(post("/api/v1/sessions", script_bodies[j][0]))
            if status != 201:
                raise RuntimeError(f"sessionStart answered {status}: {body[:200]!r}")
            sid = location_sid(head)
            assert sid
            out.append((sid, j))

    await asyncio.gather(*(worker(c) for c in conns))
    for c in conns:
        c.transport.close()  # type: ignore[union-attr]
    return out


def write_lua(path: Path, script_bodies: list[list[bytes]], pool: list[tuple[str, int]]) -> None:
    """The wrk data file: ``scripts`` (event bodies) and ``pool`` (sid, script index)."""
    parts = [
        "-- generated by bench/loadgen.py pool; simulator scripts and a pre-created pool\n",
        "scripts = {\n",
    ]
    for bodies in script_bodies:
        parts.append("{")
        parts.extend("[==[" + b.decode() + "]==]," for b in bodies)
        parts.append("},\n")
    parts.append("}\npool = {\n")
    parts.extend(f'{{"{sid}",{j + 1}}},\n' for sid, j in pool)
    parts.append("}\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(parts))


def run(coro: Any) -> Any:
    if uvloop is not None:
        return uvloop.run(coro)
    return asyncio.run(coro)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pool", help="pre-create sessions and write the wrk Lua data file")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--sessions", type=int, default=5000)
    p.add_argument("--scripts", type=int, default=100)
    p.add_argument("--lua", default=str(Path(__file__).resolve().parent / "lua" / "data.lua"))
    o = sub.add_parser("open", help="open-loop fixed-rate run against a pre-created pool")
    o.add_argument("--port", type=int, required=True)
    o.add_argument("--rate", type=float, required=True)
    o.add_argument("--duration", type=float, default=15.0)
    o.add_argument("--sessions", type=int, default=5000)
    o.add_argument("--connections", type=int, default=256)
    o.add_argument("--json", default=None)
    args = ap.parse_args()
    pin_self()
    bodies = scripts(args.scripts if args.cmd == "pool" else 100)
    if args.cmd == "pool":
        t = time.perf_counter()
        pool = run(make_pool(args.port, bodies, args.sessions))
        write_lua(Path(args.lua), bodies, pool)
        print(f"pool: {len(pool)} sessions in {time.perf_counter() - t:.1f}s -> {args.lua}")
    else:
        import json

        async def go() -> dict[str, Any]:
            pool = await make_pool(args.port, bodies, args.sessions)
            return await open_loop(
                args.port, Traffic(bodies, pool), args.rate, args.duration, args.connections
            )

        result = run(go())
        print(json.dumps(result, indent=1))
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
