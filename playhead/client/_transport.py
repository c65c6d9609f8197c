"""Transports of the Python client (standard library only).

Two layers, as in httpx:

* A **transport** sends one HTTP request and returns its :class:`Response`: the seam under
  :class:`~playhead.client.Tracker`. :class:`HTTPTransport` (the default) speaks HTTP/1.1 over
  one keep-alive ``http.client`` connection; :class:`MockTransport` calls a function instead,
  so tests need no HTTP server. Write another by subclassing :class:`BaseTransport`.
* :class:`Transport` makes the Collection API calls over a transport: paths under the
  endpoint's prefix, JSON bodies, retries with exponential backoff and jitter. The tracker and
  ``playhead simulate`` both send through it.

One :class:`Transport` (and its :class:`HTTPTransport`) belongs to one thread at a time (the
tracker's worker thread): it keeps a single keep-alive connection and is not thread-safe.
"""

from __future__ import annotations

import http.client
import json
import random
import re
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

__all__ = [
    "RETRY_STATUSES",
    "BaseTransport",
    "Endpoint",
    "HTTPTransport",
    "Handler",
    "MockTransport",
    "PlayheadError",
    "Response",
    "ResponseError",
    "Transport",
    "TransportError",
    "parse_endpoint",
    "parse_location",
]

#: Statuses worth retrying: the server could not take the request now (never 400).
RETRY_STATUSES: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504})

_LOCATION_RE = re.compile(
    r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*://[^/]+)?(?:.*?)/api/([^/]+)/sessions/([^/?#]+)"
)
_JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


class Endpoint(NamedTuple):
    """Where a Playhead server listens: scheme, host, port and the path prefix (may be "")."""

    scheme: str
    host: str
    port: int
    prefix: str


