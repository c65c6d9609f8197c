"""The ingest router: the wire protocols' API roots in front of everything else.

A bare ASGI callable rather than Starlette routing, because this is the path the benchmarks
measure: routing, request objects and middleware would cost a large share of the time per
event. Requests whose path starts with an API root (also under the configured prefix, rule 3)
go to that protocol's endpoints; every other request goes to ``fallback`` (Starlette: reports,
pages, static files).
"""

from __future__ import annotations

from playhead.http.asgi import ASGIApp, Receive, Scope, Send
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
        interact = "/ee/v1/interact"  # where the Web SDK starts its media sessions
        self.interact_paths = (interact,) + ((prefix + interact,) if prefix else ())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route a request: ingest API paths to their protocol, everything else to fallback."""
        if scope["type"] == "http":
            path: str = scope["path"]
            for root in self.roots:
                if path.startswith(root):
                    await self.collection.handle(path[len(root) :], scope, receive, send)
                    return
            for root in self.edge_roots:
                if path.startswith(root):
                    await self.edge.handle(path[len(root) :], scope, receive, send)
                    return
            if path in self.interact_paths:  # the Web SDK's media sessionStart
                await self.edge.handle(None, scope, receive, send)
                return
        await self.fallback(scope, receive, send)
