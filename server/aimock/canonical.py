"""The provider-neutral request every surface translates into.

Matching, chaos, strict mode and the journal only ever see this model, so a fixture written
once answers the same conversation whichever wire protocol carried it. Provider-only knobs
live in `extras`; request metadata (headers, test id) lives in `RequestContext`, never in the
message list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

DEFAULT_TEST_ID = "__default__"


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool call the assistant made earlier in the conversation (or will make in a reply)."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Message:
    role: str  # system | user | assistant | tool
    text: str | None  # None: the message has no text part at all (e.g. an image only)
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None


@dataclass(frozen=True)
class RequestContext:
    """What travelled beside the body: headers and the knobs read from them."""

    headers: Mapping[str, str]  # lower-cased names
    test_id: str = DEFAULT_TEST_ID
    strict_override: bool | None = None
    # The URL's query parameters (e.g. Azure's `api-version`).
    query: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class CanonicalRequest:
    surface: str  # e.g. "openai.chat"; what fixtures' `surface` matches
    provider: str  # e.g. "openai"
    endpoint: str  # AIMock's endpoint kinds: chat, embedding, moderation, ...
    model: str
    context: RequestContext
    messages: tuple[Message, ...] = ()
    tools: tuple[str, ...] = ()  # names of the tools offered
    response_format: str | None = None  # "text" | "json_object" | "json_schema"
    stream: bool = False
    inputs: tuple[str, ...] = ()  # embeddings / moderation input texts
    extras: Mapping[str, Any] = field(default_factory=dict)

    @cached_property
    def last_user_text(self) -> str | None:
        """Text of the last user message that has any text (AIMock's `userMessage` target)."""
        for message in reversed(self.messages):
            if message.role == "user" and message.text is not None:
                return message.text
        return None

    @cached_property
    def system_text(self) -> str | None:
        texts = [m.text for m in self.messages if m.role == "system" and m.text is not None]
        return "\n".join(texts) if texts else None

    @cached_property
    def input_text(self) -> str | None:
        return " ".join(self.inputs) if self.inputs else None

    @cached_property
    def turn_index(self) -> int:
        """How many assistant turns the conversation already holds."""
        return sum(1 for m in self.messages if m.role == "assistant")

    @cached_property
    def has_tool_result(self) -> bool:
        """Whether the current turn (after the last user message) carries a tool result."""
        for message in reversed(self.messages):
            if message.role == "tool":
                return True
            if message.role == "user":
                return False
        return False

    @property
    def last_message(self) -> Message | None:
        return self.messages[-1] if self.messages else None

    @cached_property
    def prompt_chars(self) -> int:
        return sum(len(m.text or "") for m in self.messages) + sum(len(t) for t in self.inputs)
