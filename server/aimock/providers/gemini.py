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

Methods: `generateContent`, `streamGenerateContent` (SSE with `?alt=sse`, as google-genai
asks; otherwise, as Google answers a bare call or a GAPIC `$alt=json` one, a JSON array
written element by element, `application/json`), `countTokens` (a plain route: the same
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

Models (plain routes, `gemini.models`): `GET {v}/models[/{m}]` -> `{models: [Model],
nextPageToken?}` / `Model`; Vertex `GET {v}[/projects/{p}/locations/{l}]/publishers/{pub}/models
[/{m}]` -> `{publisherModels: [PublisherModel]}` / `PublisherModel` (google-genai sends these
GETs without the project prefix). `GET /v1/models` is OpenAI's listing too: these routes
`accept` only a Google client's request (its `x-goog-api-key` / `x-goog-api-client` header or
`key=`), and the app hands every other request to OpenAI's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from aiohttp import web

from aimock.canonical import CanonicalRequest, Message, RequestContext
from aimock.fixtures.compiled import Reply
from aimock.providers import gemini_base
from aimock.providers.common import (
    check_type,
    decode_embedding,
    embedded_tokens,
    embedding_vector,
    expect_object,
    token_counts,
)
from aimock.providers.gemini_base import ERRORS, VERTEX, parse_generate, typed, value
from aimock.providers.images_media import (
    PNG_TYPE,
    GivenImage,
    ImageReply,
    digest,
    image_bytes,
    image_reply,
)
from aimock.surface import (
    ErrorInfo,
    Parse,
    PlainHandler,
    PlainRoute,
    ProtocolError,
    Provider,
    RenderOptions,
    ServerView,
    Surface,
    bad_request,
    within,
)
from aimock.wire import json_response, read_json

GEMINI = "gemini"
GENERATE = "gemini.generate"
EMBED = "gemini.embed"
IMAGES = "gemini.images"
COUNT_TOKENS = "gemini.count_tokens"
MODELS = "gemini.models"

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
        decode=gemini_base.decode,
        render=gemini_base.render,
        errors=ERRORS,
        candidates=gemini_base.image_candidates,
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
        framing_for=gemini_base.framing,
        errors=ERRORS,
        collapse=gemini_base.collapse,
        decode=gemini_base.decode,
        candidates=gemini_base.image_candidates,
    )
    return plain, streamed


# --------------------------------------------------------------------------- embeddings

# What each embedding method reads: the input texts and the asked dimensionality.
Inputs = tuple[list[str], int | None]
# The APIs' limits: `outputDimensionality` up to gemini-embedding-001's 3072 values; a
# batchEmbedContents of at most 100 requests (Google's 400 "at most 100 requests can be in
# one batch"); Vertex's predict takes at most 250 instances (text-embedding-* models).
MAX_DIMENSIONS = 3072
MAX_BATCH = 100
MAX_INSTANCES = 250


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
            found = value(holder, "outputDimensionality")
            if found is not None:
                return within(found, "outputDimensionality", 1, MAX_DIMENSIONS)
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
    _at_most(requests, "BatchEmbedContentsRequest.requests", "requests", MAX_BATCH)
    texts = []
    for i, item in enumerate(requests):
        check_type(item, f"requests[{i}]", dict, "an object")
        texts.append(_content_text(item.get("content"), f"requests[{i}].content"))
    return texts, _dimensions(*requests)


def _at_most(items: list[Any], field: str, what: str, limit: int) -> None:
    """Google's 400 for a batch past its size, e.g. "* BatchEmbedContentsRequest.requests: at
    most 100 requests can be in one batch"."""
    if len(items) > limit:
        raise bad_request(
            f"* {field}: at most {limit} {what} can be in one batch",
            param=what,
        )


