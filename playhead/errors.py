"""Every exception Playhead raises on purpose, and the one builder of 4xx JSON bodies.

Hierarchy::

    PlayheadError
    ├── ConfigError            a setting has a bad value (CLI exits with its message)
    └── ClientError            something a client sent; carries an HTTP status
        ├── InvalidBody        400: malformed JSON or a body that fails validation
        │   └── WrongProtocol  400: an event for a session that speaks the other protocol
        ├── InvalidQuery       400: a query parameter of a report is malformed
        ├── MissingExtra       501: the answer needs an optional extra that is not installed
        ├── UnknownSession     404: no session with that id
        ├── SessionClosed      410: the session can no longer take events
        ├── BodyTooLarge       413: the body is over the configured limit
        ├── UnknownEventType   404: GET /api/v1/schemas/{eventType} for no such type
        └── Overloaded         503: the write queue is full, retry later (with Retry-After)
            └── StorageUnavailable  503: the database failed or did not answer in time

Every client error becomes ``{"message": ..., "errors": [{"path": ..., "problem": ...}]}``
through :func:`error_body`, so all of them have one shape (decisions.md rule 4).
"""

from __future__ import annotations

from typing import ClassVar

import msgspec


class PlayheadError(Exception):
    """Base class of every error Playhead raises on purpose."""


class ConfigError(PlayheadError):
    """A setting has a value Playhead cannot use."""


class FieldError(msgspec.Struct, frozen=True):
    """One problem with one field: ``path`` is a JSONPath like ``$.params["media.length"]``."""

    path: str
    problem: str


class ErrorBody(msgspec.Struct, frozen=True):
    """The JSON body of every 4xx answer."""

    message: str
    errors: list[FieldError] = []


class ClientError(PlayheadError):
    """Something a client sent that Playhead refuses; ``status`` is the HTTP status to answer.

    ``omitted`` counts further problems that were found but not kept (the body lists at most
    :data:`MAX_PROBLEMS`).
    """

    status: ClassVar[int] = 400
    default_message: ClassVar[str] = "Request had improper format."

    def __init__(
        self,
        message: str | None = None,
        errors: list[FieldError] | None = None,
        *,
        omitted: int = 0,
    ):
        self.message = message or self.default_message
        self.errors = errors or []
        self.omitted = omitted
        super().__init__(self.message)

    def body(self) -> bytes:
        """The JSON body for this error."""
        return error_body(self.message, self.errors, omitted=self.omitted)


class InvalidBody(ClientError):
    """400: the body is not JSON, or fails the event type's schema."""

    status = 400
    default_message = "Request had improper format."


class WrongProtocol(InvalidBody):
    """400: an event for a session that speaks the other wire protocol."""

    default_message = "This session speaks another protocol."


class InvalidQuery(ClientError):
    """400: a report's query parameter is malformed (each error names ``query.NAME``)."""

    status = 400
    default_message = "Invalid query parameters."

    @classmethod
    def of(cls, name: str, problem: str) -> InvalidQuery:
        """The error for one query parameter."""
        return cls(errors=[FieldError(f"query.{name}", problem)])


class MissingExtra(ClientError):
    """501: the answer needs an optional extra (``pip install "playhead[NAME]"``)."""

    status = 501
    default_message = "This server lacks an optional extra."


class UnknownSession(ClientError):
    """404: the session id is not known."""

    status = 404
    default_message = "Session not found."


class SessionClosed(ClientError):
    """410: the session exists but no longer accepts events."""

    status = 410
    default_message = "Session is closed; start a new session."


class BodyTooLarge(ClientError):
    """413: the body is larger than the configured limit."""

    status = 413
    default_message = "Request body too large."


class UnknownEventType(ClientError):
    """404: there is no schema for that event type."""

    status = 404
    default_message = "Unknown event type."


class Overloaded(ClientError):
    """503: the server cannot take more events right now; clients should retry.

    Every 503 carries ``Retry-After`` (:data:`RETRY_AFTER_SECONDS`).
    """

    status = 503
    default_message = "Server busy; retry later."


class StorageUnavailable(Overloaded):
    """503: the database did not answer in time or failed; nothing was stored, retry later."""

    default_message = "Storage unavailable; retry later."


# Seconds a client is asked to wait before retrying a 503.
RETRY_AFTER_SECONDS = 1
# Most problems one error body lists; the rest are counted in one last entry.
MAX_PROBLEMS = 100


_encode = msgspec.json.Encoder().encode


def error_body(message: str, errors: list[FieldError] | None = None, *, omitted: int = 0) -> bytes:
    """Build the JSON body of a 4xx/503 answer naming every failed field (at most
    :data:`MAX_PROBLEMS` of them, then how many more there were)."""
    errors = errors or []
    more = omitted + max(0, len(errors) - MAX_PROBLEMS)
    if more:
        errors = [*errors[:MAX_PROBLEMS], FieldError("$", f"{more} more problems not listed")]
    return _encode(ErrorBody(message=message, errors=errors))
