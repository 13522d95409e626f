"""Shared by the converters: which of our surfaces a path (or a path pattern) is, and a
provider's canned answer body read back into a fixture `response`.

A canned body is read as the provider's client would read it: an OpenAI chat completion
(`choices[0].message`: content, tool_calls, refusal, reasoning_content), a Responses API
response, an Anthropic message, a Gemini `generateContent` answer, an Ollama chat answer,
an embeddings list, an error envelope, or a stream of any of those (SSE `data:` lines,
Ollama's NDJSON) with its deltas joined. What a fixture cannot say (a second choice, logprobs,
a stream's own slicing) comes back as notes, with the JSON path inside the body.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import orjson

FINISH = {"stop", "length", "tool_calls", "content_filter", "function_call"}
ANTHROPIC_FINISH = {
    "end_turn": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "stop_sequence": "stop",
}
GEMINI_FINISH = {"STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter"}
# Body fields a client reads but a fixture leaves to aimock (ids, clocks): not worth a note.
ENVELOPE = {
    "id",
    "object",
    "created",
    "created_at",
    "model",
    "system_fingerprint",
    "service_tier",
    "type",
    "role",
    "index",
    "logprobs",
    "usage",
    "finish_reason",
    "stop_reason",
    "stop_sequence",
    "status",
}

Notes = list[tuple[str, str]]  # (JSON path inside the body, reason)


@cache
def _surface_paths() -> tuple[tuple[str, str], ...]:
    """Every POST path of every surface with a sample for each `{placeholder}`."""
    return tuple((sample, name) for sample, name, _template in _surface_templates())


@cache
def _surface_templates() -> tuple[tuple[str, str, re.Pattern[str]], ...]:
    """Every POST path of every surface: a sample, the surface, and the path as a regex with
    its `{model}` as a group."""
    from aimock.providers.registry import PROVIDERS  # the CLI command only

    found: list[tuple[str, str, re.Pattern[str]]] = []
    for provider in PROVIDERS:
        for surface in provider.surfaces:
            for path in getattr(surface, "paths", ()) or ():
                sample = re.sub(r"\{model\}", "gpt-4o", path)
                sample = re.sub(r"\{[^}]+\}", "sample", sample)
                pattern = re.escape(path).replace(r"\{model\}", "(?P<model>[^/:]+)")
                pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
                found.append((sample, surface.name, re.compile(pattern)))
    return tuple(found)


def model_in_path(path: str) -> str | None:
    """The model a literal path names (`/v1beta/models/gemini-2.0-flash:generateContent`)."""
    path = path.split("?", 1)[0]
    for _sample, _name, template in _surface_templates():
        found = template.fullmatch(path)
        if found and "model" in found.groupdict():
            return found["model"]
    return None


CHAT = {
    "openai.chat",
    "openai.responses",
    "openai.completions",
    "anthropic.messages",
    "gemini.generate",
    "bedrock.converse",
    "bedrock.invoke",
    "ollama.chat",
    "ollama.generate",
    "cohere.chat",
}
EMBED = {"openai.embeddings", "gemini.embed", "ollama.embed", "cohere.embed"}
# More surfaces than this for one answer: the fixture names none, and answers each it fits.
MAX_SURFACES = 3


def scoped(surfaces: list[str], answer: dict[str, Any]) -> tuple[list[str | None], str | None]:
    """The `match.surface` values to write one fixture each for (None: no surface), and a
    note when the answer's kind or their number changed them."""
    if "error" in answer:
        kind = None
    elif "embedding" in answer:
        kind = EMBED
    else:
        kind = CHAT
    fitting = [s for s in surfaces if kind is None or s in kind]
    if not fitting:
        return (
            [],
            f"the answer (a {'embedding' if kind is EMBED else 'chat'} answer) fits "
            f"none of the surfaces the path reaches ({', '.join(surfaces)})",
        )
    if len(fitting) > MAX_SURFACES:
        return [None], (
            f"the path reaches {len(fitting)} surfaces: the fixture names none, "
            "and answers every surface its answer fits"
        )
    return list(fitting), None


def surfaces_for_path(path: str) -> list[str]:
    """The surfaces a literal request path reaches (`/v1/chat/completions` -> openai.chat)."""
    path = path.split("?", 1)[0]
    exact = [name for sample, name in _surface_paths() if sample == path]
    if exact:
        return _unique(exact)
    # A literal path with its own model or deployment in it.
    return _unique(name for sample, name in _surface_paths() if _template(sample).fullmatch(path))


