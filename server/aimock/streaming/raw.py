"""Raw framing: the stream is the bytes themselves (speech audio sent as it is made, over
chunked transfer encoding), with no framing around them.

Each event's data is a `RawBody` piece (bytes also do); the stream's content type is its
pieces' own (`pipeline.streamed` puts the first piece's in the headers), this module's
only when there is none.
"""

from __future__ import annotations

from typing import Any

CONTENT_TYPE = "application/octet-stream"


def frame(data: Any, name: str | None = None) -> bytes:
    del name  # raw bytes have no event names
    piece = getattr(data, "data", data)
    if isinstance(piece, bytes | bytearray | memoryview):
        return bytes(piece)
    raise TypeError(f"a raw stream carries bytes, not {type(piece).__name__}")


def decode(data: bytes) -> list[tuple[str | None, Any]]:
    """A recorded raw stream as one event: all its bytes (record mode collapses it)."""
    return [(None, data)] if data else []
