"""The Gemini `GenerateContent` shapes, shared by the Gemini API and Vertex AI surfaces.

Not a surface itself (gemini.py holds the routes): the request reading, the response body,
the stream chunks, their collapse and the error envelope, which both hosts speak alike.

Request (camelCase; Google's JSON parser also takes the proto's snake_case names, and
google-genai sends some nested configs that way, e.g. `thinkingConfig.include_thoughts`,
`parameters_json_schema`, so both spellings are read):

    contents[] {role: user|model, parts[] {text, thought, functionCall {name, args, id?},
                functionResponse {name, response, id?}, inlineData, ...}}
    systemInstruction {parts[]}, tools[] {functionDeclarations[] {name}},
    generationConfig {responseMimeType, responseSchema | responseJsonSchema,
                      thinkingConfig {includeThoughts}}

Response: `{candidates: [{content: {role: "model", parts}, finishReason, index: 0}],
usageMetadata, modelVersion, responseId}` (Vertex adds `createTime`). Parts in order: the
thought summary `{text, thought: true}`, the answer `{text}`, then one `{functionCall}` per
call. A thinking reply signs one part with `thoughtSignature` (base64): the first function
call, else the last part. A refusal is what the API answers for blocked output: no content,
`finishReason: SAFETY`, on Vertex the fixture's text as `finishMessage`.

Stream (`:streamGenerateContent?alt=sse`): one `data: <GenerateContentResponse>` per chunk, no
event names and no terminator (google-genai fails on `[DONE]`). Without `alt=sse` the same
chunks are the elements of one JSON array written as they come (`framing`,
streaming/jsonarray.py). Either way:

    thought slices ({text, thought: true}) xN, answer slices ({text}) xN,
    one chunk with every functionCall part (calls arrive whole, as the API sends them);
    the last chunk also carries finishReason and usageMetadata.

Errors: `{"error": {"code": 429, "message": ..., "status": "RESOURCE_EXHAUSTED"}}`, one
canonical status name per HTTP status; google-genai raises ClientError (4xx) / ServerError
(5xx) with `.code` and `.status`.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

import orjson

from aimock.canonical import CanonicalRequest, Message, RequestContext, ToolCall
from aimock.fixtures.compiled import Reply, ReplyToolCall
from aimock.providers.assembly import Assembly, collapse_objects
from aimock.providers.common import (
    check_type,
    estimate_tokens,
    json_object_of,
    new_id,
    slices,
    token_counts,
)
from aimock.providers.images_media import (
    PNG_TYPE,
    GivenImage,
    ImageReply,
    digest,
    image_bytes,
)
from aimock.surface import (
    ErrorDialect,
    ErrorInfo,
    Event,
    Framing,
    RenderOptions,
    bad_request,
)

VERTEX = "vertex"
# "function" is the role older clients gave function responses; the API still reads it.
USER_ROLES = ("user", "function")
PLACEHOLDER_SIGNATURE = base64.b64encode(b"aimock-placeholder-signature").decode()

# --------------------------------------------------------------------------- errors

# google.rpc.Code names, as Google maps them to HTTP statuses.
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_CODES = frozenset(
    {
        *_STATUS_NAMES.values(),
        "FAILED_PRECONDITION",
        "OUT_OF_RANGE",
        "ALREADY_EXISTS",
        "UNKNOWN",
        "DATA_LOSS",
    }
)


def status_name(info: ErrorInfo) -> str:
    """The google.rpc status for an error: a fixture naming one (as `code` or `type`) keeps
    it; otherwise the HTTP status decides."""
    for named in (info.code, info.type):
        if isinstance(named, str) and named in _CODES:  # a name, never an unhashable value
            return named
    if info.status in _STATUS_NAMES:
        return _STATUS_NAMES[info.status]
    return "INTERNAL" if info.status >= 500 else "FAILED_PRECONDITION"


def error_body(info: ErrorInfo) -> dict[str, Any]:
    error: dict[str, Any] = {
        "code": info.status,
        "message": info.message,
        "status": status_name(info),
    }
    details: list[dict[str, Any]] = []
    if info.status == 429:
        retry = info.retry_after if info.retry_after is not None else 1.0
        details.append(
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry:g}s"}
        )
    if info.metadata:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": info.code or status_name(info),
                "domain": "googleapis.com",
                "metadata": {key: str(item) for key, item in info.metadata.items()},
            }
        )
    if details:
        error["details"] = details
    return {"error": error}


def unauthorized(given: bool) -> ErrorInfo:
    """The Gemini API's refusals: a key it does not know is a 400 `API_KEY_INVALID`, no key a
    403 (Google answers neither with a 401)."""
    if given:
        return ErrorInfo(
            400,
            "API key not valid. Please pass a valid API key.",
            code="API_KEY_INVALID",
            metadata={"service": "generativelanguage.googleapis.com"},
        )
    return ErrorInfo(
        403,
        "Method doesn't allow unregistered callers (callers without established identity). "
        "Please use API Key or other form of API consumer identity to call this API.",
    )


ERRORS = ErrorDialect(body=error_body, unauthorized=unauthorized)


# --------------------------------------------------------------------------- field access


@cache
def _snake(camel: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", camel).lower()


def value(obj: Mapping[str, Any], camel: str) -> Any:
    """obj[camel], or the same field spelt in the proto's snake_case."""
    if camel in obj:
        return obj[camel]
    return obj.get(_snake(camel))