def surfaces_for_pattern(pattern: str, *, search: bool) -> list[str] | None:
    """The surfaces whose paths a regex matches (`search`: anywhere in the path, as
    JavaScript's `test` and Rust's `is_match`; else the whole path, as Java's `matches`).
    None when the pattern is not a regex Python reads."""
    try:
        compiled = re.compile(_python_regex(pattern))
    except (re.error, RecursionError, OverflowError):
        return None
    test = compiled.search if search else compiled.fullmatch
    return _unique(name for sample, name in _surface_paths() if test(sample))


def _python_regex(pattern: str) -> str:
    # Java and Rust spell a named group (?<name>...); Python (?P<name>...).
    return re.sub(r"\(\?<([A-Za-z_]\w*)>", r"(?P<\1>", pattern)


@cache
def _template(sample: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"sample|gpt-4o", "[^/]+", re.escape(sample).replace(r"\-", "-")))


def _unique(names: Any) -> list[str]:
    return list(dict.fromkeys(names))


# --- bodies ---------------------------------------------------------------------------------


def parse_body(text: str) -> Any:
    """A body as JSON, or as a list of the JSON events of a stream (SSE or NDJSON); None when
    it is neither."""
    stripped = text.strip()
    if not stripped:
        return None
    try:
        return orjson.loads(stripped)
    except orjson.JSONDecodeError:
        pass
    events = list(_stream_events(stripped))
    return {"__stream__": events} if events else None


def _stream_events(text: str) -> Iterator[Any]:
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith(("event:", ":", "id:", "retry:")) or not line:
            continue
        data = line[5:].strip() if line.startswith("data:") else line
        if data == "[DONE]":
            continue
        try:
            yield orjson.loads(data)
        except orjson.JSONDecodeError:
            continue


def decode(body: Any, status: int = 200) -> tuple[dict[str, Any] | None, Notes]:
    """A canned answer as a fixture `response` (None when no fixture can say it), and the
    notes on what it left out."""
    notes: Notes = []
    if isinstance(body, dict) and "__stream__" in body:
        return _decode_stream(body["__stream__"], notes)
    if not isinstance(body, dict):
        return None, [("$", "the body is not a JSON object a provider answers with")]
    if status >= 400 or ("error" in body and not body.get("choices")):
        return _decode_error(body, status, notes)
    if isinstance(body.get("choices"), list):
        return _decode_chat(body, notes)
    if body.get("object") == "response" or isinstance(body.get("output"), list):
        return _decode_responses(body, notes)
    if body.get("type") == "message" and isinstance(body.get("content"), list):
        return _decode_anthropic(body, notes)
    if isinstance(body.get("candidates"), list):
        return _decode_gemini(body, notes)
    if isinstance(body.get("message"), dict) and "done" in body:
        return _decode_ollama(body, notes)
    if isinstance(body.get("data"), list) and all(
        isinstance(d, dict) and "embedding" in d for d in body["data"]
    ):
        return _decode_embeddings(body, notes)
    if isinstance(body.get("embedding"), dict) or isinstance(body.get("embeddings"), list):
        return _decode_embeddings(body, notes)
    return None, [
        (
            "$",
            "not an answer of a provider aimock serves (chat completion, "
            "Responses, Anthropic message, Gemini, Ollama, embeddings, error)",
        )
    ]


def _usage(usage: Any, response: dict[str, Any]) -> None:
    if not isinstance(usage, dict):
        return
    names = {
        "prompt_tokens": "prompt_tokens",
        "completion_tokens": "completion_tokens",
        "input_tokens": "input_tokens",
        "output_tokens": "output_tokens",
        "promptTokenCount": "input_tokens",
        "candidatesTokenCount": "output_tokens",
    }
    kept = {
        ours: usage[theirs]
        for theirs, ours in names.items()
        if isinstance(usage.get(theirs), int)
        and not isinstance(usage.get(theirs), bool)
        and usage[theirs] >= 0
    }
    if kept:
        response["usage"] = kept


def _overrides(body: dict[str, Any], response: dict[str, Any]) -> None:
    for theirs, ours in (
        ("id", "id"),
        ("model", "model"),
        ("system_fingerprint", "systemFingerprint"),
    ):
        if isinstance(body.get(theirs), str) and body[theirs]:
            response[ours] = body[theirs]
    created = body.get("created")
    if isinstance(created, int) and not isinstance(created, bool) and 0 <= created <= 2**40:
        response["created"] = created


