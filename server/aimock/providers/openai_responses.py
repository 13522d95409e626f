"""OpenAI Responses API: `POST /v1/responses`, plain and streamed.

The request's `input` items become canonical messages. Items one assistant turn produced
(a message, reasoning, several `function_call`s) fold into ONE assistant message, so a
conversation has the same `turnIndex` here as the same conversation sent to Chat Completions.

Stored responses. A response is kept unless the request says `store: false` (the API's
default is to store), at most `MAX_STORED` of them, the oldest dropped first; a full reset
forgets them. `GET /v1/responses/{id}` retrieves one, `DELETE` removes it, and
`GET /v1/responses/{id}/input_items` lists the items its request gave. A request naming a
`previous_response_id` continues the stored conversation: its input messages and its output
come before this request's input (the surface's `recall` hook, before matching), so
`turnIndex` and `hasToolResult` see the whole history. An unknown (or deleted, or unstored)
`previous_response_id` is a 404 `previous_response_not_found`, as the API answers, except in
record mode, where the upstream may know it (the recorder keeps what it relays, through the
same `remember`, so it knows the responses it saw): there (and on a socket) a
`function_call_output` whose call is not in the conversation gets a stand-in assistant tool
call, so the turn counts as it would with the full history.

`background: true` answers the response `queued` at once and keeps it (even unstored): each
retrieval moves it on, `in_progress` then its end (`Stored.poll`), and `POST .../cancel`
cancels it before then; a response created without it cannot be cancelled (400).
`GET /v1/responses/{id}?stream=true` replays a kept response's events (`starting_after` a
sequence number), re-rendered from its final body by the same walk as a new stream (`_walk`).
`POST /v1/responses/input_tokens` counts a body's input as its response's usage would, and
`POST /v1/responses/compact` answers the conversation's user messages and one `compaction`
item that restores the whole conversation when sent back as input; neither consults a fixture.

Conversations (`/v1/conversations` and its items) are kept beside them; a request naming a
`conversation` continues its items as it would a previous response, and adds its input and
output items to it.

The reply is built once as the final list of output items (reasoning, message, function
calls); the plain body is the response around them, and the stream walks the same items:

    (background: response.queued,) response.created, response.in_progress,
    per item: output_item.added,
      reasoning: reasoning_summary_part.added, reasoning_summary_text.delta xN,
                 reasoning_summary_text.done, reasoning_summary_part.done
      message:   content_part.added, output_text.delta xN (or refusal.delta xN),
                 output_text.done (or refusal.done), content_part.done
      function:  function_call_arguments.delta xN, function_call_arguments.done
    output_item.done; then response.completed (or response.incomplete).

Every event carries `sequence_number` from 0; there is no `[DONE]` terminator.

The same events answer over a WebSocket (`GET /v1/responses` upgraded, the SDK's
`client.responses.connect()`): each `response.create` frame is a request's body, and the
socket remembers its latest response for `previous_response_id` (`SocketSession`).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

import orjson
from aiohttp import web

from aimock.canonical import CanonicalRequest, Message, RequestContext, ToolCall
from aimock.fixtures.compiled import Reply
from aimock.providers import openai_base
from aimock.providers.assembly import Assembly
from aimock.providers.common import (
    check_type,
    estimate_tokens,
    expect_object,
    json_type_name,
    missing,
    new_id,
    now,
    optional,
    require,
    slices,
    text_of,
    token_counts,
)
from aimock.state import STATE
from aimock.streaming import sse
from aimock.surface import (
    ErrorInfo,
    Event,
    Link,
    PlainRoute,
    ProtocolError,
    Provider,
    RenderOptions,
    ServerView,
    SocketSurface,
    bad_request,
    within,
)
from aimock.wire import json_response, parse_json, read_body

SURFACE = "openai.responses"
ROLES = ("assistant", "developer", "system", "user")
TEXT_PARTS = ("input_text", "output_text", "text")
FORMATS = ("text", "json_object", "json_schema")
ID_LENGTH = 48  # hex characters after the prefix, as long as the real ids
ENCRYPTED_REASONING = "reasoning.encrypted_content"
FUNCTION_DEFAULTS = {"description": None, "parameters": None, "strict": True}

# --------------------------------------------------------------------------- request


def parse(
    body: Any,
    context: RequestContext,
    params: Mapping[str, str],
    provider: str = "openai",
    earlier: Sequence[Message] = (),
) -> CanonicalRequest:
    """`earlier`: the conversation a socket's `previous_response_id` continues (its
    instructions are not carried over, as the API has it)."""
    body = expect_object(body)
    model = params.get("deployment") or require(body, "model", str, "a string")
    instructions = optional(body, "instructions", str, "a string")
    messages = [Message("system", instructions)] if instructions is not None else []
    messages.extend(_input_messages(body.get("input"), earlier))
    names, echoed_tools = _tools(optional(body, "tools", list, "an array") or [])
    text = _text_config(optional(body, "text", dict, "an object"))
    echo = _echo(body, instructions, echoed_tools, text)
    return CanonicalRequest(
        surface=SURFACE,
        provider=provider,
        endpoint="chat",
        model=model,
        context=context,
        messages=tuple(messages),
        tools=names,
        response_format=text["format"]["type"],
        stream=optional(body, "stream", bool, "a boolean") or False,
        extras={
            "input": body.get("input"),  # kept for `recall` and `input_items`
            "conversation": _conversation_id(body),
            "echo": echo,
            "include": _include(body),
            "finished": Finished() if echo["background"] else None,
            "obfuscation": openai_base.obfuscates(
                provider, optional(body, "stream_options", dict, "an object") or {}
            ),
        },
    )


def _conversation_id(body: Mapping[str, Any]) -> str | None:
    """The id of the `conversation` a request continues (a string or `{"id"}`), refused
    beside `previous_response_id`, as the API does."""
    raw = body.get("conversation")
    if raw is None:
        return None
    if isinstance(raw, dict):
        raw = _field(raw, "conversation", "id", str, "a string")
    check_type(raw, "conversation", str, "a string or an object")
    if body.get("previous_response_id") is not None:
        raise bad_request(
            "Mutually exclusive parameters: 'previous_response_id' and 'conversation'. Ensure "
            "you are only providing one of: 'previous_response_id' or 'conversation'.",
            param="conversation",
            code="mutually_exclusive_parameters",
        )
    return str(raw)


def _input_messages(raw: Any, earlier: Sequence[Message] = ()) -> list[Message]:
    conversation = _Conversation(earlier)
    if raw is None:
        return conversation.messages
    if isinstance(raw, str):
        return [*conversation.messages, Message("user", raw)]
    if not isinstance(raw, list):
        raise bad_request(
            "Invalid type for 'input': expected a string or an array of input items, but got "
            f"{json_type_name(raw)} instead.",
            param="input",
            code="invalid_type",
        )
    for i, item in enumerate(raw):
        conversation.add(check_type(item, f"input[{i}]", dict, "an object"), f"input[{i}]")
    return conversation.messages


class _Conversation:
    """Builds canonical messages from input items, one assistant message per turn."""

    def __init__(self, earlier: Sequence[Message] = ()) -> None:
        self.messages: list[Message] = [m for m in earlier if m.role != "system"]
        self._call_ids: set[str] = {c.id for m in self.messages for c in m.tool_calls}

    def add(self, item: dict[str, Any], param: str) -> None:
        kind = item.get("type")
        if kind is None and "role" not in item:
            raise missing(f"{param}.type")
        if kind is not None:
            check_type(kind, f"{param}.type", str, "a string")
        if kind in (None, "message"):
            self._message(item, param)
        elif kind in ("function_call", "custom_tool_call"):
            self._tool_call(item, param, "arguments" if kind == "function_call" else "input")
        elif kind in ("function_call_output", "custom_tool_call_output"):
            self._tool_output(item, param)
        elif kind == "compaction":
            self._restore(item, param)
        # Anything else (reasoning, item_reference, built-in tool calls) carries no text a
        # fixture matches on; it is accepted and left out.

    def _message(self, item: dict[str, Any], param: str) -> None:
        role = _field(item, param, "role", str, "a string")
        if role not in ROLES:
            raise bad_request(
                f"Invalid value for '{param}.role': expected one of {', '.join(ROLES)}, but got "
                f"{role!r}.",
                param=f"{param}.role",
                code="invalid_value",
            )
        if "content" not in item:
            raise missing(f"{param}.content")
        text = text_of(item["content"], f"{param}.content", TEXT_PARTS)
        if role == "assistant":
            self._assistant(Message("assistant", text))
        else:
            self.messages.append(Message("system" if role == "developer" else role, text))

    def _tool_call(self, item: dict[str, Any], param: str, arguments_key: str) -> None:
        call = ToolCall(
            id=_field(item, param, "call_id", str, "a string"),
            name=_field(item, param, "name", str, "a string"),
            arguments=_field(item, param, arguments_key, str, "a string"),
        )
        self._call_ids.add(call.id)
        self._assistant(Message("assistant", None, (call,)))

    def _tool_output(self, item: dict[str, Any], param: str) -> None:
        call_id = _field(item, param, "call_id", str, "a string")
        if "output" not in item:
            raise missing(f"{param}.output")
        if call_id not in self._call_ids:
            # The call was made in a stored earlier response; stand it in so the turn counts.
            self._tool_call({"call_id": call_id, "name": "", "arguments": ""}, param, "arguments")
        text = text_of(item["output"], f"{param}.output", TEXT_PARTS)
        self.messages.append(Message("tool", text, tool_call_id=call_id))

    def _restore(self, item: dict[str, Any], param: str) -> None:
        """A compaction `POST /v1/responses/compact` made: the conversation it stands for, in
        place of everything before it (the user messages kept beside it are in it too). One
        made upstream is opaque: left out, as reasoning is."""
        restored = _uncompacted(item.get("encrypted_content"))
        if restored is None:
            return
        self.messages, self._call_ids = [], set()
        for index, entry in enumerate(restored):
            where = f"{param}.encrypted_content[{index}]"
            if check_type(entry, where, dict, "an object").get("type") != "compaction":
                self.add(entry, where)

    def _assistant(self, message: Message) -> None:
        """Append an assistant message, folding it into the previous one of the same turn."""
        last = self.messages[-1] if self.messages else None
        if last is None or last.role != "assistant":
            self.messages.append(message)
            return
        texts = [t for t in (last.text, message.text) if t is not None]
        self.messages[-1] = replace(
            last,
            text="".join(texts) if texts else None,
            tool_calls=last.tool_calls + message.tool_calls,
        )


# What a compaction's `encrypted_content` starts with, once base64-decoded: the JSON of the
# input items that say the compacted conversation again follows.
COMPACTION_MARK = b"aimock-compaction:"


def _compacted(items: list[dict[str, Any]]) -> str:
    return base64.b64encode(COMPACTION_MARK + orjson.dumps(items)).decode()


def _uncompacted(content: Any) -> list[Any] | None:
    """The items a compaction of ours holds; None for any other content."""
    if not isinstance(content, str):
        return None
    try:
        raw = base64.b64decode(content, validate=True)
        if not raw.startswith(COMPACTION_MARK):
            return None
        items = orjson.loads(raw[len(COMPACTION_MARK) :])
    except ValueError:  # not base64, or not JSON after the mark
        return None
    return items if isinstance(items, list) else None


def _field(item: Mapping[str, Any], param: str, key: str, kind: type, what: str) -> Any:
    """item[key] of an input or tool entry, or a 400 naming its full path."""
    if item.get(key) is None:
        raise missing(f"{param}.{key}")
    return check_type(item[key], f"{param}.{key}", kind, what)


def _tools(raw: list[Any]) -> tuple[tuple[str, ...], list[dict[str, Any]]]:
    """Names for matching, and the tools as the response echoes them."""
    names: list[str] = []
    echoed: list[dict[str, Any]] = []
    for i, tool in enumerate(raw):
        param = f"tools[{i}]"
        check_type(tool, param, dict, "an object")
        kind = _field(tool, param, "type", str, "a string")
        if kind in ("function", "custom"):
            names.append(_field(tool, param, "name", str, "a string"))
            # A JSON schema: echoed back, so a wrong type is refused here, as the API does.
            optional(tool, "parameters", dict, "an object", f"{param}.parameters")
        else:
            # Built-in tools (web_search, file_search, mcp, ...) have no name: use the type.
            names.append(tool["name"] if isinstance(tool.get("name"), str) else kind)
        # A function tool is echoed with the API's defaults filled in.
        defaults = FUNCTION_DEFAULTS if kind == "function" else {}
        echoed.append({**defaults, **tool})
    return tuple(names), echoed


def _text_config(raw: dict[str, Any] | None) -> dict[str, Any]:
    """The `text` config as echoed, its format checked: text, json_object or json_schema."""
    text = {"format": None, "verbosity": "medium", **(raw or {})}
    fmt = text["format"]
    if fmt is None:
        text["format"] = {"type": "text"}
        return text
    check_type(fmt, "text.format", dict, "an object")
    kind = _field(fmt, "text.format", "type", str, "a string")
    if kind not in FORMATS:
        raise bad_request(
            f"Invalid value for 'text.format.type': expected one of {', '.join(FORMATS)}, but "
            f"got {kind!r}.",
            param="text.format.type",
            code="invalid_value",
        )
    if kind == "json_schema":
        _field(fmt, "text.format", "name", str, "a string")
        _field(fmt, "text.format", "schema", dict, "an object")
        text["format"] = {"description": None, "strict": False, **fmt}
    return text


def _include(body: Mapping[str, Any]) -> tuple[str, ...]:
    include = optional(body, "include", list, "an array") or []
    for i, value in enumerate(include):
        check_type(value, f"include[{i}]", str, "a string")
    return tuple(include)


def _echo(
    body: Mapping[str, Any],
    instructions: str | None,
    tools: list[dict[str, Any]],
    text: dict[str, Any],
) -> dict[str, Any]:
    """The request settings a response repeats back, with the API's defaults filled in."""
    number = (int, float)
    tier = optional(body, "service_tier", str, "a string")
    return {
        "instructions": instructions,
        "metadata": optional(body, "metadata", dict, "an object") or {},
        "temperature": _or(optional(body, "temperature", number, "a number"), 1.0),
        "top_p": _or(optional(body, "top_p", number, "a number"), 1.0),
        "max_output_tokens": optional(body, "max_output_tokens", int, "an integer"),
        "max_tool_calls": optional(body, "max_tool_calls", int, "an integer"),
        "parallel_tool_calls": _or(optional(body, "parallel_tool_calls", bool, "a boolean"), True),
        "tool_choice": _or(
            optional(body, "tool_choice", (str, dict), "a string or an object"), "auto"
        ),
        "tools": tools,
        "text": text,
        "reasoning": {
            "effort": None,
            "summary": None,
            **(optional(body, "reasoning", dict, "an object") or {}),
        },
        "previous_response_id": optional(body, "previous_response_id", str, "a string"),
        "store": _or(optional(body, "store", bool, "a boolean"), True),
        "background": _or(optional(body, "background", bool, "a boolean"), False),
        "truncation": optional(body, "truncation", str, "a string") or "disabled",
        "top_logprobs": _or(optional(body, "top_logprobs", int, "an integer"), 0),
        # The API answers the tier it served on: "auto" (the default) runs as "default".
        "service_tier": "default" if tier in (None, "auto") else tier,
        "user": optional(body, "user", str, "a string"),
        "safety_identifier": optional(body, "safety_identifier", str, "a string"),
        "prompt_cache_key": optional(body, "prompt_cache_key", str, "a string"),
        "prompt_cache_retention": optional(body, "prompt_cache_retention", str, "a string"),
    }


def _or(value: Any, default: Any) -> Any:
    """`value`, or `default` when absent (unlike `or`, keeps 0 and False)."""
    return default if value is None else value


# --------------------------------------------------------------------------- response


def _outcome(reply: Reply) -> tuple[str, dict[str, str] | None]:
    """(status, incomplete_details) for the reply's finish reason."""
    if reply.finish_reason == "length":
        return "incomplete", {"reason": "max_output_tokens"}
    if reply.finish_reason == "content_filter":
        return "incomplete", {"reason": "content_filter"}
    return "completed", None


def _output_items(request: CanonicalRequest, reply: Reply, status: str) -> list[dict[str, Any]]:
    """The final output items, in the order the API emits them."""
    items: list[dict[str, Any]] = []
    if reply.reasoning is not None:
        reasoning: dict[str, Any] = {
            "id": new_id("rs_", ID_LENGTH),
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": reply.reasoning}],
        }
        if ENCRYPTED_REASONING in request.extras.get("include", ()):
            reasoning["encrypted_content"] = _encrypted(reply)
        items.append(reasoning)
    part: dict[str, Any] | None = None
    if reply.refusal is not None:
        part = {"type": "refusal", "refusal": reply.refusal}
    elif reply.content is not None:
        part = {"type": "output_text", "text": reply.content, "annotations": [], "logprobs": []}
    if part is not None:
        items.append(
            {
                "id": new_id("msg_", ID_LENGTH),
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [part],
            }
        )
    for call in reply.tool_calls:
        items.append(
            {
                "id": new_id("fc_", ID_LENGTH),
                "type": "function_call",
                "status": "completed",
                "arguments": call.arguments,
                "call_id": call.id or new_id("call_"),
                "name": call.name,
            }
        )
    if status == "incomplete" and items and "status" in items[-1]:
        items[-1]["status"] = "incomplete"  # the item the cut-off interrupted
    return items


