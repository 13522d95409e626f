"""OpenAI embeddings: `POST /v1/embeddings` (and the same on Azure's
`/openai/deployments/{deployment}/embeddings` and the OpenAI-compatible bases, see openai_base).

A miss (when not strict) answers a deterministic vector per input, so retrieval code runs
without a fixture per sentence. `encoding_format: base64` (the SDK's default) is little-endian
float32 bytes; `dimensions` is honoured for both explicit and derived vectors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aimock.canonical import CanonicalRequest, RequestContext
from aimock.fixtures.compiled import Reply
from aimock.providers import openai_base
from aimock.providers.common import (
    at_most,
    bounded,
    check_type,
    decode_embedding,
    embedded_tokens,
    embedding_vector,
    expect_object,
    float32_base64,
    new_id,
    not_blank,
    optional,
    require,
)
from aimock.surface import Provider, RenderOptions, bad_request

SURFACE = "openai.embeddings"
DEFAULT_DIMENSIONS = 1536
# The API's limits (API reference, `input` and `dimensions`): at most 2048 inputs a request,
# and no more dimensions than the widest model has (text-embedding-3-large: 3072).
MAX_INPUTS = 2048
MAX_DIMENSIONS = 3072


def parse(
    body: Any, context: RequestContext, params: Mapping[str, str], provider: str = "openai"
) -> CanonicalRequest:
    body = expect_object(body)
    model = params.get("deployment") or require(body, "model", str, "a string")
    raw = require(body, "input", (str, list), "a string or an array")
    inputs = _inputs(raw)
    dimensions = bounded(body, "dimensions", 1, MAX_DIMENSIONS)
    encoding = optional(body, "encoding_format", str, "a string") or "float"
    if encoding not in ("float", "base64"):
        raise bad_request(
            f"Invalid value for 'encoding_format': expected 'float' or 'base64', but got "
            f"{encoding!r}.",
            param="encoding_format",
            code="invalid_value",
        )
    return CanonicalRequest(
        surface=SURFACE,
        provider=provider,
        endpoint="embedding",
        model=model,
        context=context,
        inputs=tuple(inputs),
        extras={
            "dimensions": dimensions,
            "encoding_format": encoding,
            "with_id": openai_base.from_mistral(context),
        },
    )


def _inputs(raw: str | list[Any]) -> list[str]:
    if isinstance(raw, str):
        return [not_blank(raw, "input")]
    if not raw:
        raise bad_request("'input' must not be empty.", param="input", code="empty_array")
    # Token arrays (list of ints, or list of lists of ints) are embedded by their digits.
    if all(_is_token(item) for item in raw):
        return [" ".join(map(str, raw))]  # one input, whatever its length
    at_most(raw, "input", MAX_INPUTS)
    if all(isinstance(item, str) for item in raw):
        return [not_blank(item, f"input[{i}]") for i, item in enumerate(raw)]
    if all(isinstance(item, list) for item in raw):
        return [_tokens_text(item, f"input[{i}]") for i, item in enumerate(raw)]
    raise bad_request(
        "Invalid 'input': expected a string, an array of strings, or token arrays.",
        param="input",
        code="invalid_type",
    )


def _is_token(item: Any) -> bool:
    return isinstance(item, int) and not isinstance(item, bool)


def _tokens_text(tokens: list[Any], param: str) -> str:
    """One token array's ids as the text embedded; anything but integers is a 400."""
    for j, token in enumerate(tokens):
        check_type(token, f"{param}[{j}]", int, "an integer")
    return " ".join(map(str, tokens))


def _encode(vector: list[float], encoding: str) -> list[float] | str:
    return float32_base64(vector) if encoding == "base64" else vector


def render(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> dict[str, Any]:
    del options
    dimensions = request.extras.get("dimensions")
    encoding = request.extras.get("encoding_format", "float")
    data = []
    for index, text in enumerate(request.inputs):
        vector = embedding_vector(reply, text, dimensions, DEFAULT_DIMENSIONS)
        data.append({"object": "embedding", "index": index, "embedding": _encode(vector, encoding)})
    tokens = embedded_tokens(request, reply)
    body = {
        "object": "list",
        "data": data,
        "model": reply.model or request.model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
    if request.extras.get("with_id"):  # Mistral's embeddings carry an id; its SDK needs it
        body = {"id": reply.id or new_id("embd-"), **body}
    return body


def fallback(request: CanonicalRequest) -> Reply:
    del request
    return Reply(kind="embedding")


ROUTE = "/embeddings"

PROVIDER = Provider(
    name="openai.embeddings",
    surfaces=openai_base.surfaces(
        ROUTE,
        openai_base.azure_deployment_path(ROUTE),
        parse,
        name=SURFACE,
        endpoint="embedding",
        render=render,
        decode=decode_embedding,
        fallback=fallback,
    ),
)
