"""Setting up ``prometheus-client``'s multi-process mode before anything imports it.

The library picks how it stores values when it is first imported, so ``playhead serve`` with
several workers calls :func:`prepare_multiprocess_metrics` first: a clean folder of its own
per start (files of an earlier run would be added in), named in ``PROMETHEUS_MULTIPROC_DIR``
for the workers it starts. This module imports nothing of the library.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess_metrics(workers: int) -> str | None:
    """With more than one worker, a fresh metrics folder named in the environment (removed at
    exit); ``None`` and nothing changed with one worker."""
    if workers <= 1:
        return None
    if "prometheus_client" in sys.modules and not os.environ.get(MULTIPROC_ENV):
        raise RuntimeError("prometheus_client was imported before multi-process mode was set up")
    directory = tempfile.mkdtemp(prefix="playhead-metrics-")
    os.environ[MULTIPROC_ENV] = directory
    atexit.register(shutil.rmtree, directory, True)
    return directory


def mark_process_dead(pid: int) -> None:
    """Drop the live gauges of worker ``pid``, which exited (a supervisor calls this; its
    counters stay, so totals never go back)."""
    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]