def _predict(body: Mapping[str, Any]) -> Inputs:
    instances = typed(body, "instances", list, "an array", "")
    if not instances:
        raise bad_request("* PredictRequest.instances: instances is not specified")
    _at_most(instances, "PredictRequest.instances", "instances", MAX_INSTANCES)
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
    tokens = [embedded_tokens(request, reply, [text]) for text in request.inputs]
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
    methods = ("embedContent", "batchEmbedContents")
    embed = tuple(
        Surface(
            name=EMBED,
            provider=provider,
            endpoint="embedding",
            method="POST",
            paths=_paths(roots, method),
            parse=_embed_parse(provider, method),
            render=render_embedding,
            decode=decode_embedding,
            errors=ERRORS,
            fallback=embedding_fallback,
        )
        for method in methods
    )
    return (*embed, _predict_surface(provider, roots))


# --------------------------------------------------------------------------- :predict (Imagen)

# Imagen's limits: 1 to 4 images a request (`sampleCount`), in one of five aspect ratios.
MAX_SAMPLES = 4
ASPECT_RATIOS = ("1:1", "3:4", "4:3", "9:16", "16:9")
IMAGE_TYPES = ("image/png", "image/jpeg")


def _is_imagen(body: Mapping[str, Any]) -> bool:
    """Whether a `:predict` body is Imagen's (`instances[].prompt`) rather than Vertex's
    text embeddings (`instances[].content`): the two share the method."""
    instances = body.get("instances")
    first = instances[0] if isinstance(instances, list) and instances else None
    return isinstance(first, dict) and "prompt" in first and "content" not in first


def _imagen_parse(provider: str) -> Parse:
    def parse(body: Any, context: RequestContext, params: Mapping[str, str]) -> CanonicalRequest:
        body = expect_object(body)
        instances = typed(body, "instances", list, "an array", "")
        if not instances:
            raise bad_request("* PredictRequest.instances: instances is not specified")
        first = check_type(instances[0], "instances[0]", dict, "an object")
        prompt = check_type(first.get("prompt"), "instances[0].prompt", str, "a string")
        if not prompt:
            raise bad_request("The prompt is empty.", param="instances[0].prompt")
        parameters = typed(body, "parameters", dict, "an object", "") or {}
        count = value(parameters, "sampleCount")
        count = 1 if count is None else within(count, "sampleCount", 1, MAX_SAMPLES)
        ratio = typed(parameters, "aspectRatio", str, "a string", "parameters")
        if ratio is not None and ratio not in ASPECT_RATIOS:
            raise bad_request(
                f"Unsupported aspect ratio {ratio!r}; supported: {', '.join(ASPECT_RATIOS)}.",
                param="aspectRatio",
            )
        output = typed(parameters, "outputOptions", dict, "an object", "parameters") or {}
        mime = typed(output, "mimeType", str, "a string", "outputOptions")
        if mime is not None and mime not in IMAGE_TYPES:
            raise bad_request(
                f"Unsupported output mime type {mime!r}; supported: {', '.join(IMAGE_TYPES)}.",
                param="outputOptions.mimeType",
            )
        quality = typed(output, "compressionQuality", int, "an integer", "outputOptions")
        if quality is not None and not 0 <= quality <= 100:
            raise bad_request(
                "compressionQuality must be between 0 and 100.",
                param="outputOptions.compressionQuality",
            )
        enhance = typed(parameters, "enhancePrompt", bool, "a boolean", "parameters")
        return CanonicalRequest(
            surface=IMAGES,
            provider=provider,
            endpoint="image",
            model=params.get("model", ""),
            context=context,
            messages=(Message("user", prompt),),
            inputs=(prompt,),
            extras={
                "count": count,
                "aspect_ratio": ratio,
                "enhance": bool(enhance),
                "mime": mime or PNG_TYPE,
                "quality": quality,
            },
        )

    return parse