def _encrypted(reply: Reply) -> str:
    """An opaque blob in place of the encrypted reasoning the API returns on request."""
    if reply.reasoning_signature is not None:
        return reply.reasoning_signature
    return base64.b64encode(b"aimock-reasoning:" + (reply.reasoning or "").encode()).decode()


def _usage(request: CanonicalRequest, reply: Reply) -> dict[str, Any]:
    prompt, completion, reasoning = token_counts(request, reply)
    return {
        "input_tokens": prompt,
        "input_tokens_details": {
            "cached_tokens": reply.cached_tokens or 0,
            "cache_write_tokens": 0,
        },
        "output_tokens": completion + reasoning,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": prompt + completion + reasoning,
    }


def _envelope(request: CanonicalRequest, reply: Reply) -> dict[str, Any]:
    """The response object while in progress: no output, no usage yet."""
    created_at = reply.created or now()
    return {
        "id": reply.id or new_id("resp_", ID_LENGTH),
        "object": "response",
        "created_at": created_at,
        "status": "in_progress",
        "completed_at": None,
        "error": None,
        "incomplete_details": None,
        "model": reply.model or request.model,
        "output": [],
        "usage": None,
        **request.extras.get("echo", {}),
        **_in_conversation(request),
    }


def _in_conversation(request: CanonicalRequest) -> dict[str, Any]:
    conversation = request.extras.get("conversation")
    return {} if conversation is None else {"conversation": {"id": conversation}}


def _finish(envelope: dict[str, Any], request: CanonicalRequest, reply: Reply) -> dict[str, Any]:
    """The final response: the envelope with its outcome, output items and usage."""
    status, incomplete = _outcome(reply)
    return {
        **envelope,
        "status": status,
        "completed_at": envelope["created_at"] if status == "completed" else None,
        "incomplete_details": incomplete,
        "output": _output_items(request, reply, status),
        "usage": _usage(request, reply),
    }


def _pending(final: dict[str, Any], status: str) -> dict[str, Any]:
    """The response before its outcome (a stream's opening, a background response queued,
    in progress or cancelled): the final one's id and settings, no output, no usage."""
    return {
        **final,
        "status": status,
        "completed_at": None,
        "incomplete_details": None,
        "output": [],
        "usage": None,
    }


class Finished:
    """Where `render` leaves a background response's final body for `remember`: the client
    is answered the response `queued`, and the store shows the rest on later retrievals."""

    def __init__(self) -> None:
        self.response: dict[str, Any] | None = None


