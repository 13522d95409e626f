"""Cohere v2: `POST /v2/chat` (plain and streamed), embeddings on `POST /v2/embed` and the
v1 client's `POST /v1/embed`, and rerank on `POST /v2/rerank` and the v1 client's
`POST /v1/rerank`.

Chat body: `{id, finish_reason, message:{role:"assistant", content:[thinking?, text?],
tool_plan?, tool_calls?}, usage:{billed_units, tokens}}`. When the answer calls tools, the text
that comes with the calls is the `tool_plan` (Cohere's reflection before calling), not content.
Tool-call arguments are JSON strings. finish_reason: COMPLETE | MAX_TOKENS | STOP_SEQUENCE |
TOOL_CALL.

Stream (`stream: true`): SSE, each event named after its JSON `type` (the SDK routes on the
JSON `type` only; the names are there for clients that read them):

    message-start {id, delta:{message:{role:"assistant", content:[], tool_plan:"", ...}}}
    per content block (thinking, then text), index 0, 1, ...:
      content-start {index, delta:{message:{content:{type, text|thinking:""}}}}
      content-delta xN {index, delta:{message:{content:{text|thinking: piece}}}}
      content-end {index}
    tool-plan-delta xN {delta:{message:{tool_plan: piece}}}
    per call, index 0, 1, ...:
      tool-call-start {index, delta:{message:{tool_calls:{id, type, function:{name,
        arguments:""}}}}}   (one object, not a list)
      tool-call-delta xN {index, delta:{message:{tool_calls:{function:{arguments: piece}}}}}
      tool-call-end {index}
    message-end {delta:{finish_reason, usage}}

Rerank body: `{id, results:[{index, relevance_score, document?}], meta:{api_version:{version},
billed_units:{search_units}}}`, best first, cut to `top_n`. v2 takes `documents` as strings;
v1 also takes objects (ranked on `rank_fields`, default `text`) and returns each `document` when
`return_documents` is true (`{text}` for a string). A fixture's `rerankResults` win; a miss
(when not strict) scores every document by its word overlap with the query.

Errors are `{"id", "message"}` with the status; the SDK raises one class per status
(BadRequestError 400, NotFoundError 404, TooManyRequestsError 429, ServiceUnavailableError 503...).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from aimock import ids
from aimock.canonical import CanonicalRequest, Message, RequestContext, ToolCall
from aimock.fixtures.compiled import Reply
from aimock.models.fixture import Fixture, Response
from aimock.providers.assembly import Assembly
from aimock.providers.common import (
    check_type,
    decode_embedding,
    embedded_tokens,
    embedding_vector,
    estimate_tokens,
    expect_object,
    float32_base64,
    json_type_name,
    optional,
    slices,
    token_counts,
)
from aimock.surface import (
    ErrorDialect,
    ErrorInfo,
    Event,
    ProtocolError,
    Provider,
    RenderOptions,
    Surface,
    bad_request,
    within,
)

PROVIDER_NAME = "cohere"
CHAT = "cohere.chat"
EMBED = "cohere.embed"
ROLES = ("system", "user", "assistant", "tool")
FINISH_REASONS = ("COMPLETE", "STOP_SEQUENCE", "MAX_TOKENS", "TOOL_CALL", "ERROR", "TIMEOUT")
INPUT_TYPES = ("search_document", "search_query", "classification", "clustering", "image")
EMBEDDING_TYPES = ("float", "int8", "uint8", "binary", "ubinary", "base64")
V1_EMBED_MODEL = "embed-english-v2.0"  # the v1 API's default when no model is named
RERANK = "cohere.rerank"
V1_RERANK_MODEL = "rerank-english-v2.0"  # the v1 API's default when no model is named
DOCUMENTS_PER_SEARCH_UNIT = 100
# The API's limits (Cohere's API reference): at most 96 texts (or inputs) an embed call, and
# the mock holds images to the same (Embed v3 takes one, v4 documents no count); Embed v4's
# `output_dimension` is one of 256, 512, 1024, 1536; v1 rerank caps documents x
# `max_chunks_per_doc` at 10,000, so at most 10,000 documents (v2 advises 1,000 at most).
MAX_EMBED_INPUTS = 96
OUTPUT_DIMENSIONS = (256, 512, 1024, 1536)
MAX_RERANK_DOCUMENTS = 10_000

# --------------------------------------------------------------------------- errors


def error_body(info: ErrorInfo) -> dict[str, Any]:
    return {"id": ids.uuid4(), "message": info.message}


def error_headers(info: ErrorInfo) -> dict[str, str]:
    if info.status == 429:
        retry = info.retry_after if info.retry_after is not None else 1.0
        return {"retry-after": f"{max(1, round(retry))}"}
    return {}


def unauthorized(given: bool) -> ErrorInfo:
    return ErrorInfo(401, "invalid api token" if given else "no api key supplied")


ERRORS = ErrorDialect(body=error_body, headers=error_headers, unauthorized=unauthorized)


def invalid(message: str, param: str | None = None) -> ProtocolError:
    """Cohere words every 400 as `invalid request: ...`."""
    return bad_request(f"invalid request: {message}", param=param)


def _within(value: Any, param: str, low: int, high: int) -> int:
    """`surface.within`, worded as Cohere words a 400."""
    try:
        return within(value, param, low, high)
    except ProtocolError:
        raise invalid(f"{param} must be an integer between {low} and {high}", param) from None


def _at_most(items: list[Any], param: str, limit: int) -> None:
    if len(items) > limit:
        raise invalid(
            f"total number of {param} must be at most {limit} - received {len(items)}", param
        )


def _required(body: Mapping[str, Any], key: str, kind: type, what: str) -> Any:
    if body.get(key) is None:
        raise invalid(f"{key} is a required field", key)
    return check_type(body[key], key, kind, what)


# --------------------------------------------------------------------------- chat request


def parse_chat(body: Any, context: RequestContext, params: Mapping[str, str]) -> CanonicalRequest:
    del params
    body = expect_object(body)
    model = _required(body, "model", str, "a string")
    raw_messages = _required(body, "messages", list, "an array")
    if not raw_messages:
        raise invalid("messages must contain at least one message", "messages")
    thinking = optional(body, "thinking", dict, "an object")
    if thinking is not None and thinking.get("type") not in ("enabled", "disabled"):
        raise invalid("thinking.type must be one of enabled, disabled", "thinking.type")
    return CanonicalRequest(
        surface=CHAT,
        provider=PROVIDER_NAME,
        endpoint="chat",
        model=model,
        context=context,
        messages=tuple(_message(raw, i) for i, raw in enumerate(raw_messages)),
        tools=_tool_names(optional(body, "tools", list, "an array") or []),
        response_format=_response_format(body),
        stream=optional(body, "stream", bool, "a boolean") or False,
        extras={"thinking": (thinking or {}).get("type")},
    )


def _tool_names(tools: list[Any]) -> tuple[str, ...]:
    names = []
    for i, tool in enumerate(tools):
        check_type(tool, f"tools[{i}]", dict, "an object")
        function = tool.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(name, str) or not name:
            raise invalid(f"tools[{i}].function.name is a required field", f"tools[{i}]")
        names.append(name)
    return tuple(names)


def _response_format(body: Mapping[str, Any]) -> str | None:
    """`json_object` with a `json_schema` is structured output; without, JSON mode."""
    response_format = optional(body, "response_format", dict, "an object")
    if response_format is None:
        return None
    kind = response_format.get("type")
    if kind == "text":
        return "text"
    if kind != "json_object":
        raise invalid("response_format.type must be one of text, json_object", "response_format")
    schema = optional(
        response_format, "json_schema", dict, "an object", "response_format.json_schema"
    )
    return "json_schema" if schema is not None else "json_object"


def _message(raw: Any, i: int) -> Message:
    param = f"messages[{i}]"
    check_type(raw, param, dict, "an object")
    role = raw.get("role")
    if role not in ROLES:
        raise invalid(
            f"{param}.role must be one of {', '.join(ROLES)}, got {role!r}", f"{param}.role"
        )
    content = raw.get("content")
    if role == "tool":
        call_id = raw.get("tool_call_id")
        if not isinstance(call_id, str) or not call_id:
            raise invalid(f"{param}.tool_call_id is a required field", f"{param}.tool_call_id")
        return Message("tool", _tool_text(content, f"{param}.content"), (), call_id)
    if role == "assistant":
        calls = tuple(
            _tool_call(call, f"{param}.tool_calls[{j}]")
            for j, call in enumerate(
                optional(raw, "tool_calls", list, "an array", f"{param}.tool_calls") or ()
            )
        )
        if content is None and not calls:
            raise invalid(f"{param} needs content or tool_calls", f"{param}.content")
        return Message("assistant", _text(content, f"{param}.content"), calls)
    if content is None:
        raise invalid(f"{param}.content is a required field", f"{param}.content")
    return Message(role, _text(content, f"{param}.content"))


def _text(content: Any, param: str) -> str | None:
    """A string, or the text items of a content list joined (thinking and images are not
    text)."""
    if content is None or isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise invalid(
            f"{param} must be a string or an array of content items, got {json_type_name(content)}",
            param,
        )
    texts = []
    for j, item in enumerate(content):
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise invalid(f"{param}[{j}] must be a content object with a type", f"{param}[{j}]")
        if item["type"] == "text":
            texts.append(check_type(item.get("text"), f"{param}[{j}].text", str, "a string"))
    return "".join(texts) if texts else None


def _tool_text(content: Any, param: str) -> str:
    """A tool result's text: its text items, and its documents as JSON."""
    if isinstance(content, list):
        pieces = []
        for j, item in enumerate(content):
            if isinstance(item, dict) and item.get("type") == "document":
                where = f"{param}[{j}].document"
                document = optional(item, "document", dict, "an object", where) or {}
                pieces.append(orjson.dumps(document.get("data", {})).decode())
            else:
                pieces.append(_text([item], param) or "")
        return "".join(pieces)
    return _text(content, param) or ""


