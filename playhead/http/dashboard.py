"""The dashboard's pages: ``/dashboard``, ``/dashboard/sessions/{sid}`` and the login form.

The dashboard is one HTML shell and a few plain JavaScript modules under ``/static/dashboard/``
that call the reports API from the browser (no build step, no CDN: uPlot is vendored with its
version in the file name). The shell is answered only to a request that may read data; any
other gets the login form (``401``), which POSTs the read token to ``/dashboard/login``. A valid
token sets an ``HttpOnly``, ``SameSite=Strict`` cookie holding an HMAC of the token and
redirects back to the page that asked (``303``); the token never appears in a URL.
"""

from __future__ import annotations

import html
from importlib import resources
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from playhead import __version__
from playhead.http.access import COOKIE, access_of, cookie_value

UPLOT_VERSION = "1.6.32"
_STATIC = resources.files("playhead") / "static" / "dashboard"
_SHELL = (
    (_STATIC / "index.html")
    .read_text(encoding="utf-8")
    .replace("{{uplot}}", UPLOT_VERSION)
    .replace("{{version}}", __version__)
)
_SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
COOKIE_MAX_AGE = 7 * 24 * 3600
MAX_LOGIN_BODY = 8192


def _html(body: str, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type="text/html", headers=_SECURITY_HEADERS)


def login_page(next_path: str, problem: str | None = None, status: int = 401) -> Response:
    """The login form: a password input for the read token, submitted by POST."""
    error = f'<p class="error" role="alert">{html.escape(problem)}</p>' if problem else ""
    return _html(
        f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Playhead: sign in</title>
<link rel="stylesheet" href="/static/dashboard/dashboard.css"></head>
<body class="login"><main>
<h1>Playhead</h1>
<p>This server's reports need its read token (the <code>--read-token</code> it was started
with).</p>
{error}
<form method="post" action="/dashboard/login" data-login>
<label for="token">Read token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<input type="hidden" name="next" value="{html.escape(next_path)}">
<button type="submit">Sign in</button>
</form></main></body></html>
""",
        status,
    )


def _safe_next(raw: str) -> str:
    """Only a dashboard path of this server may be returned to (no open redirect)."""
    if raw.startswith("/dashboard") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return "/dashboard"


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + ("?" + query if query else "")


async def dashboard_page(request: Request) -> Response:
    """The dashboard shell (every tab and the session page), or the login form."""
    access = access_of(request)
    if access.refuse_read(request) is not None:
        return login_page(_here(request))
    shell = _SHELL.replace("{{login}}", "true" if access.login_needed else "false")
    return _html(shell)


async def login_form(request: Request) -> Response:
    """``GET /dashboard/login``: the form on its own."""
    return login_page(_safe_next(request.query_params.get("next", "/dashboard")), status=200)


async def login(request: Request) -> Response:
    """``POST /dashboard/login``: check the token, set the cookie, go back to the page."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_LOGIN_BODY:
            return login_page("/dashboard", "The form was too large.", status=413)
    fields = parse_qs(body.decode("utf-8", "replace"))
    token = fields.get("token", [""])[0]
    next_path = _safe_next(fields.get("next", ["/dashboard"])[0])
    access = access_of(request)
    if not access.login_needed:
        return RedirectResponse(next_path, status_code=303)
    if not access.valid_token(token):
        return login_page(next_path, "That is not a valid read token.")
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        COOKIE,
        cookie_value(token),
        max_age=COOKIE_MAX_AGE,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


async def logout(request: Request) -> Response:
    """``POST /dashboard/logout``: forget the cookie."""
    response = RedirectResponse("/dashboard/login", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response
