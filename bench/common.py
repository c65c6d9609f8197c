"""Shared helpers of the benchmark scripts: servers, RSS, results, simulator-based traffic.

Everything here is loopback-only and bounded: servers are started pinned to a CPU with
``taskset`` and always stopped (``ServerProcess`` is a context manager).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
PYTHON = os.environ.get("PLAYHEAD_PYTHON", sys.executable)
SERVER_CPU = os.environ.get("BENCH_SERVER_CPU", "0")
CLIENT_CPU = os.environ.get("BENCH_CLIENT_CPU", "1")

sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pin_self(cpu: str = CLIENT_CPU) -> None:
    """Pin the calling (client) process to the client CPU, if the machine has one."""
    try:
        if os.cpu_count() and os.cpu_count() > int(cpu):  # type: ignore[operator]
            os.sched_setaffinity(0, {int(cpu)})
    except (OSError, ValueError):
        pass


def rss_kib(pid: int) -> int:
    """VmRSS of a process in KiB (from /proc/PID/status)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def wait_http(
    port: int, path: str = "/api/v1/schemas/ping", timeout: float = 30.0, interval: float = 0.005
) -> float:
    """Poll until ``GET path`` answers 2xx; return the time (perf_counter) it did."""
    deadline = time.monotonic() + timeout
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0) as s:
                s.sendall(request)
                data = s.recv(64)
                if data.startswith(b"HTTP/1.1 2"):
                    return time.perf_counter()
        except OSError:
            pass
        time.sleep(interval)
    raise TimeoutError(f"server on port {port} did not answer within {timeout}s")


class ServerProcess:
    """A Playhead (or baseline) server pinned to ``SERVER_CPU``; a context manager."""

    def __init__(
        self,
        kind: str = "playhead",
        db: str | None = None,
        port: int | None = None,
        extra: list[str] | None = None,
        cpu: str = SERVER_CPU,
        ready_path: str = "/api/v1/schemas/ping",
    ) -> None:
        self.kind = kind
        self.port = port or free_port()
        self.db = db or os.path.join(tempfile.mkdtemp(prefix="playhead-bench-"), "bench.db")
        self.extra = extra or []
        self.cpu = cpu
        self.ready_path = ready_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.ready_at = 0.0
        self.log = open(os.path.join(tempfile.gettempdir(), f"bench-{kind}-{self.port}.log"), "wb")

    def command(self) -> list[str]:
        pin = ["taskset", "-c", self.cpu] if self.cpu else []
        if self.kind == "baseline":
            return [
                *pin,
                PYTHON,
                "-m",
                "uvicorn",
                "bench.baseline_app:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--loop",
                "uvloop",
                "--http",
                "httptools",
                "--no-access-log",
                "--log-level",
                "warning",
                # the same uvicorn options `playhead serve` uses (playhead/cli.py)
                "--no-proxy-headers",
                "--no-server-header",
                *self.extra,
            ]
        return [
            *pin,
            PYTHON,
            "-m",
            "playhead",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--db",
            self.db,
            *self.extra,
        ]

    def start(self, wait: bool = True, timeout: float = 60.0) -> ServerProcess:
        self.started_at = time.perf_counter()
        self.proc = subprocess.Popen(
            self.command(), cwd=str(ROOT), stdout=self.log, stderr=subprocess.STDOUT
        )
        if wait:
            self.ready_at = wait_http(self.port, self.ready_path, timeout=timeout)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def rss_kib(self) -> int:
        return rss_kib(self.pid)

    def kill(self) -> None:
        """SIGKILL (crash simulation)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "server_cpu": SERVER_CPU,
        "client_cpu": CLIENT_CPU,
    }


def write_result(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {"name": name, "when": time.strftime("%Y-%m-%dT%H:%M:%S"), "machine": machine(), **data}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    print(f"wrote {path.relative_to(ROOT)}")
    return path


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(p / 100.0 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# ------------------------------------------------------------------ an ASGI app driven in process
class AsgiDriver:
    """Sends requests straight into an ASGI app (lifespan run by hand), no sockets."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._lifespan: asyncio.Task[None] | None = None
        self._events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._answers: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def start(self) -> None:
        """Run the app's lifespan start-up."""
        self._lifespan = asyncio.create_task(
            self.app({"type": "lifespan"}, self._events.get, self._answers.put)
        )
        await self._events.put({"type": "lifespan.startup"})
        answer = await self._answers.get()
        assert answer["type"] == "lifespan.startup.complete", answer

    async def stop(self) -> None:
        """Run the app's lifespan shut-down."""
        await self._events.put({"type": "lifespan.shutdown"})
        await self._answers.get()
        assert self._lifespan is not None
        await self._lifespan

    async def post(
        self, path: str, body: bytes, *, agent: str | None = None, client: str = "127.0.0.1"
    ) -> tuple[int, dict[bytes, bytes]]:
        """POST ``body`` to ``path``; the status and the response headers."""
        scope = {
            "type": "http",
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"content-type", b"application/json")]
            + ([(b"user-agent", agent.encode())] if agent else []),
            "client": (client, 40000),
            "server": ("127.0.0.1", 8000),
        }
        sent = False
        out: dict[str, Any] = {}

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                out["status"] = message["status"]
                out["headers"] = dict(message["headers"])

        await self.app(scope, receive, send)
        return out["status"], out["headers"]


# ------------------------------------------------------------------ traffic from the simulator
def scripts(n: int = 100, seed: int = 7) -> list[list[bytes]]:
    """``n`` realistic sessions from :func:`playhead.simulator.simulate_sessions`, as JSON bytes.

    All start at the same ts (spacing 0) so any script's events may follow any script's
    sessionStart with valid, increasing ts. Element 0 is the sessionStart body.
    """
    import msgspec

    from playhead.simulator import simulate_sessions

    enc = msgspec.json.encode
    return [[enc(e) for e in s] for s in simulate_sessions(seed, n, spacing_ms=0)]


def columns_loaded(port: int, timeout: float = 600.0) -> float:
    """Seconds until the server's report columns hold its sessions (its metrics say so), so
    that neither ingest run shares the machine with that first load."""
    began = time.perf_counter()
    while time.perf_counter() - began < timeout:
        # a question brings the report process's news (its columns' count) with its answer
        urllib.request.urlopen(f"http://127.0.0.1:{port}/reports/summary", timeout=60).read()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=60) as r:
            for line in r.read().decode().splitlines():
                if line.startswith("playhead_report_columns_sessions ") and float(line.split()[1]):
                    return time.perf_counter() - began
        time.sleep(0.5)
    raise RuntimeError("the server's report columns did not load")
