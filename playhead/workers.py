"""Several worker processes on one port (``--workers N``), and each process's name in logs.

The parent forks N children before anything opens a connection; each child binds its own
listening socket with ``SO_REUSEPORT`` on the same address, so the kernel spreads incoming
connections over them, and builds its own application. The parent only supervises: it passes
SIGINT/SIGTERM on, starts again a child that died unasked, and exits once every child has.
Children die with the parent (``PR_SET_PDEATHSIG`` on Linux), so none outlives it.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable

log = logging.getLogger("playhead")


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` that other processes may bind as well."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def run_workers(
    count: int, child: Callable[[int], None], on_exit: Callable[[int], None] | None = None
) -> None:
    """Run ``child(k)`` in ``count`` forked processes (k = 1..count) and supervise them;
    ``on_exit(pid)`` is called for each child that exits (metrics drop its live gauges)."""
    children: dict[int, int] = {}
    stopping = False

    def spawn(k: int) -> None:
        pid = os.fork()
        if pid == 0:
            try:
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                _die_with_parent()
                child(k)
            finally:
                os._exit(0)
        children[pid] = k

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for k in range(1, count + 1):
        spawn(k)
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:  # pragma: no cover - PEP 475 retries it
            continue
        k = children.pop(pid, 0)
        if on_exit is not None:
            on_exit(pid)
        if not stopping and k:
            log.error("worker %d exited (status %d); starting it again", k, status)
            time.sleep(1.0)
            spawn(k)
    sys.exit(0)