def _tool_call(raw: Any, param: str) -> ToolCall:
    check_type(raw, param, dict, "an object")
    where = f"{param}.function"
    function = optional(raw, "function", dict, "an object", where) or {}
    arguments = function.get("arguments", "")
    if not isinstance(arguments, str):
        arguments = orjson.dumps(arguments).decode()
    return ToolCall(
        id=optional(raw, "id", str, "a string", f"{param}.id") or "",
        name=optional(function, "name", str, "a string", f"{where}.name") or "",
        arguments=arguments,
    )


# --------------------------------------------------------------------------- chat response


def _finish_reason(reply: Reply) -> str:
    finish = reply.finish_reason
    if finish in FINISH_REASONS:
        return str(finish)
    if finish in ("length", "max_tokens"):
        return "MAX_TOKENS"
    if finish in ("stop_sequence",):
        return "STOP_SEQUENCE"
    return "TOOL_CALL" if reply.tool_calls else "COMPLETE"


def _usage(request: CanonicalRequest, reply: Reply) -> dict[str, Any]:
    prompt, visible, reasoning = token_counts(request, reply)
    counts = {"input_tokens": prompt, "output_tokens": visible + reasoning}
    return {"billed_units": dict(counts), "tokens": dict(counts)}


def _shows_thinking(request: CanonicalRequest, reply: Reply) -> bool:
    return reply.reasoning is not None and request.extras.get("thinking") != "disabled"


