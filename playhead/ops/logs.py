"""Log output: one line per event worth knowing, as text or as one JSON object per line.

``playhead serve`` configures the ``playhead`` loggers and uvicorn's with :func:`logging_config`
(``--log-format``, ``--log-level``). A JSON line carries ``time`` (UTC, ISO 8601), ``level``,
``logger`` and ``message``, plus the fields a call passes as ``extra={"data": {...}}`` (the
periodic traffic line's figures, for instance), so a log pipeline needs no parsing of text.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object on one line (with ``node``, the process's name,
    when one is given: several workers or nodes write to one log)."""

    def __init__(self, node: str | None = None) -> None:
        super().__init__()
        self.node = node

    def format(self, record: logging.LogRecord) -> str:
        """The record as JSON: time, level, logger, message, its data, and any exception."""
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if self.node:
            line["node"] = self.node
        data = getattr(record, "data", None)
        if isinstance(data, dict):
            for key, value in data.items():
                line.setdefault(key, value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def logging_config(level: str, log_format: str, node: str | None = None) -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` for Playhead's loggers and uvicorn's (stderr);
    ``node`` names the process in every line."""
    text = TEXT_FORMAT.replace("%(levelname)s", f"{node} %(levelname)s") if node else TEXT_FORMAT
    formatter: dict[str, Any] = (
        {"()": JsonFormatter, "node": node}
        if log_format == "json"
        else {"format": text, "datefmt": "%Y-%m-%dT%H:%M:%S"}
    )
    upper = level.upper()
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "playhead",
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"playhead": formatter},
        "handlers": {"stderr": handler},
        "loggers": {
            "playhead": {"handlers": ["stderr"], "level": upper, "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": upper, "propagate": False},
            "uvicorn.error": {"level": upper},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }
