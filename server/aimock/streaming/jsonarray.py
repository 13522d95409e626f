"""JSON-array framing: one JSON array whose elements arrive as the stream goes on.

Google's `:streamGenerateContent` without `?alt=sse` (and Google's REST streaming in
general, as gax / google-api-core read it) answers `Content-Type: application/json` and
writes the array progressively:

    [{
      "candidates": ...
    }
    ,\r\n{
      ...
    }
    ]

The opening bracket comes with the first element, `\n,\r\n` goes before each later one and
`\n]` closes the array once the stream is complete; elements are pretty-printed with two
spaces. A stream cut short (chaos) is left without its closing bracket, as a dying upstream
would leave it. Framing one element knows nothing of its neighbours: the opening, separator
and closing are written by the pacing loop (`pacing.DELIMITERS`).
"""

from __future__ import annotations

from typing import Any

import orjson

CONTENT_TYPE = "application/json; charset=UTF-8"
OPENING = b"["
SEPARATOR = b"\n,\r\n"
CLOSING = b"\n]"


def frame(data: Any, name: str | None = None) -> bytes:
    del name  # array elements have no names
    if isinstance(data, str):
        return data.encode()
    return orjson.dumps(data, option=orjson.OPT_INDENT_2)  # pretty-printed, as Google does


def decode(data: bytes) -> list[tuple[str | None, Any]]:
    """A recorded JSON-array stream as (None, element) pairs; a cut array (no closing
    bracket) gives the elements that arrived whole."""
    text = data.strip()
    try:
        items = orjson.loads(text)
    except orjson.JSONDecodeError:
        items = None
        for end in range(len(text), 0, -1):  # a cut stream: the longest prefix that closes
            if text[end - 1 : end] == b"}":
                try:
                    items = orjson.loads(text[:end] + b"]")
                    break
                except orjson.JSONDecodeError:
                    continue
    return [(None, item) for item in items] if isinstance(items, list) else []
