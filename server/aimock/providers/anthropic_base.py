"""The Anthropic Messages shapes, independent of where the body travels.

Shared by the surfaces that carry a Messages body: Anthropic's own `/v1/messages`
(anthropic_messages.py) and Claude on AWS Bedrock InvokeModel (bedrock_invoke.py), which sends
the same body without `model`/`stream` and answers the same message JSON and stream events.
Not a surface itself: the error envelope and routes stay with each surface.

The reply is built once as the final content blocks (thinking, text, tool_use); the plain
body is the message around them, and the stream walks the same blocks:

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

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import orjson

from aimock.canonical import CanonicalRequest, Message, RequestContext, ToolCall
from aimock.fixtures.compiled import Reply
from aimock.providers.assembly import Assembly, collapse_objects, redacted_blobs
from aimock.providers.common import (
    check_type,
    estimate_tokens,
    json_object_of,
    new_id,
    optional,
    slices,
    text_of,
    token_counts,
)
from aimock.surface import Event, RenderOptions, bad_request

ROLES = ("user", "assistant")
PLACEHOLDER_SIGNATURE = "aimock-placeholder-signature"


# --------------------------------------------------------------------------- request


def required(body: Mapping[str, Any], key: str, kind: type, what: str) -> Any:
    """body[key], or the 400 Anthropic answers for a missing field."""
    if body.get(key) is None:
        raise bad_request(f"{key}: Field required", param=key, code="missing_required_parameter")
    return check_type(body[key], key, kind, what)


def parse_body(
    body: Mapping[str, Any],
    context: RequestContext,
    *,
    surface: str,
    provider: str,
    model: str,
    stream: bool,
) -> CanonicalRequest:
    """A Messages body (already known to be an object) as the canonical request; the caller
    says where the model and the stream flag came from (the body, or Bedrock's path)."""
    required(body, "max_tokens", int, "an integer")
    raw_messages = required(body, "messages", list, "an array")
    messages: list[Message] = []
    system = text_of(optional(body, "system", (str, list), "a string or an array"), "system")
    if system is not None:
        messages.append(Message("system", system))
    for i, raw in enumerate(raw_messages):
        messages.extend(wire_messages(raw, f"messages.{i}"))
    thinking = optional(body, "thinking", dict, "an object")
    return CanonicalRequest(
        surface=surface,
        provider=provider,
        endpoint="chat",
        model=model,
        context=context,
        messages=tuple(messages),
        tools=tool_names(optional(body, "tools", list, "an array") or ()),
        response_format=response_format(body),
        stream=stream,
        extras={"thinking": thinking} if thinking is not None else {},
    )


def response_format(body: Mapping[str, Any]) -> str | None:
    """`output_config.format` (structured outputs): "json_schema" when a schema is asked for."""
    config = optional(body, "output_config", dict, "an object")
    if config is None:
        return None
    fmt = optional(config, "format", dict, "an object", param="output_config.format")
    if fmt is None:
        return None
    kind = fmt.get("type")
    return kind if isinstance(kind, str) else None


def tool_names(tools: list[Any] | tuple[()]) -> tuple[str, ...]:
    names = []
    for i, tool in enumerate(tools):
        check_type(tool, f"tools.{i}", dict, "an object")
        names.append(required(tool, "name", str, "a string"))
    return tuple(names)


def wire_messages(raw: Any, param: str) -> list[Message]:
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
        calls = tuple(
            _tool_call(b, f"{param}.content.{j}")
            for j, b in enumerate(blocks)
            if b.get("type") == "tool_use"
        )
        return [Message("assistant", text, calls)]
    results = [(j, b) for j, b in enumerate(blocks) if b.get("type") == "tool_result"]
    out = [] if results and text is None else [Message("user", text)]
    for j, block in results:
        where = f"{param}.content.{j}"
        call_id = required(block, "tool_use_id", str, "a string")
        out.append(Message("tool", text_of(block.get("content"), where), (), call_id))
    return out


def _tool_call(block: Mapping[str, Any], param: str) -> ToolCall:
    """An earlier tool_use block; its input object carried as JSON arguments."""
    tool_input = optional(block, "input", dict, "an object", f"{param}.input") or {}
    return ToolCall(
        id=optional(block, "id", str, "a string", f"{param}.id") or "",
        name=optional(block, "name", str, "a string", f"{param}.name") or "",
        arguments=orjson.dumps(tool_input).decode(),
    )


# --------------------------------------------------------------------------- response


def stop_reason(reply: Reply) -> str:
    finish = reply.finish_reason
    if reply.refusal is not None or finish == "content_filter":
        return "refusal"
    if finish in ("end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn"):
        return finish
    if finish == "length":
        return "max_tokens"
    return "tool_use" if reply.tool_calls else "end_turn"


def blocks(reply: Reply) -> list[dict[str, Any]]:
    """The final content blocks, in the order the API emits them."""
    out: list[dict[str, Any]] = []
    if reply.reasoning is not None:
        signature = reply.reasoning_signature or PLACEHOLDER_SIGNATURE
        out.append({"type": "thinking", "thinking": reply.reasoning, "signature": signature})
    out += [{"type": "redacted_thinking", "data": data} for data in redacted_blobs(reply)]
    text = reply.refusal if reply.refusal is not None else reply.content
    if text is not None:
        out.append({"type": "text", "text": text})
    for call in reply.tool_calls:
        out.append(
            {
                "type": "tool_use",
                "id": call.id or new_id("toolu_"),
                "name": call.name,
                "input": json_object_of(call.arguments),
            }
        )
    return out


def usage(request: CanonicalRequest, reply: Reply) -> dict[str, int]:
    """Fixture numbers win; otherwise estimates. Thinking counts inside output_tokens."""
    input_tokens, visible, reasoning = token_counts(request, reply)
    output_tokens = visible + reasoning
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": reply.cached_tokens or 0,
    }