def typed(
    obj: Mapping[str, Any], camel: str, kind: type | tuple[type, ...], what: str, path: str
) -> Any:
    """A field that must have one JSON type when present (None when absent or null)."""
    found = value(obj, camel)
    if found is None:
        return None
    return check_type(found, f"{path}.{camel}" if path else camel, kind, what)


# --------------------------------------------------------------------------- request


@dataclass
class _CallIds:
    """Pairs function responses with the calls they answer.

    Gemini 2.x sends no call ids: the API pairs a response with the earlier call of the same
    name, in order. So does this: a call without `id` gets `<name>` (`<name>-2`, ... for
    repeats in one turn), and a response without `id` takes the id of the oldest unanswered
    call of its name (explicit or invented), else `<name>`. A fixture's `toolCallId` then
    matches whether or not the client echoes ids.
    """

    pending: dict[str, list[str]] = field(default_factory=dict)
    invented: dict[str, int] = field(default_factory=dict)

    def model_turn(self) -> None:
        """A new model turn: only its calls can be answered next."""
        self.pending, self.invented = {}, {}

    def call(self, name: str, explicit: str | None) -> str:
        count = self.invented[name] = self.invented.get(name, 0) + 1
        call_id = explicit or (name if count == 1 else f"{name}-{count}")
        self.pending.setdefault(name, []).append(call_id)
        return call_id

    def response(self, name: str, explicit: str | None) -> str:
        waiting = self.pending.get(name) or []
        if explicit:
            if explicit in waiting:
                waiting.remove(explicit)
            return explicit
        return waiting.pop(0) if waiting else name


def parse_generate(
    body: Mapping[str, Any],
    context: RequestContext,
    *,
    surface: str,
    provider: str,
    model: str,
    stream: bool,
) -> CanonicalRequest:
    """A GenerateContentRequest (already known to be an object) as the canonical request."""
    contents = typed(body, "contents", list, "an array", "")
    if not contents:
        raise bad_request("* GenerateContentRequest.contents: contents is not specified")
    messages: list[Message] = []
    system = system_text(typed(body, "systemInstruction", (dict, str), "an object", ""))
    if system is not None:
        messages.append(Message("system", system))
    messages.extend(wire_messages(contents))
    config = typed(body, "generationConfig", dict, "an object", "") or {}
    thinking = typed(config, "thinkingConfig", dict, "an object", "generationConfig") or {}
    include = typed(thinking, "includeThoughts", bool, "a boolean", "thinkingConfig")
    modalities = typed(config, "responseModalities", list, "an array", "generationConfig") or []
    return CanonicalRequest(
        surface=surface,
        provider=provider,
        endpoint="chat",
        model=model,
        context=context,
        messages=tuple(messages),
        tools=tool_names(typed(body, "tools", list, "an array", "") or []),
        response_format=response_format(config),
        stream=stream,
        extras={
            **({"include_thoughts": include} if include is not None else {}),
            **({"images": True} if wants_images(modalities) else {}),
            **({"alt": stream_alt(context)} if stream else {}),
        },
    )