def render_images(
    request: CanonicalRequest, reply: Reply, options: RenderOptions
) -> dict[str, Any]:
    """`{predictions: [{bytesBase64Encoded, mimeType, prompt?}]}`: the fixture's images (its
    bytes, else the generated PNG), or `sampleCount` generated PNGs. `prompt` is the enhanced
    prompt, sent when a fixture gives one (`revisedPrompt`)."""
    del options
    part = reply.extension(ImageReply)
    given = list(part.images) if part is not None and part.images else []
    if not given:
        given = [GivenImage()] * int(request.extras.get("count") or 1)
    base = request.last_user_text or ""
    size = request.extras.get("aspect_ratio")
    mime = str(request.extras.get("mime") or PNG_TYPE)
    fmt = "jpeg" if mime == "image/jpeg" else "png"
    quality = request.extras.get("quality")
    predictions = []
    for i, image in enumerate(given):
        seed = digest(base if i == 0 else f"{base}\n#{i}")
        item: dict[str, Any] = {
            "bytesBase64Encoded": image_bytes(image, seed, size, fmt, quality),
            "mimeType": image.mime_type if image.b64_json else mime,
        }
        if image.revised_prompt is not None:
            item["prompt"] = image.revised_prompt
        predictions.append(item)
    return {"predictions": predictions}


