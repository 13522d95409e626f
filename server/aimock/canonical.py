"""The provider-neutral request every surface translates into.

Matching, chaos, strict mode and the journal only ever see this model, so a fixture written
once answers the same conversation whichever wire protocol carried it. Provider-only knobs
live in `extras`; request metadata (headers, test id) lives in `RequestContext`, never in the
message list.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

DEFAULT_TEST_ID = "__default__"
T = TypeVar("T")


def _memo(request: CanonicalRequest, key: str, compute: Callable[[CanonicalRequest], T]) -> T:
    """`compute(request)`, computed on the first read and kept in the request's `_memo`.

    A plain dict rather than `functools.cached_property`: on Python 3.11 every first read of
    one takes an RLock, and a compiled (mypyc) class has no `__dict__` to keep it in."""
    memo = request._memo
    if key in memo:
        return cast(T, memo[key])
    value = memo[key] = compute(request)
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
    secure: bool = False  # the client reached the mock over TLS

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def origin(self) -> str:
        """scheme://host the client reached the mock at, for URLs the mock answers with (its
        media files): https over TLS or behind a proxy that says it terminated TLS."""
        host = self.headers.get("host") or "127.0.0.1"
        scheme = self.headers.get("x-forwarded-proto") or ("https" if self.secure else "http")
        return f"{scheme}://{host}"


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
    # What the properties below computed; `dataclasses.replace` starts a fresh one.
    _memo: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def last_user_text(self) -> str | None:
        """Text of the last user message that has any text (AIMock's `userMessage` target)."""
        return _memo(self, "last_user_text", _last_user_text)

    @property
    def system_text(self) -> str | None:
        return _memo(self, "system_text", _system_text)

    @property
    def input_text(self) -> str | None:
        return _memo(self, "input_text", _input_text)

    @property
    def turn_index(self) -> int:
        """How many assistant turns the conversation already holds."""
        return _memo(self, "turn_index", _turn_index)

    @property
    def has_tool_result(self) -> bool:
        """Whether the current turn (after the last user message) carries a tool result."""
        return _memo(self, "has_tool_result", _has_tool_result)

    @property
    def last_message(self) -> Message | None:
        return self.messages[-1] if self.messages else None

    @property
    def prompt_chars(self) -> int:
        return _memo(self, "prompt_chars", _prompt_chars)


def _last_user_text(request: CanonicalRequest) -> str | None:
    for message in reversed(request.messages):
        if message.role == "user" and message.text is not None:
            return message.text
    return None


def _system_text(request: CanonicalRequest) -> str | None:
    texts = [m.text for m in request.messages if m.role == "system" and m.text is not None]
    return "\n".join(texts) if texts else None


def _input_text(request: CanonicalRequest) -> str | None:
    return " ".join(request.inputs) if request.inputs else None


def _turn_index(request: CanonicalRequest) -> int:
    return sum(1 for m in request.messages if m.role == "assistant")


def _has_tool_result(request: CanonicalRequest) -> bool:
    for message in reversed(request.messages):
        if message.role == "tool":
            return True
        if message.role == "user":
            return False
    return False


def _prompt_chars(request: CanonicalRequest) -> int:
    return sum(len(m.text or "") for m in request.messages) + sum(len(t) for t in request.inputs)
