"""OpenAI Chat Completions: `POST /v1/chat/completions`, plain and streamed.

Stream order: role chunk, reasoning deltas, content (or refusal) deltas, one opening chunk per
tool call (index, id, type, name, empty arguments) followed by argument fragments carrying only
the index, a finish chunk, the usage chunk when `stream_options.include_usage`, `[DONE]`. Ids,
names and roles appear once: the SDK's accumulator concatenates repeated strings.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from aimock.canonical import CanonicalRequest, Message, RequestContext, ToolCall
from aimock.fixtures.compiled import Reply
from aimock.providers import openai_base
from aimock.providers.common import (
    check_type,
    estimate_tokens,
    expect_object,
    missing,
    new_id,
    now,
    optional,
    require,
    slices,
    text_of,
    token_counts,
)
from aimock.surface import Event, Provider, RenderOptions, Surface, bad_request

ROLES = {"system", "developer", "user", "assistant", "tool", "function"}
FORMATS = ("text", "json_object", "json_schema")


def parse(body: Any, context: RequestContext, params: Mapping[str, str]) -> CanonicalRequest:
    body = expect_object(body)
    model = params.get("deployment") or require(body, "model", str, "a string")
    raw_messages = require(body, "messages", list, "an array")
    if not raw_messages:
        raise bad_request(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got "
            "an empty array instead.",
            param="messages",
            code="empty_array",
        )
    messages = tuple(_message(m, i) for i, m in enumerate(raw_messages))
    tools = []
    for i, tool in enumerate(optional(body, "tools", list, "an array") or ()):
        check_type(tool, f"tools[{i}]", dict, "an object")
        function = tool.get("function")
        name = function.get("name") if isinstance(function, dict) else tool.get("name")
        if not isinstance(name, str):
            raise missing(f"tools[{i}].function.name")
        tools.append(name)
    response_format = _response_format(body)
    stream = optional(body, "stream", bool, "a boolean") or False
    stream_options = optional(body, "stream_options", dict, "an object") or {}
    return CanonicalRequest(
        surface="openai.chat",
        provider="openai",
        endpoint="chat",
        model=model,
        context=context,
        messages=messages,
        tools=tuple(tools),
        response_format=response_format,
        stream=stream,
        extras={"include_usage": bool(stream_options.get("include_usage"))},
    )


def _response_format(body: dict[str, Any]) -> str | None:
    """The requested format's type; fixtures match on it, so an unknown one is a 400."""
    response_format = optional(body, "response_format", dict, "an object")
    if response_format is None:
        return None
    kind = response_format.get("type")
    if kind is None:
        raise missing("response_format.type")
    if kind not in FORMATS:
        raise bad_request(
            f"Invalid value for 'response_format.type': expected one of "
            f"{', '.join(FORMATS)}, but got {kind!r}.",
            param="response_format.type",
            code="invalid_value",
        )
    return str(kind)


def _message(raw: Any, i: int) -> Message:
    param = f"messages[{i}]"
    check_type(raw, param, dict, "an object")
    role = raw.get("role")
    if role is None:
        raise missing(f"{param}.role")
    if not isinstance(role, str) or role not in ROLES:
        raise bad_request(
            f"Invalid value for '{param}.role': expected one of {', '.join(sorted(ROLES))}, "
            f"but got {role!r}.",
            param=f"{param}.role",
            code="invalid_value",
        )
    text = text_of(raw.get("content"), f"{param}.content")
    calls = tuple(
        _tool_call(call, f"{param}.tool_calls[{j}]")
        for j, call in enumerate(
            optional(raw, "tool_calls", list, "an array", f"{param}.tool_calls") or ()
        )
    )
    tool_call_id = optional(raw, "tool_call_id", str, "a string", f"{param}.tool_call_id")
    if role == "developer":
        role = "system"
    elif role == "function":
        role = "tool"
    return Message(role, text, calls, tool_call_id)


