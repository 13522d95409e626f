"""Newline-delimited JSON framing (Ollama): one JSON document per line."""

from __future__ import annotations

from typing import Any

import orjson

CONTENT_TYPE = "application/x-ndjson"


def frame(data: Any, name: str | None = None) -> bytes:
    del name  # NDJSON has no event names
    payload = data.encode() if isinstance(data, str) else orjson.dumps(data)
    return payload + b"\n"


def decode(data: bytes) -> list[tuple[str | None, Any]]:
    """A recorded NDJSON stream as (None, document) pairs; a line that is not JSON is skipped."""
    events: list[tuple[str | None, Any]] = []
    for line in data.splitlines():
        if line.strip():
            try:
                events.append((None, orjson.loads(line)))
            except orjson.JSONDecodeError:
                continue
    return events
