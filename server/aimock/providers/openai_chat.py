"""OpenAI Chat Completions: `POST /v1/chat/completions`, plain and streamed.

Stream order: role chunk, reasoning deltas, content (or refusal) deltas, one opening chunk per
tool call (index, id, type, name, empty arguments) followed by argument fragments carrying only
the index, a finish chunk, the usage chunk when `stream_options.include_usage`, `[DONE]`. Ids,
names and roles appear once: the SDK's accumulator concatenates repeated strings.

The same wire is served for Azure OpenAI and the OpenAI-compatible vendors (see openai_base).
Three vendor differences are rendered:

- Azure adds content-filter verdicts: `prompt_filter_results` on the body and
  `content_filter_results` on each choice; its stream opens with a chunk that has
  `choices: []` and only the prompt verdicts (code that reads `chunk.choices[0]` blindly
  fails on Azure, and here).
- Mistral streams each tool call whole, in one delta with its name and full arguments; the
  mistralai SDK's types require `function.name` on every tool-call delta, so OpenAI's
  argument fragments would not parse. Requests from Mistral's clients (User-Agent
  `mistral-client-python/<version>`) get whole tool calls.
- Mistral returns reasoning as content chunks, not `reasoning_content` (the mistralai SDK
  reads only `content`: `str | list[ContentChunk]`). To Mistral's clients, an answer with
  reasoning has `message.content = [{"type": "thinking", "thinking": [{"type": "text",
  "text": <reasoning>}], "closed": true}, {"type": "text", "text": <answer>}]` (the text
  chunk only when there is text); its stream sends each reasoning piece as
  `delta.content = [{"type": "thinking", "thinking": [{"type": "text", "text": <piece>}]}]`,
  then one transition delta holding the last reasoning piece (`closed: true`) and the first
  answer piece as a text chunk, then the rest of the answer as plain strings (the shapes of
  Mistral's own streaming example and of captured Magistral answers). Mistral's reasoning
  models always think, so the fixture decides: a reply with `reasoning` renders it whatever
  the model or `prompt_mode`; only `reasoning_effort: "none"` (where Mistral omits the
  thinking chunk) drops it.
- OpenRouter (`/api/v1`) answers as OpenRouter does: id `gen-<unix>-<20 alnum>`, a top-level
  `provider` (the upstream: the fixture's `provider`, else from the slug's author,
  "anthropic/..." -> "Anthropic"), `system_fingerprint: null`, no `service_tier`, per-choice
  `native_finish_reason` (the fixture's `nativeFinishReason`, else the finish reason),
  reasoning as `message.reasoning` (null when none) plus `reasoning_details:
  [{type: "reasoning.text", text, signature?, format, index}]` instead of OpenAI-compatible
  `reasoning_content`, usage with OpenRouter's details (and `cost`/`is_byok`/`cost_details`
  only when the fixture's usage gives a `cost`), usage in a final `choices: []` chunk of
  every stream (no `stream_options` needed), an opening `: OPENROUTER PROCESSING` comment
  when the fixture sets `openRouterProcessing`, and errors as
  `{"error": {"code": <status>, "message", "metadata"?}}`. Its `models` fallback list is
  walked by the pipeline (`Surface.candidates`): `[model, ...models]` in turn, the first
  non-error fixture answers and its model is echoed as `model`; an error fixture falls
  through unless `fallthrough: false`, and `provider.allow_fallbacks: false` disables it.

Other vendor request fields (OpenRouter `transforms`/`route`/`reasoning`/`usage`, Mistral
`safe_prompt`/`random_seed`/`prompt_mode`, Groq `reasoning_format`, vLLM `guided_json`...) are
accepted and ignored.
"""

from __future__ import annotations

