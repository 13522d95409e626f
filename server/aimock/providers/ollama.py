"""Ollama's native API: `/api/chat`, `/api/generate`, `/api/embed` (and the legacy
`/api/embeddings`), plus the model routes `/api/tags`, `/api/show` and `/api/version`.

Streaming is the server's default: a request without `"stream"` streams (the ollama SDK always
sends the field). A stream is newline-delimited JSON, one record per line, no blank lines (the
SDK hands every line to `json.loads`):

    chat:     {model, created_at, message:{role, content:"", thinking:piece}, done:false} xN
              {..., message:{role:"assistant", content:piece}, done:false} xN
              {..., message:{role, content:"", tool_calls:[...]}, done:false}   (all calls, whole)
              {..., message:{role, content:""}, done:true, done_reason, <metrics>}
    generate: the same with top-level `thinking` / `response` / `tool_calls`, and `context` on
              the final record.

The plain answer is that final record with the whole message. Metrics are nanosecond
durations and token counts (`prompt_eval_count` in, `eval_count` out, thinking included).
Tool calls carry their arguments as an object, an `id` and `function.index`; a tool message
names its call by `tool_call_id` when the client kept it, else only by `tool_name` (the
Python SDK drops ids), so the call id is recovered from the assistant turn that made it.

Errors are `{"error": "..."}` with the HTTP status; the SDK raises `ResponseError` with
`.status_code`. A fixture miss is a 404, as Ollama answers for an unknown model.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from aimock.canonical import CanonicalRequest, Message, RequestContext, ToolCall
from aimock.fixtures.compiled import Reply
from aimock.providers.assembly import Assembly, collapse_objects
from aimock.providers.common import (
    at_most,
    check_type,
    decode_embedding,
    embedded_tokens,
    embedding_vector,
    estimate_tokens,
    expect_object,
    json_object_of,
    new_id,
    optional,
    slices,
    token_counts,
)
from aimock.surface import (
    ErrorDialect,
    ErrorInfo,
    Event,
    PlainRoute,
    ProtocolError,
    Provider,
    RenderOptions,
    ServerView,
    Surface,
    bad_request,
)
from aimock.wire import json_response, read_json

PROVIDER_NAME = "ollama"
CHAT = "ollama.chat"
GENERATE = "ollama.generate"
EMBED = "ollama.embed"
ROLES = ("system", "user", "assistant", "tool")
THINK_LEVELS = ("low", "medium", "high")
DEFAULT_DIMENSIONS = 768  # nomic-embed-text, the most pulled embedding model
VERSION = "0.13.0"
DEFAULT_MODELS = ("llama3.2", "qwen3", "nomic-embed-text")
MODIFIED_AT = "2025-01-01T00:00:00Z"
# Nanoseconds per token the metrics pretend; plausible and stable, never measured.
PROMPT_NS_PER_TOKEN = 1_000_000
EVAL_NS_PER_TOKEN = 20_000_000
LOAD_NS = 5_000_000
# Limits. Ollama truncates an embedding to `dimensions` only when the model's is longer, so a
# larger value is no error: the mock's widest vector is 4096 values (qwen3-embedding:8b's, the
# widest in Ollama's library). Ollama documents no count of inputs an embed call may hold;
# the mock takes as many as OpenAI's embeddings (2048). A generate answer's `context` (token
# ids) never outgrows the context window: 256K is the largest Ollama picks by default.
MAX_DIMENSIONS = 4096
MAX_EMBED_INPUTS = 2048
MAX_CONTEXT_TOKENS = 262_144
# How much of a refused value an error message quotes.
QUOTED_CHARS = 80

# --------------------------------------------------------------------------- errors


def error_body(info: ErrorInfo) -> dict[str, Any]:
    return {"error": info.message}


def error_headers(info: ErrorInfo) -> dict[str, str]:
    if info.status == 429 and info.retry_after is not None:
        return {"retry-after": f"{info.retry_after:g}"}
    return {}


def unauthorized(given: bool) -> ErrorInfo:
    del given
    return ErrorInfo(401, "unauthorized")


ERRORS = ErrorDialect(body=error_body, headers=error_headers, unauthorized=unauthorized)


# --------------------------------------------------------------------------- request


def _model(body: Mapping[str, Any]) -> str:
    model = body.get("model")
    if model is None or model == "":
        raise bad_request("model is required", param="model")
    return str(check_type(model, "model", str, "a string"))


def _stream(body: Mapping[str, Any]) -> bool:
    """Ollama streams unless told not to."""
    value = optional(body, "stream", bool, "a boolean")
    return True if value is None else bool(value)


def _response_format(body: Mapping[str, Any]) -> str | None:
    """`format: "json"` is JSON mode, an object is a JSON schema (structured outputs)."""
    value = body.get("format")
    if value is None or value == "":
        return None
    if value == "json":
        return "json_object"
    if isinstance(value, dict):
        return "json_schema"
    raise bad_request(
        f'invalid format: {_quoted(value)}; expected "json" or a JSON schema', param="format"
    )


def _think(body: Mapping[str, Any]) -> bool | str | None:
    value = body.get("think")
    if value is None or isinstance(value, bool) or value in THINK_LEVELS:
        return value
    raise bad_request(
        f"invalid think value: {_quoted(value)} (expected a boolean or one of "
        f"{', '.join(THINK_LEVELS)})",
        param="think",
    )


def _quoted(value: Any) -> str:
    """A refused value as JSON, cut short: the error names it, it does not echo a body."""
    text = orjson.dumps(value).decode()
    return text if len(text) <= QUOTED_CHARS else text[:QUOTED_CHARS] + "..."


def _extras(body: Mapping[str, Any]) -> dict[str, Any]:
    return {"think": _think(body)}


def _tool_names(body: Mapping[str, Any]) -> tuple[str, ...]:
    names = []
    for i, tool in enumerate(optional(body, "tools", list, "an array") or ()):
        check_type(tool, f"tools[{i}]", dict, "an object")
        function = tool.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(name, str) or not name:
            raise bad_request(f"tools[{i}].function.name is required", param=f"tools[{i}]")
        names.append(name)
    return tuple(names)


def _arguments_text(value: Any, param: str) -> str:
    """A call's arguments as the JSON text canonical calls hold (an object on this wire; a
    string is accepted as some clients send one)."""
    if value is None:
        return "{}"
    if isinstance(value, str):
        return value
    check_type(value, param, dict, "an object")
    return orjson.dumps(value).decode()


def _tool_calls(raw: Mapping[str, Any], param: str) -> tuple[ToolCall, ...]:
    calls = []
    for j, call in enumerate(optional(raw, "tool_calls", list, "an array", param) or ()):
        where = f"{param}[{j}]"
        check_type(call, where, dict, "an object")
        function = optional(call, "function", dict, "an object", f"{where}.function") or {}
        calls.append(
            ToolCall(
                id=optional(call, "id", str, "a string", f"{where}.id") or "",
                name=optional(function, "name", str, "a string", f"{where}.function.name") or "",
                arguments=_arguments_text(function.get("arguments"), f"{where}.function.arguments"),
            )
        )
    return tuple(calls)


def _chat_messages(raw_messages: list[Any]) -> tuple[Message, ...]:
    messages: list[Message] = []
    for i, raw in enumerate(raw_messages):
        param = f"messages[{i}]"
        check_type(raw, param, dict, "an object")
        role = raw.get("role")
        role = role.lower() if isinstance(role, str) else role  # Ollama lower-cases roles
        if role not in ROLES:
            raise bad_request(
                f"{param}.role: invalid role {role!r} (expected one of {', '.join(ROLES)})",
                param=f"{param}.role",
            )
        content = optional(raw, "content", str, "a string", f"{param}.content")
        text = content or None  # "" beside images is no text at all
        calls = _tool_calls(raw, f"{param}.tool_calls")
        call_id = None
        if role == "tool":
            call_id = optional(raw, "tool_call_id", str, "a string", f"{param}.tool_call_id")
            name = optional(raw, "tool_name", str, "a string", f"{param}.tool_name")
            call_id = call_id or _answered_call_id(messages, name)
            text = content if content is not None else ""
        messages.append(Message(role, text, calls, call_id))
    return tuple(messages)


def _answered_call_id(earlier: Sequence[Message], tool_name: str | None) -> str | None:
    """The id of the call a tool message answers when it names only the tool: the first call
    of the last assistant turn with that name (any name when unnamed) not answered yet."""
    answered: set[str | None] = set()
    for message in reversed(earlier):
        if message.role == "tool":
            answered.add(message.tool_call_id)
            continue
        if message.role != "assistant":
            return None
        for call in message.tool_calls:
            if call.id and call.id not in answered and tool_name in (None, call.name):
                return call.id
        return None
    return None


def parse_chat(body: Any, context: RequestContext, params: Mapping[str, str]) -> CanonicalRequest:
    del params
    body = expect_object(body)
    model = _model(body)
    raw_messages = optional(body, "messages", list, "an array") or []
    return CanonicalRequest(
        surface=CHAT,
        provider=PROVIDER_NAME,
        endpoint="chat",
        model=model,
        context=context,
        messages=_chat_messages(raw_messages),
        tools=_tool_names(body),
        response_format=_response_format(body),
        stream=_stream(body),
        extras=_extras(body),
    )


def parse_generate(
    body: Any, context: RequestContext, params: Mapping[str, str]
) -> CanonicalRequest:
    del params
    body = expect_object(body)
    model = _model(body)
    system = optional(body, "system", str, "a string")
    prompt = optional(body, "prompt", str, "a string")
    optional(body, "context", list, "an array")
    messages = []
    if system:
        messages.append(Message("system", system))
    if prompt:
        messages.append(Message("user", prompt))
    return CanonicalRequest(
        surface=GENERATE,
        provider=PROVIDER_NAME,
        endpoint="chat",
        model=model,
        context=context,
        messages=tuple(messages),
        response_format=_response_format(body),
        stream=_stream(body),
        extras=_extras(body),
    )


def _dimensions(body: Mapping[str, Any]) -> int | None:
    dimensions = optional(body, "dimensions", int, "an integer")
    if dimensions is not None and dimensions < 1:
        raise bad_request("dimensions must be a positive integer", param="dimensions")
    return None if dimensions is None else min(dimensions, MAX_DIMENSIONS)


def _embed_request(
    model: str, context: RequestContext, inputs: Sequence[str], extras: dict[str, Any]
) -> CanonicalRequest:
    return CanonicalRequest(
        surface=EMBED,
        provider=PROVIDER_NAME,
        endpoint="embedding",
        model=model,
        context=context,
        inputs=tuple(inputs),
        extras=extras,
    )


def parse_embed(body: Any, context: RequestContext, params: Mapping[str, str]) -> CanonicalRequest:
    del params
    body = expect_object(body)
    model = _model(body)
    raw = body.get("input")
    if raw is None:
        inputs: list[str] = []
    elif isinstance(raw, str):
        inputs = [raw]
    elif isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        at_most(raw, "input", MAX_EMBED_INPUTS)
        inputs = list(raw)
    else:
        raise bad_request("invalid input type: expected a string or an array of strings", "input")
    extras = {"dimensions": _dimensions(body), "legacy": False}
    return _embed_request(model, context, inputs, extras)


def parse_embeddings(
    body: Any, context: RequestContext, params: Mapping[str, str]
) -> CanonicalRequest:
    """The legacy single-prompt route (`client.embeddings`)."""
    del params
    body = expect_object(body)
    model = _model(body)
    prompt = optional(body, "prompt", str, "a string")
    return _embed_request(model, context, [prompt] if prompt else [], {"legacy": True})


# --------------------------------------------------------------------------- response


def _created_at() -> str:
    """RFC 3339 with nanoseconds, as Ollama writes Go's time.Time."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond:06d}000Z"