def _predict_surface(provider: str, roots: tuple[str, ...]) -> Surface:
    """`:predict`: Imagen on both APIs; on Vertex also the text-embedding models, told apart
    by the body (`_is_imagen`). The Vertex route's name stays `gemini.embed` (the route
    predates Imagen); an Imagen request's `match.surface` is `gemini.images` either way."""
    imagen = _imagen_parse(provider)
    if provider != VERTEX:
        return Surface(
            name=IMAGES,
            provider=provider,
            endpoint="image",
            method="POST",
            paths=_paths(roots, "predict"),
            parse=imagen,
            render=render_images,
            errors=ERRORS,
            fallback=image_fallback,
        )
    embed = _embed_parse(provider, "predict")

    def parse(body: Any, context: RequestContext, params: Mapping[str, str]) -> CanonicalRequest:
        if isinstance(body, dict) and _is_imagen(body):
            return imagen(body, context, params)
        return embed(body, context, params)

    def render(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> dict[str, Any]:
        if request.endpoint == "image":
            return render_images(request, reply, options)
        return render_embedding(request, reply, options)

    def fallback(request: CanonicalRequest) -> Reply:
        return (
            image_fallback(request) if request.endpoint == "image" else embedding_fallback(request)
        )

    return Surface(
        name=EMBED,
        provider=provider,
        endpoint="embedding",
        method="POST",
        paths=_paths(roots, "predict"),
        parse=parse,
        render=render,
        decode=decode_embedding,
        errors=ERRORS,
        fallback=fallback,
    )


def image_fallback(request: CanonicalRequest) -> Reply:
    """A miss, when not strict: the generated images."""
    del request
    return Reply(kind="image")


# --------------------------------------------------------------------------- countTokens


async def count_tokens(request: web.Request, view: ServerView) -> web.StreamResponse:
    """`:countTokens` -> `{totalTokens}`: the estimate a generate call's
    `usageMetadata.promptTokenCount` reports for the same contents. No fixture is consulted.
    The body is `{contents, ...}` or (Gemini API) `{generateContentRequest: {...}}`."""
    body = expect_object(await read_json(request, view.max_body_bytes))
    inner = typed(body, "generateContentRequest", dict, "an object", "")
    canonical = parse_generate(
        inner if inner is not None else body,
        RequestContext(headers={}),
        surface=COUNT_TOKENS,
        provider=GEMINI,
        model=request.match_info.get("model", ""),
        stream=False,
    )
    prompt, _, _ = token_counts(canonical, Reply(kind="message"))
    return json_response({"totalTokens": prompt})


def _count_routes(provider: str, roots: tuple[str, ...]) -> tuple[PlainRoute, ...]:
    return tuple(
        PlainRoute(COUNT_TOKENS, provider, "POST", path, count_tokens, ERRORS)
        for path in _paths(roots, "countTokens")
    )


# --------------------------------------------------------------------------- models

# What the listing shows when no fixture names a Google model.
DEFAULT_MODELS = ("gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.0-flash", "gemini-embedding-001")
# Model families Google serves; other names (gpt-4o, claude-...) are not listed here.
_GOOGLE_MODEL = re.compile(
    r"^(gemini|gemma|learnlm|imagen|veo|text-embedding|text-multilingual-embedding|embedding)-"
)
# Gemini models that think (2.5 and later).
_THINKING_MODEL = re.compile(r"^gemini-(2\.[5-9]|[3-9])")
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 50, 1000
_GENERATION_METHODS = (
    "generateContent",
    "countTokens",
    "createCachedContent",
    "batchGenerateContent",
)
_EMBEDDING_METHODS = ("embedContent", "countTextTokens", "countTokens", "asyncBatchEmbedContent")


def is_google_model(model_id: str) -> bool:
    return bool(_GOOGLE_MODEL.match(model_id)) and ":" not in model_id


def _listed_models(view: ServerView) -> list[str]:
    """The Google models fixtures name, else a default set (as the OpenAI listing does)."""
    named = [model for model in view.models if is_google_model(model)]
    return named or list(DEFAULT_MODELS)


def _display_name(model_id: str) -> str:
    """gemini-2.5-flash -> Gemini 2.5 Flash."""
    return " ".join(word.capitalize() for word in model_id.split("-"))


def model_card(model_id: str) -> dict[str, Any]:
    """A Gemini API `Model`. The limits are the current models' (1M in, 64K out; embeddings
    2048 in): the mock cannot know a name it has never heard of better."""
    embedding = "embedding" in model_id
    card: dict[str, Any] = {
        "name": f"models/{model_id}",
        "baseModelId": model_id,
        "version": "001",
        "displayName": _display_name(model_id),
        "description": f"{_display_name(model_id)}, served by aimock.",
        "inputTokenLimit": 2048 if embedding else 1_048_576,
        "outputTokenLimit": 1 if embedding else 65_536,
        "supportedGenerationMethods": list(
            _EMBEDDING_METHODS if embedding else _GENERATION_METHODS
        ),
    }
    if not embedding:
        card.update(temperature=1.0, topP=0.95, topK=64, maxTemperature=2.0)
        if _THINKING_MODEL.match(model_id):
            card["thinking"] = True
    return card


def publisher_model_card(model_id: str, publisher: str = "google") -> dict[str, Any]:
    """A Vertex AI `PublisherModel` (what google-genai reads: name and versionId)."""
    return {
        "name": f"publishers/{publisher}/models/{model_id}",
        "versionId": "default",
        "openSourceCategory": "PROPRIETARY",
        "launchStage": "GA",
    }


def _page(request: web.Request, models: list[str]) -> tuple[list[str], str | None]:
    """One page of `models` as `pageSize` / `pageToken` ask (the token is opaque to clients;
    here it is the offset of the next page)."""
    try:
        size = int(request.query.get("pageSize") or DEFAULT_PAGE_SIZE)
        start = int(request.query.get("pageToken") or 0)
    except ValueError:
        raise bad_request("Invalid pageSize or pageToken.") from None
    if start < 0 or start > len(models):
        raise bad_request("Invalid pageToken.")
    size = min(size, MAX_PAGE_SIZE) if size > 0 else DEFAULT_PAGE_SIZE
    end = start + size
    return models[start:end], (str(end) if end < len(models) else None)


def _listing(provider: str) -> PlainHandler:
    vertex = provider == VERTEX

    async def list_models(request: web.Request, view: ServerView) -> web.StreamResponse:
        page, token = _page(request, _listed_models(view))
        if vertex:
            publisher = request.match_info.get("publisher", "google")
            cards = [publisher_model_card(m, publisher) for m in page]
            body: dict[str, Any] = {"publisherModels": cards}
        else:
            body = {"models": [model_card(m) for m in page]}
        if token is not None:
            body["nextPageToken"] = token
        return json_response(body)

    return list_models


def _lookup(provider: str) -> PlainHandler:
    vertex = provider == VERTEX

    async def get_model(request: web.Request, view: ServerView) -> web.StreamResponse:
        """Any model the listing shows or that looks like Google's: aimock answers generate
        calls for every name, so it describes every name it would serve."""
        model_id = request.match_info["model"]
        if model_id not in _listed_models(view) and not is_google_model(model_id):
            raise ProtocolError(ErrorInfo(404, _not_found(model_id, request, vertex)))
        if vertex:
            publisher = request.match_info.get("publisher", "google")
            return json_response(publisher_model_card(model_id, publisher))
        return json_response(model_card(model_id))

    return get_model


def _not_found(model_id: str, request: web.Request, vertex: bool) -> str:
    if vertex:
        return f"Publisher Model `publishers/google/models/{model_id}` not found."
    version = request.path.split("/")[1]
    return (
        f"models/{model_id} is not found for API version {version}, or is not supported "
        "for getModel. Call ListModels to see the list of available models."
    )


def from_google_client(request: web.Request) -> bool:
    """A request from a Google client: its API key header or `key=` parameter, or the
    `x-goog-api-client` header every Google SDK sends. `GET /v1/models` is also OpenAI's
    listing, which the openai SDK calls with none of these."""
    headers = request.headers
    return "x-goog-api-key" in headers or "x-goog-api-client" in headers or "key" in request.query


def _model_routes() -> tuple[PlainRoute, ...]:
    routes: list[PlainRoute] = []
    for version in ("v1beta", "v1", "v1alpha"):
        collection = f"/{version}/models"
        routes += [
            PlainRoute(MODELS, GEMINI, "GET", collection, _listing(GEMINI), ERRORS),
            # `.+`, the same pattern as OpenAI's `/v1/models/{model:.+}`: one route, two owners.
            PlainRoute(MODELS, GEMINI, "GET", collection + "/{model:.+}", _lookup(GEMINI), ERRORS),
        ]
    for root in VERTEX_MODELS:
        collection = root.removesuffix("/{model}")
        routes += [
            PlainRoute(MODELS, VERTEX, "GET", collection, _listing(VERTEX), ERRORS),
            PlainRoute(MODELS, VERTEX, "GET", root, _lookup(VERTEX), ERRORS),
        ]
    return tuple(replace(route, accepts=from_google_client) for route in routes)


PROVIDER = Provider(
    name=GEMINI,
    surfaces=(
        *_generate_surfaces(GEMINI, GEMINI_MODELS),
        *_embed_surfaces(GEMINI, GEMINI_MODELS),
        *_generate_surfaces(VERTEX, VERTEX_MODELS),
        *_embed_surfaces(VERTEX, VERTEX_MODELS),
    ),
    routes=(
        *_count_routes(GEMINI, GEMINI_MODELS),
        *_count_routes(VERTEX, VERTEX_MODELS),
        *_model_routes(),
    ),
    # google-genai reads the base URLs (only used when http_options gives none) and the key;
    # GOOGLE_API_KEY would win over GEMINI_API_KEY, and setting both makes it log a warning.
    # Vertex also needs GOOGLE_GENAI_USE_VERTEXAI and a project/location, which are the
    # user's to choose (setting them here would turn every client into a Vertex one).
    environment={
        "GOOGLE_GEMINI_BASE_URL": "{origin}",
        "GOOGLE_VERTEX_BASE_URL": "{origin}",
        "GEMINI_API_KEY": "aimock",
    },
    extensions=(image_reply,),
)
