"""Small helpers every provider renders with: ids, slicing, token estimates, field checks.

Shared here so no provider copies another's loop.
"""

from __future__ import annotations

import base64
import math
import struct
import time
from collections.abc import Iterator, Mapping, Sequence, Sized
from typing import Any

import orjson

from aimock import ids
from aimock.canonical import CanonicalRequest
from aimock.embedding import deterministic_vector
from aimock.fixtures.compiled import Reply
from aimock.surface import ProtocolError, bad_request, within
from aimock.wire import too_deep

# The largest finite float32: a vector sent as float32 bytes (base64) saturates here, as a
# cast would, instead of failing to pack a fixture's 1e308.
FLOAT32_MAX = float.fromhex("0x1.fffffep+127")
# The most tokens an answer reports for one count. No context holds 2**31 tokens, and below it
# the sums and the nanosecond timings derived from counts stay 64-bit integers, which is what
# the wires (and orjson) carry: a fixture's 10**20 would otherwise fail to serialise.
MAX_REPORTED_TOKENS = 2**31 - 1


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + ids.hex_id(length)


def now() -> int:
    return int(time.time())


def slices(text: str, size: int) -> Iterator[str]:
    """`text` in pieces of at most `size` characters (never an empty piece)."""
    for start in range(0, len(text), max(size, 1)):
        yield text[start : start + size]


def estimate_tokens(text: str | None) -> int:
    """A rough count (4 characters a token), at least 1 for any non-empty text."""
    if not text:
        return 0
    return max(1, math.ceil(len(text) / 4))


def missing(param: str) -> ProtocolError:
    """The 400 OpenAI answers for an absent required parameter."""
    return bad_request(
        f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter"
    )


def not_blank(text: str, param: str) -> str:
    """`text`, or the 400 OpenAI answers for an empty input string (an embedding or a
    moderation of nothing)."""
    if not text:
        raise bad_request(
            f"Invalid '{param}': string too short. Expected a string with minimum length 1, "
            "but got an empty string instead.",
            param=param,
            code="string_below_min_length",
        )
    return text


def require(body: Any, key: str, kind: type | tuple[type, ...], what: str) -> Any:
    """body[key], or an OpenAI-style 400 naming the parameter."""
    if key not in body or body[key] is None:
        raise missing(key)
    return check_type(body[key], key, kind, what)


def optional(
    body: Mapping[str, Any],
    key: str,
    kind: type | tuple[type, ...],
    what: str,
    param: str | None = None,
) -> Any:
    """body[key] when given (None when absent or null); a wrong type is a 400 naming `param`
    (the key itself by default; pass the full path, e.g. `messages[2].tool_calls`)."""
    value = body.get(key)
    if value is None:
        return None
    return check_type(value, param or key, kind, what)


_JSON_NAMES = {
    str: "a string",
    list: "an array",
    dict: "an object",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
}


def json_type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    for kind, name in _JSON_NAMES.items():
        if isinstance(value, kind):
            return name
    return type(value).__name__


def check_type(value: Any, param: str, kind: type | tuple[type, ...], what: str) -> Any:
    ok = isinstance(value, kind) and not (isinstance(value, bool) and bool not in _kinds(kind))
    if not ok:
        raise bad_request(
            f"Invalid type for '{param}': expected {what}, but got {json_type_name(value)} "
            "instead.",
            param=param,
            code="invalid_type",
        )
    return value


def bounded(body: Mapping[str, Any], key: str, low: int, high: int) -> int | None:
    """body[key] as an integer in [low, high] when given (None when absent or null); out of
    range or not an integer, a 400 naming it. For every size-like field: each provider module
    names its limits, and the real API's, in one place."""
    value = body.get(key)
    if value is None:
        return None
    return within(value, key, low, high)


def at_most(items: Sized, param: str, limit: int) -> None:
    """A 400 (OpenAI's wording, rendered in the route's envelope) when an array holds more
    than `limit` items: every input is embedded, ranked or judged in a loop."""
    if len(items) > limit:
        raise bad_request(
            f"Invalid '{param}': array too long. Expected an array with maximum length "
            f"{limit}, but got an array with length {len(items)} instead.",
            param=param,
            code="array_above_max_length",
        )


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def expect_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request(
            f"The request body must be a JSON object, but got {json_type_name(body)}.",
            code="invalid_json",
        )
    return body


def text_of(content: Any, param: str, part_types: tuple[str, ...] = ("text",)) -> str | None:
    """The text of a message's content: a string, or the text parts of a part list joined.

    None when the content holds no text at all (e.g. images only)."""
    if content is None:
        return None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for i, part in enumerate(content):
            if not isinstance(part, dict):
                raise bad_request(
                    f"Invalid type for '{param}[{i}]': expected an object, but got "
                    f"{json_type_name(part)} instead.",
                    param=f"{param}[{i}]",
                    code="invalid_type",
                )
            if part.get("type") in part_types and isinstance(part.get("text"), str):
                texts.append(part["text"])
        return "".join(texts) if texts else None
    raise bad_request(
        f"Invalid type for '{param}': expected a string or an array of content parts, but got "
        f"{json_type_name(content)} instead.",
        param=param,
        code="invalid_type",
    )


