"""WebSocket framing: each event is one text frame holding its JSON (a str goes as it is).

Event names are not framed: every realtime protocol carries the event's kind inside its JSON
(`type` for OpenAI, the top-level key for Gemini Live). The journal keeps a socket answer's
frames one per line.
"""

from __future__ import annotations

from typing import Any

import orjson

# What the journal calls the frames of one answer on a socket: one JSON text per line.
JOURNAL_TYPE = "application/x-ndjson"


def frame(data: Any) -> str:
    return data if isinstance(data, str) else orjson.dumps(data).decode()