def _done_reason(reply: Reply) -> str:
    return "length" if reply.finish_reason in ("length", "max_tokens") else "stop"


def _metrics(request: CanonicalRequest, reply: Reply) -> dict[str, int]:
    prompt, visible, reasoning = token_counts(request, reply)
    evaluated = visible + reasoning
    prompt_ns, eval_ns = prompt * PROMPT_NS_PER_TOKEN, evaluated * EVAL_NS_PER_TOKEN
    return {
        "total_duration": LOAD_NS + prompt_ns + eval_ns,
        "load_duration": LOAD_NS,
        "prompt_eval_count": prompt,
        "prompt_eval_duration": prompt_ns,
        "eval_count": evaluated,
        "eval_duration": eval_ns,
    }


def _shows_thinking(request: CanonicalRequest, reply: Reply) -> bool:
    """Thinking is returned unless the request turned it off (`think: false`)."""
    return reply.reasoning is not None and request.extras.get("think") is not False


def _wire_tool_calls(reply: Reply) -> list[dict[str, Any]]:
    return [
        {
            "id": call.id or new_id("call_", 16),
            "function": {
                "index": index,
                "name": call.name,
                "arguments": json_object_of(call.arguments),
            },
        }
        for index, call in enumerate(reply.tool_calls)
    ]


