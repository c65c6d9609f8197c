"""HTTP transport: turns requests into calls on the collector and reports, and back.

The Collection API is a bare ASGI app (:mod:`playhead.http.collection`); reports, the demo
page and static files are Starlette routes assembled by :func:`routes`.
"""

from __future__ import annotations

from importlib import resources

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from playhead.http.reports import session_report

STATIC_DIR = str(resources.files("playhead") / "static")
OPENAPI_PATH = str(resources.files("playhead") / "openapi.json")


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
    return [
        Route("/", home, methods=["GET"]),
        Route("/demo", demo_page, methods=["GET"]),
        Route("/openapi.json", openapi_document, methods=["GET"]),
        Route("/reports/sessions/{sid}", session_report, methods=["GET"]),
        Mount(
            "/static",
            app=StaticFiles(directory=STATIC_DIR, follow_symlink=True, check_dir=False),
            name="static",
        ),
    ]