def wants_images(modalities: list[Any]) -> bool:
    """Whether `responseModalities` asks for IMAGE output (any case, as the API reads it)."""
    return any(isinstance(item, str) and item.upper() == "IMAGE" for item in modalities)


def image_candidates(request: CanonicalRequest) -> Sequence[CanonicalRequest]:
    """A request asking for IMAGE output is matched against the image fixtures first, then
    the chat ones (a TEXT and IMAGE request a text fixture answers); any other only as chat."""
    if not request.extras.get("images"):
        return (request,)
    return (replace(request, endpoint="image", inputs=_prompt_inputs(request)), request)


def _prompt_inputs(request: CanonicalRequest) -> tuple[str, ...]:
    text = request.last_user_text
    return (text,) if text is not None else ()


def image_parts(request: CanonicalRequest, reply: Reply) -> list[dict[str, Any]]:
    """The `inlineData` parts of an image answer: the fixture's images (their bytes, else
    the generated PNG), or one generated PNG for the prompt."""
    part = reply.extension(ImageReply)
    given = list(part.images) if part is not None and part.images else [GivenImage()]
    seed = digest(request.last_user_text or "")
    return [
        {
            "inlineData": {
                "mimeType": image.mime_type if image.b64_json else PNG_TYPE,
                "data": image_bytes(image, seed if i == 0 else digest(f"{seed}#{i}"), None),
            }
        }
        for i, image in enumerate(given)
    ]


def stream_alt(context: RequestContext) -> str | None:
    """The stream's wire form the URL asks for: `alt=sse` for server-sent events, anything
    else (or nothing) for a JSON array. GAPIC REST clients spell it `$alt=json;...`."""
    return context.query.get("alt") or context.query.get("$alt")


def framing(request: CanonicalRequest) -> Framing:
    """SSE only when asked for; Google streams a JSON array otherwise."""
    return "sse" if request.extras.get("alt") == "sse" else "json-array"


def system_text(system: dict[str, Any] | str | None) -> str | None:
    """`systemInstruction`: a Content (its role is ignored) or, leniently, a bare string."""
    if system is None or isinstance(system, str):
        return system
    texts, _, _ = _read_parts(system, "systemInstruction")
    return "".join(texts) if texts else None


def wire_messages(contents: list[Any]) -> list[Message]:
    """The turns as canonical messages: a user turn's functionResponse parts become tool
    messages (after the text it carries, if any, as a user message)."""
    ids = _CallIds()
    out: list[Message] = []
    for i, content in enumerate(contents):
        path = f"contents[{i}]"
        check_type(content, path, dict, "an object")
        role = content.get("role") or "user"  # a single-turn request may leave it out
        if role == "model":
            out.append(_model_message(content, path, ids))
        elif role in USER_ROLES:
            out.extend(_user_messages(content, path, ids))
        else:
            raise bad_request("Please use a valid role: user, model.", param=f"{path}.role")
    return out


def _read_parts(
    content: Mapping[str, Any], path: str
) -> tuple[list[str], list[dict[str, Any]], list[dict[str, Any]]]:
    """(answer texts, functionCall objects, functionResponse objects) of a Content; thought
    parts are the model's own notes, not conversation text."""
    parts = typed(content, "parts", list, "an array", path) or []
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    responses: list[dict[str, Any]] = []
    for j, part in enumerate(parts):
        where = f"{path}.parts[{j}]"
        check_type(part, where, dict, "an object")
        text = typed(part, "text", str, "a string", where)
        if text is not None and not value(part, "thought"):
            texts.append(text)
        call = typed(part, "functionCall", dict, "an object", where)
        if call is not None:
            typed(call, "args", dict, "an object", f"{where}.functionCall")  # a Struct
            calls.append(_named(call, f"{where}.functionCall"))
        response = typed(part, "functionResponse", dict, "an object", where)
        if response is not None:
            responses.append(_named(response, f"{where}.functionResponse"))
    return texts, calls, responses


