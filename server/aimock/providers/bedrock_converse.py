"""AWS Bedrock Converse: `POST /model/{modelId}/converse` and
`POST /model/{modelId}/converse-stream`, the model-neutral chat API.

Request: `messages[]` {role user|assistant, content[]} where each content block is a union
holding one of `text`, `toolUse` {toolUseId, name, input}, `toolResult` {toolUseId,
content[] of {text}|{json}, status}, `reasoningContent`, `image`, `document`...; `system[]`
{text}; `toolConfig.tools[].toolSpec` {name, inputSchema.json}; `inferenceConfig`;
`outputConfig.textFormat` {type json_schema, structure.jsonSchema {schema, name}};
`additionalModelRequestFields` (Claude's `thinking` travels there).

Reply: `{output: {message: {role, content[]}}, stopReason, usage {inputTokens,
outputTokens, totalTokens}, metrics {latencyMs}}`; content blocks in order
`reasoningContent.reasoningText` {text, signature}, `text`, `toolUse` {toolUseId, name,
input}. stopReason: end_turn | tool_use | max_tokens | stop_sequence | content_filtered.

The stream is an AWS event-stream (streaming/eventstream.py); each message's `:event-type` is
the event's name and its payload the event's members:

    messageStart {role}
    per block (contentBlockIndex 0, 1, 2...):
      reasoning: contentBlockDelta {reasoningContent {text}} xN, then one {signature}
      text:      contentBlockDelta {text} xN
      toolUse:   contentBlockStart {start {toolUse {toolUseId, name}}},
                 contentBlockDelta {toolUse {input: "<JSON fragment>"}} xN
      contentBlockStop
    messageStop {stopReason}
    metadata {usage, metrics}

Text and reasoning blocks open with their first delta, as Bedrock's do (only tool use has a
contentBlockStart). boto3 yields each as `{"<event name>": {...}}`.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

import orjson

from aimock.canonical import CanonicalRequest, Message, RequestContext, ToolCall
from aimock.fixtures.compiled import Reply
from aimock.providers import bedrock_base
from aimock.providers.assembly import Assembly, redacted_blobs, redacted_reasoning
from aimock.providers.bedrock_base import ENVIRONMENT, ERRORS, FAMILY, NOMINAL_LATENCY_MS
from aimock.providers.bedrock_base import model_id as path_model_id
from aimock.providers.common import (
    check_type,
    estimate_tokens,
    expect_object,
    json_document_of,
    new_id,
    optional,
    slices,
    token_counts,
)
from aimock.surface import Event, Provider, RenderOptions, Surface, bad_request

SURFACE = "bedrock.converse"
ROLES = ("user", "assistant")
PLACEHOLDER_SIGNATURE = "aimock-placeholder-signature"
STOP_REASONS = frozenset(
    {"end_turn", "tool_use", "max_tokens", "stop_sequence", "guardrail_intervened"}
)

# --------------------------------------------------------------------------- request


def _required(body: Mapping[str, Any], key: str, kind: type, what: str, param: str) -> Any:
    """body[key], or the ValidationException Bedrock answers for a missing member."""
    if body.get(key) is None:
        raise bad_request(f"{param} is required.", param=param)
    return check_type(body[key], param, kind, what)


def _parse(
    body: Any, context: RequestContext, params: Mapping[str, str], *, stream: bool
) -> CanonicalRequest:
    model = path_model_id(params)
    body = expect_object(body)
    messages: list[Message] = []
    system = _system(optional(body, "system", list, "an array") or [])
    if system is not None:
        messages.append(Message("system", system))
    for i, raw in enumerate(_required(body, "messages", list, "an array", "messages")):
        messages.extend(_messages(raw, f"messages.{i}"))
    extras: dict[str, Any] = {}
    inference = optional(body, "inferenceConfig", dict, "an object")
    if inference is not None:
        extras["inferenceConfig"] = inference
    additional = optional(body, "additionalModelRequestFields", dict, "an object") or {}
    thinking = additional.get("thinking") or additional.get("reasoning_config")
    if isinstance(thinking, dict):
        extras["thinking"] = thinking
    return CanonicalRequest(
        surface=SURFACE,
        provider=FAMILY,
        endpoint="chat",
        model=model,
        context=context,
        messages=tuple(messages),
        tools=_tool_names(optional(body, "toolConfig", dict, "an object")),
        response_format=_response_format(optional(body, "outputConfig", dict, "an object")),
        stream=stream,
        extras=extras,
    )


def parse(body: Any, context: RequestContext, params: Mapping[str, str]) -> CanonicalRequest:
    return _parse(body, context, params, stream=False)


def parse_stream(body: Any, context: RequestContext, params: Mapping[str, str]) -> CanonicalRequest:
    return _parse(body, context, params, stream=True)


def _system(blocks: list[Any]) -> str | None:
    texts = []
    for i, block in enumerate(blocks):
        check_type(block, f"system.{i}", dict, "an object")
        if isinstance(block.get("text"), str):
            texts.append(block["text"])
    return "\n".join(texts) if texts else None


def _tool_names(config: Mapping[str, Any] | None) -> tuple[str, ...]:
    if config is None:
        return ()
    names = []
    for i, tool in enumerate(_required(config, "tools", list, "an array", "toolConfig.tools")):
        where = f"toolConfig.tools.{i}"
        check_type(tool, where, dict, "an object")
        spec = tool.get("toolSpec")
        if spec is not None:  # a cachePoint or systemTool entry offers no function
            check_type(spec, f"{where}.toolSpec", dict, "an object")
            names.append(_required(spec, "name", str, "a string", f"{where}.toolSpec.name"))
    return tuple(names)


def _response_format(config: Mapping[str, Any] | None) -> str | None:
    """`outputConfig.textFormat.type` ("json_schema", the one kind Bedrock has)."""
    if config is None:
        return None
    text_format = optional(config, "textFormat", dict, "an object", "outputConfig.textFormat")
    if text_format is None:
        return None
    kind = text_format.get("type")
    return kind if isinstance(kind, str) else None


def _messages(raw: Any, param: str) -> list[Message]:
    """One wire message as canonical messages: a user turn's toolResult blocks become tool
    messages (after any text it carries, as a user message)."""
    check_type(raw, param, dict, "an object")
    role = raw.get("role")
    if role not in ROLES:
        raise bad_request(
            f"{param}.role: Member must satisfy enum value set: [user, assistant]",
            param=f"{param}.role",
        )
    content = _required(raw, "content", list, "an array", f"{param}.content")
    for j, block in enumerate(content):
        check_type(block, f"{param}.content.{j}", dict, "an object")
    texts = [block["text"] for block in content if isinstance(block.get("text"), str)]
    text = "".join(texts) if texts else None
    if role == "assistant":
        calls = tuple(
            _tool_call(block["toolUse"], f"{param}.content.{j}.toolUse")
            for j, block in enumerate(content)
            if "toolUse" in block
        )
        return [Message("assistant", text, calls)]
    results = [(j, block["toolResult"]) for j, block in enumerate(content) if "toolResult" in block]
    out = [] if results and text is None else [Message("user", text)]
    for j, result in results:
        where = f"{param}.content.{j}.toolResult"
        check_type(result, where, dict, "an object")
        call_id = _required(result, "toolUseId", str, "a string", f"{where}.toolUseId")
        parts = _required(result, "content", list, "an array", f"{where}.content")
        out.append(Message("tool", _result_text(parts, where), (), call_id))
    return out


def _tool_call(block: Any, param: str) -> ToolCall:
    """An earlier toolUse block; its input document carried as JSON arguments."""
    check_type(block, param, dict, "an object")
    return ToolCall(
        id=_required(block, "toolUseId", str, "a string", f"{param}.toolUseId"),
        name=_required(block, "name", str, "a string", f"{param}.name"),
        # A JSON document of any kind, as Bedrock takes it.
        arguments=orjson.dumps(block.get("input", {})).decode(),
    )


def _result_text(parts: list[Any], param: str) -> str | None:
    """A tool result's text: its text parts, and its json parts serialised, joined."""
    texts = []
    for k, part in enumerate(parts):
        check_type(part, f"{param}.content.{k}", dict, "an object")
        if isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif "json" in part:
            texts.append(orjson.dumps(part["json"]).decode())
    return "".join(texts) if texts else None