def _arguments(value: Any) -> str:
    if isinstance(value, str):
        return value or "{}"
    return orjson.dumps(value if value is not None else {}).decode()


def _decode_chat(body: dict[str, Any], notes: Notes) -> tuple[dict[str, Any] | None, Notes]:
    choices = body["choices"]
    if not choices or not isinstance(choices[0], dict):
        return None, [("$.choices", "no choice to answer with")]
    if len(choices) > 1:
        notes.append(
            ("$.choices[1:]", "only the first choice is carried (a fixture answers one choice)")
        )
    choice = choices[0]
    message = choice.get("message")
    if not isinstance(message, dict):
        message = choice.get("delta") if isinstance(choice.get("delta"), dict) else None
    if message is None:
        return None, [("$.choices[0].message", "missing")]
    response: dict[str, Any] = {}
    content = message.get("content")
    if isinstance(content, str) and content:
        response["content"] = content
    elif isinstance(content, list):  # content parts
        text = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        if text:
            response["content"] = text
    calls = message.get("tool_calls")
    if isinstance(calls, list) and calls:
        response["toolCalls"] = _openai_calls(calls, "$.choices[0].message.tool_calls", notes)
    if isinstance(message.get("function_call"), dict):
        call = message["function_call"]
        response.setdefault("toolCalls", []).append(
            {"name": call.get("name") or "", "arguments": _arguments(call.get("arguments"))}
        )
    for theirs in ("reasoning_content", "reasoning"):
        if isinstance(message.get(theirs), str) and message[theirs]:
            response["reasoning"] = message[theirs]
    if isinstance(message.get("refusal"), str) and message["refusal"]:
        response["refusal"] = message["refusal"]
    if choice.get("logprobs"):
        notes.append(("$.choices[0].logprobs", "logprobs are not carried"))
    if choice.get("finish_reason") in FINISH:
        response["finishReason"] = choice["finish_reason"]
    _usage(body.get("usage"), response)
    _overrides(body, response)
    return _answer(response, notes)


def _openai_calls(calls: list[Any], where: str, notes: Notes) -> list[dict[str, Any]]:
    out = []
    for index, call in enumerate(calls):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict):
            notes.append((f"{where}[{index}]", "not a function call"))
            continue
        spec: dict[str, Any] = {
            "name": function.get("name") or "",
            "arguments": _arguments(function.get("arguments")),
        }
        if isinstance(call.get("id"), str) and call["id"]:
            spec["id"] = call["id"]
        out.append(spec)
    return out


def _decode_responses(body: dict[str, Any], notes: Notes) -> tuple[dict[str, Any] | None, Notes]:
    response: dict[str, Any] = {}
    texts: list[str] = []
    for index, item in enumerate(body.get("output") or []):
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "message":
            for part in item.get("content") or []:
                if isinstance(part, dict) and part.get("type") == "output_text":
                    texts.append(str(part.get("text", "")))
                elif isinstance(part, dict) and part.get("type") == "refusal":
                    response["refusal"] = str(part.get("refusal", ""))
        elif kind == "function_call":
            call = {"name": item.get("name") or "", "arguments": _arguments(item.get("arguments"))}
            if isinstance(item.get("call_id"), str):
                call["id"] = item["call_id"]
            response.setdefault("toolCalls", []).append(call)
        elif kind == "reasoning":
            summary = [s.get("text", "") for s in item.get("summary") or [] if isinstance(s, dict)]
            if any(summary):
                response["reasoning"] = "".join(summary)
        else:
            notes.append((f"$.output[{index}]", f"an output item of type {kind!r} is not carried"))
    if any(texts):
        response["content"] = "".join(texts)
    _usage(body.get("usage"), response)
    return _answer(response, notes)