def _named(obj: dict[str, Any], path: str) -> dict[str, Any]:
    if not isinstance(obj.get("name"), str) or not obj["name"]:
        raise bad_request(f"* {path}.name: Name cannot be empty.", param=f"{path}.name")
    if obj.get("id") is not None:  # a falsy non-string (0, {}) is as wrong as any other
        check_type(obj["id"], f"{path}.id", str, "a string")
    return obj


def _model_message(content: Mapping[str, Any], path: str, ids: _CallIds) -> Message:
    texts, calls, _ = _read_parts(content, path)
    ids.model_turn()
    tool_calls = tuple(
        ToolCall(
            id=ids.call(call["name"], call.get("id")),
            name=call["name"],
            arguments=orjson.dumps(call.get("args") or {}).decode(),
        )
        for call in calls
    )
    return Message("assistant", "".join(texts) if texts else None, tool_calls)


def _user_messages(content: Mapping[str, Any], path: str, ids: _CallIds) -> list[Message]:
    texts, _, responses = _read_parts(content, path)
    text = "".join(texts) if texts else None
    out = [] if responses and text is None else [Message("user", text)]
    for response in responses:
        call_id = ids.response(response["name"], response.get("id"))
        out.append(Message("tool", _result_text(response.get("response")), (), call_id))
    return out


def _result_text(response: Any) -> str:
    """A function's result as tool-message text: the string of the `output` (or `result`)
    key the docs recommend when that is all there is, else the whole object as JSON."""
    if isinstance(response, dict) and len(response) == 1:
        [(key, only)] = response.items()
        if key in ("output", "result") and isinstance(only, str):
            return only
    return orjson.dumps(response if response is not None else {}).decode()


def tool_names(tools: list[Any]) -> tuple[str, ...]:
    """Names of the function declarations offered (built-in tools such as googleSearch
    declare no function and add no name)."""
    names: list[str] = []
    for i, tool in enumerate(tools):
        check_type(tool, f"tools[{i}]", dict, "an object")
        path = f"tools[{i}]"
        declarations = typed(tool, "functionDeclarations", list, "an array", path) or []
        for j, declaration in enumerate(declarations):
            where = f"{path}.functionDeclarations[{j}]"
            check_type(declaration, where, dict, "an object")
            names.append(_named(declaration, where)["name"])
    return tuple(names)


def response_format(config: Mapping[str, Any]) -> str | None:
    """JSON mode: "json_schema" with a schema (`responseSchema` or `responseJsonSchema`),
    "json_object" without; any other MIME type (text/plain, text/x.enum) is no JSON mode."""
    mime = typed(config, "responseMimeType", str, "a string", "generationConfig")
    if mime != "application/json":
        return None
    schema = value(config, "responseSchema") or value(config, "responseJsonSchema")
    return "json_schema" if schema is not None else "json_object"


# --------------------------------------------------------------------------- response

# FinishReason names a fixture may give as they are.
_FINISH_REASONS = frozenset(
    {
        "STOP",
        "MAX_TOKENS",
        "SAFETY",
        "RECITATION",
        "LANGUAGE",
        "OTHER",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "MALFORMED_FUNCTION_CALL",
        "UNEXPECTED_TOOL_CALL",
        "TOO_MANY_TOOL_CALLS",
    }
)
# Other providers' spellings (what fixtures written for them say).
_FROM_NEUTRAL = {"length": "MAX_TOKENS", "max_tokens": "MAX_TOKENS", "content_filter": "SAFETY"}
# And back, for record mode: STOP says nothing a renderer could not work out again.
_TO_NEUTRAL = {"STOP": None, "MAX_TOKENS": "length", "SAFETY": "content_filter"}
# What a blocked answer reports beside `finishReason: SAFETY`.
_BLOCKED_RATING = {
    "category": "HARM_CATEGORY_DANGEROUS_CONTENT",
    "probability": "HIGH",
    "blocked": True,
}


