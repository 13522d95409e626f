"""WebSocket framing: each event is one text frame holding its JSON (a str goes as it is).

Event names are not framed: every realtime protocol carries the event's kind inside its JSON
(`type` for OpenAI, the top-level key for Gemini Live). The frames are built here, as a
server sends them (final, unmasked, RFC 6455 section 5.2), so that an answer's frames can go
out in one write, as an HTTP stream's do. The journal keeps an answer's payloads one per line.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

# What the journal calls the frames of one answer on a socket: one JSON text per line.
JOURNAL_TYPE = "application/x-ndjson"
_TEXT = 0x81  # FIN and the text opcode


def payload(data: Any) -> bytes:
    """An event's frame payload: its JSON, UTF-8."""
    return data.encode() if isinstance(data, str) else orjson.dumps(data)


def text_frame(body: bytes) -> bytes:
    """A whole text frame carrying `body`, as a server sends it (no mask)."""
    size = len(body)
    if size < 126:
        return bytes((_TEXT, size)) + body
    if size < 65536:
        return bytes((_TEXT, 126)) + size.to_bytes(2, "big") + body
    return bytes((_TEXT, 127)) + size.to_bytes(8, "big") + body


def frames(bodies: Iterable[bytes]) -> bytes:
    """Text frames back to back, for one write."""
    return b"".join(text_frame(body) for body in bodies)
