"""Run the real Playhead server (``python -m playhead serve``) as a subprocess for tests."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def app_import_error() -> str | None:
    """Why ``playhead.app`` cannot be imported (``None`` when it can)."""
    try:
        import playhead.app  # noqa: F401
    except Exception as exc:
        return f"playhead.app does not import yet: {exc!r}"
    return None


@contextlib.contextmanager
def running_server(tmp: Path, *extra: str, startup: float = 20.0) -> Iterator[str]:
    """Start the server on 127.0.0.1 with a fresh SQLite file; yield its base URL.

    The process is always terminated (then killed) on exit.
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAYHEAD_")}
    log = open(tmp / "server.log", "w+b")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "playhead", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--db", str(tmp / "playhead.sqlite"), *extra],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(
                    f"server exited {proc.returncode}: {log.read().decode()[-2000:]}"
                )
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not start in time") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


def get_json(url: str, timeout: float = 5.0) -> Any:
    """GET ``url`` and decode its JSON body (raises for non-2xx)."""
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


def get_status(url: str, timeout: float = 5.0) -> int:
    """GET ``url`` and return only its status."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
