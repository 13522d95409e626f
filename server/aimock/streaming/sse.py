"""Server-sent events framing (WHATWG): optional `event:` line, one `data:` line, blank line.

The space after `data:` is required by google-genai's parser, so it is always written.

An event named `COMMENT` is written as an SSE comment line (`: <text>`), which clients skip:
OpenRouter sends `: OPENROUTER PROCESSING` that way while the upstream model starts.
"""

from __future__ import annotations

from typing import Any

import orjson

CONTENT_TYPE = "text/event-stream"
COMMENT = ":comment"  # an event name no real stream uses


def frame(data: Any, name: str | None = None) -> bytes:
    payload = data.encode() if isinstance(data, str) else orjson.dumps(data)
    if name is None:
        return b"data: " + payload + b"\n\n"
    if name == COMMENT:
        return b": " + payload + b"\n\n"
    return b"event: " + name.encode() + b"\ndata: " + payload + b"\n\n"


def decode(data: bytes) -> list[tuple[str | None, Any]]:
    """A recorded SSE stream as (event name, payload) pairs: the payload is the JSON of the
    `data:` lines, or their text when it is not JSON (`[DONE]`). Comments are skipped."""
    events: list[tuple[str | None, Any]] = []
    for block in data.replace(b"\r\n", b"\n").split(b"\n\n"):
        name: str | None = None
        lines: list[bytes] = []
        for line in block.split(b"\n"):
            if line.startswith(b"event:"):
                name = line[6:].strip().decode(errors="replace")
            elif line.startswith(b"data:"):
                lines.append(line[5:].removeprefix(b" "))
        if not lines:
            continue
        payload = b"\n".join(lines)
        try:
            events.append((name, orjson.loads(payload)))
        except orjson.JSONDecodeError:
            events.append((name, payload.decode(errors="replace")))
    return events
