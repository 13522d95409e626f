"""How the server's log lines look: text (`[aimock] INFO aimock.request: POST ...`), or one
JSON object a line (`--log-format json`) for log pipelines, where a request's line carries its
fields (method, path, surface, status, ms, fixture, chaos, testId, requestId) as keys."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import orjson

TEXT_FORMAT = "[aimock] %(levelname)s %(name)s: %(message)s"
FORMATS = ("text", "json")


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)  # a function: built only here, when asked
        if callable(fields):
            line.update(fields())
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


def configure(level: int, log_format: str = "text") -> None:
    """Send every log line to stderr, at `level` and above, in `log_format`."""
    handler = logging.StreamHandler(sys.stderr)
    formatter = JsonLines() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    logging.basicConfig(level=level, handlers=[handler])