import string
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from aimock import ids
from aimock.canonical import CanonicalRequest, Message, RequestContext, ToolCall
from aimock.fixtures.compiled import Reply
from aimock.models.fixture import Fixture, Response
from aimock.providers import openai_base
from aimock.providers.assembly import Assembly
from aimock.providers.common import (
    bounded,
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
from aimock.streaming import sse
from aimock.surface import (
    Event,
    Provider,
    Render,
    RenderOptions,
    StreamRender,
    bad_request,
)

SURFACE = "openai.chat"
ROLES = {"system", "developer", "user", "assistant", "tool", "function"}
FORMATS = ("text", "json_object", "json_schema")
# The API's limit on `n` (its OpenAPI schema: 1..128). The mock answers one choice whatever
# `n` says, but refuses what the API refuses.
MAX_CHOICES = 128


def parse(
    body: Any, context: RequestContext, params: Mapping[str, str], provider: str = "openai"
) -> CanonicalRequest:
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
    bounded(body, "n", 1, MAX_CHOICES)
    stream = optional(body, "stream", bool, "a boolean") or False
    stream_options = optional(body, "stream_options", dict, "an object") or {}
    mistral = openai_base.from_mistral(context)
    return CanonicalRequest(
        surface=SURFACE,
        provider=provider,
        endpoint="chat",
        model=model,
        context=context,
        messages=messages,
        tools=tuple(tools),
        response_format=response_format,
        stream=stream,
        extras={
            "include_usage": bool(stream_options.get("include_usage")),
            "obfuscation": openai_base.obfuscates(provider, stream_options) and not mistral,
            "whole_tool_calls": mistral,
            # Mistral's reasoning travels as content chunks; effort "none" omits it there.
            "thinking_chunks": mistral,
            "hide_reasoning": mistral and body.get("reasoning_effort") == "none",
        },
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


# Roles a message keeps as they are (developer and function are renamed below).
_KEPT_ROLES = frozenset({"system", "user", "assistant", "tool"})


def _message(raw: Any, i: int) -> Message:
    # Most messages are a role and a string: what the checks below conclude, in one step.
    if type(raw) is dict and len(raw) == 2:
        role, content = raw.get("role"), raw.get("content")
        if type(content) is str and type(role) is str and role in _KEPT_ROLES:
            return Message(role, content)
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
    where = f"{param}.function"
    function = optional(raw, "function", dict, "an object", where) or {}
    return ToolCall(
        id=optional(raw, "id", str, "a string", f"{param}.id") or "",
        name=optional(function, "name", str, "a string", f"{where}.name") or "",
        arguments=optional(function, "arguments", str, "a string", f"{where}.arguments") or "",
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
    reply = _shown(request, reply)
    message: dict[str, Any] = {
        "role": "assistant",
        "content": None if reply.refusal is not None else reply.content,
        "refusal": reply.refusal,
        "annotations": [],
    }
    if reply.tool_calls:
        message["tool_calls"] = _tool_calls(reply)
    if reply.reasoning is not None:
        if request.extras.get("thinking_chunks"):
            message["content"] = thinking_content(reply.reasoning, message["content"])
        else:
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
    reply = _shown(request, reply)
    events = _stream(request, reply, options)
    if request.extras.get("thinking_chunks") and reply.reasoning is not None:
        return _thinking_as_chunks(events)
    return events


def _stream(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> Iterator[Event]:
    include_usage = bool(request.extras.get("include_usage"))
    padded = bool(request.extras.get("obfuscation"))
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
        if padded:
            data["obfuscation"] = openai_base.padding(tokens)
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
    whole = bool(request.extras.get("whole_tool_calls"))
    for index, call in enumerate(_tool_calls(reply)):
        function = call["function"]
        if whole:
            tokens = estimate_tokens(function["arguments"])
            yield chunk({"tool_calls": [{"index": index, **call}]}, tokens=tokens)
            continue
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
        last = {**base, "choices": [], "usage": _usage(request, reply)}
        yield Event(
            {**last, "obfuscation": openai_base.padding(3)} if padded else last, trailer=True
        )
    yield Event("[DONE]", trailer=True)


# --------------------------------------------------------------------------- Mistral


def _shown(request: CanonicalRequest, reply: Reply) -> Reply:
    """The reply as the client sees it: Mistral omits reasoning at `reasoning_effort: none`."""
    if request.extras.get("hide_reasoning") and reply.reasoning is not None:
        return replace(reply, reasoning=None)
    return reply


def _think(text: str) -> dict[str, Any]:
    return {"type": "thinking", "thinking": [{"type": "text", "text": text}]}


def thinking_content(reasoning: str, text: str | None) -> list[dict[str, Any]]:
    """Mistral's message content for an answer with reasoning: a closed thinking chunk, then
    the answer as a text chunk (none when the answer has no text, e.g. tool calls only)."""
    content = [{**_think(reasoning), "closed": True}]
    if text:
        content.append({"type": "text", "text": text})
    return content


def _delta(event: Event) -> dict[str, Any] | None:
    if not isinstance(event.data, dict) or not event.data.get("choices"):
        return None
    delta: dict[str, Any] = event.data["choices"][0]["delta"]
    return delta


def _thinking_as_chunks(events: Iterator[Event]) -> Iterator[Event]:
    """OpenAI's reasoning deltas the Mistral way: each `reasoning_content` piece becomes a
    thinking chunk in a `content` list; the last one is held back, closed, and sent together
    with the first answer piece (as a text chunk); later answer pieces stay plain strings."""
    # The latest reasoning piece and its delta, until we know whether it is the last one.
    held: tuple[Event, dict[str, Any]] | None = None
    for event in events:
        delta = _delta(event)
        piece = delta.pop("reasoning_content", None) if delta is not None else None
        if delta is not None and piece is not None:
            if held is not None:
                yield held[0]
            delta["content"] = [_think(piece)]
            held = (event, delta)
            continue
        if held is None:
            yield event
            continue
        thought, thought_delta = held
        held = None
        closing = {**thought_delta["content"][0], "closed": True}
        answer = delta.get("content") if delta is not None else None
        if delta is not None and "role" not in delta and isinstance(answer, str) and answer:
            delta["content"] = [closing, {"type": "text", "text": answer}]
            yield Event(event.data, event.name, thought.tokens + event.tokens)
        else:
            thought_delta["content"] = [closing]
            yield thought
            yield event
    if held is not None:  # only if a stream ended while thinking; still send the piece
        yield held[0]


# --------------------------------------------------------------------------- Azure

_SAFE = {"filtered": False, "severity": "safe"}
CONTENT_FILTER_RESULTS = dict.fromkeys(("hate", "self_harm", "sexual", "violence"), _SAFE)
PROMPT_FILTER_RESULTS = [
    {
        "prompt_index": 0,
        "content_filter_results": {
            **CONTENT_FILTER_RESULTS,
            "jailbreak": {"filtered": False, "detected": False},
        },
    }
]


def azure_render(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> dict[str, Any]:
    body = render(request, reply, options)
    body["prompt_filter_results"] = PROMPT_FILTER_RESULTS
    for choice in body["choices"]:
        choice["content_filter_results"] = CONTENT_FILTER_RESULTS
    return body


def azure_stream(
    request: CanonicalRequest, reply: Reply, options: RenderOptions
) -> Iterator[Event]:
    yield Event(
        {
            "choices": [],
            "created": 0,
            "id": "",
            "model": "",
            "object": "",
            "prompt_filter_results": PROMPT_FILTER_RESULTS,
        }
    )
    yield from stream(request, reply, options)


# --------------------------------------------------------------------------- OpenRouter

PROCESSING = "OPENROUTER PROCESSING"


@dataclass(frozen=True, slots=True)
class OpenRouterReply:
    """What a fixture says for OpenRouter alone: the upstream provider's name, its own finish
    reason, usage accounting (`cost`, `is_byok`, `cost_details`; only when a cost is given,
    never invented), and whether the stream opens with the processing comment."""

    provider: str | None = None
    native_finish_reason: str | None = None
    accounting: dict[str, Any] | None = None
    processing: bool = False

    def fixture_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        if self.provider is not None:
            fields["provider"] = self.provider
        if self.native_finish_reason is not None:
            fields["nativeFinishReason"] = self.native_finish_reason
        if self.accounting is not None:
            fields["usage"] = {
                "cost": self.accounting["cost"],
                "isByok": self.accounting["is_byok"],
                "costDetails": self.accounting["cost_details"],
            }
        return fields


def openrouter_reply(fixture: Fixture | None, response: Response) -> OpenRouterReply | None:
    usage = response.usage
    accounting = None
    if usage is not None and usage.cost is not None:
        accounting = {
            "cost": usage.cost,
            "is_byok": bool(usage.is_byok),
            "cost_details": dict(usage.cost_details or {}),
        }
    found = OpenRouterReply(
        provider=response.provider,
        native_finish_reason=response.native_finish_reason,
        accounting=accounting,
        processing=bool(fixture is not None and fixture.open_router_processing),
    )
    return found if found != OpenRouterReply() else None


NO_OPENROUTER = OpenRouterReply()
GENERATION_ID_ALPHABET = string.ascii_letters + string.digits
# The upstream provider OpenRouter names for a model's author when a fixture does not say
# (a real answer names the host that served it, e.g. "Amazon Bedrock" for a Claude model).
UPSTREAM_PROVIDERS = {
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "google": "Google AI Studio",
    "x-ai": "xAI",
    "z-ai": "Z.AI",
    "mistralai": "Mistral",
    "deepseek": "DeepSeek",
    "cohere": "Cohere",
    "moonshotai": "Moonshot AI",
    "qwen": "Alibaba",
    "amazon": "Amazon Bedrock",
    "perplexity": "Perplexity",
}
# `reasoning_details[].format`: how the upstream encodes its reasoning.
REASONING_FORMATS = {
    "anthropic": "anthropic-claude-v1",
    "openai": "openai-responses-v1",
    "google": "google-gemini-v1",
    "x-ai": "xai-responses-v1",
}


def generation_id() -> str:
    """OpenRouter's id shape: `gen-<unix seconds>-<20 letters and digits>`."""
    tail = ids.drawn(GENERATION_ID_ALPHABET, 20)
    return f"gen-{now()}-{tail}"


def _author(model: str) -> str:
    return model.split("/", 1)[0] if "/" in model else ""


def upstream_provider(model: str) -> str:
    """The provider name for a model slug: `anthropic/claude-sonnet-4.6` -> "Anthropic"; an
    unknown author is capitalised; a slug without an author is returned as it is."""
    author = _author(model)
    if not author:
        return model
    return UPSTREAM_PROVIDERS.get(author, author[:1].upper() + author[1:])


def openrouter_parse(
    body: Any, context: RequestContext, params: Mapping[str, str], provider: str = "openrouter"
) -> CanonicalRequest:
    """Chat Completions, plus OpenRouter's routing: the `models` fallback list (unless
    `provider.allow_fallbacks` is false). Usage always ends a stream on OpenRouter."""
    request = parse(body, context, params, provider)
    models = [request.model]
    routing = body.get("provider")
    if not (isinstance(routing, dict) and routing.get("allow_fallbacks") is False):
        fallbacks = optional(body, "models", list, "an array") or ()
        models += [m for m in fallbacks if isinstance(m, str) and m]
    extras = {**request.extras, "include_usage": True, "models": tuple(dict.fromkeys(models))}
    return replace(request, extras=extras)


def openrouter_candidates(request: CanonicalRequest) -> tuple[CanonicalRequest, ...]:
    """The request once per model of `[model, ...models]`; the winner is echoed as `model`."""
    models = request.extras.get("models") or ()
    if len(models) < 2:
        return (request,)
    return tuple(replace(request, model=model) for model in models)


class _OpenRouterShape:
    """What every OpenRouter body and chunk of one answer shares."""

    def __init__(self, request: CanonicalRequest, reply: Reply) -> None:
        model = reply.model or request.model
        self.request = request
        self.reply = reply
        self.extra = reply.extension(OpenRouterReply) or NO_OPENROUTER
        self.id = reply.id or generation_id()
        self.provider = self.extra.provider or upstream_provider(model)
        self.format = REASONING_FORMATS.get(_author(model), "unknown")

    def top(self, body: dict[str, Any]) -> dict[str, Any]:
        """The OpenAI body's top level, the OpenRouter way (its key order, too)."""
        head = {key: body[key] for key in ("object", "created", "model")}
        dropped = ("id", *head, "service_tier", "system_fingerprint")
        rest = {k: v for k, v in body.items() if k not in dropped}
        return {
            "id": self.id,
            **head,
            "provider": self.provider,
            "system_fingerprint": self.reply.system_fingerprint,
            **rest,
        }

    def native_finish_reason(self, finish_reason: str | None) -> str | None:
        if finish_reason is None:
            return None
        return self.extra.native_finish_reason or finish_reason

    def reasoning_detail(self, text: str, last: bool) -> dict[str, Any]:
        detail: dict[str, Any] = {"type": "reasoning.text", "text": text}
        if last and self.reply.reasoning_signature:
            detail["signature"] = self.reply.reasoning_signature
        return {**detail, "format": self.format, "index": 0}

    def usage(self) -> dict[str, Any]:
        """OpenAI's token counts with OpenRouter's details, and its accounting when the fixture
        gives a cost (a mock cannot know one, so none is invented)."""
        openai_usage = _usage(self.request, self.reply)
        reply = self.reply
        usage = {key: openai_usage[key] for key in ("prompt_tokens", "completion_tokens")}
        usage["total_tokens"] = openai_usage["total_tokens"]
        accounting = self.extra.accounting or {}
        if accounting:
            usage["cost"] = accounting["cost"]
            usage["is_byok"] = accounting["is_byok"]
        usage["prompt_tokens_details"] = {
            "cached_tokens": reply.cached_tokens or 0,
            "cache_write_tokens": 0,
            "audio_tokens": 0,
            "video_tokens": 0,
        }
        if accounting:
            usage["cost_details"] = {
                "upstream_inference_cost": 0,
                "upstream_inference_prompt_cost": 0,
                "upstream_inference_completions_cost": 0,
                **accounting["cost_details"],
            }
        reasoning = openai_usage["completion_tokens_details"]["reasoning_tokens"]
        usage["completion_tokens_details"] = {
            "reasoning_tokens": reasoning,
            "image_tokens": 0,
            "audio_tokens": 0,
        }
        return usage


def openrouter_render(
    request: CanonicalRequest, reply: Reply, options: RenderOptions
) -> dict[str, Any]:
    shape = _OpenRouterShape(request, reply)
    body = shape.top(render(request, reply, options))
    for choice in body["choices"]:
        choice["native_finish_reason"] = shape.native_finish_reason(choice["finish_reason"])
        message = choice["message"]
        message.pop("annotations", None)
        message.pop("reasoning_content", None)
        message["reasoning"] = reply.reasoning
        if reply.reasoning is not None:
            message["reasoning_details"] = [shape.reasoning_detail(reply.reasoning, last=True)]
    body["usage"] = shape.usage()
    return body


def openrouter_stream(
    request: CanonicalRequest, reply: Reply, options: RenderOptions
) -> Iterator[Event]:
    """OpenAI's chunks the OpenRouter way: `gen-` id, `provider` and `native_finish_reason`
    on every chunk, reasoning as `reasoning` + `reasoning_details` (the signature on the last
    piece), usage with OpenRouter's details in the final chunk whatever `stream_options` said,
    and the `: OPENROUTER PROCESSING` comment first when the fixture asks for it."""
    shape = _OpenRouterShape(request, reply)
    if shape.extra.processing:
        yield Event(PROCESSING, name=sse.COMMENT, preamble=True)
    reasoned = ""
    for event in stream(request, reply, options):
        chunk = event.data
        if not isinstance(chunk, dict):
            yield event  # [DONE]
            continue
        chunk = shape.top(chunk)
        if chunk.get("usage") is None:
            chunk.pop("usage", None)  # OpenAI's `usage: null` on every chunk; not OpenRouter's
        else:
            chunk["usage"] = shape.usage()
        for choice in chunk["choices"]:
            choice["native_finish_reason"] = shape.native_finish_reason(choice["finish_reason"])
            piece = choice["delta"].pop("reasoning_content", None)
            if piece is not None:
                reasoned += piece
                last = reasoned == reply.reasoning
                choice["delta"]["reasoning"] = piece
                choice["delta"]["reasoning_details"] = [shape.reasoning_detail(piece, last)]
        yield Event(chunk, event.name, event.tokens, trailer=event.trailer)


# --------------------------------------------------------------------------- surfaces


# --------------------------------------------------------------------------- collapse


def collapse(events: Sequence[tuple[str | None, Any]]) -> Reply:
    """A recorded Chat Completions stream back into one answer."""
    assembly = Assembly()
    for choice in openai_base.streamed_choices(events, assembly):
        delta = choice.get("delta") or {}
        _collapse_content(delta.get("content"), assembly)
        # OpenRouter (and vLLM, Groq) name it `reasoning`.
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            assembly.reasoning.append(reasoning)
        if delta.get("refusal"):
            assembly.refusal.append(delta["refusal"])
        for call in delta.get("tool_calls") or ():
            function = call.get("function") or {}
            assembly.tool_call(
                call.get("index"),
                id=call.get("id"),
                name=function.get("name"),
                arguments=function.get("arguments") or "",
            )
        assembly.finish_reason = choice.get("finish_reason") or assembly.finish_reason
    return assembly.reply()


def decode(body: Any) -> Reply:
    """A non-streamed Chat Completions body back into one answer: its first choice's message
    read as one stream chunk's delta (tool calls numbered as a stream numbers them)."""
    body = body if isinstance(body, dict) else {}
    choices = [c for c in body.get("choices") or () if isinstance(c, dict)][:1]
    as_deltas = []
    for choice in choices:
        message = choice.get("message") or {}
        calls = [
            {**call, "index": i}
            for i, call in enumerate(message.get("tool_calls") or ())
            if isinstance(call, dict)
        ]
        as_deltas.append({**choice, "delta": {**message, "tool_calls": calls}})
    return collapse([(None, {**body, "choices": as_deltas})])


def _collapse_content(content: Any, assembly: Assembly) -> None:
    """A delta's content: OpenAI's string, or Mistral's list of text and thinking chunks."""
    if isinstance(content, str):
        if content:
            assembly.text.append(content)
        return
    for chunk in content if isinstance(content, list) else ():
        if not isinstance(chunk, dict):
            continue
        if chunk.get("type") == "text" and isinstance(chunk.get("text"), str):
            assembly.text.append(chunk["text"])
        elif chunk.get("type") == "thinking":
            for inner in chunk.get("thinking") or ():
                if isinstance(inner, dict) and isinstance(inner.get("text"), str):
                    assembly.reasoning.append(inner["text"])


# Vendors whose answers differ from OpenAI's: their parse, render and stream.
VARIANTS: Mapping[str, tuple[openai_base.ProviderParse, Render, StreamRender]] = {
    openai_base.AZURE: (parse, azure_render, azure_stream),
    openai_base.OPENROUTER: (openrouter_parse, openrouter_render, openrouter_stream),
}


def _variant(provider: str) -> Mapping[str, Any]:
    provider_parse, provider_render, provider_stream = VARIANTS.get(
        provider, (parse, render, stream)
    )
    return {
        "parse": openai_base.parse_for(provider_parse, provider),
        "render": provider_render,
        "stream": provider_stream,
        "candidates": openrouter_candidates if provider == openai_base.OPENROUTER else None,
    }


ROUTE = "/chat/completions"

PROVIDER = Provider(
    name="openai.chat",
    surfaces=openai_base.surfaces(
        ROUTE,
        openai_base.azure_deployment_path(ROUTE),
        parse,
        _variant,
        name=SURFACE,
        endpoint="chat",
        collapse=collapse,
        decode=decode,
    ),
    environment=openai_base.ENVIRONMENT,
    extensions=(openrouter_reply,),
)
