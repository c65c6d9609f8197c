"""HTTP transport: turns requests into calls on the collector and reports, and back.

The Collection API is a bare ASGI app (:mod:`playhead.http.collection`); reports, the demo
page and static files are Starlette routes assembled by :func:`routes`.
"""

from __future__ import annotations

import hashlib
from importlib import resources

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from playhead import __version__
from playhead.http.reports import session_report

STATIC_DIR = str(resources.files("playhead") / "static")
OPENAPI_PATH = str(resources.files("playhead") / "openapi.json")


class TrackerScript:
    """The JavaScript tracker, loadable from any origin, at a short-lived and a versioned URL.

    ``/static/playhead.js`` is cached for 5 minutes (it changes when the server is upgraded);
    ``/static/playhead-<version>.js`` never changes, so it is cached for a year. Both carry
    ``Access-Control-Allow-Origin: *`` (a module script from another origin is a CORS request)
    and ``Cross-Origin-Resource-Policy: cross-origin``, and answer ``304`` to a matching
    ``If-None-Match``.
    """

    URL = "/static/playhead.js"
    VERSIONED_URL = f"/static/playhead-{__version__}.js"
    SHORT_CACHE = "public, max-age=300"
    LONG_CACHE = "public, max-age=31536000, immutable"

    def __init__(self, path: str) -> None:
        self.path = path
        self._body: bytes | None = None
        self._etag = ""

    def _load(self) -> bytes:
        if self._body is None:
            with open(self.path, "rb") as file:
                self._body = file.read()
            self._etag = '"' + hashlib.sha256(self._body).hexdigest()[:32] + '"'
        return self._body

    async def respond(self, request: Request) -> Response:
        """Answer the tracker (or ``304``) with the cache policy of the URL asked for."""
        body = self._load()
        versioned = request.url.path == self.VERSIONED_URL
        headers = {
            "Access-Control-Allow-Origin": "*",
            "Cross-Origin-Resource-Policy": "cross-origin",
            "Cache-Control": self.LONG_CACHE if versioned else self.SHORT_CACHE,
            "ETag": self._etag,
        }
        asked = request.headers.get("if-none-match", "")
        if self._etag in (tag.strip() for tag in asked.split(",")) or asked.strip() == "*":
            return Response(status_code=304, headers=headers)
        return Response(body, headers=headers, media_type="text/javascript; charset=utf-8")


async def demo_page(request: Request) -> Response:
    """The demo page: a video instrumented by the tracker beside its live session report."""
    return FileResponse(f"{STATIC_DIR}/demo.html", media_type="text/html")


async def openapi_document(request: Request) -> Response:
    """The OpenAPI document of every endpoint (hand-written, checked by the tests)."""
    return FileResponse(OPENAPI_PATH, media_type="application/json")


async def home(request: Request) -> Response:
    """The start page points new users at the demo."""
    return RedirectResponse("/demo", status_code=307)


def routes() -> list[BaseRoute]:
    """Every Starlette route of the server (the Collection API is served in front of them)."""
    tracker = TrackerScript(f"{STATIC_DIR}/playhead.js")
    return [
        Route("/", home, methods=["GET"]),
        Route("/demo", demo_page, methods=["GET"]),
        Route("/openapi.json", openapi_document, methods=["GET"]),
        Route("/reports/sessions/{sid}", session_report, methods=["GET"]),
        # before the /static mount, which would serve the tracker without these headers
        Route(TrackerScript.URL, tracker.respond, methods=["GET"]),
        Route(TrackerScript.VERSIONED_URL, tracker.respond, methods=["GET"]),
        Mount(
            "/static",
            app=StaticFiles(directory=STATIC_DIR, follow_symlink=True, check_dir=False),
            name="static",
        ),
    ]