def _decode_anthropic(body: dict[str, Any], notes: Notes) -> tuple[dict[str, Any] | None, Notes]:
    response: dict[str, Any] = {}
    texts: list[str] = []
    for index, block in enumerate(body["content"]):
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text", "")))
        elif kind == "tool_use":
            call = {"name": block.get("name") or "", "arguments": _arguments(block.get("input"))}
            if isinstance(block.get("id"), str):
                call["id"] = block["id"]
            response.setdefault("toolCalls", []).append(call)
        elif kind == "thinking":
            response["reasoning"] = str(block.get("thinking", ""))
            if isinstance(block.get("signature"), str) and block["signature"]:
                response["reasoningSignature"] = block["signature"]
        elif kind == "redacted_thinking":
            response.setdefault("redactedThinking", []).append(str(block.get("data", "")))
        else:
            notes.append(
                (f"$.content[{index}]", f"a content block of type {kind!r} is not carried")
            )
    if any(texts):
        response["content"] = "".join(texts)
    if body.get("stop_reason") in ANTHROPIC_FINISH:
        response["finishReason"] = ANTHROPIC_FINISH[body["stop_reason"]]
    _usage(body.get("usage"), response)
    _overrides(body, response)
    return _answer(response, notes)


def _decode_gemini(body: dict[str, Any], notes: Notes) -> tuple[dict[str, Any] | None, Notes]:
    candidates = body["candidates"]
    if not candidates or not isinstance(candidates[0], dict):
        return None, [("$.candidates", "no candidate to answer with")]
    if len(candidates) > 1:
        notes.append(("$.candidates[1:]", "only the first candidate is carried"))
    response: dict[str, Any] = {}
    texts: list[str] = []
    content = candidates[0].get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    for part in parts or []:
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("text"), str):
            if part.get("thought"):
                response["reasoning"] = response.get("reasoning", "") + part["text"]
            else:
                texts.append(part["text"])
        elif isinstance(part.get("functionCall"), dict):
            call = part["functionCall"]
            response.setdefault("toolCalls", []).append(
                {"name": call.get("name") or "", "arguments": _arguments(call.get("args"))}
            )
    if any(texts):
        response["content"] = "".join(texts)
    finish = candidates[0].get("finishReason")
    if finish in GEMINI_FINISH and "toolCalls" not in response:
        response["finishReason"] = GEMINI_FINISH[finish]
    _usage(body.get("usageMetadata"), response)
    return _answer(response, notes)


def _decode_ollama(body: dict[str, Any], notes: Notes) -> tuple[dict[str, Any] | None, Notes]:
    message = body["message"]
    response: dict[str, Any] = {}
    if isinstance(message.get("content"), str) and message["content"]:
        response["content"] = message["content"]
    if isinstance(message.get("thinking"), str) and message["thinking"]:
        response["reasoning"] = message["thinking"]
    for call in message.get("tool_calls") or []:
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            response.setdefault("toolCalls", []).append(
                {
                    "name": function.get("name") or "",
                    "arguments": _arguments(function.get("arguments")),
                }
            )
    return _answer(response, notes)


def _decode_embeddings(body: dict[str, Any], notes: Notes) -> tuple[dict[str, Any] | None, Notes]:
    vectors: list[Any] = []
    if isinstance(body.get("data"), list):
        vectors = [d.get("embedding") for d in body["data"]]
    elif isinstance(body.get("embedding"), dict):
        vectors = [body["embedding"].get("values")]
    elif isinstance(body.get("embeddings"), list):
        vectors = [e.get("values") if isinstance(e, dict) else e for e in body["embeddings"]]
    vectors = [v for v in vectors if isinstance(v, list) and v]
    if not vectors or not all(
        isinstance(x, int | float) and not isinstance(x, bool) for x in vectors[0]
    ):
        return None, [("$.data", "no embedding vector of numbers (a base64 vector is not read)")]
    if any(v != vectors[0] for v in vectors[1:]):
        notes.append(
            ("$.data[1:]", "a fixture answers one vector for every input: the first is carried")
        )
    return {"embedding": [float(x) for x in vectors[0]]}, notes


def _decode_error(
    body: dict[str, Any], status: int, notes: Notes
) -> tuple[dict[str, Any] | None, Notes]:
    error = body.get("error")
    if isinstance(error, dict):
        message = error.get("message")
        spec: dict[str, Any] = {"message": str(message) if message else f"HTTP {status}"}
        for key in ("type", "code", "param"):
            value = error.get(key) if key != "type" else (error.get("type") or error.get("status"))
            if isinstance(value, str) and value:
                spec[key] = value
            elif key == "code" and isinstance(value, int) and not isinstance(value, bool):
                spec[key] = str(value)
    elif isinstance(error, str):
        spec = {"message": error}
    elif isinstance(body.get("message"), str):
        spec = {"message": body["message"]}
    else:
        spec = {"message": f"HTTP {status}"}
        notes.append(
            ("$", "the error body is not a provider's error envelope: its message is aimock's")
        )
    response: dict[str, Any] = {"error": spec}
    response["status"] = status if 400 <= status <= 599 else 500
    return response, notes


