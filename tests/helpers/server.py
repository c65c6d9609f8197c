"""Real ``playhead serve`` processes on loopback for tests (always stopped by their fixture)."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCENARIO_DIR = ROOT / "tests" / "scenarios" / "data"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    """A real ``playhead serve`` process on 127.0.0.1 (always stopped by the fixture)."""

    def __init__(self, db: Path, *args: str, log_dir: Path) -> None:
        self.db = db
        self.log = log_dir / f"server-{id(self)}.log"
        self.args = args
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        # served over HTTPS with --tls-certfile: trust that certificate (and only it)
        certfile = args[args.index("--tls-certfile") + 1] if "--tls-certfile" in args else None
        self.ssl_context = ssl.create_default_context(cafile=certfile) if certfile else None

    @property
    def url(self) -> str:
        """Base URL of the server."""
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> float:
        """Start the server and wait until it answers; returns the seconds it took."""
        started = time.monotonic()
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "playhead", "serve", "--host", "127.0.0.1",
                 "--port", str(self.port), "--db", str(self.db), *self.args],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )  # fmt: skip
        while time.monotonic() - started < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(
                    self.url + "/api/v1/schemas/ping", timeout=1, context=self.ssl_context
                ).read()
                return time.monotonic() - started
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.02)
        self.stop()
        raise RuntimeError("server did not start in time")

    def kill(self) -> None:
        """SIGKILL the server (no shutdown, no flush)."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None

    def stop(self) -> None:
        """Stop the server gracefully, killing it if it takes too long."""
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            self.proc = None