def parse_endpoint(url: str) -> Endpoint:
    """Split an http(s) endpoint URL such as ``https://example.com/va`` (ValueError otherwise)."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(f"endpoint must be an http(s) URL, got {url!r}")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return Endpoint(parsed.scheme, parsed.hostname, port, parsed.path.rstrip("/"))


class PlayheadError(Exception):
    """Base class of every error raised by :mod:`playhead.client`."""


class TransportError(PlayheadError):
    """The request could not be delivered (network errors or retryable statuses exhausted)."""


class ResponseError(PlayheadError):
    """The server answered with a status that is not a success.

    Attributes:
        status: the HTTP status code.
        body: the raw response body (the server's JSON error document for a ``400``).
    """

    def __init__(self, status: int, body: bytes, message: str | None = None) -> None:
        self.status = status
        self.body = body
        super().__init__(message or f"HTTP {status}: {body[:200].decode('utf-8', 'replace')}")

    def json(self) -> Any:
        """Return the decoded JSON error body, or ``None`` when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass(frozen=True)
class Response:
    """A finished HTTP exchange.

    Attributes:
        status: the HTTP status code.
        headers: the response headers (look ``Location`` up with :attr:`location`, which
            ignores case).
        body: the raw response body.
        attempts: how many attempts :meth:`Transport.post` made (1 from a transport).
    """

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    attempts: int = 1

    @property
    def location(self) -> str | None:
        """The ``Location`` header, if any."""
        for key, value in self.headers.items():
            if key.lower() == "location":
                return value
        return None


def parse_location(location: str) -> tuple[str, str]:
    """Split a session ``Location`` into ``(api_version, sid)``.

    Accepts the relative form the protocol mandates (``/api/v1/sessions/{sid}``) and, leniently,
    an absolute URL or a prefixed path.

    Raises:
        PlayheadError: when the value does not name a session.
    """
    match = _LOCATION_RE.match(location.strip())
    if match is None or not match.group(2):
        raise PlayheadError(f"unexpected Location header: {location!r}")
    return match.group(1), match.group(2)


# ------------------------------------------------------------------------------ transports
class BaseTransport:
    """Sends one HTTP request and returns the :class:`Response`: the client's network seam.

    Subclasses implement :meth:`request` (and :meth:`close` when they hold resources). A
    transport makes exactly one attempt: retries belong to :class:`Transport` above it.
    """

    def request(self, method: str, path: str, body: bytes, headers: Mapping[str, str]) -> Response:
        """Send one request for ``path`` (the full path, prefix included) and return its answer.

        Any status is a :class:`Response`, errors included. Raise :class:`OSError` (or
        :class:`http.client.HTTPException`) when the request could not be delivered or no
        answer came back: :class:`Transport` retries those as network errors.
        """
        raise NotImplementedError

    def close(self) -> None:
        """Release what the transport holds (a connection); a later request may reopen it."""


class HTTPTransport(BaseTransport):
    """The default transport: ``http.client`` over one keep-alive connection.

    Args:
        endpoint: a URL whose scheme (``http`` or ``https``), host and port are used; its path
            is not (:class:`Transport` puts the endpoint's prefix in front of every path).
        timeout: socket timeout of one request, in seconds.

    Not thread-safe: the connection serves one request at a time. It is opened on the first
    request, reopened after a network error or a ``Connection: close`` answer.
    """

    def __init__(self, endpoint: str, *, timeout: float = 5.0) -> None:
        self.scheme, self.host, self.port, _ = parse_endpoint(endpoint)
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self.scheme == "https":
                self._conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout)
            else:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self._conn

    def request(self, method: str, path: str, body: bytes, headers: Mapping[str, str]) -> Response:
        conn = self._connection()
        try:
            conn.request(method, path, body=body, headers=dict(headers))
            resp = conn.getresponse()
            data = resp.read()
        except BaseException:
            self.close()
            raise
        if resp.will_close:
            self.close()
        return Response(resp.status, dict(resp.getheaders()), data)

    def close(self) -> None:
        """Close the keep-alive connection (a later request opens a new one)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


#: What :class:`MockTransport` calls: ``handler(method, path, body, headers) -> Response``.
Handler = Callable[[str, str, bytes, Mapping[str, str]], Response]


class MockTransport(BaseTransport):
    """An in-memory transport: every request is answered by ``handler``.

    ``handler(method, path, body, headers)`` returns the :class:`Response`; it may raise
    :class:`OSError` (e.g. ``ConnectionResetError``) to play a network failure. It is called on
    the sending thread (the tracker's worker), so a handler shared by several senders must be
    thread-safe. Example::

        def handler(method, path, body, headers):
            if path.endswith("/sessions"):
                return Response(201, {"Location": "/api/v1/sessions/" + "ab" * 32})
            return Response(204)

        tracker = Tracker("http://collector.test", transport=MockTransport(handler))
    """

    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    def request(self, method: str, path: str, body: bytes, headers: Mapping[str, str]) -> Response:
        response = self.handler(method, path, body, headers)
        if not isinstance(response, Response):
            raise TypeError(f"MockTransport handler returned {response!r}, not a Response")
        return response


# ------------------------------------------------------------- the Collection API, retried
class Transport:
    """POSTs JSON documents to one Playhead (or Media Collection API) endpoint, with retries.

    Args:
        endpoint: base URL such as ``http://127.0.0.1:8000`` or ``https://host/va`` (a path
            prefix is kept and put in front of every API path).
        timeout: socket timeout of one attempt, in seconds (of the default transport).
        max_retries: retries after the first attempt for network errors and
            ``retry_statuses`` (never for ``400`` or other client errors).
        backoff: first retry delay in seconds; doubled on each retry (with jitter: each delay
            is between half and all of its nominal value).
        max_backoff: upper bound of one delay.
        sleep: the function used to wait between attempts (tests pass a fake); an exception
            it raises stops the retries and propagates out of :meth:`post`.
        retry_statuses: the statuses retried (default :data:`RETRY_STATUSES`).
        transport: what sends each attempt (default: an :class:`HTTPTransport` to
            ``endpoint``); :meth:`close` closes it.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        timeout: float = 5.0,
        max_retries: int = 5,
        backoff: float = 0.25,
        max_backoff: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
        retry_statuses: Iterable[int] = RETRY_STATUSES,
        transport: BaseTransport | None = None,
    ) -> None:
        self.scheme, self.host, self.port, self.prefix = parse_endpoint(endpoint)
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.retry_statuses = frozenset(retry_statuses)
        self.transport = (
            transport if transport is not None else HTTPTransport(endpoint, timeout=timeout)
        )
        self._sleep = sleep
        self._jitter = random.Random()

    # -- paths -----------------------------------------------------------------------------
    def sessions_path(self) -> str:
        """Path of ``POST /api/v1/sessions`` under the endpoint's prefix."""
        return f"{self.prefix}/api/v1/sessions"

    def events_path(self, sid: str, api_version: str = "v1") -> str:
        """Path of the events resource of session ``sid`` under the endpoint's prefix."""
        return f"{self.prefix}/api/{api_version}/sessions/{sid}/events"

    # -- sending -----------------------------------------------------------------------------
    def close(self) -> None:
        """Close the transport's connection (a later request opens a new one)."""
        self.transport.close()

    def _delay(self, attempt: int) -> float:
        base = min(self.max_backoff, self.backoff * (2**attempt))
        return float(base * (0.5 + self._jitter.random() / 2))

    def post(self, path: str, document: Any, headers: Mapping[str, str] | None = None) -> Response:
        """POST ``document`` as JSON to ``path`` (with extra ``headers``, if given), retrying
        transient failures.

        Returns the final response, whatever its status, once it is not retryable (or the
        retries are used up on a retryable status).

        Raises:
            TransportError: every attempt failed at the network level.
        """
        payload = json.dumps(document, separators=(",", ":"), allow_nan=False).encode("utf-8")
        sent = {**_JSON_HEADERS, **headers} if headers else dict(_JSON_HEADERS)
        last_exc: BaseException | None = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                self._sleep(self._delay(attempt - 1))
            try:
                response = self.transport.request("POST", path, payload, dict(sent))
            except (OSError, http.client.HTTPException) as exc:
                last_exc = exc
                continue
            if response.status in self.retry_statuses and attempt < self.max_retries:
                last_exc = None
                continue
            return Response(response.status, response.headers, response.body, attempt + 1)
        raise TransportError(
            f"POST {path} failed after {self.max_retries + 1} attempts: {last_exc!r}"
        ) from last_exc

    # -- protocol calls ---------------------------------------------------------------------
    def start_session(self, body: Mapping[str, Any]) -> tuple[str, str]:
        """POST a ``sessionStart`` and return ``(api_version, sid)`` from ``Location``.

        Raises:
            ResponseError: the server did not answer ``201`` (e.g. ``400`` for a bad body).
            PlayheadError: ``201`` without a usable ``Location``.
            TransportError: the request could not be delivered.
        """
        response = self.post(self.sessions_path(), body)
        if response.status != 201:
            raise ResponseError(response.status, response.body)
        location = response.location
        if not location:
            raise PlayheadError("201 without a Location header")
        return parse_location(location)

    def send_event(self, sid: str, body: Mapping[str, Any], api_version: str = "v1") -> Response:
        """POST one event to session ``sid`` and return the response (``204`` on success)."""
        return self.post(self.events_path(sid, api_version), body)
