"""Google Gemini: the Gemini API and Vertex AI, generate (plain and streamed), embed and
count tokens. The request and response shapes live in gemini_base.py; this module is routes.

Where google-genai 3.x sends each call (verified in its `_api_client.py` / `models.py`):

    Gemini API   {base}/v1/models/{m}:<method>       (v1 is the default; `api_version` or
                 {base}/v1beta/models/{m}:<method>    GOOGLE_GENAI_API_VERSION=beta: v1beta)
    Vertex AI    {base}/v1beta1/projects/{p}/locations/{l}/publishers/google/models/{m}:<method>
                 {base}/v1beta1/publishers/google/models/{m}:<method>   (express mode, api key)

`v1alpha` (Gemini) and `v1` (Vertex) are served too. The colon sits inside the last segment
and is sent unescaped; a client that escapes it (`%3A`) is routed the same, as aiohttp
matches the decoded path.

Methods: `generateContent`, `streamGenerateContent` (SSE whether or not `?alt=sse` is given;
the JSON-array stream of a bare call is not spoken), `countTokens` (a plain route: the same
estimate `usageMetadata.promptTokenCount` reports, no fixture), and embeddings:

    Gemini API  :batchEmbedContents {requests: [{content, outputDimensionality}]}
                  -> {embeddings: [{values}]}   (google-genai embeds only this way)
                :embedContent {content, outputDimensionality} -> {embedding: {values}}
    Vertex      :embedContent {content, embedContentConfig} -> {embedding, usageMetadata,
                  truncated}          (gemini-* embedding models, one input)
                :batchEmbedContents {requests: [{content, embedContentConfig}]}
                  -> {embeddings: [{values}]}          (gemini-* models, several inputs)
                :predict {instances: [{content}], parameters: {outputDimensionality}}
                  -> {predictions: [{embeddings: {values, statistics}}]}  (text-embedding-*)

A miss on an embedding route answers the deterministic vector (as OpenAI embeddings do).
Vertex routes are separate surfaces with the same names and provider "vertex", so a fixture's
`match.provider: vertex` (or `gemini`) tells the two apart and the journal shows which.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson
from aiohttp import web

from aimock.canonical import CanonicalRequest, RequestContext
from aimock.fixtures.compiled import Reply
from aimock.providers import gemini_base
from aimock.providers.common import (
    check_type,
    embedding_vector,
    estimate_tokens,
    expect_object,
    token_counts,
)
from aimock.providers.gemini_base import ERRORS, VERTEX, error_body, parse_generate, typed
from aimock.surface import (
    ErrorInfo,
    Parse,
    PlainRoute,
    ProtocolError,
    Provider,
    RenderOptions,
    ServerView,
    Surface,
    bad_request,
)

GEMINI = "gemini"
GENERATE = "gemini.generate"
EMBED = "gemini.embed"
COUNT_TOKENS = "gemini.count_tokens"

GEMINI_MODELS = tuple(f"/{version}/models/{{model}}" for version in ("v1beta", "v1", "v1alpha"))
VERTEX_MODELS = tuple(
    f"/{version}/{scope}publishers/{{publisher}}/models/{{model}}"
    for version in ("v1beta1", "v1")
    for scope in ("projects/{project}/locations/{location}/", "")
)


def _paths(roots: tuple[str, ...], method: str) -> tuple[str, ...]:
    return tuple(f"{root}:{method}" for root in roots)


# --------------------------------------------------------------------------- generate


def _generate_parse(provider: str, stream: bool) -> Parse:
    def parse(body: Any, context: RequestContext, params: Mapping[str, str]) -> CanonicalRequest:
        return parse_generate(
            expect_object(body),
            context,
            surface=GENERATE,
            provider=provider,
            model=params.get("model", ""),
            stream=stream,
        )

    return parse


def _generate_surfaces(provider: str, roots: tuple[str, ...]) -> tuple[Surface, ...]:
    plain = Surface(
        name=GENERATE,
        provider=provider,
        endpoint="chat",
        method="POST",
        paths=_paths(roots, "generateContent"),
        parse=_generate_parse(provider, stream=False),
        render=gemini_base.render,
        errors=ERRORS,
    )
    streamed = Surface(
        name=GENERATE,
        provider=provider,
        endpoint="chat",
        method="POST",
        paths=_paths(roots, "streamGenerateContent"),
        parse=_generate_parse(provider, stream=True),
        render=gemini_base.render,
        stream=gemini_base.stream,
        errors=ERRORS,
        collapse=gemini_base.collapse,
    )
    return plain, streamed


# --------------------------------------------------------------------------- embeddings

# What each embedding method reads: the input texts and the asked dimensionality.
Inputs = tuple[list[str], int | None]


def _content_text(content: Any, path: str) -> str:
    """The text an embedding input holds: its text parts joined."""
    check_type(content, path, dict, "an object")
    texts = gemini_base.system_text(content)  # a Content's text, whatever its role
    return texts or ""


def _dimensions(*sources: Mapping[str, Any] | None) -> int | None:
    """`outputDimensionality`, from the first place that gives it (top level, or inside
    `embedContentConfig` as Vertex puts it)."""
    for source in sources:
        if not source:
            continue
        config = typed(source, "embedContentConfig", dict, "an object", "") or {}
        for holder in (source, config):
            found = typed(holder, "outputDimensionality", int, "an integer", "")
            if found is not None:
                if found < 1:
                    raise bad_request(
                        f"* outputDimensionality: must be positive, got {found}",
                        param="outputDimensionality",
                    )
                return int(found)
    return None


def _embed_content(body: Mapping[str, Any]) -> Inputs:
    content = typed(body, "content", dict, "an object", "")
    if content is None:
        raise bad_request("* EmbedContentRequest.content: content is not specified")
    return [_content_text(content, "content")], _dimensions(body)


def _batch_embed_contents(body: Mapping[str, Any]) -> Inputs:
    requests = typed(body, "requests", list, "an array", "")
    if not requests:
        raise bad_request("* BatchEmbedContentsRequest.requests: requests is not specified")
    texts = []
    for i, item in enumerate(requests):
        check_type(item, f"requests[{i}]", dict, "an object")
        texts.append(_content_text(item.get("content"), f"requests[{i}].content"))
    return texts, _dimensions(*requests)


def _predict(body: Mapping[str, Any]) -> Inputs:
    instances = typed(body, "instances", list, "an array", "")
    if not instances:
        raise bad_request("* PredictRequest.instances: instances is not specified")
    texts = []
    for i, instance in enumerate(instances):
        check_type(instance, f"instances[{i}]", dict, "an object")
        texts.append(
            check_type(instance.get("content"), f"instances[{i}].content", str, "a string")
        )
    parameters = typed(body, "parameters", dict, "an object", "") or {}
    return texts, _dimensions(parameters)


_READERS: dict[str, Callable[[Mapping[str, Any]], Inputs]] = {
    "embedContent": _embed_content,
    "batchEmbedContents": _batch_embed_contents,
    "predict": _predict,
}


def _embed_parse(provider: str, method: str) -> Parse:
    read = _READERS[method]

    def parse(body: Any, context: RequestContext, params: Mapping[str, str]) -> CanonicalRequest:
        texts, dimensions = read(expect_object(body))
        return CanonicalRequest(
            surface=EMBED,
            provider=provider,
            endpoint="embedding",
            model=params.get("model", ""),
            context=context,
            inputs=tuple(texts),
            extras={"method": method, "dimensions": dimensions},
        )

    return parse


def _default_dimensions(model: str) -> int:
    """gemini-embedding-001 answers 3072 values; text-embedding-004/005 and the rest 768."""
    return 3072 if "gemini-embedding" in model else 768


def render_embedding(
    request: CanonicalRequest, reply: Reply, options: RenderOptions
) -> dict[str, Any]:
    del options
    dimensions = request.extras.get("dimensions")
    default = _default_dimensions(request.model)
    vectors = [embedding_vector(reply, text, dimensions, default) for text in request.inputs]
    tokens = [estimate_tokens(text) for text in request.inputs]
    if reply.input_tokens is not None:
        tokens = [reply.input_tokens] * len(tokens)
    method = request.extras.get("method")
    if method == "embedContent":
        body: dict[str, Any] = {"embedding": {"values": vectors[0]}}
        if request.provider == VERTEX:
            body["usageMetadata"] = {"promptTokenCount": tokens[0], "totalTokenCount": tokens[0]}
            body["truncated"] = False
        return body
    if method == "predict":
        predictions = [
            {"embeddings": {"values": vector, "statistics": {"truncated": False, "token_count": n}}}
            for vector, n in zip(vectors, tokens, strict=True)
        ]
        billable = sum(len(text) for text in request.inputs)
        return {"predictions": predictions, "metadata": {"billableCharacterCount": billable}}
    return {"embeddings": [{"values": vector} for vector in vectors]}


def embedding_fallback(request: CanonicalRequest) -> Reply:
    del request
    return Reply(kind="embedding")


def _embed_surfaces(provider: str, roots: tuple[str, ...]) -> tuple[Surface, ...]:
    methods = ("embedContent", "batchEmbedContents") + (("predict",) if provider == VERTEX else ())
    return tuple(
        Surface(
            name=EMBED,
            provider=provider,
            endpoint="embedding",
            method="POST",
            paths=_paths(roots, method),
            parse=_embed_parse(provider, method),
            render=render_embedding,
            errors=ERRORS,
            fallback=embedding_fallback,
        )
        for method in methods
    )


# --------------------------------------------------------------------------- countTokens


async def count_tokens(request: web.Request, view: ServerView) -> web.StreamResponse:
    """`:countTokens` -> `{totalTokens}`: the estimate a generate call's
    `usageMetadata.promptTokenCount` reports for the same contents. No fixture is consulted.
    The body is `{contents, ...}` or (Gemini API) `{generateContentRequest: {...}}`."""
    del view
    try:
        body = expect_object(await _read_json(request))
        inner = typed(body, "generateContentRequest", dict, "an object", "")
        canonical = parse_generate(
            inner if inner is not None else body,
            RequestContext(headers={}),
            surface=COUNT_TOKENS,
            provider=GEMINI,
            model=request.match_info.get("model", ""),
            stream=False,
        )
    except ProtocolError as exc:
        return _json(error_body(exc.info), exc.info.status)
    prompt, _, _ = token_counts(canonical, Reply(kind="message"))
    return _json({"totalTokens": prompt})


async def _read_json(request: web.Request) -> Any:
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise ProtocolError(ErrorInfo(413, "Request payload size exceeds the limit")) from None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"Invalid JSON payload received. {exc}") from None


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


def _count_routes(provider: str, roots: tuple[str, ...]) -> tuple[PlainRoute, ...]:
    return tuple(
        PlainRoute(COUNT_TOKENS, provider, "POST", path, count_tokens, ERRORS)
        for path in _paths(roots, "countTokens")
    )


PROVIDER = Provider(
    name=GEMINI,
    surfaces=(
        *_generate_surfaces(GEMINI, GEMINI_MODELS),
        *_embed_surfaces(GEMINI, GEMINI_MODELS),
        *_generate_surfaces(VERTEX, VERTEX_MODELS),
        *_embed_surfaces(VERTEX, VERTEX_MODELS),
    ),
    routes=(*_count_routes(GEMINI, GEMINI_MODELS), *_count_routes(VERTEX, VERTEX_MODELS)),
    # google-genai reads the base URLs (only used when http_options gives none) and the key;
    # GOOGLE_API_KEY would win over GEMINI_API_KEY, and setting both makes it log a warning.
    # Vertex also needs GOOGLE_GENAI_USE_VERTEXAI and a project/location, which are the
    # user's to choose (setting them here would turn every client into a Vertex one).
    environment={
        "GOOGLE_GEMINI_BASE_URL": "{origin}",
        "GOOGLE_VERTEX_BASE_URL": "{origin}",
        "GEMINI_API_KEY": "aimock",
    },
)