# --------------------------------------------------------------------------- response


def _stop_reason(reply: Reply) -> str:
    finish = reply.finish_reason
    if reply.refusal is not None or finish in ("content_filter", "content_filtered", "refusal"):
        return "content_filtered"
    if finish in STOP_REASONS:
        return finish
    if finish == "length":
        return "max_tokens"
    return "tool_use" if reply.tool_calls else "end_turn"


def _content(reply: Reply) -> list[dict[str, Any]]:
    """The final content blocks, in the order Bedrock emits them."""
    blocks: list[dict[str, Any]] = []
    if reply.reasoning is not None:
        signature = reply.reasoning_signature or PLACEHOLDER_SIGNATURE
        reasoning = {"reasoningText": {"text": reply.reasoning, "signature": signature}}
        blocks.append({"reasoningContent": reasoning})
    for data in redacted_blobs(reply):  # a blob: its bytes travel base64 in JSON
        redacted = base64.b64encode(data.encode()).decode()
        blocks.append({"reasoningContent": {"redactedContent": redacted}})
    text = reply.refusal if reply.refusal is not None else reply.content
    if text is not None:
        blocks.append({"text": text})
    for call in reply.tool_calls:
        tool_use = {
            "toolUseId": call.id or new_id("tooluse_"),
            "name": call.name,
            "input": json_document_of(call.arguments),
        }
        blocks.append({"toolUse": tool_use})
    return blocks


