"""Who may read data: read tokens, admin tokens and the dashboard's login cookie.

The ingest APIs stay open (players cannot keep a secret). Everything that reads data
(``/reports/...``, exports, ``/dashboard``, ``/metrics``) needs read access: :class:`ReadGuard`
(installed by ``create_app``) guards every path under :data:`GUARDED_PREFIXES` (``/reports``
and ``/metrics``), so a new endpoint there is guarded with no extra code. Elsewhere, wrap the
endpoint with :func:`read_guard`; admin actions with :func:`admin_guard`::

    from playhead.http.access import admin_guard, read_guard

    Route("/metrics", read_guard(metrics), methods=["GET"])
    Route("/admin/viewers/{viewer}", admin_guard(delete_viewer), methods=["DELETE"])

or, inside an endpoint that decides for itself, ``refusal = access_of(request).refuse_read(
request)`` answers the ``401`` response to return (``None`` when the request may read).

A request may read when no read token is configured and the server listens on loopback (or
``--public-reports`` was given), or when it carries one of the configured tokens as
``Authorization: Bearer TOKEN`` or the dashboard's login cookie. Tokens are compared in
constant time. The cookie holds an HMAC of the token, not the token, is ``HttpOnly`` and
``SameSite=Strict``, and is set only by the login form's POST: a token never appears in a URL.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from playhead.config import Settings
from playhead.errors import ConfigError, FieldError, error_body
from playhead.http.asgi import ASGIApp, Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]

COOKIE = "playhead_read"
_COOKIE_CONTEXT = b"playhead dashboard login v1"


def split_tokens(raw: str) -> tuple[str, ...]:
    """The tokens of a comma-separated setting, blanks dropped."""
    return tuple(t.strip() for t in raw.split(",") if t.strip())


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an interface address or name) is reachable only from this machine."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(settings: Settings) -> None:
    """Refuse to serve data off loopback without a read token (unless explicitly public)."""
    if is_loopback(settings.host) or settings.public_reports:
        return
    if not split_tokens(settings.read_token):
        raise ConfigError(
            f"--host {settings.host} is reachable from other machines, and reports, exports and "
            "the dashboard would be readable by anyone: set a read token with --read-token "
            "TOKEN (or PLAYHEAD_READ_TOKEN; several may be comma-separated), or pass "
            "--public-reports to serve them without one. The Collection API stays open either way."
        )


def cookie_value(token: str) -> str:
    """What the login cookie holds for ``token``: an HMAC of it, never the token itself."""
    return hmac.new(token.encode(), _COOKIE_CONTEXT, hashlib.sha256).hexdigest()


def _matches(given: str, tokens: tuple[str, ...]) -> bool:
    """Constant-time membership: every configured token is compared, whatever matches."""
    found = False
    for token in tokens:
        found |= hmac.compare_digest(given.encode(), token.encode())
    return found


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def _unauthorized(message: str, problem: str) -> Response:
    return Response(
        error_body(message, [FieldError("header.Authorization", problem)]),
        status_code=401,
        media_type="application/json",
        headers={"WWW-Authenticate": 'Bearer realm="playhead"'},
    )


class Access:
    """The read and admin tokens of one server, and the decision for each request.

    Usage::

        access = Access.from_settings(load_settings({"read_token": "s3cret"}))
        access.may_read(request)
    """

    def __init__(
        self, read_tokens: tuple[str, ...], admin_tokens: tuple[str, ...], *, open_reads: bool
    ) -> None:
        self.read_tokens = read_tokens
        self.admin_tokens = admin_tokens
        self.open_reads = open_reads and not read_tokens
        self._cookies = tuple(cookie_value(t) for t in read_tokens)

    @classmethod
    def from_settings(cls, settings: Settings) -> Access:
        """The access rules of a server with ``settings``.

        Without a read token, reads are open on loopback or with ``--public-reports``; a server
        listening elsewhere without either (``serve`` refuses to start so) lets nobody read.
        """
        return cls(
            split_tokens(settings.read_token),
            split_tokens(settings.admin_token),
            open_reads=is_loopback(settings.host) or settings.public_reports,
        )

    @property
    def login_needed(self) -> bool:
        """Whether reading needs a token (so the dashboard offers its login form)."""
        return not self.open_reads

    def valid_token(self, token: str) -> bool:
        """Whether ``token`` is one of the read tokens (constant-time)."""
        return _matches(token, self.read_tokens)

    def may_read(self, request: Request) -> bool:
        """Whether ``request`` may read data (bearer token or login cookie)."""
        if self.open_reads:
            return True
        bearer = _bearer(request)
        if bearer is not None:
            return _matches(bearer, self.read_tokens)
        cookie = request.cookies.get(COOKIE)
        return cookie is not None and _matches(cookie, self._cookies)

    def refuse_read(self, request: Request) -> Response | None:
        """The 401 answer for a request that may not read, else ``None``."""
        if self.may_read(request):
            return None
        if not self.read_tokens:
            return _unauthorized(
                "Reports are not served: this server has no read token.",
                "the server listens off loopback; restart it with --read-token",
            )
        if _bearer(request) is None and COOKIE not in request.cookies:
            return _unauthorized("A read token is required.", "missing: send Bearer TOKEN")
        return _unauthorized("The read token is not valid.", "not a valid read token")

    def refuse_admin(self, request: Request) -> Response | None:
        """The 401/403 answer for a request that may not do admin actions, else ``None``."""
        if not self.admin_tokens:
            return Response(
                error_body(
                    "Admin actions are disabled: start the server with --admin-token.",
                    [FieldError("header.Authorization", "no admin token is configured")],
                ),
                status_code=403,
                media_type="application/json",
            )
        bearer = _bearer(request)
        if bearer is None:
            return _unauthorized("An admin token is required.", "missing: send Bearer TOKEN")
        if not _matches(bearer, self.admin_tokens):
            return _unauthorized("The admin token is not valid.", "not a valid admin token")
        return None


def access_of(request: Request) -> Access:
    """The :class:`Access` of the app serving ``request`` (nobody may read if none was set)."""
    access = getattr(request.app.state, "access", None)
    return access if isinstance(access, Access) else Access((), (), open_reads=False)


class ReadGuard:
    """ASGI middleware: requests whose path starts with one of ``prefixes`` need read access.

    ``create_app`` puts it in front of the Starlette routes with :data:`GUARDED_PREFIXES`, so
    every report endpoint, export and ``/metrics`` is guarded without wrapping each route.
    """

    def __init__(self, app: ASGIApp, access: Access, prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.access = access
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 401 to a guarded path that may not be read; pass everything else on."""
        if scope["type"] == "http" and not self.access.open_reads:
            path: str = scope["path"]
            if any(path == p or path.startswith(p + "/") or path.startswith(p + ".")
                   for p in self.prefixes):  # fmt: skip
                refusal = self.access.refuse_read(Request(scope))
                if refusal is not None:
                    await refusal(scope, receive, send)
                    return
        await self.app(scope, receive, send)


# Paths that read data; /dashboard guards itself (it answers its login form instead).
GUARDED_PREFIXES = ("/reports", "/metrics")


def read_guard(endpoint: Endpoint) -> Endpoint:
    """``endpoint`` answered only to requests that may read data (else the 401)."""

    async def guarded(request: Request) -> Response:
        refusal = access_of(request).refuse_read(request)
        return refusal if refusal is not None else await endpoint(request)

    guarded.__doc__ = endpoint.__doc__
    guarded.__name__ = endpoint.__name__
    return guarded


def admin_guard(endpoint: Endpoint) -> Endpoint:
    """``endpoint`` answered only to requests with an admin token (else 401, or 403 when
    admin actions are disabled because no admin token is configured)."""

    async def guarded(request: Request) -> Response:
        refusal = access_of(request).refuse_admin(request)
        return refusal if refusal is not None else await endpoint(request)

    guarded.__doc__ = endpoint.__doc__
    guarded.__name__ = endpoint.__name__
    return guarded
