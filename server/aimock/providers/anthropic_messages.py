"""Anthropic Messages: `POST /v1/messages`, plain and streamed.

The reply is built once as the final content blocks (thinking, text, tool_use); the plain
body is the message around them, and the stream walks the same blocks. Anthropic's SDK
dispatches on the SSE event name, so every event is named after its JSON `type`:

    message_start (content [], stop_reason null),
    per block: content_block_start, content_block_delta xN, content_block_stop
      thinking: thinking_delta xN, then one signature_delta
      text:     text_delta xN
      tool_use: input_json_delta xN (slices of the serialised input)
    message_delta (stop_reason, output_tokens), message_stop.

Block indexes run 0, 1, 2 in start order: the SDK's accumulator appends on
`content_block_start` whatever its index says.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from aimock.canonical import CanonicalRequest, Message, RequestContext, ToolCall
from aimock.fixtures.compiled import Reply
from aimock.providers.common import (
    check_type,
    estimate_tokens,
    expect_object,
    new_id,
    optional,
    slices,
    text_of,
    token_counts,
)
from aimock.surface import (
    ErrorDialect,
    ErrorInfo,
    Event,
    Provider,
    RenderOptions,
    Surface,
    bad_request,
)

ROLES = ("user", "assistant")
PLACEHOLDER_SIGNATURE = "aimock-placeholder-signature"

# --------------------------------------------------------------------------- errors

# Anthropic answers one error type per status.
_STATUS_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_TYPES = frozenset(_STATUS_TYPES.values())


def _error_type(info: ErrorInfo) -> str:
    """The Anthropic type for an error. A fixture naming a specific Anthropic type keeps it;
    the generic `invalid_request_error` the pipeline uses for misses and oversize bodies
    gives way to the status's own type (404 not_found_error, 413 request_too_large)."""
    if info.type in _TYPES and info.type != "invalid_request_error":
        return str(info.type)
    if info.status in _STATUS_TYPES:
        return _STATUS_TYPES[info.status]
    return "api_error" if info.status >= 500 else "invalid_request_error"


def error_body(info: ErrorInfo) -> dict[str, Any]:
    return {"type": "error", "error": {"type": _error_type(info), "message": info.message}}


def error_headers(info: ErrorInfo) -> dict[str, str]:
    headers = {"request-id": new_id("req_")}
    if info.status == 429:
        retry = info.retry_after if info.retry_after is not None else 1.0
        headers.update(
            {
                "retry-after": f"{retry:g}",
                "anthropic-ratelimit-requests-limit": "60",
                "anthropic-ratelimit-requests-remaining": "0",
            }
        )
    return headers


ERRORS = ErrorDialect(body=error_body, headers=error_headers)


# --------------------------------------------------------------------------- request


def _required(body: Mapping[str, Any], key: str, kind: type, what: str) -> Any:
    """body[key], or the 400 Anthropic answers for a missing field."""
    if body.get(key) is None:
        raise bad_request(f"{key}: Field required", param=key, code="missing_required_parameter")
    return check_type(body[key], key, kind, what)


def parse(body: Any, context: RequestContext, params: Mapping[str, str]) -> CanonicalRequest:
    del params
    body = expect_object(body)
    model = _required(body, "model", str, "a string")
    _required(body, "max_tokens", int, "an integer")
    raw_messages = _required(body, "messages", list, "an array")
    messages: list[Message] = []
    system = text_of(optional(body, "system", (str, list), "a string or an array"), "system")
    if system is not None:
        messages.append(Message("system", system))
    for i, raw in enumerate(raw_messages):
        messages.extend(_messages(raw, f"messages.{i}"))
    thinking = optional(body, "thinking", dict, "an object")
    return CanonicalRequest(
        surface="anthropic.messages",
        provider="anthropic",
        endpoint="chat",
        model=model,
        context=context,
        messages=tuple(messages),
        tools=_tool_names(optional(body, "tools", list, "an array") or ()),
        stream=optional(body, "stream", bool, "a boolean") or False,
        extras={"thinking": thinking} if thinking is not None else {},
    )


def _tool_names(tools: list[Any] | tuple[()]) -> tuple[str, ...]:
    names = []
    for i, tool in enumerate(tools):
        check_type(tool, f"tools.{i}", dict, "an object")
        names.append(_required(tool, "name", str, "a string"))
    return tuple(names)


def _messages(raw: Any, param: str) -> list[Message]:
    """One wire message as canonical messages: a user turn's tool_result blocks become tool
    messages (after any text it carries, as a user message)."""
    check_type(raw, param, dict, "an object")
    role = raw.get("role")
    if role not in ROLES:
        raise bad_request(
            f"{param}.role: Input should be 'user' or 'assistant'", param=f"{param}.role"
        )
    content = raw.get("content")
    if content is None:
        raise bad_request(f"{param}.content: Field required", param=f"{param}.content")
    text = text_of(content, f"{param}.content")
    if isinstance(content, str):
        return [Message(role, text)]
    blocks = [b for b in content if isinstance(b, dict)]  # text_of refused any other item
    if role == "assistant":
        calls = tuple(_tool_call(b) for b in blocks if b.get("type") == "tool_use")
        return [Message("assistant", text, calls)]
    results = [(j, b) for j, b in enumerate(blocks) if b.get("type") == "tool_result"]
    out = [] if results and text is None else [Message("user", text)]
    for j, block in results:
        where = f"{param}.content.{j}"
        call_id = _required(block, "tool_use_id", str, "a string")
        out.append(Message("tool", text_of(block.get("content"), where), (), call_id))
    return out


