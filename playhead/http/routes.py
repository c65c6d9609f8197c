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
from starlette.types import Scope

from playhead import __version__
from playhead.http import report_api
from playhead.http.access import admin_guard
from playhead.http.dashboard import dashboard_page, login, login_form, logout
from playhead.http.operations import delete_viewer_data, healthz, metrics, readyz
from playhead.http.reports import session_events, session_report

STATIC_DIR = str(resources.files("playhead") / "static")
OPENAPI_PATH = str(resources.files("playhead") / "openapi.json")


class StaticWithTracker(StaticFiles):
    """The static files; the JavaScript tracker loadable from any origin, at two URLs.

    ``/static/playhead.js`` is cached for 5 minutes (it changes when the server is upgraded);
    ``/static/playhead-<version>.js`` (the package version) is the same file, which never
    changes at that URL, so it is cached for a year as immutable. Both carry
    ``Access-Control-Allow-Origin: *`` (a module script from another origin is fetched with
    CORS) and ``Cross-Origin-Resource-Policy: cross-origin``; like every static file they
    send an ``ETag`` and answer ``304`` to a matching ``If-None-Match``.
    """

    TRACKER = "playhead.js"
    VERSIONED_TRACKER = f"playhead-{__version__}.js"
    SHORT_CACHE = "public, max-age=300"
    LONG_CACHE = "public, max-age=31536000, immutable"

    async def get_response(self, path: str, scope: Scope) -> Response:
        """Serve ``path``, the versioned tracker name as the tracker, with its headers."""
        versioned = path == self.VERSIONED_TRACKER
        response = await super().get_response(self.TRACKER if versioned else path, scope)
        if versioned or path == self.TRACKER:
            response.headers["Access-Control-Allow-Origin"] = "*"
            response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
            response.headers["Cache-Control"] = self.LONG_CACHE if versioned else self.SHORT_CACHE
        return response


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
        Route("/reports/summary", report_api.summary, methods=["GET"]),
        Route("/reports/sessions", report_api.sessions, methods=["GET"]),
        Route("/reports/sessions.csv", report_api.sessions_csv, methods=["GET"]),
        Route("/reports/sessions.ndjson", report_api.sessions_ndjson, methods=["GET"]),
        Route("/reports/sessions.parquet", report_api.sessions_parquet, methods=["GET"]),
        Route("/reports/breakdown", report_api.breakdown, methods=["GET"]),
        Route("/reports/timeseries", report_api.timeseries, methods=["GET"]),
        Route("/reports/insights", report_api.insights, methods=["GET"]),
        Route("/reports/concurrency", report_api.concurrency, methods=["GET"]),
        Route("/reports/concurrency/now", report_api.concurrency_now, methods=["GET"]),
        Route("/reports/retention", report_api.retention, methods=["GET"]),
        Route("/reports/sessions/{sid}", session_report, methods=["GET"]),
        Route("/reports/sessions/{sid}/events", session_events, methods=["GET"]),
        Route("/reports/errors", report_api.errors_report, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route(
            "/admin/viewers/{viewerKey}/delete",
            admin_guard(delete_viewer_data),
            methods=["POST"],
        ),
        Route("/dashboard", dashboard_page, methods=["GET"]),
        Route("/dashboard/sessions/{sid}", dashboard_page, methods=["GET"]),
        Route("/dashboard/login", login_form, methods=["GET"]),
        Route("/dashboard/login", login, methods=["POST"]),
        Route("/dashboard/logout", logout, methods=["POST"]),
        Mount(
            "/static",
            app=StaticWithTracker(directory=STATIC_DIR, follow_symlink=True, check_dir=False),
            name="static",
        ),
    ]