def _usage(request: CanonicalRequest, reply: Reply) -> dict[str, int]:
    """Fixture numbers win; otherwise estimates. Reasoning counts inside outputTokens."""
    input_tokens, visible, reasoning = token_counts(request, reply)
    output_tokens = visible + reasoning
    usage = {
        "inputTokens": input_tokens,
        "outputTokens": output_tokens,
        "totalTokens": input_tokens + output_tokens,
    }
    if reply.cached_tokens is not None:
        usage.update(cacheReadInputTokens=reply.cached_tokens, cacheWriteInputTokens=0)
    return usage


def render(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> dict[str, Any]:
    del options
    return {
        "output": {"message": {"role": "assistant", "content": _content(reply)}},
        "stopReason": _stop_reason(reply),
        "usage": _usage(request, reply),
        "metrics": {"latencyMs": NOMINAL_LATENCY_MS},
    }


# --------------------------------------------------------------------------- stream


def _event(name: str, tokens: int = 0, **members: Any) -> Event:
    return Event(members, name=name, tokens=tokens)


def stream(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> Iterator[Event]:
    yield _event("messageStart", role="assistant")
    for index, block in enumerate(_content(reply)):
        if "toolUse" in block:
            call = block["toolUse"]
            start = {"toolUse": {"toolUseId": call["toolUseId"], "name": call["name"]}}
            yield _event("contentBlockStart", start=start, contentBlockIndex=index)
        for delta, text in _deltas(block, options.chunk_size):
            tokens = estimate_tokens(text)
            yield _event("contentBlockDelta", tokens, delta=delta, contentBlockIndex=index)
        yield _event("contentBlockStop", contentBlockIndex=index)
    yield _event("messageStop", stopReason=_stop_reason(reply))
    metrics = {"latencyMs": NOMINAL_LATENCY_MS}
    yield _event("metadata", usage=_usage(request, reply), metrics=metrics)


def _deltas(block: dict[str, Any], size: int) -> Iterator[tuple[dict[str, Any], str | None]]:
    """A block's deltas, each with the text it adds (for tokens-per-second pacing)."""
    if "reasoningContent" in block:
        reasoning = block["reasoningContent"]
        if "redactedContent" in reasoning:
            yield {"reasoningContent": {"redactedContent": reasoning["redactedContent"]}}, None
            return
        for piece in slices(reasoning["reasoningText"]["text"], size):
            yield {"reasoningContent": {"text": piece}}, piece
        signature = reasoning["reasoningText"]["signature"]
        yield {"reasoningContent": {"signature": signature}}, None
    elif "text" in block:
        for piece in slices(block["text"], size):
            yield {"text": piece}, piece
    else:
        for piece in slices(orjson.dumps(block["toolUse"]["input"]).decode(), size):
            yield {"toolUse": {"input": piece}}, piece


# --------------------------------------------------------------------------- collapse


def collapse(events: Sequence[tuple[str | None, Any]]) -> Reply:
    """A recorded ConverseStream back into one answer."""
    assembly = Assembly()
    for name, payload in events:
        if isinstance(payload, dict):
            _collapse_event(assembly, name, payload)
    return assembly.reply()


def decode(body: Any) -> Reply:
    """A non-streamed Converse answer back into one: its content blocks in order."""
    body = body if isinstance(body, dict) else {}
    assembly = Assembly()
    message = (body.get("output") or {}).get("message") or {}
    for block in message.get("content") or ():
        if not isinstance(block, dict):
            continue
        reasoning = block.get("reasoningContent") or {}
        if isinstance(block.get("text"), str):
            assembly.text.append(block["text"])
        elif isinstance(block.get("toolUse"), dict):
            call = block["toolUse"]
            assembly.whole_tool_call(call.get("toolUseId"), call.get("name", ""), call.get("input"))
        elif isinstance(reasoning.get("reasoningText"), dict):
            assembly.reasoning.append(reasoning["reasoningText"].get("text", ""))
            assembly.signature = reasoning["reasoningText"].get("signature")
        elif isinstance(reasoning.get("redactedContent"), str):
            blob = base64.b64decode(reasoning["redactedContent"]).decode(errors="replace")
            assembly.redacted_thinking.append(blob)
    assembly.finish_reason = body.get("stopReason")
    usage = body.get("usage") or {}
    assembly.input_tokens = usage.get("inputTokens")
    assembly.output_tokens = usage.get("outputTokens")
    return assembly.reply()


def _collapse_event(assembly: Assembly, name: str | None, event: Mapping[str, Any]) -> None:
    index = event.get("contentBlockIndex")
    if name == "contentBlockStart":
        tool_use = (event.get("start") or {}).get("toolUse")
        if isinstance(tool_use, dict):
            assembly.tool_call(index, id=tool_use.get("toolUseId"), name=tool_use.get("name"))
    elif name == "contentBlockDelta":
        _collapse_delta(assembly, index, event.get("delta") or {})
    elif name == "messageStop":
        assembly.finish_reason = event.get("stopReason")
    elif name == "metadata":
        usage = event.get("usage") or {}
        assembly.input_tokens = usage.get("inputTokens")
        assembly.output_tokens = usage.get("outputTokens")


def _collapse_delta(assembly: Assembly, index: object, delta: Mapping[str, Any]) -> None:
    if isinstance(delta.get("text"), str):
        assembly.text.append(delta["text"])
    elif isinstance(delta.get("toolUse"), dict):
        assembly.tool_call(index, arguments=delta["toolUse"].get("input", ""))
    elif isinstance(delta.get("reasoningContent"), dict):
        reasoning = delta["reasoningContent"]
        if isinstance(reasoning.get("text"), str):
            assembly.reasoning.append(reasoning["text"])
        if isinstance(reasoning.get("signature"), str):
            assembly.signature = reasoning["signature"]


CONVERSE = Surface(
    name=SURFACE,
    provider=FAMILY,
    endpoint="chat",
    method="POST",
    paths=("/model/{modelId}/converse",),
    parse=parse,
    render=render,
    errors=ERRORS,
    decode=decode,
    headers=bedrock_base.answer_headers,
)

CONVERSE_STREAM = replace(
    CONVERSE,
    paths=("/model/{modelId}/converse-stream",),
    parse=parse_stream,
    stream=stream,
    framing="eventstream",
    collapse=collapse,
)

PROVIDER = Provider(
    name="bedrock.converse",
    surfaces=(CONVERSE, CONVERSE_STREAM),
    environment=ENVIRONMENT,
    extensions=(redacted_reasoning,),
)
