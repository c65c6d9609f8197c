"""The session lifecycle service, protocol-agnostic: canonical events in, stored events and
live session state out.

- :mod:`~playhead.collector.service` — :class:`Collector`: ``start``, ``append``,
  ``downloaded``, closing and summaries;
- :mod:`~playhead.collector.received` — what the HTTP adapter knows of a request;
- :mod:`~playhead.collector.lifecycle` — rules 9–10 as pure decisions;
- :mod:`~playhead.collector.refold` — folding from the stored log;
- :mod:`~playhead.collector.sweeper` — closing sessions whose time is up;
- :mod:`~playhead.collector.restore` — start-up;
- :mod:`~playhead.collector.ids` — session ids and internal keys.
"""

from __future__ import annotations

from playhead.collector.received import Received
from playhead.collector.service import Clock, Collector, wall_clock_ms

__all__ = ["Clock", "Collector", "Received", "wall_clock_ms"]
