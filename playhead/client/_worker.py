"""A bounded queue drained by one daemon thread, so a tracker's requests stay in order."""

from __future__ import annotations

import atexit
import collections
import contextlib
import threading
import time
import weakref
from collections.abc import Callable

__all__ = ["Worker", "flush_all"]

Task = Callable[[], None]

_WORKERS: weakref.WeakSet[Worker] = weakref.WeakSet()
#: Seconds the interpreter waits at exit for each tracker's queue to drain.
EXIT_FLUSH_TIMEOUT = 5.0


class Worker:
    """Runs submitted tasks one at a time, in submission order, on a daemon thread.

    Args:
        maxsize: most tasks waiting at once; :meth:`submit` drops (and counts) a task when
            the queue is full rather than block the caller (a media player must never stall
            because the collector is slow).
        name: thread name.
        on_error: called with any exception a task raises (the worker keeps running).
    """

    def __init__(
        self,
        maxsize: int = 10_000,
        *,
        name: str = "playhead-client",
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self.dropped = 0
        self._on_error = on_error
        self._tasks: collections.deque[Task] = collections.deque()
        self._cond = threading.Condition()
        self._busy = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        _WORKERS.add(self)

    def submit(self, task: Task) -> bool:
        """Queue ``task``; return ``False`` (and count it in :attr:`dropped`) if it was dropped."""
        with self._cond:
            if self._closed or len(self._tasks) >= self.maxsize:
                self.dropped += 1
                return False
            self._tasks.append(task)
            self._cond.notify_all()
            return True

    def pending(self) -> int:
        """Tasks queued or running."""
        with self._cond:
            return len(self._tasks) + (1 if self._busy else 0)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued task has run; return ``False`` if ``timeout`` ran out."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._tasks or self._busy:
                if not self._thread.is_alive():
                    return False
                if deadline is None:
                    self._cond.wait(0.5)
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.5))
            return True

    def close(self, timeout: float | None = 5.0) -> bool:
        """Flush, then stop the thread. Later submissions are dropped."""
        done = self.flush(timeout)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout if timeout is not None else None)
        return done

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._tasks and not self._closed:
                    self._cond.wait()
                if not self._tasks and self._closed:
                    return
                task = self._tasks.popleft()
                self._busy = True
            try:
                task()
            except Exception as exc:  # the worker must survive any task
                if self._on_error is not None:
                    with contextlib.suppress(Exception):
                        self._on_error(exc)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()


def flush_all(timeout: float = EXIT_FLUSH_TIMEOUT) -> None:
    """Flush every live worker (registered with :mod:`atexit`)."""
    for worker in list(_WORKERS):
        worker.flush(timeout)


atexit.register(flush_all)