def token_counts(request: CanonicalRequest, reply: Reply) -> tuple[int, int, int]:
    """(input, visible output, reasoning) tokens; a surface reports output + reasoning as its
    completion total, as OpenAI and Anthropic count reasoning inside the output tokens.

    A fixture's numbers win over estimates. A fixture's output count is that total, so it is
    reported unchanged and the reasoning share is carved out of it, not added on top.
    """
    prompt = _reported(reply.input_tokens)
    if prompt is None:
        prompt = max(1, -(-request.prompt_chars // 4))
    reasoning = _reported(reply.reasoning_tokens)
    if reasoning is None:
        reasoning = estimate_tokens(reply.reasoning)
    total = _reported(reply.output_tokens)
    if total is None:
        visible = estimate_tokens(reply.content) + estimate_tokens(reply.refusal)
        for call in reply.tool_calls:
            visible += estimate_tokens(call.name) + estimate_tokens(call.arguments)
        return prompt, visible, reasoning
    if reply.reasoning_tokens is None:
        reasoning = min(reasoning, total)  # an estimate never exceeds the fixture's total
    return prompt, max(0, total - reasoning), reasoning


def embedded_tokens(
    request: CanonicalRequest, reply: Reply, texts: Sequence[str] | None = None
) -> int:
    """The input tokens an embeddings answer reports for `texts` (the request's inputs by
    default): the fixture's count, else four characters a token."""
    given = _reported(reply.input_tokens)
    if given is not None:
        return given
    return sum(estimate_tokens(text) for text in (request.inputs if texts is None else texts))


def _reported(tokens: int | None) -> int | None:
    """A fixture's token count, at most `MAX_REPORTED_TOKENS`."""
    return None if tokens is None else min(tokens, MAX_REPORTED_TOKENS)


def embedding_vector(
    reply: Reply, text: str, dimensions: int | None, default_dimensions: int
) -> list[float]:
    """The vector answered for one input: the fixture's (cut to `dimensions` when asked), or
    the deterministic one derived from the text."""
    if reply.embedding is not None:
        vector = list(reply.embedding)
        return vector[:dimensions] if dimensions else vector
    return deterministic_vector(text, dimensions or default_dimensions)


def json_document_of(arguments: str) -> Any:
    """Tool-call arguments (JSON text) as the JSON document wires that carry documents need;
    text that is not JSON becomes {}. So does JSON nested deeper than a request may be: the
    answer wraps the document in a few more levels, and past 254 orjson cannot write it."""
    raw = (arguments or "{}").encode()
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    return {} if too_deep(raw, value) else value


def json_object_of(arguments: str) -> dict[str, Any]:
    """Tool-call arguments as the object wires that carry objects need; anything that is not
    a JSON object (or that `json_document_of` refuses) becomes {}."""
    value = json_document_of(arguments)
    return value if isinstance(value, dict) else {}


def float32_base64(vector: list[float]) -> str:
    """A vector as base64 of little-endian float32 (the `base64` encoding of embeddings)."""
    saturated = [max(-FLOAT32_MAX, min(FLOAT32_MAX, value)) for value in vector]
    return base64.b64encode(struct.pack(f"<{len(saturated)}f", *saturated)).decode()


def decode_embedding(body: Any) -> Reply:
    """An embeddings answer of any provider back into one reply (its first vector), for
    record mode: OpenAI's `data[].embedding` (floats or base64 float32), Gemini's
    `embedding.values` / `embeddings[].values` / Vertex `predictions[].embeddings.values`,
    Cohere's `embeddings` (a list, or by type: `{float: [...]}`), Ollama's `embeddings` /
    `embedding`."""
    if not isinstance(body, Mapping):
        raise ValueError("an embeddings answer is an object")
    found: Any = None
    if isinstance(body.get("data"), list) and body["data"]:
        found = body["data"][0].get("embedding")
    elif "embedding" in body:
        found = body["embedding"]
    elif "embeddings" in body:
        found = body["embeddings"]
        if isinstance(found, Mapping):  # Cohere by type: the float vectors
            found = found.get("float")
        found = found[0] if isinstance(found, list) and found else None
    elif isinstance(body.get("predictions"), list) and body["predictions"]:
        found = (body["predictions"][0].get("embeddings") or {}).get("values")
    if isinstance(found, Mapping):
        found = found.get("values")
    if isinstance(found, str):
        raw = base64.b64decode(found)
        found = list(struct.unpack(f"<{len(raw) // 4}f", raw))
    if not isinstance(found, list) or not all(isinstance(x, int | float) for x in found):
        raise ValueError("no embedding vector in the answer")
    return Reply(kind="embedding", embedding=tuple(float(x) for x in found))