def _record(request: CanonicalRequest, reply: Reply, created_at: str) -> dict[str, Any]:
    return {"model": reply.model or request.model, "created_at": created_at}


def _final(request: CanonicalRequest, reply: Reply, created_at: str) -> dict[str, Any]:
    return {
        **_record(request, reply, created_at),
        "done": True,
        "done_reason": _done_reason(reply),
        **_metrics(request, reply),
    }


def _context_tokens(request: CanonicalRequest, reply: Reply) -> list[int]:
    """Stand-in token ids for generate's `context` (clients only send it back)."""
    prompt, visible, reasoning = token_counts(request, reply)
    return list(range(1, min(prompt + visible + reasoning, MAX_CONTEXT_TOKENS) + 1))


def render_chat(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> dict[str, Any]:
    del options
    message: dict[str, Any] = {"role": "assistant", "content": reply.content or ""}
    if _shows_thinking(request, reply):
        message["thinking"] = reply.reasoning
    if reply.tool_calls:
        message["tool_calls"] = _wire_tool_calls(reply)
    final = _final(request, reply, _created_at())
    return {**_record(request, reply, final["created_at"]), "message": message, **final}


def render_generate(
    request: CanonicalRequest, reply: Reply, options: RenderOptions
) -> dict[str, Any]:
    del options
    final = _final(request, reply, _created_at())
    body: dict[str, Any] = {**_record(request, reply, final["created_at"])}
    body["response"] = reply.content or ""
    if _shows_thinking(request, reply):
        body["thinking"] = reply.reasoning
    if reply.tool_calls:
        body["tool_calls"] = _wire_tool_calls(reply)
    body.update(final)
    body["context"] = _context_tokens(request, reply)
    return body


# --------------------------------------------------------------------------- stream


def _pieces(request: CanonicalRequest, reply: Reply, size: int) -> Iterator[tuple[str, Any, int]]:
    """The answer in stream order, as (field, value, tokens): thinking, content, tool calls."""
    if _shows_thinking(request, reply):
        for piece in slices(reply.reasoning or "", size):
            yield "thinking", piece, estimate_tokens(piece)
    for piece in slices(reply.content or "", size):
        yield "content", piece, estimate_tokens(piece)
    if reply.tool_calls:
        calls = _wire_tool_calls(reply)
        tokens = sum(estimate_tokens(c.arguments) for c in reply.tool_calls)
        yield "tool_calls", calls, tokens


def stream_chat(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> Iterator[Event]:
    created_at = _created_at()
    record = _record(request, reply, created_at)
    for field, value, tokens in _pieces(request, reply, options.chunk_size):
        message: dict[str, Any] = {"role": "assistant", "content": ""}
        message[field] = value
        yield Event({**record, "message": message, "done": False}, tokens=tokens)
    message = {"role": "assistant", "content": ""}
    yield Event({**record, "message": message, **_final(request, reply, created_at)})


def stream_generate(
    request: CanonicalRequest, reply: Reply, options: RenderOptions
) -> Iterator[Event]:
    created_at = _created_at()
    record = _record(request, reply, created_at)
    for field, value, tokens in _pieces(request, reply, options.chunk_size):
        key = "response" if field == "content" else field
        chunk = {**record, "response": ""}
        chunk[key] = value
        yield Event({**chunk, "done": False}, tokens=tokens)
    final = {**record, "response": "", **_final(request, reply, created_at)}
    yield Event({**final, "context": _context_tokens(request, reply)})


def collapse(events: Sequence[tuple[str | None, Any]]) -> Reply:
    """A recorded chat or generate stream back into one answer."""
    return collapse_objects(events, _collapse_record)


def decode(body: Any) -> Reply:
    """A non-streamed chat or generate answer: the same record as a stream's only one."""
    return collapse([(None, body)])


def _collapse_record(parts: Assembly, record: Mapping[str, Any]) -> None:
    message = record.get("message")
    chat = isinstance(message, dict)
    part: Mapping[str, Any] = message if isinstance(message, dict) else record
    parts.model = parts.model or record.get("model")
    if part.get("thinking"):
        parts.reasoning.append(part["thinking"])
    text = part.get("content" if chat else "response")
    if text:
        parts.text.append(text)
    for call in part.get("tool_calls") or ():
        function = call.get("function") or {}
        name, arguments = function.get("name", ""), function.get("arguments")
        parts.whole_tool_call(call.get("id"), name, arguments)
    if record.get("done"):
        if record.get("done_reason") == "length":
            parts.finish_reason = "length"
        parts.input_tokens = record.get("prompt_eval_count")
        parts.output_tokens = record.get("eval_count")


# --------------------------------------------------------------------------- embeddings


def render_embed(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> dict[str, Any]:
    del options
    dimensions = request.extras.get("dimensions")
    vectors = [
        embedding_vector(reply, text, dimensions, DEFAULT_DIMENSIONS) for text in request.inputs
    ]
    if request.extras.get("legacy"):
        return {"embedding": vectors[0] if vectors else []}
    tokens = embedded_tokens(request, reply)
    return {
        "model": reply.model or request.model,
        "embeddings": vectors,
        "total_duration": LOAD_NS + tokens * PROMPT_NS_PER_TOKEN,
        "load_duration": LOAD_NS,
        "prompt_eval_count": tokens,
    }


def fallback_embed(request: CanonicalRequest) -> Reply:
    del request
    return Reply(kind="embedding")


# --------------------------------------------------------------------------- model routes


def _tagged(name: str) -> str:
    """Ollama names carry a tag; an untagged name means `:latest`."""
    return name if ":" in name else f"{name}:latest"


def _names(view: ServerView) -> list[str]:
    return [_tagged(name) for name in view.models or DEFAULT_MODELS]


def _details(name: str) -> dict[str, Any]:
    family = re.split(r"[^a-z]", name.lower(), maxsplit=1)[0] or "llama"
    return {
        "parent_model": "",
        "format": "gguf",
        "family": family,
        "families": [family],
        "parameter_size": "8.0B",
        "quantization_level": "Q4_K_M",
    }


def _digest(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def _listed(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "model": name,
        "modified_at": MODIFIED_AT,
        "size": 4_920_753_328,
        "digest": _digest(name),
        "details": _details(name),
    }


async def list_tags(request: web.Request, view: ServerView) -> web.StreamResponse:
    return json_response({"models": [_listed(name) for name in _names(view)]})


async def show(request: web.Request, view: ServerView) -> web.StreamResponse:
    body = await read_json(request, view.max_body_bytes)
    model = (body.get("model") or body.get("name")) if isinstance(body, dict) else None
    if not isinstance(model, str) or not model:
        raise bad_request("model is required")
    if _tagged(model) not in _names(view):
        raise ProtocolError(ErrorInfo(404, f"model '{model}' not found"))
    embedding = "embed" in model
    return json_response(
        {
            "modelfile": f"FROM {_tagged(model)}\n",
            "parameters": "",
            "template": "{{ .Prompt }}",
            "details": _details(model),
            "model_info": {"general.architecture": _details(model)["family"]},
            "capabilities": ["embedding"] if embedding else ["completion", "tools", "thinking"],
            "modified_at": MODIFIED_AT,
        }
    )


async def version(request: web.Request, view: ServerView) -> web.StreamResponse:
    return json_response({"version": VERSION})


# --------------------------------------------------------------------------- surfaces


def _surface(name: str, endpoint: str, path: str, **hooks: Any) -> Surface:
    return Surface(
        name=name,
        provider=PROVIDER_NAME,
        endpoint=endpoint,
        method="POST",
        paths=(path,),
        errors=ERRORS,
        framing="ndjson",
        **hooks,
    )


CHAT_SURFACE = _surface(
    CHAT,
    "chat",
    "/api/chat",
    parse=parse_chat,
    render=render_chat,
    stream=stream_chat,
    collapse=collapse,
    decode=decode,
)
GENERATE_SURFACE = _surface(
    GENERATE,
    "chat",
    "/api/generate",
    parse=parse_generate,
    render=render_generate,
    stream=stream_generate,
    collapse=collapse,
    decode=decode,
)
# One surface name for both embedding routes: a fixture for `ollama.embed` answers either.
EMBED_SURFACE = _surface(
    EMBED,
    "embedding",
    "/api/embed",
    parse=parse_embed,
    render=render_embed,
    decode=decode_embedding,
    fallback=fallback_embed,
)
LEGACY_EMBED_SURFACE = _surface(
    EMBED,
    "embedding",
    "/api/embeddings",
    parse=parse_embeddings,
    render=render_embed,
    decode=decode_embedding,
    fallback=fallback_embed,
)

PROVIDER = Provider(
    name=PROVIDER_NAME,
    surfaces=(CHAT_SURFACE, GENERATE_SURFACE, EMBED_SURFACE, LEGACY_EMBED_SURFACE),
    routes=(
        PlainRoute("ollama.models", PROVIDER_NAME, "GET", "/api/tags", list_tags, ERRORS),
        PlainRoute("ollama.models", PROVIDER_NAME, "POST", "/api/show", show, ERRORS),
        PlainRoute("ollama.version", PROVIDER_NAME, "GET", "/api/version", version, ERRORS),
    ),
    environment={"OLLAMA_HOST": "{origin}"},
)
