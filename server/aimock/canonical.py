"""The provider-neutral request every surface translates into.

Matching, chaos, strict mode and the journal only ever see this model, so a fixture written
once answers the same conversation whichever wire protocol carried it. Provider-only knobs
live in `extras`; request metadata (headers, test id) lives in `RequestContext`, never in the
message list.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, overload

DEFAULT_TEST_ID = "__default__"
T = TypeVar("T")


class memo(Generic[T]):  # lower case: a decorator, like functools.cached_property
    """`functools.cached_property` without its lock: on Python 3.11 every first read takes an
    RLock, and a request reads several of these once each. Computed on first read and kept in
    the instance's `__dict__` (a frozen dataclass too), where later reads find it directly."""

    def __init__(self, compute: Callable[[Any], T]) -> None:
        self.compute = compute
        self.name = compute.__name__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> memo[T]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> T | memo[T]:
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.compute(instance)
        return value


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

    @memo
    def last_user_text(self) -> str | None:
        """Text of the last user message that has any text (AIMock's `userMessage` target)."""
        for message in reversed(self.messages):
            if message.role == "user" and message.text is not None:
                return message.text
        return None

    @memo
    def system_text(self) -> str | None:
        texts = [m.text for m in self.messages if m.role == "system" and m.text is not None]
        return "\n".join(texts) if texts else None

    @memo
    def input_text(self) -> str | None:
        return " ".join(self.inputs) if self.inputs else None

    @memo
    def turn_index(self) -> int:
        """How many assistant turns the conversation already holds."""
        return sum(1 for m in self.messages if m.role == "assistant")

    @memo
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

    @memo
    def prompt_chars(self) -> int:
        return sum(len(m.text or "") for m in self.messages) + sum(len(t) for t in self.inputs)
