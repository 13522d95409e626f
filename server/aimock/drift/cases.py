"""The canonical requests drift sends, one per surface x {plain, stream}, and how a streamed
answer's events are named."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PROMPT = "drift-capital"  # the drift fixtures answer it with a short text
MESSAGES = [{"role": "user", "content": PROMPT}]
# Names one streamed event: (SSE event name, payload) -> its type.
EventType = Callable[[str | None, Any], str]


def _payload_type(name: str | None, data: Any) -> str:
    if isinstance(data, str):
        return data  # [DONE]
    return str(data.get("type") or data.get("object") or name or "chunk")


def _named(name: str | None, data: Any) -> str:
    return name or _payload_type(name, data)


def _chunk(name: str | None, data: Any) -> str:
    del name
    return data if isinstance(data, str) else "chunk"


@dataclass(frozen=True)
class Case:
    surface: str
    stream: bool
    path: str
    body: dict[str, Any]
    event_type: EventType
    # Keep-alive events a stream may carry anywhere, left out of the order compared.
    keep_alive: frozenset[str] = frozenset()

    @property
    def name(self) -> str:
        return f"{self.surface}/text/{'stream' if self.stream else 'plain'}"


def _both(
    surface: str,
    path: str,
    body: dict[str, Any],
    event_type: EventType,
    *,
    stream_path: str | None = None,
    keep_alive: frozenset[str] = frozenset(),
) -> list[Case]:
    """The plain case, and the streamed one (on `stream_path`, else with `stream: true`)."""
    streamed_path, streamed_body = (
        (stream_path, body) if stream_path else (path, {**body, "stream": True})
    )
    return [
        Case(surface, False, path, body, event_type),
        Case(surface, True, streamed_path, streamed_body, event_type, keep_alive),
    ]


GEMINI = "/v1beta/models/gemini-2.5-flash"
CASES: list[Case] = [
    *_both(
        "openai.chat",
        "/v1/chat/completions",
        {"model": "gpt-4o", "messages": MESSAGES},
        _payload_type,
    ),
    *_both(
        "openai.responses", "/v1/responses", {"model": "gpt-4o", "input": PROMPT}, _payload_type
    ),
    *_both(
        "anthropic.messages",
        "/v1/messages",
        {"model": "claude-sonnet-4-5", "max_tokens": 256, "messages": MESSAGES},
        _named,
        keep_alive=frozenset({"ping"}),  # "streams may include any number of ping events"
    ),
    *_both(
        "gemini.generate",
        f"{GEMINI}:generateContent",
        {"contents": [{"role": "user", "parts": [{"text": PROMPT}]}]},
        _chunk,
        stream_path=f"{GEMINI}:streamGenerateContent?alt=sse",
    ),
]