def finish_reason(reply: Reply) -> str:
    """Gemini ends a function-calling turn with STOP too; only a cut or a block differ."""
    if reply.refusal is not None:
        return "SAFETY"
    finish = reply.finish_reason
    if finish in _FINISH_REASONS:
        return str(finish)
    return _FROM_NEUTRAL.get(finish or "", "STOP")


def signature(reply: Reply) -> str:
    """The reply's thought signature as the base64 the API sends (and google-genai decodes):
    a fixture's text is sent as is when it is base64 already, else encoded."""
    given = reply.reasoning_signature
    if not given:
        return PLACEHOLDER_SIGNATURE
    try:
        base64.b64decode(given, validate=True)
    except (binascii.Error, ValueError):
        return base64.b64encode(given.encode()).decode()
    return given


def shows_thoughts(request: CanonicalRequest) -> bool:
    """Thought summaries are rendered unless the request turned them off. The API returns
    them only with `includeThoughts: true`; a fixture's `reasoning` is shown by default, as
    on every other surface, so that it is never silently lost."""
    return request.extras.get("include_thoughts") is not False


def function_call(call: ReplyToolCall) -> dict[str, Any]:
    """A functionCall part; `id` only when the fixture gives one (Gemini 2.x sends none)."""
    body: dict[str, Any] = {"name": call.name, "args": json_object_of(call.arguments)}
    if call.id:
        body["id"] = call.id
    return {"functionCall": body}


def part_groups(
    request: CanonicalRequest, reply: Reply, size: int | None
) -> list[list[dict[str, Any]]]:
    """The answer's parts, grouped as the stream sends them (one group a chunk): thought
    slices, text slices, then every call at once. `size` None: one group per kind, unsliced,
    which flattened is the plain body's part list. The signed part carries the signature."""
    groups: list[list[dict[str, Any]]] = []
    if reply.reasoning is not None and shows_thoughts(request):
        for piece in _pieces(reply.reasoning, size):
            groups.append([{"text": piece, "thought": True}])
    if reply.content is not None:
        groups.extend([{"text": piece}] for piece in _pieces(reply.content, size))
    if reply.tool_calls:
        groups.append([function_call(call) for call in reply.tool_calls])
    if reply.kind == "image":
        groups.append(image_parts(request, reply))
    if reply.reasoning is not None and groups:
        signed = groups[-1][0] if reply.tool_calls else groups[-1][-1]
        signed["thoughtSignature"] = signature(reply)
    return groups


def _pieces(text: str, size: int | None) -> list[str]:
    if size is None or not text:
        return [text]  # an empty answer is still one (empty) text part
    return list(slices(text, size))


def usage(request: CanonicalRequest, reply: Reply) -> dict[str, Any]:
    """Fixture numbers win; otherwise estimates. Thoughts are counted apart from the
    candidates (unlike OpenAI and Anthropic) and the total adds all three."""
    prompt, visible, reasoning = token_counts(request, reply)
    metadata: dict[str, Any] = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": visible,
        "totalTokenCount": prompt + visible + reasoning,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}],
    }
    if reasoning:
        metadata["thoughtsTokenCount"] = reasoning
    if reply.cached_tokens:
        metadata["cachedContentTokenCount"] = reply.cached_tokens
    if request.provider == VERTEX:
        metadata["trafficType"] = "ON_DEMAND"
    return metadata


def candidate(
    request: CanonicalRequest, reply: Reply, parts: list[dict[str, Any]] | None, final: bool
) -> dict[str, Any]:
    """candidates[0]; a final one says why it ended. A refusal is blocked output: no content
    at all; Vertex explains in `finishMessage` (the Gemini API has no such field, and
    google-genai drops it there, so the fixture's text is not sent)."""
    out: dict[str, Any] = {}
    if reply.refusal is None and parts is not None:
        out["content"] = {"role": "model", "parts": parts}
    if final:
        out["finishReason"] = finish_reason(reply)
        if reply.refusal is not None:
            if request.provider == VERTEX:
                out["finishMessage"] = reply.refusal
            out["safetyRatings"] = [_BLOCKED_RATING]
    out["index"] = 0
    return out


