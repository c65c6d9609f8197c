"""Every exception Playhead raises on purpose, and the one builder of 4xx JSON bodies.

Hierarchy::

    PlayheadError
    ├── ConfigError            a setting has a bad value (CLI exits with its message)
    └── ClientError            something a client sent; carries an HTTP status
        ├── InvalidBody        400: malformed JSON or a body that fails validation
        ├── UnknownSession     404: no session with that id
        ├── SessionClosed      410: the session can no longer take events
        ├── BodyTooLarge       413: the body is over the configured limit
        ├── UnknownEventType   404: GET /api/v1/schemas/{eventType} for no such type
        └── Overloaded         503: the write queue is full, retry later

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
    """Something a client sent that Playhead refuses; ``status`` is the HTTP status to answer."""

    status: ClassVar[int] = 400
    default_message: ClassVar[str] = "Request had improper format."

    def __init__(self, message: str | None = None, errors: list[FieldError] | None = None):
        self.message = message or self.default_message
        self.errors = errors or []
        super().__init__(self.message)

    def body(self) -> bytes:
        """The JSON body for this error."""
        return error_body(self.message, self.errors)


class InvalidBody(ClientError):
    """400: the body is not JSON, or fails the event type's schema."""

    status = 400
    default_message = "Request had improper format."


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
    """503: the server cannot take more events right now; clients should retry."""

    status = 503
    default_message = "Server busy; retry later."


_encode = msgspec.json.Encoder().encode


def error_body(message: str, errors: list[FieldError] | None = None) -> bytes:
    """Build the JSON body of a 4xx/503 answer naming every failed field."""
    return _encode(ErrorBody(message=message, errors=errors or []))