def _tool_call(raw: Any, param: str) -> ToolCall:
    """An earlier assistant tool call; a wrong shape is a 400, never a crash."""
    check_type(raw, param, dict, "an object")
    function = optional(raw, "function", dict, "an object", f"{param}.function") or {}
    return ToolCall(
        id=str(raw.get("id", "")),
        name=str(function.get("name", "")),
        arguments=str(function.get("arguments", "")),
    )


def _finish_reason(reply: Reply) -> str:
    if reply.finish_reason:
        return reply.finish_reason
    return "tool_calls" if reply.tool_calls else "stop"


def _usage(request: CanonicalRequest, reply: Reply) -> dict[str, Any]:
    prompt, completion, reasoning = token_counts(request, reply)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion + reasoning,
        "total_tokens": prompt + completion + reasoning,
        "prompt_tokens_details": {"cached_tokens": reply.cached_tokens or 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _tool_calls(reply: Reply) -> list[dict[str, Any]]:
    return [
        {
            "id": call.id or new_id("call_"),
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments},
        }
        for call in reply.tool_calls
    ]


def render(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> dict[str, Any]:
    del options
    message: dict[str, Any] = {
        "role": "assistant",
        "content": None if reply.refusal is not None else reply.content,
        "refusal": reply.refusal,
        "annotations": [],
    }
    if reply.tool_calls:
        message["tool_calls"] = _tool_calls(reply)
    if reply.reasoning is not None:
        message["reasoning_content"] = reply.reasoning
    return {
        "id": reply.id or new_id("chatcmpl-"),
        "object": "chat.completion",
        "created": reply.created or now(),
        "model": reply.model or request.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": _finish_reason(reply),
                "logprobs": None,
            }
        ],
        "usage": _usage(request, reply),
        "service_tier": "default",
        "system_fingerprint": reply.system_fingerprint or "fp_aimock",
    }


def stream(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> Iterator[Event]:
    include_usage = bool(request.extras.get("include_usage"))
    base = {
        "id": reply.id or new_id("chatcmpl-"),
        "object": "chat.completion.chunk",
        "created": reply.created or now(),
        "model": reply.model or request.model,
        "service_tier": "default",
        "system_fingerprint": reply.system_fingerprint or "fp_aimock",
    }

    def chunk(delta: dict[str, Any], finish: str | None = None, tokens: int = 0) -> Event:
        data = {
            **base,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        }
        if include_usage:
            data["usage"] = None
        return Event(data, tokens=tokens)

    size = options.chunk_size
    # content "" opens a text answer; a refusal or tool-only answer keeps content null, so the
    # SDK's accumulated message equals the non-streamed one.
    has_text = reply.content is not None and reply.refusal is None
    yield chunk({"role": "assistant", "content": "" if has_text else None, "refusal": None})
    for piece in slices(reply.reasoning or "", size):
        yield chunk({"reasoning_content": piece}, tokens=estimate_tokens(piece))
    if reply.refusal is not None:
        for piece in slices(reply.refusal, size):
            yield chunk({"refusal": piece}, tokens=estimate_tokens(piece))
    else:
        for piece in slices(reply.content or "", size):
            yield chunk({"content": piece}, tokens=estimate_tokens(piece))
    for index, call in enumerate(_tool_calls(reply)):
        function = call["function"]
        opening = {
            "index": index,
            "id": call["id"],
            "type": "function",
            "function": {"name": function["name"], "arguments": ""},
        }
        yield chunk({"tool_calls": [opening]}, tokens=1)
        for piece in slices(function["arguments"], size):
            fragment = {"index": index, "function": {"arguments": piece}}
            yield chunk({"tool_calls": [fragment]}, tokens=estimate_tokens(piece))
    yield chunk({}, _finish_reason(reply))
    if include_usage:
        yield Event({**base, "choices": [], "usage": _usage(request, reply)})
    yield Event("[DONE]")


CHAT = Surface(
    name="openai.chat",
    provider="openai",
    endpoint="chat",
    method="POST",
    paths=openai_base.paths("/chat/completions"),
    parse=parse,
    render=render,
    stream=stream,
    errors=openai_base.ERRORS,
)

PROVIDER = Provider(name="openai.chat", surfaces=(CHAT,), environment=openai_base.ENVIRONMENT)