def _content(request: CanonicalRequest, reply: Reply) -> list[dict[str, str]]:
    """The content items in order; with tool calls the text is the tool plan instead."""
    items = []
    if _shows_thinking(request, reply):
        items.append({"type": "thinking", "thinking": reply.reasoning or ""})
    if reply.content is not None and not reply.tool_calls:
        items.append({"type": "text", "text": reply.content})
    return items


def _wire_tool_calls(reply: Reply) -> list[dict[str, Any]]:
    return [
        {
            "id": call.id or f"{call.name}_{ids.hex_id(12)}",
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments or "{}"},
        }
        for call in reply.tool_calls
    ]


def render_chat(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> dict[str, Any]:
    del options
    message: dict[str, Any] = {"role": "assistant"}
    content = _content(request, reply)
    if content:
        message["content"] = content
    if reply.tool_calls:
        if reply.content:
            message["tool_plan"] = reply.content
        message["tool_calls"] = _wire_tool_calls(reply)
    return {
        "id": reply.id or ids.uuid4(),
        "finish_reason": _finish_reason(reply),
        "message": message,
        "usage": _usage(request, reply),
    }


def _event(kind: str, tokens: int = 0, **fields: Any) -> Event:
    return Event({"type": kind, **fields}, name=kind, tokens=tokens)


def _in_message(**fields: Any) -> dict[str, Any]:
    return {"message": fields}


def stream_chat(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> Iterator[Event]:
    size = options.chunk_size
    opening = {
        "role": "assistant",
        "content": [],
        "tool_plan": "",
        "tool_calls": [],
        "citations": [],
    }
    yield _event("message-start", id=reply.id or ids.uuid4(), delta=_in_message(**opening))
    for index, item in enumerate(_content(request, reply)):
        kind = item["type"]
        start = {"type": kind, kind: ""}
        yield _event("content-start", index=index, delta=_in_message(content=start))
        for piece in slices(item[kind], size):
            delta = _in_message(content={kind: piece})
            yield _event("content-delta", estimate_tokens(piece), index=index, delta=delta)
        yield _event("content-end", index=index)
    if reply.tool_calls:
        for piece in slices(reply.content or "", size):
            delta = _in_message(tool_plan=piece)
            yield _event("tool-plan-delta", estimate_tokens(piece), delta=delta)
        yield from _tool_call_events(reply, size)
    end = {"finish_reason": _finish_reason(reply), "usage": _usage(request, reply)}
    yield _event("message-end", delta=end)


def _tool_call_events(reply: Reply, size: int) -> Iterator[Event]:
    for index, call in enumerate(_wire_tool_calls(reply)):
        function = call["function"]
        opening = {**call, "function": {"name": function["name"], "arguments": ""}}
        yield _event("tool-call-start", 1, index=index, delta=_in_message(tool_calls=opening))
        for piece in slices(function["arguments"], size):
            fragment = {"function": {"arguments": piece}}
            delta = _in_message(tool_calls=fragment)
            yield _event("tool-call-delta", estimate_tokens(piece), index=index, delta=delta)
        yield _event("tool-call-end", index=index)


def collapse(events: Sequence[tuple[str | None, Any]]) -> Reply:
    """A recorded chat stream back into one answer (the tool plan becomes its text)."""
    parts = Assembly()
    kinds: dict[Any, str] = {}
    for _, event in events:
        if not isinstance(event, dict):
            continue
        kind, index = event.get("type"), event.get("index")
        message = (event.get("delta") or {}).get("message") or {}
        if kind == "message-start":
            parts.id = event.get("id")
        elif kind == "content-start":
            kinds[index] = (message.get("content") or {}).get("type", "text")
        elif kind == "content-delta":
            content = message.get("content") or {}
            if kinds.get(index) == "thinking":
                parts.reasoning.append(content.get("thinking") or "")
            else:
                parts.text.append(content.get("text") or "")
        elif kind == "tool-plan-delta":
            parts.text.append(message.get("tool_plan") or "")
        elif kind in ("tool-call-start", "tool-call-delta"):
            call = message.get("tool_calls") or {}
            function = call.get("function") or {}
            parts.tool_call(
                index,
                id=call.get("id"),
                name=function.get("name"),
                arguments=function.get("arguments") or "",
            )
        elif kind == "message-end":
            _collapse_end(parts, event.get("delta") or {})
    return parts.reply()


def decode(body: Any) -> Reply:
    """A non-streamed v2 chat answer back into one (the tool plan becomes its text, as in
    `collapse`)."""
    body = body if isinstance(body, dict) else {}
    message = body.get("message") or {}
    parts = Assembly(id=body.get("id"))
    if message.get("tool_plan"):
        parts.text.append(message["tool_plan"])
    for item in message.get("content") or ():
        if not isinstance(item, dict):
            continue
        if item.get("type") == "thinking":
            parts.reasoning.append(item.get("thinking") or "")
        elif item.get("type") == "text":
            parts.text.append(item.get("text") or "")
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        parts.whole_tool_call(call.get("id"), function.get("name", ""), function.get("arguments"))
    _collapse_end(parts, body)
    return parts.reply()


def _collapse_end(parts: Assembly, delta: Mapping[str, Any]) -> None:
    if delta.get("finish_reason") == "MAX_TOKENS":
        parts.finish_reason = "length"
    tokens = (delta.get("usage") or {}).get("tokens") or {}
    parts.input_tokens = tokens.get("input_tokens")
    parts.output_tokens = tokens.get("output_tokens")


# --------------------------------------------------------------------------- embeddings


def _embed_inputs(body: Mapping[str, Any]) -> list[str]:
    """What is embedded: `texts`, else `images` (data URIs), else the text of `inputs`."""
    for key in ("texts", "images"):
        values = optional(body, key, list, "an array")
        if values is not None:
            _at_most(values, key, MAX_EMBED_INPUTS)
            for i, value in enumerate(values):
                check_type(value, f"{key}[{i}]", str, "a string")
            return list(values)
    inputs = optional(body, "inputs", list, "an array")
    if inputs is None:
        raise invalid("one of texts, images or inputs must be provided", "texts")
    _at_most(inputs, "inputs", MAX_EMBED_INPUTS)
    texts = []
    for i, item in enumerate(inputs):
        check_type(item, f"inputs[{i}]", dict, "an object")
        content = optional(item, "content", list, "an array", f"inputs[{i}].content") or []
        texts.append(_text(content, f"inputs[{i}].content") or "")
    return texts


def _embedding_types(body: Mapping[str, Any]) -> list[str] | None:
    # list[Any] until each item is checked: compiled code would check the annotation first,
    # and a number in the list would be a TypeError instead of Cohere's 400.
    kinds: list[Any] | None = optional(body, "embedding_types", list, "an array")
    for i, kind in enumerate(kinds or ()):
        check_type(kind, f"embedding_types[{i}]", str, "a string")
        if kind not in EMBEDDING_TYPES:
            raise invalid(
                f"embedding_types must be among {', '.join(EMBEDDING_TYPES)}, got {kind!r}",
                "embedding_types",
            )
    return kinds


def _parse_embed(
    body: Any, context: RequestContext, *, version: str, default_model: str | None
) -> CanonicalRequest:
    body = expect_object(body)
    if default_model is None:
        model = _required(body, "model", str, "a string")
    else:
        model = optional(body, "model", str, "a string") or default_model
    input_type = optional(body, "input_type", str, "a string")
    if input_type is not None and input_type not in INPUT_TYPES:
        raise invalid(f"input_type must be one of {', '.join(INPUT_TYPES)}", "input_type")
    dimensions = optional(body, "output_dimension", int, "an integer")
    if dimensions is not None and dimensions not in OUTPUT_DIMENSIONS:
        allowed = ", ".join(map(str, OUTPUT_DIMENSIONS))
        raise invalid(f"output_dimension must be one of {allowed}", "output_dimension")
    return CanonicalRequest(
        surface=EMBED,
        provider=PROVIDER_NAME,
        endpoint="embedding",
        model=model,
        context=context,
        inputs=tuple(_embed_inputs(body)),
        extras={
            "version": version,
            "embedding_types": _embedding_types(body),
            "dimensions": dimensions,
            "texts": "texts" in body,
        },
    )


def parse_embed_v2(
    body: Any, context: RequestContext, params: Mapping[str, str]
) -> CanonicalRequest:
    del params
    return _parse_embed(body, context, version="2", default_model=None)


def parse_embed_v1(
    body: Any, context: RequestContext, params: Mapping[str, str]
) -> CanonicalRequest:
    del params
    return _parse_embed(body, context, version="1", default_model=V1_EMBED_MODEL)


def _default_dimensions(model: str) -> int:
    return 1536 if "v4" in model else 1024


def _packed_bits(vector: list[float]) -> list[int]:
    """One bit per value (positive = 1), eight to a byte, first value in the high bit."""
    out = []
    for start in range(0, len(vector), 8):
        byte = 0
        for offset, value in enumerate(vector[start : start + 8]):
            if value > 0:
                byte |= 0x80 >> offset
        out.append(byte)
    return out


def _unit(value: float) -> float:
    """A value clamped to [-1, 1] before it is quantised: a fixture's 1e308 saturates rather
    than overflowing to an infinity no integer holds."""
    return max(-1.0, min(1.0, value))


def _encoded(vector: list[float], kind: str) -> Any:
    if kind == "int8":
        return [round(_unit(v) * 127) for v in vector]
    if kind == "uint8":
        return [round((_unit(v) + 1) * 127.5) for v in vector]
    if kind == "ubinary":
        return _packed_bits(vector)
    if kind == "binary":
        return [byte - 128 for byte in _packed_bits(vector)]
    if kind == "base64":
        return float32_base64(vector)
    return vector


def render_embed(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> dict[str, Any]:
    del options
    extras = request.extras
    dimensions = extras.get("dimensions")
    default = _default_dimensions(request.model)
    vectors = [embedding_vector(reply, text, dimensions, default) for text in request.inputs]
    tokens = embedded_tokens(request, reply)
    body: dict[str, Any] = {"id": reply.id or ids.uuid4()}
    kinds = extras.get("embedding_types")
    if extras.get("version") == "1" and not kinds:
        body.update(response_type="embeddings_floats", embeddings=vectors)
    else:
        by_type = {kind: [_encoded(v, kind) for v in vectors] for kind in kinds or ["float"]}
        body.update(response_type="embeddings_by_type", embeddings=by_type)
    if extras.get("texts"):
        body["texts"] = list(request.inputs)
    body["meta"] = {
        "api_version": {"version": extras.get("version", "2")},
        "billed_units": {"input_tokens": tokens},
    }
    return body


def fallback_embed(request: CanonicalRequest) -> Reply:
    del request
    return Reply(kind="embedding")


# --------------------------------------------------------------------------- rerank


def _rerank_documents(body: Mapping[str, Any], *, objects: bool) -> tuple[list[Any], list[str]]:
    """The documents as sent and the text of each that is ranked."""
    documents = _required(body, "documents", list, "an array")
    if not documents:
        raise invalid("list of documents must not be empty", "documents")
    _at_most(documents, "documents", MAX_RERANK_DOCUMENTS)
    fields: list[Any] = optional(body, "rank_fields", list, "an array") or ["text"]
    for i, name in enumerate(fields):
        check_type(name, f"rank_fields[{i}]", str, "a string")
    texts = []
    for i, document in enumerate(documents):
        if isinstance(document, str):
            texts.append(document)
        elif objects and isinstance(document, dict):
            values = [document.get(name) for name in fields]
            if not any(isinstance(value, str) for value in values):
                raise invalid(
                    f"documents[{i}] has none of the rank fields {', '.join(fields)}",
                    f"documents[{i}]",
                )
            texts.append("\n".join(v for v in values if isinstance(v, str)))
        else:
            what = "a string or an object" if objects else "a string"
            check_type(document, f"documents[{i}]", str, what)
    return documents, texts


def _parse_rerank(
    body: Any, context: RequestContext, *, version: str, default_model: str | None
) -> CanonicalRequest:
    body = expect_object(body)
    if default_model is None:
        model = _required(body, "model", str, "a string")
    else:
        model = optional(body, "model", str, "a string") or default_model
    query = _required(body, "query", str, "a string")
    if not query.strip():
        raise invalid("query must not be empty", "query")
    documents, texts = _rerank_documents(body, objects=version == "1")
    top_n = body.get("top_n")
    if top_n is not None:
        top_n = _within(top_n, "top_n", 1, MAX_RERANK_DOCUMENTS)
    return CanonicalRequest(
        surface=RERANK,
        provider=PROVIDER_NAME,
        endpoint="rerank",
        model=model,
        context=context,
        inputs=(query,),
        extras={
            "version": version,
            "documents": tuple(documents),
            "texts": tuple(texts),
            "top_n": top_n,
            "return_documents": bool(optional(body, "return_documents", bool, "a boolean")),
        },
    )


def parse_rerank_v2(
    body: Any, context: RequestContext, params: Mapping[str, str]
) -> CanonicalRequest:
    del params
    return _parse_rerank(body, context, version="2", default_model=None)


def parse_rerank_v1(
    body: Any, context: RequestContext, params: Mapping[str, str]
) -> CanonicalRequest:
    del params
    return _parse_rerank(body, context, version="1", default_model=V1_RERANK_MODEL)


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def overlap_score(query: str, document: str) -> float:
    """How relevant `document` is to `query`, 0-1, from shared words: mostly the share of the
    query's words the document holds, partly the share of the document they make up (so a
    focused document beats a long one that mentions the same words)."""
    wanted, held = _words(query), _words(document)
    if not wanted or not held:
        return 0.0
    shared = len(wanted & held)
    return round(0.8 * shared / len(wanted) + 0.2 * shared / len(held), 6)


@dataclass(frozen=True, slots=True)
class ReplyRerankResult:
    index: int
    relevance_score: float


@dataclass(frozen=True, slots=True)
class RerankReply:
    """A rerank fixture's own scores; a reply without one (a fallback) is scored by overlap."""

    results: tuple[ReplyRerankResult, ...]


def rerank_reply(fixture: Fixture | None, response: Response) -> RerankReply | None:
    del fixture
    if response.rerank_results is None:
        return None
    return RerankReply(
        tuple(ReplyRerankResult(r.index, r.relevance_score) for r in response.rerank_results)
    )


def overlap_ranking(query: str, texts: Sequence[str]) -> list[ReplyRerankResult]:
    """Every document scored against the query, best first; ties keep the documents' order."""
    scored = [ReplyRerankResult(i, overlap_score(query, text)) for i, text in enumerate(texts)]
    return sorted(scored, key=lambda r: (-r.relevance_score, r.index))


def _fixture_ranking(given: RerankReply, count: int) -> list[ReplyRerankResult]:
    results = list(given.results)
    for result in results:
        if result.index >= count:
            raise ProtocolError(
                ErrorInfo(
                    500,
                    f"the fixture's rerank result index {result.index} is out of range for "
                    f"{count} documents",
                    type="server_error",
                )
            )
    return sorted(results, key=lambda r: (-r.relevance_score, r.index))


def _returned_document(document: Any) -> dict[str, Any]:
    return {"text": document} if isinstance(document, str) else dict(document)


def render_rerank(
    request: CanonicalRequest, reply: Reply, options: RenderOptions
) -> dict[str, Any]:
    del options
    extras = request.extras
    documents, texts = extras["documents"], extras["texts"]
    given = reply.extension(RerankReply)
    if given is not None:
        ranking = _fixture_ranking(given, len(texts))
    else:
        ranking = overlap_ranking(request.inputs[0], texts)
    if extras.get("top_n") is not None:
        ranking = ranking[: extras["top_n"]]
    results = []
    for result in ranking:
        item: dict[str, Any] = {"index": result.index, "relevance_score": result.relevance_score}
        if extras.get("return_documents"):
            item["document"] = _returned_document(documents[result.index])
        results.append(item)
    units = max(1, -(-len(texts) // DOCUMENTS_PER_SEARCH_UNIT))
    return {
        "id": reply.id or ids.uuid4(),
        "results": results,
        "meta": {
            "api_version": {"version": extras.get("version", "2")},
            "billed_units": {"search_units": units},
        },
    }


def fallback_rerank(request: CanonicalRequest) -> Reply:
    del request
    return Reply(kind="rerank")


# --------------------------------------------------------------------------- surfaces

CHAT_SURFACE = Surface(
    name=CHAT,
    provider=PROVIDER_NAME,
    endpoint="chat",
    method="POST",
    paths=("/v2/chat",),
    parse=parse_chat,
    render=render_chat,
    stream=stream_chat,
    collapse=collapse,
    decode=decode,
    errors=ERRORS,
)


def _embed_surface(path: str, parse: Any) -> Surface:
    # One surface name for both API versions: a fixture for `cohere.embed` answers either.
    return Surface(
        name=EMBED,
        provider=PROVIDER_NAME,
        endpoint="embedding",
        method="POST",
        paths=(path,),
        parse=parse,
        render=render_embed,
        decode=decode_embedding,
        fallback=fallback_embed,
        errors=ERRORS,
    )


def _rerank_surface(path: str, parse: Any) -> Surface:
    # One surface name for both API versions, as for embeddings.
    return Surface(
        name=RERANK,
        provider=PROVIDER_NAME,
        endpoint="rerank",
        method="POST",
        paths=(path,),
        parse=parse,
        render=render_rerank,
        fallback=fallback_rerank,
        errors=ERRORS,
    )


PROVIDER = Provider(
    name=PROVIDER_NAME,
    surfaces=(
        CHAT_SURFACE,
        _embed_surface("/v2/embed", parse_embed_v2),
        _embed_surface("/v1/embed", parse_embed_v1),
        _rerank_surface("/v2/rerank", parse_rerank_v2),
        _rerank_surface("/v1/rerank", parse_rerank_v1),
    ),
    # The SDK reads these as default arguments, evaluated at `import cohere`: set them first.
    environment={"CO_API_URL": "{origin}", "CO_API_KEY": "aimock"},
    extensions=(rerank_reply,),
)
