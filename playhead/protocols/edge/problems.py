"""The Media Edge API's own answers: RFC 7807 problem documents, the 207 of an invalid
sessionStart, and the handle that carries a new session's id."""

from __future__ import annotations

import uuid
from typing import Any, Final

import msgspec

from playhead.errors import MAX_PROBLEMS, FieldError

PROBLEM_JSON: Final = b"application/problem+json"
_TYPE: Final = "https://ns.adobe.com/aep/errors/va-edge-{code:04d}-{status}"
_TITLES: Final = {
    400: "Invalid request",
    404: "Session not found",
    405: "Method not allowed",
    413: "Request too large",
    503: "Service unavailable",
}
_encode = msgspec.json.Encoder().encode


def problem_type(status: int) -> str:
    """The problem type URI of a status (``…/va-edge-0400-400``, ``…/va-edge-0404-404``)."""
    return _TYPE.format(code=status, status=status)


def _problem(status: int, detail: str, errors: list[FieldError], omitted: int) -> dict[str, Any]:
    more = omitted + max(0, len(errors) - MAX_PROBLEMS)
    if more:
        errors = [*errors[:MAX_PROBLEMS], FieldError("$", f"{more} more problems not listed")]
    doc: dict[str, Any] = {
        "type": problem_type(status),
        "status": status,
        "title": _TITLES.get(status, "Request refused"),
        "detail": detail,
    }
    if errors:
        doc["report"] = {
            "eventIndex": 0,
            "details": [{"name": e.path, "reason": e.problem} for e in errors],
        }
    return doc


def problem(
    status: int, detail: str, errors: list[FieldError] | None = None, omitted: int = 0
) -> bytes:
    """An ``application/problem+json`` body for ``status`` listing at most
    :data:`~playhead.errors.MAX_PROBLEMS` fields, then how many more failed."""
    return _encode(_problem(status, detail, errors or [], omitted))


def multi_status(detail: str, errors: list[FieldError], omitted: int = 0) -> bytes:
    """The 207 body of a sessionStart that does not validate: no session, the errors."""
    return _encode(
        {
            "requestId": str(uuid.uuid4()),
            "handle": [],
            "errors": [_problem(400, detail, errors, omitted)],
        }
    )


def new_session(sid: str) -> bytes:
    """The 200 body that gives a client its new session's id."""
    return _encode(
        {
            "requestId": str(uuid.uuid4()),
            "handle": [
                {
                    "type": "media-analytics:new-session",
                    "payload": [{"sessionId": sid}],
                    "eventIndex": 0,
                }
            ],
        }
    )


def interact_answer(
    sessions: list[tuple[int, str]], ignored: list[tuple[int, str]], errors: list[bytes]
) -> bytes:
    """The body answering ``POST /ee/v1/interact``: a ``media-analytics:new-session`` handle
    per session started (``eventIndex`` its place in ``events``), a warning per event ignored
    (index, eventType), and the problem of each ``media.sessionStart`` that did not validate."""
    doc: dict[str, Any] = {
        "requestId": str(uuid.uuid4()),
        "handle": [
            {
                "type": "media-analytics:new-session",
                "payload": [{"sessionId": sid}],
                "eventIndex": index,
            }
            for index, sid in sessions
        ],
    }
    if ignored:
        doc["warnings"] = [
            {
                "status": 200,
                "title": "Event not collected",
                "detail": f"Playhead collects media only; this {event_type!r} event is ignored.",
                "report": {"eventIndex": index},
            }
            for index, event_type in ignored
        ]
    if errors:
        doc["errors"] = [msgspec.Raw(e) for e in errors]
    return _encode(doc)


def start_problem(detail: str, errors: list[FieldError], omitted: int, index: int) -> bytes:
    """The problem of one ``media.sessionStart`` of an interact body that did not validate."""
    doc = _problem(400, detail, errors, omitted)
    if "report" in doc:
        doc["report"]["eventIndex"] = index
    else:
        doc["report"] = {"eventIndex": index}
    return _encode(doc)