def _tool_call(block: Mapping[str, Any]) -> ToolCall:
    """An earlier tool_use block; its input object carried as JSON arguments."""
    tool_input = block.get("input", {})
    return ToolCall(
        id=str(block.get("id", "")),
        name=str(block.get("name", "")),
        arguments=orjson.dumps(tool_input).decode(),
    )


# --------------------------------------------------------------------------- response


def _stop_reason(reply: Reply) -> str:
    finish = reply.finish_reason
    if reply.refusal is not None or finish == "content_filter":
        return "refusal"
    if finish in ("end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn"):
        return finish
    if finish == "length":
        return "max_tokens"
    return "tool_use" if reply.tool_calls else "end_turn"


def _tool_input(arguments: str) -> dict[str, Any]:
    """A reply's arguments as the object `input` must be ({} for anything else)."""
    try:
        value = orjson.loads(arguments or "{}")
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _blocks(reply: Reply) -> list[dict[str, Any]]:
    """The final content blocks, in the order the API emits them."""
    blocks: list[dict[str, Any]] = []
    if reply.reasoning is not None:
        signature = reply.reasoning_signature or PLACEHOLDER_SIGNATURE
        blocks.append({"type": "thinking", "thinking": reply.reasoning, "signature": signature})
    text = reply.refusal if reply.refusal is not None else reply.content
    if text is not None:
        blocks.append({"type": "text", "text": text})
    for call in reply.tool_calls:
        blocks.append(
            {
                "type": "tool_use",
                "id": call.id or new_id("toolu_"),
                "name": call.name,
                "input": _tool_input(call.arguments),
            }
        )
    return blocks


def _usage(request: CanonicalRequest, reply: Reply) -> dict[str, int]:
    """Fixture numbers win; otherwise estimates. Thinking counts inside output_tokens."""
    input_tokens, visible, reasoning = token_counts(request, reply)
    output_tokens = visible + reasoning
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": reply.cached_tokens or 0,
    }


def _message(request: CanonicalRequest, reply: Reply) -> dict[str, Any]:
    return {
        "id": reply.id or new_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": reply.model or request.model,
        "content": _blocks(reply),
        "stop_reason": _stop_reason(reply),
        "stop_sequence": None,
        "usage": _usage(request, reply),
    }


def render(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> dict[str, Any]:
    del options
    return _message(request, reply)


# --------------------------------------------------------------------------- stream


def _event(kind: str, tokens: int = 0, **fields: Any) -> Event:
    return Event({"type": kind, **fields}, name=kind, tokens=tokens)


def stream(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> Iterator[Event]:
    final = _message(request, reply)
    usage = final["usage"]
    opening = {**final, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 0}}
    yield _event("message_start", message=opening)
    for index, block in enumerate(final["content"]):
        yield _event("content_block_start", index=index, content_block=_empty(block))
        for delta in _deltas(block, options.chunk_size):
            tokens = estimate_tokens(_delta_text(delta))
            yield _event("content_block_delta", tokens, index=index, delta=delta)
        yield _event("content_block_stop", index=index)
    yield _event(
        "message_delta",
        delta={"stop_reason": final["stop_reason"], "stop_sequence": None},
        usage={"output_tokens": usage["output_tokens"]},
    )
    yield _event("message_stop")


def _empty(block: dict[str, Any]) -> dict[str, Any]:
    """A block as `content_block_start` opens it, before any delta."""
    if block["type"] == "thinking":
        return {"type": "thinking", "thinking": "", "signature": ""}
    if block["type"] == "text":
        return {"type": "text", "text": ""}
    return {**block, "input": {}}


def _delta_text(delta: dict[str, Any]) -> str | None:
    """What a delta adds to the answer, for tokens-per-second pacing (none for a signature)."""
    return delta.get("text") or delta.get("thinking") or delta.get("partial_json")


def _deltas(block: dict[str, Any], size: int) -> Iterator[dict[str, Any]]:
    if block["type"] == "thinking":
        for piece in slices(block["thinking"], size):
            yield {"type": "thinking_delta", "thinking": piece}
        yield {"type": "signature_delta", "signature": block["signature"]}
    elif block["type"] == "text":
        for piece in slices(block["text"], size):
            yield {"type": "text_delta", "text": piece}
    else:
        for piece in slices(orjson.dumps(block["input"]).decode(), size):
            yield {"type": "input_json_delta", "partial_json": piece}


MESSAGES = Surface(
    name="anthropic.messages",
    provider="anthropic",
    endpoint="chat",
    method="POST",
    paths=("/v1/messages",),
    parse=parse,
    render=render,
    stream=stream,
    errors=ERRORS,
)

PROVIDER = Provider(
    name="anthropic.messages",
    surfaces=(MESSAGES,),
    environment={"ANTHROPIC_BASE_URL": "{origin}", "ANTHROPIC_API_KEY": "aimock"},
)