def _identity(request: CanonicalRequest, reply: Reply) -> dict[str, Any]:
    """The fields every body and every chunk of one answer repeat."""
    ids: dict[str, Any] = {"modelVersion": reply.model or request.model}
    if request.provider == VERTEX:
        created = reply.created
        moment = (
            datetime.datetime.fromtimestamp(created, datetime.UTC)
            if created is not None
            else datetime.datetime.now(datetime.UTC)
        )
        ids["createTime"] = moment.isoformat().replace("+00:00", "Z")
    ids["responseId"] = reply.id or new_id("", 22)
    return ids


def response(request: CanonicalRequest, reply: Reply) -> dict[str, Any]:
    parts = [part for group in part_groups(request, reply, None) for part in group]
    return {
        "candidates": [candidate(request, reply, parts, final=True)],
        "usageMetadata": usage(request, reply),
        **_identity(request, reply),
    }


def render(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> dict[str, Any]:
    del options
    return response(request, reply)


def stream(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> Iterator[Event]:
    identity = _identity(request, reply)  # one responseId for the whole stream
    groups = [] if reply.refusal is not None else part_groups(request, reply, options.chunk_size)
    # A refusal (or an empty answer) is one chunk without content.
    chunks: list[list[dict[str, Any]] | None] = [*groups] if groups else [None]
    last = len(chunks) - 1
    for index, parts in enumerate(chunks):
        chunk: dict[str, Any] = {
            "candidates": [candidate(request, reply, parts, final=index == last)]
        }
        if index == last:
            chunk["usageMetadata"] = usage(request, reply)
        yield Event({**chunk, **identity}, tokens=sum(_weight(part) for part in parts or ()))


def _weight(part: Mapping[str, Any]) -> int:
    """A part's tokens, for tokens-per-second pacing."""
    if "functionCall" in part:
        call = part["functionCall"]
        return estimate_tokens(call["name"]) + estimate_tokens(orjson.dumps(call["args"]).decode())
    return estimate_tokens(part.get("text"))


# --------------------------------------------------------------------------- collapse


def decode(body: Any) -> Reply:
    """A non-streamed GenerateContentResponse back into one answer: the same shape as one
    streamed chunk holding the whole answer."""
    return collapse([(None, body)])


def collapse(events: Sequence[tuple[str | None, Any]]) -> Reply:
    """A recorded Gemini stream back into one answer."""
    return collapse_objects(events, collapse_chunk)


def collapse_chunk(assembly: Assembly, chunk: Mapping[str, Any]) -> None:
    """Add one GenerateContentResponse chunk (its JSON) to `assembly`."""
    assembly.id = chunk.get("responseId") or assembly.id
    assembly.model = chunk.get("modelVersion") or assembly.model
    metadata = chunk.get("usageMetadata") or {}
    if "promptTokenCount" in metadata:
        assembly.input_tokens = metadata["promptTokenCount"]
    if "candidatesTokenCount" in metadata or "thoughtsTokenCount" in metadata:
        produced = metadata.get("candidatesTokenCount", 0) + metadata.get("thoughtsTokenCount", 0)
        assembly.output_tokens = produced
    for first in (chunk.get("candidates") or [])[:1]:
        for part in (first.get("content") or {}).get("parts") or []:
            _collapse_part(assembly, part)
        finish = first.get("finishReason")
        if finish:
            assembly.finish_reason = _TO_NEUTRAL.get(finish, finish)
        if finish == "SAFETY" and first.get("finishMessage"):
            assembly.refusal.append(first["finishMessage"])


def _collapse_part(assembly: Assembly, part: Mapping[str, Any]) -> None:
    call = part.get("functionCall")
    if isinstance(call, dict):
        assembly.whole_tool_call(call.get("id"), call.get("name", ""), call.get("args") or {})
    elif isinstance(part.get("text"), str):
        (assembly.reasoning if part.get("thought") else assembly.text).append(part["text"])
    if part.get("thoughtSignature"):
        assembly.signature = part["thoughtSignature"]