def _answer(response: dict[str, Any], notes: Notes) -> tuple[dict[str, Any] | None, Notes]:
    if not any(k in response for k in ("content", "toolCalls", "refusal", "reasoning")):
        return None, [*notes, ("$", "the answer holds no text, tool call, refusal or reasoning")]
    return response, notes


# --- streams --------------------------------------------------------------------------------


def _decode_stream(events: list[Any], notes: Notes) -> tuple[dict[str, Any] | None, Notes]:
    """A recorded stream as one answer: its deltas joined."""
    notes.append(
        (
            "$",
            "a canned stream is carried as its joined answer: aimock streams it in "
            "the provider's own events, with its own slicing",
        )
    )
    text: list[str] = []
    reasoning: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    finish: str | None = None
    usage: Any = None
    for event in events:
        if not isinstance(event, dict):
            continue
        if isinstance(event.get("choices"), list):  # OpenAI chat chunks
            for choice in event["choices"]:
                delta = choice.get("delta") if isinstance(choice, dict) else None
                if not isinstance(delta, dict):
                    continue
                if isinstance(delta.get("content"), str):
                    text.append(delta["content"])
                if isinstance(delta.get("reasoning_content"), str):
                    reasoning.append(delta["reasoning_content"])
                for call in delta.get("tool_calls") or []:
                    if not isinstance(call, dict):
                        continue
                    slot = calls.setdefault(
                        int(call.get("index") or 0), {"name": "", "arguments": ""}
                    )
                    function = call.get("function") or {}
                    if isinstance(call.get("id"), str):
                        slot["id"] = call["id"]
                    if isinstance(function, dict):
                        slot["name"] += str(function.get("name") or "")
                        slot["arguments"] += str(function.get("arguments") or "")
                if choice.get("finish_reason") in FINISH:
                    finish = choice["finish_reason"]
            usage = event.get("usage") or usage
        elif event.get("type") == "content_block_start":  # Anthropic
            block = event.get("content_block") or {}
            if isinstance(block, dict) and block.get("type") == "tool_use":
                calls[int(event.get("index") or 0)] = {
                    "name": str(block.get("name") or ""),
                    "arguments": "",
                    **({"id": block["id"]} if isinstance(block.get("id"), str) else {}),
                }
        elif event.get("type") == "content_block_delta":
            delta = event.get("delta") or {}
            if not isinstance(delta, dict):
                continue
            if delta.get("type") == "text_delta":
                text.append(str(delta.get("text", "")))
            elif delta.get("type") == "thinking_delta":
                reasoning.append(str(delta.get("thinking", "")))
            elif delta.get("type") == "input_json_delta":
                slot = calls.setdefault(int(event.get("index") or 0), {"name": "", "arguments": ""})
                slot["arguments"] += str(delta.get("partial_json", ""))
        elif event.get("type") == "message_delta":
            delta = event.get("delta")
            reason = delta.get("stop_reason") if isinstance(delta, dict) else None
            if isinstance(reason, str) and reason in ANTHROPIC_FINISH:
                finish = ANTHROPIC_FINISH[reason]
        elif event.get("type") == "response.output_text.delta":  # Responses
            text.append(str(event.get("delta", "")))
        elif isinstance(event.get("candidates"), list):  # Gemini
            decoded, _ = _decode_gemini(event, [])
            if decoded:
                text.append(decoded.get("content", ""))
                for call in decoded.get("toolCalls", []):
                    calls[len(calls)] = call
        elif isinstance(event.get("message"), dict):  # Ollama NDJSON
            message = event["message"]
            if isinstance(message.get("content"), str):
                text.append(message["content"])
    response: dict[str, Any] = {}
    if "".join(text):
        response["content"] = "".join(text)
    if "".join(reasoning):
        response["reasoning"] = "".join(reasoning)
    if calls:
        response["toolCalls"] = [
            {**c, "arguments": c.get("arguments") or "{}"} for _, c in sorted(calls.items())
        ]
    if finish:
        response["finishReason"] = finish
    _usage(usage, response)
    return _answer(response, notes)
