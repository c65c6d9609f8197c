"""HTTP transport of the Python client: POSTs JSON with http.client, keep-alive, retries.

Standard library only. One :class:`Transport` belongs to one thread at a time (the tracker's
worker thread): it keeps a single keep-alive connection and is not thread-safe.
"""

from __future__ import annotations

import http.client
import json
import random
import re
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

__all__ = [
    "RETRY_STATUSES",
    "PlayheadError",
    "Response",
    "ResponseError",
    "Transport",
    "TransportError",
    "parse_location",
]

#: Statuses worth retrying: the server could not take the request now (never 400).
RETRY_STATUSES: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504})

_LOCATION_RE = re.compile(
    r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*://[^/]+)?(?:.*?)/api/([^/]+)/sessions/([^/?#]+)"
)


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
    """A finished HTTP exchange."""

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


class Transport:
    """POSTs JSON documents to one Playhead (or Media Collection API) endpoint.

    Args:
        endpoint: base URL such as ``http://127.0.0.1:8000`` or ``https://host/va`` (a path
            prefix is kept and put in front of every API path).
        timeout: socket timeout of one attempt, in seconds.
        max_retries: retries after the first attempt for network errors and
            :data:`RETRY_STATUSES` (never for ``400`` or other client errors).
        backoff: first retry delay in seconds; doubled on each retry (with jitter).
        max_backoff: upper bound of one delay.
        sleep: the function used to wait (tests pass a fake).
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
    ) -> None:
        self.scheme, self.host, self.port, self.prefix = parse_endpoint(endpoint)
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._sleep = sleep
        self._conn: http.client.HTTPConnection | None = None
        self._jitter = random.Random()

    # -- paths -----------------------------------------------------------------------------
    def sessions_path(self) -> str:
        """Path of ``POST /api/v1/sessions`` under the endpoint's prefix."""
        return f"{self.prefix}/api/v1/sessions"

    def events_path(self, sid: str, api_version: str = "v1") -> str:
        """Path of the events resource of session ``sid`` under the endpoint's prefix."""
        return f"{self.prefix}/api/{api_version}/sessions/{sid}/events"

    # -- connection ------------------------------------------------------------------------
    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self.scheme == "https":
                self._conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout)
            else:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self._conn

    def close(self) -> None:
        """Close the keep-alive connection (a later request opens a new one)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _attempt(self, path: str, payload: bytes) -> Response:
        conn = self._connection()
        try:
            conn.request(
                "POST",
                path,
                body=payload,
                headers={"Content-Type": "application/json", "Accept": "application/json"},
            )
            resp = conn.getresponse()
            body = resp.read()
        except BaseException:
            self.close()
            raise
        if resp.will_close:
            self.close()
        return Response(resp.status, dict(resp.getheaders()), body)

    def _delay(self, attempt: int) -> float:
        base = min(self.max_backoff, self.backoff * (2**attempt))
        return float(base * (0.5 + self._jitter.random() / 2))

    def post(self, path: str, document: Any) -> Response:
        """POST ``document`` as JSON to ``path``, retrying transient failures.

        Returns the final response, whatever its status, once it is not retryable (or the
        retries are used up on a retryable status).

        Raises:
            TransportError: every attempt failed at the network level.
        """
        payload = json.dumps(document, separators=(",", ":"), allow_nan=False).encode("utf-8")
        last_exc: BaseException | None = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                self._sleep(self._delay(attempt - 1))
            try:
                response = self._attempt(path, payload)
            except (OSError, http.client.HTTPException) as exc:
                last_exc = exc
                continue
            if response.status in RETRY_STATUSES and attempt < self.max_retries:
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
