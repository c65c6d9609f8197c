"""The ingest router: the wire protocols' API roots in front of everything else.

A bare ASGI callable rather than Starlette routing, because this is the path the benchmarks
measure: routing, request objects and middleware would cost a large share of the time per
event. Requests whose path starts with an API root (also under the configured prefix, rule 3)
go to that protocol's endpoints; every other request goes to ``fallback`` (Starlette: reports,
pages, static files).
"""

from __future__ import annotations

from bisect import bisect_left
from time import perf_counter

from playhead.http.asgi import ASGIApp, Receive, Scope, Send, StatusRecorder
from playhead.http.collection_api import CollectionAPI
from playhead.http.edge_api import EdgeAPI


class IngestApp:
    """ASGI app serving the ingest APIs and passing every other request to ``fallback``.

    Args:
        collection: the Collection API's endpoints (``/api/v1/``).
        edge: the Media Edge API's endpoints (``/ee/va/v1/``).
        fallback: the ASGI app for everything else.
        prefix: optional extra mount point such as ``/va``.
    """

    def __init__(
        self, collection: CollectionAPI, edge: EdgeAPI, fallback: ASGIApp, *, prefix: str = ""
    ) -> None:
        self.collection = collection
        self.edge = edge
        self.collector = collection.collector
        self.fallback = fallback
        self.roots = ("/api/v1/",) + ((prefix + "/api/v1/",) if prefix else ())
        self.edge_roots = ("/ee/va/v1/",) + ((prefix + "/ee/va/v1/",) if prefix else ())
        # each route's counters, bound once (requests are counted without a lookup by name)
        routes = self.collector.tally.routes
        self._collection_tally = routes["collection"]
        self._edge_tally = routes["edge"]
        self._reports_tally = routes["reports"]
        self._other_tally = routes["other"]
        interact = "/ee/v1/interact"  # where the Web SDK starts its media sessions
        self.interact_paths = (interact,) + ((prefix + interact,) if prefix else ())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route a request: ingest API paths to their protocol, everything else to fallback;
        every HTTP request is counted by route and status, and timed."""
        if scope["type"] == "http":
            began = perf_counter()
            path: str = scope["path"]
            for root in self.roots:
                if path.startswith(root):
                    status = await self.collection.handle(path[len(root) :], scope, receive, send)
                    elapsed = perf_counter() - began
                    # RouteTally.record inlined: this runs for every event
                    tally = self._collection_tally
                    statuses = tally.statuses
                    statuses[status] = statuses.get(status, 0) + 1
                    duration = tally.duration
                    duration.counts[bisect_left(duration.bounds, elapsed)] += 1
                    duration.total += elapsed
                    return
            for root in self.edge_roots:
                if path.startswith(root):
                    status = await self.edge.handle(path[len(root) :], scope, receive, send)
                    self._edge_tally.record(status, perf_counter() - began)
                    return
            if path in self.interact_paths:  # the Web SDK's media sessionStart
                status = await self.edge.handle(None, scope, receive, send)
                self._edge_tally.record(status, perf_counter() - began)
                return
            recorder = StatusRecorder(send)
            try:
                await self.fallback(scope, receive, recorder)
            finally:
                tally = self._reports_tally if path.startswith("/reports") else self._other_tally
                tally.record(recorder.status or 500, perf_counter() - began)
            return
        await self.fallback(scope, receive, send)
