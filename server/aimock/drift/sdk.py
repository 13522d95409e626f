"""What the official SDKs' own types say of an answer: the paths they do not know.

openai and anthropic models keep unknown keys aside (`model_extra`); google-genai refuses them
(`extra_forbidden`). Each walk names a path the way `shapes.shape` does. The SDKs are optional
here (they are test dependencies): without one, its surfaces' type check is reported as
skipped, never as passed.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

Check = Callable[[Any, bool], set[str]]  # (payload, is a stream event) -> unknown paths


def unknown_in(model: Any, path: str = "") -> set[str]:
    """The paths of keys a parsed SDK model kept without knowing them."""
    found: set[str] = set()
    if isinstance(model, BaseModel):
        for key in model.model_extra or {}:
            found.add(f"{path}.{key}" if path else key)
        for name, info in type(model).model_fields.items():
            key = info.alias or name
            found |= unknown_in(getattr(model, name), f"{path}.{key}" if path else key)
    elif isinstance(model, list):
        for item in model:
            found |= unknown_in(item, f"{path}[]")
    return found


def _openai_chat(payload: Any, event: bool) -> set[str]:
    from openai.types.chat import ChatCompletion, ChatCompletionChunk

    model = ChatCompletionChunk if event else ChatCompletion
    return unknown_in(model.model_validate(payload))


def _openai_responses(payload: Any, event: bool) -> set[str]:
    from openai.types.responses import Response, ResponseStreamEvent

    if event:
        return unknown_in(TypeAdapter(ResponseStreamEvent).validate_python(payload))
    return unknown_in(Response.model_validate(payload))


def _anthropic(payload: Any, event: bool) -> set[str]:
    from anthropic.types import Message, RawMessageStreamEvent

    if event:
        if isinstance(payload, dict) and payload.get("type") == "ping":
            return set()  # a keep-alive the SDK reads past, outside its event union
        return unknown_in(TypeAdapter(RawMessageStreamEvent).validate_python(payload))
    return unknown_in(Message.model_validate(payload))


def _gemini(payload: Any, event: bool) -> set[str]:
    del event  # a streamed chunk is a GenerateContentResponse too
    from google.genai.types import GenerateContentResponse

    try:
        GenerateContentResponse.model_validate(payload)
    except ValidationError as exc:
        unknown = {
            ".".join(str(p) for p in error["loc"] if not isinstance(p, int))
            for error in exc.errors()
            if error["type"] == "extra_forbidden"
        }
        if len(unknown) < len(exc.errors()):
            raise
        return unknown
    return set()


CHECKS: dict[str, tuple[str, Check]] = {
    "openai.chat": ("openai", _openai_chat),
    "openai.responses": ("openai", _openai_responses),
    "anthropic.messages": ("anthropic", _anthropic),
    "gemini.generate": ("google.genai", _gemini),
}


def check(surface: str) -> Check | None:
    """The SDK check of a surface, or None when its SDK is not installed."""
    package, run = CHECKS[surface]
    return run if importlib.util.find_spec(package.split(".")[0]) is not None else None