def api_usage(body: dict[str, Any]) -> dict[str, Any]:
    """A message body's usage as Anthropic's own API reports it (Bedrock's does not): the
    cache writes by lifetime and the service tier."""
    usage = {
        **body["usage"],
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        "service_tier": "standard",
    }
    return {**body, "usage": usage}


def message(request: CanonicalRequest, reply: Reply, id_prefix: str = "msg_") -> dict[str, Any]:
    return {
        "id": reply.id or new_id(id_prefix),
        "type": "message",
        "role": "assistant",
        "model": reply.model or request.model,
        "content": blocks(reply),
        "stop_reason": stop_reason(reply),
        "stop_sequence": None,
        "usage": usage(request, reply),
    }


def render(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> dict[str, Any]:
    del options
    return message(request, reply)


# --------------------------------------------------------------------------- stream


def event(kind: str, tokens: int = 0, **fields: Any) -> Event:
    return Event({"type": kind, **fields}, name=kind, tokens=tokens)


def stream_events(final: dict[str, Any], chunk_size: int) -> Iterator[Event]:
    """The events that build `final` (a `message()` body) up, in order."""
    totals = final["usage"]
    opening = {**final, "content": [], "stop_reason": None, "usage": {**totals, "output_tokens": 0}}
    yield event("message_start", message=opening)
    for index, block in enumerate(final["content"]):
        yield event("content_block_start", index=index, content_block=_empty(block))
        for delta in _deltas(block, chunk_size):
            tokens = estimate_tokens(_delta_text(delta))
            yield event("content_block_delta", tokens, index=index, delta=delta)
        yield event("content_block_stop", index=index)
    # The final counts: every number of the usage but the cache breakdown and the tier.
    counts = {k: v for k, v in totals.items() if isinstance(v, int)}
    yield event(
        "message_delta",
        delta={"stop_reason": final["stop_reason"], "stop_sequence": None},
        usage=counts,
    )
    yield event("message_stop")


def stream(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> Iterator[Event]:
    return stream_events(message(request, reply), options.chunk_size)


def _empty(block: dict[str, Any]) -> dict[str, Any]:
    """A block as `content_block_start` opens it, before any delta (a redacted thinking
    block arrives whole, with no delta)."""
    if block["type"] == "redacted_thinking":
        return block
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
    elif block["type"] == "tool_use":
        for piece in slices(orjson.dumps(block["input"]).decode(), size):
            yield {"type": "input_json_delta", "partial_json": piece}


# --------------------------------------------------------------------------- collapse


def collapse(events: Sequence[tuple[str | None, Any]]) -> Reply:
    """A recorded Messages stream back into one answer."""
    return collapse_objects(events, collapse_event)


def decode(body: Any) -> Reply:
    """A non-streamed Messages body back into one answer: its content blocks read as the
    events that would have streamed them."""
    body = body if isinstance(body, dict) else {}
    usage = body.get("usage") or {}
    events: list[Mapping[str, Any]] = [{"type": "message_start", "message": body}]
    for index, block in enumerate(body.get("content") or ()):
        if not isinstance(block, dict):
            continue
        events.append({"type": "content_block_start", "index": index, "content_block": block})
        kind = block.get("type")
        if kind == "text":
            events.append(_delta(index, "text_delta", text=block.get("text", "")))
        elif kind == "thinking":
            events.append(_delta(index, "thinking_delta", thinking=block.get("thinking", "")))
            events.append(_delta(index, "signature_delta", signature=block.get("signature")))
        elif kind == "tool_use":
            arguments = orjson.dumps(block.get("input") or {}).decode()
            events.append(_delta(index, "input_json_delta", partial_json=arguments))
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": body.get("stop_reason")},
            "usage": {"output_tokens": usage.get("output_tokens")},
        }
    )
    assembly = Assembly()
    for event in events:
        collapse_event(assembly, event)
    return assembly.reply()


def _delta(index: int, kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": {"type": kind, **fields}}


def collapse_event(assembly: Assembly, data: Mapping[str, Any]) -> None:
    """Add one Messages stream event (its JSON) to `assembly`."""
    kind = data.get("type")
    if kind == "message_start":
        opening = data.get("message") or {}
        assembly.id, assembly.model = opening.get("id"), opening.get("model")
        assembly.input_tokens = (opening.get("usage") or {}).get("input_tokens")
    elif kind == "content_block_start":
        block = data.get("content_block") or {}
        if block.get("type") == "redacted_thinking":
            assembly.redacted_thinking.append(str(block.get("data", "")))
        elif block.get("type") == "tool_use":
            assembly.tool_call(data.get("index"), id=block.get("id"), name=block.get("name"))
    elif kind == "content_block_delta":
        _collapse_delta(assembly, data.get("index"), data.get("delta") or {})
    elif kind == "message_delta":
        assembly.finish_reason = (data.get("delta") or {}).get("stop_reason")
        assembly.output_tokens = (data.get("usage") or {}).get("output_tokens")


def _collapse_delta(assembly: Assembly, index: object, delta: Mapping[str, Any]) -> None:
    kind = delta.get("type")
    if kind == "text_delta":
        assembly.text.append(delta.get("text", ""))
    elif kind == "thinking_delta":
        assembly.reasoning.append(delta.get("thinking", ""))
    elif kind == "signature_delta":
        assembly.signature = delta.get("signature")
    elif kind == "input_json_delta":
        assembly.tool_call(index, arguments=delta.get("partial_json", ""))