def render(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> dict[str, Any]:
    del options
    final = _finish(_envelope(request, reply), request, reply)
    finished = request.extras.get("finished")
    if isinstance(finished, Finished):  # background: answered at once, still queued
        finished.response = final
        return _pending(final, PROGRESSION[0])
    return final


# --------------------------------------------------------------------------- stream


class _Events:
    """Makes stream events, numbering them in order from 0."""

    def __init__(self, padded: bool = False) -> None:
        self._next = 0
        self.padded = padded  # text deltas carry `obfuscation`

    def __call__(self, kind: str, tokens: int = 0, **fields: Any) -> Event:
        data = {"type": kind, "sequence_number": self._next, **fields}
        self._next += 1
        return Event(data, name=kind, tokens=tokens)


def stream(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> Iterator[Event]:
    final = _finish(_envelope(request, reply), request, reply)
    return _walk(final, options.chunk_size, padded=bool(request.extras.get("obfuscation")))


# The event that ends a stream, by the response's final status; a cancelled response's
# stream ends after its opening events (the API has no event for it).
TERMINAL_EVENTS = {
    "completed": "response.completed",
    "incomplete": "response.incomplete",
    "failed": "response.failed",
}


def _walk(final: dict[str, Any], size: int, padded: bool) -> Iterator[Event]:
    """The events of a response, from its final body: a new stream's, or a stored one's
    replayed (`GET /v1/responses/{id}?stream=true`)."""
    event = _Events(padded)
    envelope = _pending(final, "in_progress")
    if final.get("background") is True:
        yield event("response.queued", response=_pending(final, PROGRESSION[0]))
    yield event("response.created", response=envelope)
    yield event("response.in_progress", response=envelope)
    terminal = TERMINAL_EVENTS.get(str(final.get("status")))
    if terminal is None:
        return
    for index, item in enumerate(final.get("output") or ()):
        yield event("response.output_item.added", output_index=index, item=_opening(item))
        if _renderable(item):
            yield from _item_events(event, index, item, size)
        yield event("response.output_item.done", output_index=index, item=item)
    yield event(terminal, response=final)


PIECEWISE_PARTS = ("summary_text", "output_text", "refusal")


def _renderable(item: Any) -> bool:
    """Whether an output item is one this module renders piece by piece (a stored response
    recorded from upstream may hold others: they are announced and done, nothing between)."""
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        return False
    kind = item.get("type")
    if kind == "function_call":
        return isinstance(item.get("arguments"), str) and isinstance(item.get("name"), str)
    parts = item.get("summary") if kind == "reasoning" else item.get("content")
    if kind not in ("reasoning", "message") or not isinstance(parts, list) or len(parts) != 1:
        return False
    part = parts[0]
    if not isinstance(part, dict):
        return False
    key = "refusal" if part.get("type") == "refusal" else "text"
    return part.get("type") in PIECEWISE_PARTS and isinstance(part.get(key), str)


def _opening(item: Any) -> Any:
    """An item as `output_item.added` announces it: in progress, its text still empty (one
    this module does not render piece by piece, as it is)."""
    if not _renderable(item):
        return item
    if item["type"] == "reasoning":
        return {"id": item["id"], "type": "reasoning", "summary": []}
    if item["type"] == "message":
        return {**item, "status": "in_progress", "content": []}
    return {**item, "status": "in_progress", "arguments": ""}


def _item_events(event: _Events, index: int, item: dict[str, Any], size: int) -> Iterator[Event]:
    where = {"item_id": item["id"], "output_index": index}
    if item["type"] == "reasoning":
        yield from _summary_events(event, where, item["summary"][0]["text"], size)
    elif item["type"] == "message":
        yield from _content_events(event, where, item["content"][0], size)
    else:
        arguments = item["arguments"]
        for piece in slices(arguments, size):
            yield event(
                "response.function_call_arguments.delta",
                estimate_tokens(piece),
                **where,
                delta=piece,
            )
        yield event(
            "response.function_call_arguments.done",
            **where,
            name=item["name"],
            arguments=arguments,
        )


def _summary_events(event: _Events, where: dict[str, Any], text: str, size: int) -> Iterator[Event]:
    at = {**where, "summary_index": 0}
    yield event(
        "response.reasoning_summary_part.added", **at, part={"type": "summary_text", "text": ""}
    )
    for piece in slices(text, size):
        yield event(
            "response.reasoning_summary_text.delta", estimate_tokens(piece), **at, delta=piece
        )
    yield event("response.reasoning_summary_text.done", **at, text=text)
    yield event(
        "response.reasoning_summary_part.done", **at, part={"type": "summary_text", "text": text}
    )


def _content_events(
    event: _Events, where: dict[str, Any], part: dict[str, Any], size: int
) -> Iterator[Event]:
    at = {**where, "content_index": 0}
    if part["type"] == "refusal":
        refusal = part["refusal"]
        yield event("response.content_part.added", **at, part={"type": "refusal", "refusal": ""})
        for piece in slices(refusal, size):
            yield event("response.refusal.delta", estimate_tokens(piece), **at, delta=piece)
        yield event("response.refusal.done", **at, refusal=refusal)
    else:
        text = part["text"]
        empty = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        yield event("response.content_part.added", **at, part=empty)
        for piece in slices(text, size):
            padding = {"obfuscation": openai_base.padding(len(piece))}
            yield event(
                "response.output_text.delta",
                estimate_tokens(piece),
                **at,
                delta=piece,
                logprobs=[],
                **(padding if event.padded else {}),
            )
        yield event("response.output_text.done", **at, text=text, logprobs=[])
    yield event("response.content_part.done", **at, part=part)


# --------------------------------------------------------------------------- collapse


def collapse(events: Sequence[tuple[str | None, Any]]) -> Reply:
    """A recorded Responses stream back into one answer: the finished output items (from
    `response.output_item.done`, which a cut stream still has for the items it finished)."""
    assembly = Assembly()
    for _, event in events:
        if not isinstance(event, dict):
            continue
        kind = event.get("type")
        if kind in ("response.created", "response.completed", "response.incomplete"):
            response = event.get("response") or {}
            assembly.id = response.get("id") or assembly.id
            assembly.model = response.get("model") or assembly.model
            usage = response.get("usage")
            if isinstance(usage, dict):
                assembly.input_tokens = usage.get("input_tokens")
                assembly.output_tokens = usage.get("output_tokens")
        elif kind == "response.output_item.done":
            _collapse_item(assembly, event.get("item") or {})
    return assembly.reply()


def decode(body: Any) -> Reply:
    """A non-streamed Responses body back into one answer: its output items, read as the
    stream's finished items."""
    body = body if isinstance(body, dict) else {}
    items = [item for item in body.get("output") or () if isinstance(item, dict)]
    return collapse(
        [
            (None, {"type": "response.completed", "response": body}),
            *((None, {"type": "response.output_item.done", "item": item}) for item in items),
        ]
    )


def _collapse_item(assembly: Assembly, item: dict[str, Any]) -> None:
    if item.get("type") == "reasoning":
        assembly.reasoning += [part.get("text", "") for part in item.get("summary") or ()]
    elif item.get("type") == "message":
        for part in item.get("content") or ():
            if part.get("type") == "output_text":
                assembly.text.append(part.get("text", ""))
            elif part.get("type") == "refusal":
                assembly.refusal.append(part.get("refusal", ""))
    elif item.get("type") == "function_call":
        assembly.whole_tool_call(item.get("call_id"), item.get("name", ""), item.get("arguments"))


# --------------------------------------------------------------------------- stored responses

ROUTE = "/responses"

STORE_KEY = "openai.responses"
MAX_STORED = 10_000


# The statuses a background response shows before its end, one a retrieval: created
# `queued`, the first retrieval `in_progress`, the second its end (as video jobs go on polls).
PROGRESSION = ("queued", "in_progress")


class Stored:
    """One kept response: its final body, its request's input items (with ids, as
    `input_items` lists them), the conversation it ends (for `previous_response_id`), where
    a background one is in its progression, and whether its stream pads text deltas."""

    def __init__(
        self,
        response: dict[str, Any],
        items: list[dict[str, Any]],
        messages: tuple[Message, ...],
        *,
        pending: bool = False,
        padded: bool = False,
        asked: tuple[Message, ...] = (),
    ) -> None:
        self.response = response
        self.items = items
        self.messages = messages
        self.asked = asked  # the conversation before its output (what a cancel leaves)
        self.stage = 0 if pending else len(PROGRESSION)
        self.padded = padded

    def shown(self) -> dict[str, Any]:
        """The response as it stands: still queued or in progress, or final."""
        if self.stage < len(PROGRESSION):
            return _pending(self.response, PROGRESSION[self.stage])
        return self.response

    def poll(self) -> dict[str, Any]:
        """A retrieval: a background response moves one step on."""
        self.stage = min(self.stage + 1, len(PROGRESSION))
        return self.shown()

    def finish(self) -> dict[str, Any]:
        """Its final body, a background response run to its end (a stream of it)."""
        self.stage = len(PROGRESSION)
        return self.response

    def cancel(self) -> dict[str, Any]:
        """A background response not finished yet is `cancelled`, with no output; one that
        is finished answers as it is (cancelling twice is idempotent, as in the API)."""
        if self.response.get("background") is not True:
            raise bad_request("Cannot cancel a synchronous response.")
        if self.stage < len(PROGRESSION):
            self.response = _pending(self.response, "cancelled")
            self.messages = self.asked  # a response continuing it sees no output
            self.stage = len(PROGRESSION)
        return self.response


class Store:
    """The kept responses by id, oldest first; past `MAX_STORED` the oldest is dropped."""

    def __init__(self) -> None:
        self.responses: dict[str, Stored] = {}

    def put(self, response_id: str, stored: Stored) -> None:
        self.responses.pop(response_id, None)
        self.responses[response_id] = stored
        while len(self.responses) > MAX_STORED:
            del self.responses[next(iter(self.responses))]

    def get(self, response_id: str) -> Stored | None:
        return self.responses.get(response_id)

    def delete(self, response_id: str) -> bool:
        return self.responses.pop(response_id, None) is not None


def store_of(view: ServerView) -> Store:
    return view.keep(STORE_KEY, Store)


def recall(request: CanonicalRequest, view: ServerView, lenient: bool) -> CanonicalRequest:
    """The request with the conversation its `previous_response_id` ends before its input;
    a 404 when that response is not kept (unless `lenient`: a recorder relays it)."""
    echo: dict[str, Any] = request.extras["echo"]
    previous = echo["previous_response_id"]
    conversation_id = request.extras["conversation"]
    earlier: tuple[Message, ...]
    if conversation_id is not None:
        conversation = conversations_of(view).get(conversation_id)
        if conversation is None:
            if lenient:
                return request
            raise _no_conversation(conversation_id, "conversation")
        earlier = conversation.messages()
    elif previous is not None:
        stored = store_of(view).get(previous)
        if stored is None:
            if lenient:
                return request
            raise ProtocolError(
                ErrorInfo(
                    404,
                    f"Previous response with id '{previous}' not found.",
                    type="invalid_request_error",
                    param="previous_response_id",
                    code="previous_response_not_found",
                )
            )
        earlier = stored.messages
    else:
        return request
    instructions = echo["instructions"]
    messages = [Message("system", instructions)] if instructions is not None else []
    messages.extend(_input_messages(request.extras["input"], earlier))
    return replace(request, messages=tuple(messages))


def remember(request: CanonicalRequest, answer: Any, view: ServerView) -> None:
    """Keep a response (`answer`: the plain body, or the stream's events, whose last one
    holds the final response) unless the request said `store: false` (a background one is
    kept anyway, to be polled); a response in a conversation adds its input and output
    items to it. A background response answered `queued` is kept as `render` finished it."""
    finished = request.extras.get("finished")
    kept = finished.response if isinstance(finished, Finished) else None
    if kept is not None:
        final = kept
    else:
        final = answer if isinstance(answer, dict) else answer[-1].data["response"]
    items = _listed_items(request.extras["input"])
    conversation_id = request.extras["conversation"]
    if conversation_id is not None:
        conversation = conversations_of(view).get(conversation_id)
        if conversation is not None:
            output = [item for item in final.get("output") or () if isinstance(item, dict)]
            conversation.add([*items, *output])
    echo = request.extras["echo"]
    if echo["store"] or echo["background"]:
        keep(store_of(view), request, final, items, pending=kept is not None)


def keep(
    store: Store,
    request: CanonicalRequest,
    final: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    pending: bool = False,
) -> None:
    listed = items if items is not None else _listed_items(request.extras["input"])
    padded = bool(request.extras.get("obfuscation"))
    store.put(
        str(final["id"]),
        Stored(
            final,
            listed,
            _continued(request, final),
            pending=pending,
            padded=padded,
            asked=request.messages,
        ),
    )


ITEM_PREFIXES = {
    "message": "msg_",
    "function_call": "fc_",
    "function_call_output": "fco_",
    "custom_tool_call": "ctc_",
    "custom_tool_call_output": "ctco_",
    "reasoning": "rs_",
    "compaction": "cmp_",
}


def _listed_items(raw: Any) -> list[dict[str, Any]]:
    """A request's input as `input_items` lists it: every item with an id and a status,
    a message's text as content parts."""
    if isinstance(raw, str):
        raw = [{"role": "user", "content": raw}]
    items: list[dict[str, Any]] = []
    for item in raw if isinstance(raw, list) else ():
        if not isinstance(item, dict):
            continue
        kind = item.get("type") or "message"
        listed: dict[str, Any] = {**item, "type": kind}
        if kind == "message" and isinstance(item.get("content"), str):
            part = "output_text" if item.get("role") == "assistant" else "input_text"
            text = {"type": part, "text": item["content"]}
            listed["content"] = [{**text, "annotations": []} if part == "output_text" else text]
        listed.setdefault("id", new_id(ITEM_PREFIXES.get(kind, "item_"), ID_LENGTH))
        if kind != "item_reference":
            listed.setdefault("status", "completed")
        items.append(listed)
    return items


def _not_found(response_id: str) -> ProtocolError:
    return ProtocolError(
        ErrorInfo(
            404,
            f"Response with id '{response_id}' not found.",
            type="invalid_request_error",
            param="response_id",
        )
    )


def _kept(request: web.Request, view: ServerView) -> tuple[str, Stored]:
    response_id = request.match_info["response_id"]
    stored = store_of(view).get(response_id)
    if stored is None:
        raise _not_found(response_id)
    return response_id, stored


async def retrieve(request: web.Request, view: ServerView) -> web.StreamResponse:
    """`GET /v1/responses/{id}`: the kept response as it was answered (a background one a
    step further on each time). `stream=true` replays its events as server-sent events,
    those after `starting_after` (a sequence number) only, re-rendered from the stored
    response in the server's chunks (`--chunk-size`); a background response streamed runs to its
    end. `include_obfuscation=false` leaves out the padding its request's stream had."""
    stored = _kept(request, view)[1]
    query = request.query
    if not _flag(query, "stream", False):
        return json_response(stored.poll())
    after = query.get("starting_after")
    skipped = (
        -1
        if after is None
        else within(_integer(after, "starting_after"), "starting_after", 0, MAX_EVENTS)
    )
    padded = stored.padded and _flag(query, "include_obfuscation", True)
    events = _walk(stored.finish(), view.chunk_size, padded)
    frames = [sse.frame(e.data, e.name) for e in events if e.data["sequence_number"] > skipped]
    return web.Response(
        body=b"".join(frames), content_type=sse.CONTENT_TYPE, headers={"Cache-Control": "no-cache"}
    )


MAX_EVENTS = 2**31 - 1  # the largest `starting_after` taken: no stream has more events


def _flag(query: Mapping[str, str], key: str, default: bool) -> bool:
    """A boolean query parameter (`true` or `false`, as the SDK sends it)."""
    value = query.get(key)
    if value is None:
        return default
    if value not in ("true", "false"):
        raise bad_request(
            f"Invalid value for '{key}': expected a boolean, but got {value[:64]!r}.",
            param=key,
            code="invalid_value",
        )
    return value == "true"


async def cancel(request: web.Request, view: ServerView) -> web.StreamResponse:
    """`POST /v1/responses/{id}/cancel`: a background response not finished yet is cancelled;
    one created without `background` is a 400, as the API answers."""
    return json_response(_kept(request, view)[1].cancel())


def _asked(body: dict[str, Any], view: ServerView) -> CanonicalRequest:
    """A body checked as `POST /v1/responses` checks it, with the conversation its
    `previous_response_id` or `conversation` continues before its input."""
    return recall(parse(body, RequestContext(headers={}), {}), view, False)


async def count_input_tokens(request: web.Request, view: ServerView) -> web.StreamResponse:
    """`POST /v1/responses/input_tokens`: the input tokens a response to the same body
    would report in its usage (the same estimate). `model` may be left out here; given, it
    is checked as create checks it. No fixture is consulted."""
    body = await _body(request, view)
    asked = _asked({**body, "model": _or(body.get("model"), "")}, view)
    tokens = _usage(asked, Reply(kind="message"))["input_tokens"]
    return json_response({"object": "response.input_tokens", "input_tokens": tokens})


async def compact(request: web.Request, view: ServerView) -> web.StreamResponse:
    """`POST /v1/responses/compact`: the conversation (the input, after what its
    `previous_response_id` continues) compacted: its user messages as they were, then one
    `compaction` item holding the rest, which a later request's input restores. No fixture
    is consulted; the same conversation compacts to the same content."""
    asked = _asked(await _body(request, view), view)
    messages = asked.messages
    if asked.extras["echo"]["instructions"] is not None:
        messages = messages[1:]  # instructions are not part of the conversation
    summary = _compacted(_as_items(messages))
    compaction = {
        "id": new_id("cmp_", ID_LENGTH),
        "type": "compaction",
        "encrypted_content": summary,
    }
    kept = [_user_item(m) for m in messages if m.role == "user"]
    usage = _usage(asked, Reply(kind="message", output_tokens=estimate_tokens(summary)))
    return json_response(
        {
            "id": new_id("resp_", ID_LENGTH),
            "object": "response.compaction",
            "created_at": now(),
            "output": [*kept, compaction],
            "usage": usage,
        }
    )


def _user_item(message: Message) -> dict[str, Any]:
    return {
        "id": new_id("msg_", ID_LENGTH),
        "type": "message",
        "status": "completed",
        "role": "user",
        "content": [{"type": "input_text", "text": message.text or ""}],
    }


def _as_items(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Canonical messages as the input items that say them again (a system message as a
    developer one)."""
    items: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "tool":
            output = message.text or ""
            call_id = message.tool_call_id or ""
            items.append({"type": "function_call_output", "call_id": call_id, "output": output})
            continue
        role = "developer" if message.role == "system" else message.role
        if message.text is not None or role != "assistant":
            items.append({"type": "message", "role": role, "content": message.text or ""})
        items.extend(
            {"type": "function_call", "call_id": c.id, "name": c.name, "arguments": c.arguments}
            for c in message.tool_calls
        )
    return items


async def delete(request: web.Request, view: ServerView) -> web.StreamResponse:
    """`DELETE /v1/responses/{id}`."""
    response_id = request.match_info["response_id"]
    if not store_of(view).delete(response_id):
        raise _not_found(response_id)
    return json_response({"id": response_id, "object": "response", "deleted": True})


ORDERS = ("asc", "desc")


async def input_items(request: web.Request, view: ServerView) -> web.StreamResponse:
    """`GET /v1/responses/{id}/input_items`: a page of the request's input items (`order`,
    newest first by default; `after` an item id; `limit` 1-100, 20 by default). `include`
    is accepted: the items hold everything there is."""
    return _listing(request, _kept(request, view)[1].items)


def _listing(request: web.Request, listed: list[dict[str, Any]]) -> web.Response:
    """A page of `listed` (oldest first) by the query's `order`, `after` and `limit`."""
    query = request.query
    order = query.get("order", "desc")
    if order not in ORDERS:
        raise bad_request(
            f"Invalid value for 'order': expected one of asc, desc, but got {order!r}.",
            param="order",
            code="invalid_value",
        )
    limit = within(_integer(query.get("limit", "20"), "limit"), "limit", 1, 100)
    items = listed if order == "asc" else listed[::-1]
    after = query.get("after")
    if after is not None:
        ids = [item["id"] for item in items]
        if after not in ids:
            raise bad_request(f"No item with id '{after}' in this list.", param="after")
        items = items[ids.index(after) + 1 :]
    return json_response(_page(items[:limit], has_more=len(items) > limit))


def _page(page: list[dict[str, Any]], *, has_more: bool) -> dict[str, Any]:
    return {
        "object": "list",
        "data": page,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
        "has_more": has_more,
    }


def _integer(value: str, param: str) -> Any:
    """A query value as an integer, or the value itself for `within` to refuse."""
    try:
        return int(value)
    except ValueError:
        return value


def _stored_routes(provider: str, root: str) -> tuple[PlainRoute, ...]:
    errors = openai_base.errors_for(provider)
    many = f"{root}{ROUTE}"
    one = f"{many}/{{response_id}}"
    return (
        PlainRoute(SURFACE, provider, "GET", one, retrieve, errors),
        PlainRoute(SURFACE, provider, "DELETE", one, delete, errors),
        PlainRoute(SURFACE, provider, "GET", f"{one}/input_items", input_items, errors),
        PlainRoute(SURFACE, provider, "POST", f"{one}/cancel", cancel, errors),
        PlainRoute(SURFACE, provider, "POST", f"{many}/input_tokens", count_input_tokens, errors),
        PlainRoute(SURFACE, provider, "POST", f"{many}/compact", compact, errors),
    )


# --------------------------------------------------------------------------- conversations

CONVERSATIONS_KEY = "openai.conversations"
MAX_CONVERSATIONS = 10_000
MAX_CONVERSATION_ITEMS = 10_000
MAX_ITEMS_AT_ONCE = 20  # items a create may add at once, as the API allows


class ConversationState:
    """One conversation: its metadata and its items, oldest first."""

    def __init__(self, conversation_id: str, metadata: dict[str, Any]) -> None:
        self.id = conversation_id
        self.created_at = now()
        self.metadata = metadata
        self.items: list[dict[str, Any]] = []

    def body(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "conversation",
            "created_at": self.created_at,
            "metadata": self.metadata,
        }

    def add(self, items: list[dict[str, Any]]) -> None:
        if len(self.items) + len(items) > MAX_CONVERSATION_ITEMS:
            raise bad_request(
                f"A conversation holds at most {MAX_CONVERSATION_ITEMS} items in aimock.",
                param="items",
                code="too_many_items",
            )
        self.items.extend(items)

    def messages(self) -> tuple[Message, ...]:
        """The conversation's items as canonical messages (what a response in it continues)."""
        conversation = _Conversation()
        for index, item in enumerate(self.items):
            conversation.add(item, f"conversation.items[{index}]")
        return tuple(conversation.messages)


class Conversations:
    """The kept conversations by id, oldest first; past `MAX_CONVERSATIONS` the oldest goes."""

    def __init__(self) -> None:
        self.by_id: dict[str, ConversationState] = {}

    def create(self, metadata: dict[str, Any]) -> ConversationState:
        made = ConversationState(new_id("conv_", ID_LENGTH), metadata)
        self.by_id[made.id] = made
        while len(self.by_id) > MAX_CONVERSATIONS:
            del self.by_id[next(iter(self.by_id))]
        return made

    def get(self, conversation_id: str) -> ConversationState | None:
        return self.by_id.get(conversation_id)

    def delete(self, conversation_id: str) -> bool:
        return self.by_id.pop(conversation_id, None) is not None


def conversations_of(view: ServerView) -> Conversations:
    return view.keep(CONVERSATIONS_KEY, Conversations)


def _no_conversation(conversation_id: str, param: str = "conversation_id") -> ProtocolError:
    return ProtocolError(
        ErrorInfo(
            404,
            f"Conversation with id '{conversation_id}' not found.",
            type="invalid_request_error",
            param=param,
        )
    )


def _conversation(request: web.Request, view: ServerView) -> ConversationState:
    conversation_id = request.match_info["conversation_id"]
    found = conversations_of(view).get(conversation_id)
    if found is None:
        raise _no_conversation(conversation_id)
    return found


async def _body(request: web.Request, view: ServerView) -> dict[str, Any]:
    """A conversation route's JSON object (an empty body is `{}`)."""
    raw = await read_body(request, view.max_body_bytes)
    return expect_object(parse_json(raw, request.method) if raw.strip() else {})


def _metadata(body: Mapping[str, Any]) -> dict[str, Any]:
    metadata = optional(body, "metadata", dict, "an object") or {}
    if len(metadata) > 16:
        raise bad_request(
            "Invalid 'metadata': at most 16 key-value pairs.",
            param="metadata",
            code="invalid_value",
        )
    for key, value in metadata.items():
        check_type(value, f"metadata.{key}", str, "a string")
    return dict(metadata)


def _new_items(body: Mapping[str, Any], required: bool) -> list[dict[str, Any]]:
    """A create's `items`, checked as response input items are, listed with ids."""
    raw = require(body, "items", list, "an array") if required else body.get("items")
    if raw is None:
        return []
    check_type(raw, "items", list, "an array")
    if len(raw) > MAX_ITEMS_AT_ONCE:
        raise bad_request(
            f"Invalid 'items': array too long. Expected an array with maximum length "
            f"{MAX_ITEMS_AT_ONCE}, but got an array with length {len(raw)} instead.",
            param="items",
            code="array_above_max_length",
        )
    checking = _Conversation()
    for i, item in enumerate(raw):
        checking.add(check_type(item, f"items[{i}]", dict, "an object"), f"items[{i}]")
    return _listed_items(raw)


async def create_conversation(request: web.Request, view: ServerView) -> web.StreamResponse:
    """`POST /v1/conversations` with optional `items` and `metadata`."""
    body = await _body(request, view)
    metadata, items = _metadata(body), _new_items(body, required=False)
    made = conversations_of(view).create(metadata)
    made.add(items)
    return json_response(made.body())


async def retrieve_conversation(request: web.Request, view: ServerView) -> web.StreamResponse:
    return json_response(_conversation(request, view).body())


async def update_conversation(request: web.Request, view: ServerView) -> web.StreamResponse:
    """`POST /v1/conversations/{id}`: its metadata replaced."""
    found = _conversation(request, view)
    body = await _body(request, view)
    if "metadata" not in body:
        raise missing("metadata")
    found.metadata = _metadata(body)
    return json_response(found.body())


async def delete_conversation(request: web.Request, view: ServerView) -> web.StreamResponse:
    found = _conversation(request, view)
    conversations_of(view).delete(found.id)
    return json_response({"id": found.id, "object": "conversation.deleted", "deleted": True})


async def add_items(request: web.Request, view: ServerView) -> web.StreamResponse:
    """`POST /v1/conversations/{id}/items`: the added items, as a list."""
    found = _conversation(request, view)
    items = _new_items(await _body(request, view), required=True)
    found.add(items)
    return json_response(_page(items, has_more=False))


async def list_items(request: web.Request, view: ServerView) -> web.StreamResponse:
    """`GET /v1/conversations/{id}/items`: `order` (desc by default), `after`, `limit`."""
    return _listing(request, _conversation(request, view).items)


def _item(request: web.Request, view: ServerView) -> tuple[ConversationState, int]:
    found = _conversation(request, view)
    item_id = request.match_info["item_id"]
    for index, item in enumerate(found.items):
        if item.get("id") == item_id:
            return found, index
    raise ProtocolError(
        ErrorInfo(
            404,
            f"Item with id '{item_id}' not found.",
            type="invalid_request_error",
            param="item_id",
        )
    )


async def retrieve_item(request: web.Request, view: ServerView) -> web.StreamResponse:
    found, index = _item(request, view)
    return json_response(found.items[index])


async def delete_item(request: web.Request, view: ServerView) -> web.StreamResponse:
    """`DELETE /v1/conversations/{id}/items/{item_id}`: answers the conversation."""
    found, index = _item(request, view)
    del found.items[index]
    return json_response(found.body())


def _conversation_routes(provider: str, root: str) -> tuple[PlainRoute, ...]:
    errors = openai_base.errors_for(provider)
    name = "openai.conversations"
    many = f"{root}/conversations"
    one = f"{many}/{{conversation_id}}"
    item = f"{one}/items/{{item_id}}"
    return (
        PlainRoute(name, provider, "POST", many, create_conversation, errors),
        PlainRoute(name, provider, "GET", one, retrieve_conversation, errors),
        PlainRoute(name, provider, "POST", one, update_conversation, errors),
        PlainRoute(name, provider, "DELETE", one, delete_conversation, errors),
        PlainRoute(name, provider, "POST", f"{one}/items", add_items, errors),
        PlainRoute(name, provider, "GET", f"{one}/items", list_items, errors),
        PlainRoute(name, provider, "GET", item, retrieve_item, errors),
        PlainRoute(name, provider, "DELETE", item, delete_item, errors),
    )


# --------------------------------------------------------------------------- over a socket


def _continued(request: CanonicalRequest, final: Mapping[str, Any]) -> tuple[Message, ...]:
    """The conversation after a response: its request's, then its output items."""
    conversation = _Conversation(request.messages)
    for index, item in enumerate(final.get("output") or ()):
        if isinstance(item, dict) and item.get("type") in ("message", "function_call"):
            conversation.add(item, f"output[{index}]")
    return tuple(conversation.messages)


def _on_lane(event: Event, stream_id: str) -> Event:
    """An event of a response asked for on a socket lane (`stream_id`), which it echoes."""
    return Event({**event.data, "stream_id": stream_id}, event.name, event.tokens)


async def socket_report(link: Link, info: ErrorInfo) -> None:
    """A Responses socket's error event: the HTTP envelope's fields, and the status."""
    error = openai_base.error_body(info)["error"]
    await link.send({"type": "error", "status": info.status, "error": error})


# Responses a socket may have asked for and not been answered yet.
MAX_QUEUED_RESPONSES = 64


class SocketSession:
    """`GET /v1/responses` upgraded: each `response.create` (the body of `POST /v1/responses`,
    streamed without asking) is answered with the same events as the HTTP stream, one
    response after another. The socket keeps its latest response, so a `response.create`
    naming it as `previous_response_id` continues that conversation."""

    def __init__(self, link: Link) -> None:
        self.link = link
        self.latest: tuple[str, tuple[Message, ...]] | None = None
        self.pending: asyncio.Task[None] | None = None
        self.queued = 0  # responses asked for and not yet answered

    async def opened(self) -> None:
        return None

    async def closed(self) -> None:
        return None

    async def received(self, message: Any) -> None:
        body = expect_object(message)
        kind = body.get("type")
        if kind != "response.create":
            shown = str(kind)[:64] if kind is not None else "none"
            raise bad_request(
                f"Invalid value: '{shown}'. Supported values are: 'response.create'.",
                param="type",
                code="invalid_value",
            )
        earlier: tuple[Message, ...] = ()
        latest = self.latest
        previous = body.get("previous_response_id")
        if latest is not None and previous == latest[0]:
            earlier = latest[1]
        elif isinstance(previous, str):
            stored = self._store().get(previous)
            earlier = stored.messages if stored is not None else ()
        request = parse(body, self.link.context, {}, earlier=earlier)
        request = replace(request, stream=True)
        if self.queued >= MAX_QUEUED_RESPONSES:
            raise ProtocolError(
                ErrorInfo(
                    429,
                    f"{MAX_QUEUED_RESPONSES} responses are already waiting on this socket: "
                    "read them before asking for more.",
                    type="rate_limit_error",
                    code="too_many_queued_responses",
                )
            )
        self.queued += 1
        self.pending = self.link.spawn(self._answer(body, request, self.pending))

    async def _answer(
        self,
        body: dict[str, Any],
        request: CanonicalRequest,
        before: asyncio.Task[None] | None,
    ) -> None:
        try:
            if before is not None:  # one response at a time, in the order asked
                await asyncio.wait([before])
            await self._respond(body, request)
        finally:
            self.queued -= 1

    async def _respond(self, body: dict[str, Any], request: CanonicalRequest) -> None:
        lane = body.get("stream_id")
        async with self.link.turn(body) as turn:
            answer = await turn.select(request)
            events = list(stream(request, answer.reply, answer.options))
            if isinstance(lane, str):
                events = [_on_lane(event, lane) for event in events]
            if await turn.stream(events, answer.physics):
                final = events[-1].data["response"]
                self.latest = (str(final["id"]), _continued(request, final))
                if request.extras["echo"]["store"]:
                    keep(self._store(), request, final)

    def _store(self) -> Store:
        """The server's stored responses, which HTTP requests share."""
        return store_of(self.link.request.app[STATE])


SOCKET = SocketSurface(
    name=SURFACE,
    provider="openai",
    paths=openai_base.paths(ROUTE),
    session=SocketSession,
    errors=openai_base.ERRORS,
    report=socket_report,
    endpoint="chat",
)


# Azure's classic client calls `/openai/responses?api-version=...` with or without a
# deployment (responses is not one of its deployment routes); the model is the body's.
PROVIDER = Provider(
    name="openai.responses",
    surfaces=openai_base.surfaces(
        ROUTE,
        openai_base.AZURE_ROOT + ROUTE,
        parse,
        name=SURFACE,
        endpoint="chat",
        render=render,
        stream=stream,
        collapse=collapse,
        decode=decode,
        recall=recall,
        remember=remember,
    ),
    routes=(
        *(route for prefix in openai_base.PREFIXES for route in _stored_routes("openai", prefix)),
        *_stored_routes(openai_base.AZURE, openai_base.AZURE_ROOT),
        *(
            route
            for prefix in openai_base.PREFIXES
            for route in _conversation_routes("openai", prefix)
        ),
    ),
    sockets=(SOCKET,),
)
