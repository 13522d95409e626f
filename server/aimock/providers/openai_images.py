"""OpenAI images: `POST /v1/images/generations` (JSON) and `POST /v1/images/edits` (an upload,
multipart/form-data), on every OpenAI base (see openai_base) and Azure's deployment paths;
`POST /v1/images/variations` as OpenAI answers it now; and `GET /v1/aimock/images/{name}`,
where the generated images' URLs point.

The prompt is the request's user message, so `match.userMessage` picks a fixture, with
`match.model` and `match.endpoint: image`. A fixture's `image: {url?, b64Json?,
revisedPrompt?}` or `images: [...]` (AIMock's shapes) gives the images; without one (a
fixture with only `revisedPrompt`, or a miss when not strict) each image is a small PNG whose
pixels follow from the prompt (`images_media`), the same bytes for the same prompt.

`response_format` is honoured for DALL-E models (`url` by default, or `b64_json`); GPT Image
models always answer `b64_json`, with `usage`, as OpenAI's do. A generated image's URL is the
mock's own (`{origin}/v1/aimock/images/<digest>-<W>x<H>.png`, stateless: the name holds all
it takes to draw it again); a fixture's base64 image asked for as a URL is a `data:` URL.

Variations: DALL-E 2 is the only model that made them, and OpenAI removed the DALL-E models
from its API on 2026-05-12 (`gpt-image-1` is their replacement), so a variation is answered
as OpenAI answers a removed model: 404 `model_not_found`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from aiohttp import web

from aimock.canonical import CanonicalRequest, Message, RequestContext
from aimock.fixtures.compiled import Reply
from aimock.multipart import Form
from aimock.providers import openai_base
from aimock.providers.common import (
    check_type,
    estimate_tokens,
    expect_object,
    missing,
    not_blank,
    now,
)
from aimock.providers.images_media import (
    PNG_TYPE,
    GivenImage,
    ImageReply,
    digest,
    dimensions,
    generated_png,
    image_bytes,
    image_reply,
)
from aimock.surface import (
    ErrorInfo,
    Event,
    PlainRoute,
    ProtocolError,
    Provider,
    RenderOptions,
    ServerView,
    Surface,
    bad_request,
    within,
)

GENERATIONS = "openai.images"
EDITS = "openai.images.edits"
VARIATIONS = "openai.images.variations"
IMAGE_FILE = "openai.images.file"
ENDPOINT = "image"
# The model a request without `model` is matched and answered as (DALL-E 2 was OpenAI's
# default until the DALL-E models were removed; AIMock's default is the same).
DEFAULT_MODEL = "gpt-image-1"
MAX_IMAGES = 10
# The longest prompt each family takes (characters).
_PROMPT_LIMITS = {"dall-e-2": 1000, "dall-e-3": 4000}
GPT_IMAGE_PROMPT_LIMIT = 32000
_SIZES = {
    "gpt-image": ("auto", "1024x1024", "1536x1024", "1024x1536"),
    "dall-e-2": ("256x256", "512x512", "1024x1024"),
    "dall-e-3": ("1024x1024", "1792x1024", "1024x1792"),
}
_QUALITIES = {
    "gpt-image": ("auto", "low", "medium", "high"),
    "dall-e-2": ("standard",),
    "dall-e-3": ("standard", "hd"),
}
_ANY_QUALITY = ("auto", "low", "medium", "high", "standard", "hd")
_FORMATS = ("url", "b64_json")
_OUTPUT_FORMATS = ("png", "jpeg", "webp")
_BACKGROUNDS = ("transparent", "opaque", "auto")
_SIZE = re.compile(r"^\d{1,5}x\d{1,5}$")
# GPT Image output tokens by quality for a 1024x1024 image (OpenAI's pricing table); other
# sizes scale with their area.
_OUTPUT_TOKENS = {"low": 272, "medium": 1056, "high": 4160}
MAX_UPLOADS = 16  # gpt-image-1 edits take up to 16 images
MAX_PARTIALS = 3  # partial images a streamed answer may send before each image


def family(model: str) -> str:
    """`gpt-image` (gpt-image-1, -1-mini, -1.5, chatgpt-image-...), `dall-e-2`, `dall-e-3`,
    or `other` (an OpenAI-compatible vendor's model: its sizes and qualities are not
    checked)."""
    if model.startswith("dall-e-2"):
        return "dall-e-2"
    if model.startswith("dall-e-3"):
        return "dall-e-3"
    if "gpt-image" in model or "chatgpt-image" in model:
        return "gpt-image"
    return "other"


def _flag(value: Any, param: str) -> bool:
    """A boolean option: JSON's, or an upload's text field ("true"/"false")."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if value in ("true", "false"):
        return bool(value == "true")
    raise bad_request(
        f"Invalid type for '{param}': expected a boolean.", param=param, code="invalid_type"
    )


def _choice(value: Any, param: str, allowed: tuple[str, ...], model: str | None = None) -> str:
    check_type(value, param, str, "a string")
    if value not in allowed:
        names = ", ".join(f"'{item}'" for item in allowed)
        where = f" for model '{model}'" if model else ""
        raise bad_request(
            f"Invalid value: '{value}'. Supported values{where} are: {names}.",
            param=param,
            code="invalid_value",
        )
    return str(value)


def read(
    fields: Mapping[str, Any], context: RequestContext, provider: str, surface: str
) -> CanonicalRequest:
    """The options both generations and edits take (a JSON body, or an upload's text fields
    with `n` already an integer)."""
    model = fields.get("model")
    if model is None:
        model = DEFAULT_MODEL
    check_type(model, "model", str, "a string")
    kind = family(model)
    prompt = fields.get("prompt")
    if prompt is None:
        raise missing("prompt")
    check_type(prompt, "prompt", str, "a string")
    not_blank(prompt, "prompt")
    limit = _PROMPT_LIMITS.get(kind, GPT_IMAGE_PROMPT_LIMIT)
    if len(prompt) > limit:
        raise bad_request(
            f"Invalid 'prompt': string too long. Expected a string with maximum length "
            f"{limit}, but got a string with length {len(prompt)} instead.",
            param="prompt",
            code="string_above_max_length",
        )
    n = fields.get("n")
    n = 1 if n is None else within(n, "n", 1, MAX_IMAGES)
    if kind == "dall-e-3" and n != 1:
        raise bad_request(
            "Invalid 'n': dall-e-3 only supports n=1.", param="n", code="invalid_value"
        )
    size = fields.get("size")
    if size is not None:
        if kind in _SIZES:
            size = _choice(size, "size", _SIZES[kind], model)
        elif check_type(size, "size", str, "a string") != "auto" and not _SIZE.match(size):
            raise bad_request(
                f"Invalid value: '{size}'. Expected a size as WIDTHxHEIGHT, or 'auto'.",
                param="size",
                code="invalid_value",
            )
    quality = fields.get("quality")
    if quality is not None:
        quality = _choice(quality, "quality", _QUALITIES.get(kind, _ANY_QUALITY), model)
    response_format = fields.get("response_format")
    if response_format is not None:
        response_format = _choice(response_format, "response_format", _FORMATS)
    output_format = fields.get("output_format")
    if output_format is not None:
        output_format = _choice(output_format, "output_format", _OUTPUT_FORMATS)
    compression = fields.get("output_compression")
    if compression is not None:
        compression = within(compression, "output_compression", 0, 100)
    background = fields.get("background")
    if background is not None:
        background = _choice(background, "background", _BACKGROUNDS)
    stream = _flag(fields.get("stream"), "stream")
    if stream and kind in ("dall-e-2", "dall-e-3"):
        raise bad_request(
            f"Streaming is not supported for model '{model}'.",
            param="stream",
            code="unsupported_value",
        )
    partials = fields.get("partial_images")
    partials = 0 if partials is None else within(partials, "partial_images", 0, MAX_PARTIALS)
    return CanonicalRequest(
        surface=surface,
        provider=provider,
        endpoint=ENDPOINT,
        model=model,
        context=context,
        messages=(Message("user", prompt),),
        inputs=(prompt,),  # the recorder and a miss's explanation read the prompt here
        stream=stream,
        extras={
            "partial_images": partials,
            "n": n,
            "size": size,
            "quality": quality,
            "response_format": response_format,
            "output_format": output_format,
            "output_compression": compression,
            "background": background,
        },
    )


def parse_generation(
    body: Any, context: RequestContext, params: Mapping[str, str], provider: str = "openai"
) -> CanonicalRequest:
    body = expect_object(body)
    fields = dict(body)
    if params.get("deployment"):
        fields["model"] = params["deployment"]
    return read(fields, context, provider, GENERATIONS)


def parse_edit(
    body: Any, context: RequestContext, params: Mapping[str, str], provider: str = "openai"
) -> CanonicalRequest:
    """An edit's upload: `image` (or `image[]`, repeated) files, an optional `mask`, and the
    options as text fields."""
    if not isinstance(body, Form):
        raise bad_request("The request must be multipart/form-data.", code="invalid_content_type")
    images = [upload for upload in body.files if upload.name in ("image", "image[]")]
    if not images:
        raise missing("image")
    if len(images) > MAX_UPLOADS:
        raise bad_request(
            f"Invalid 'image': at most {MAX_UPLOADS} images can be edited at once.",
            param="image",
            code="array_above_max_length",
        )
    for upload in images:
        if not upload.data:
            raise bad_request("Invalid 'image': the file is empty.", param="image")
    fields: dict[str, Any] = dict(body.fields)
    if params.get("deployment"):
        fields["model"] = params["deployment"]
    for name in ("n", "partial_images", "output_compression"):
        if name in fields:
            try:
                fields[name] = int(fields[name])
            except ValueError:
                raise bad_request(
                    f"Invalid '{name}': expected an integer.", param=name, code="invalid_type"
                ) from None
    canonical = read(fields, context, provider, EDITS)
    uploads = [
        {"filename": upload.filename, "bytes": len(upload.data), "sha256": upload.sha256}
        for upload in images
    ]
    mask = body.file("mask")
    return CanonicalRequest(
        surface=canonical.surface,
        provider=canonical.provider,
        endpoint=canonical.endpoint,
        model=canonical.model,
        context=canonical.context,
        messages=canonical.messages,
        inputs=canonical.inputs,
        stream=canonical.stream,
        extras={
            **canonical.extras,
            "images": uploads,
            "mask": mask is not None,
            # An edit's pixels follow from the prompt and the images edited.
            "seed_of": "".join(upload.sha256 for upload in images),
        },
    )


# --------------------------------------------------------------------------- render


def _prompt(request: CanonicalRequest) -> str:
    return request.last_user_text or ""


def seeds(request: CanonicalRequest, count: int) -> list[str]:
    """The digest each generated image is drawn from: the prompt's for the first, the prompt
    and the image's index for the others (so the images of one answer differ)."""
    base = _prompt(request) + str(request.extras.get("seed_of") or "")
    return [digest(base if i == 0 else f"{base}\n#{i}") for i in range(count)]


def image_url(request: CanonicalRequest, seed: str, size: str | None) -> str:
    width, height = dimensions(size)
    return f"{request.context.origin}/v1/aimock/images/{seed}-{width}x{height}.png"


def _wants_url(request: CanonicalRequest) -> bool:
    if family(request.model) == "gpt-image":
        return False  # GPT Image models always answer base64
    return request.extras.get("response_format") in (None, "url")


def encoded(request: CanonicalRequest, given: GivenImage, seed: str) -> str:
    """An image's base64 bytes: the fixture's, else generated in the `output_format` a GPT
    Image model was asked for (PNG for the others), at its `output_compression`."""
    fmt = "png"
    if family(request.model) == "gpt-image":
        fmt = request.extras.get("output_format") or "png"
    quality = request.extras.get("output_compression")
    return image_bytes(given, seed, request.extras.get("size"), fmt, quality)


def _item(request: CanonicalRequest, given: GivenImage, seed: str) -> dict[str, Any]:
    size = request.extras.get("size")
    item: dict[str, Any] = {}
    if _wants_url(request):
        if given.url:
            item["url"] = given.url
        elif given.b64_json:
            item["url"] = f"data:{given.mime_type};base64,{given.b64_json}"
        else:
            item["url"] = image_url(request, seed, size)
    else:
        item["b64_json"] = encoded(request, given, seed)
    if given.revised_prompt is not None:
        item["revised_prompt"] = given.revised_prompt
    return item


def _answer_size(request: CanonicalRequest) -> str:
    size = request.extras.get("size")
    return "1024x1024" if size in (None, "auto") else str(size)


def _usage(request: CanonicalRequest, reply: Reply, count: int) -> dict[str, Any]:
    prompt_tokens = estimate_tokens(_prompt(request))
    image_in = 0
    if request.extras.get("images"):
        image_in = 194 * len(request.extras["images"])  # a 1024x1024 input image, low detail
    quality = request.extras.get("quality") or "medium"
    width, _, height = _answer_size(request).partition("x")
    area = int(width) * int(height) / (1024 * 1024)
    output = round(_OUTPUT_TOKENS.get(quality, _OUTPUT_TOKENS["medium"]) * area) * count
    total_in = prompt_tokens + image_in
    if reply.input_tokens is not None:
        total_in = reply.input_tokens
    if reply.output_tokens is not None:
        output = reply.output_tokens
    return {
        "input_tokens": total_in,
        "input_tokens_details": {"text_tokens": prompt_tokens, "image_tokens": image_in},
        "output_tokens": output,
        "total_tokens": total_in + output,
    }


def _images(request: CanonicalRequest, reply: Reply) -> list[tuple[GivenImage, str]]:
    """Each image of the answer with the seed it is drawn from when generated."""
    part = reply.extension(ImageReply)
    given = list(part.images) if part is not None and part.images else []
    if not given:
        given = [GivenImage()] * int(request.extras.get("n") or 1)
    return list(zip(given, seeds(request, len(given)), strict=True))


def _gpt_image_fields(request: CanonicalRequest) -> dict[str, Any]:
    """What a GPT Image answer says of its images (the whole answer and every event)."""
    quality = request.extras.get("quality")
    return {
        "background": (
            "transparent" if request.extras.get("background") == "transparent" else "opaque"
        ),
        "output_format": request.extras.get("output_format") or "png",
        "quality": "medium" if quality in (None, "auto") else quality,
        "size": _answer_size(request),
    }


def render(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> dict[str, Any]:
    del options
    data = [_item(request, image, seed) for image, seed in _images(request, reply)]
    body: dict[str, Any] = {"created": reply.created or now(), "data": data}
    if family(request.model) == "gpt-image":
        body.update(_gpt_image_fields(request))
        body["usage"] = _usage(request, reply, len(data))
    return body


def stream(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> Iterator[Event]:
    """`stream: true` (GPT Image models): for each image, `partial_images` partial renders
    (`image_generation.partial_image`, `image_edit.partial_image` for an edit), then its
    `.completed` event with the image and the usage of the image."""
    del options
    kind = "image_edit" if request.surface == EDITS else "image_generation"
    created = reply.created or now()
    shared = {**_gpt_image_fields(request), "created_at": created}
    for image, seed in _images(request, reply):
        for index in range(int(request.extras.get("partial_images") or 0)):
            # A partial render is an image of its own, drawn from the seed and its index.
            partial = encoded(request, GivenImage(), digest(f"{seed}\npartial {index}"))
            data = {"type": f"{kind}.partial_image", "b64_json": partial, **shared}
            yield Event({**data, "partial_image_index": index}, name=data["type"])
        done = {
            "type": f"{kind}.completed",
            "b64_json": encoded(request, image, seed),
            **shared,
            "usage": _usage(request, reply, 1),
        }
        yield Event(done, name=done["type"])


def collapse(events: Sequence[tuple[str | None, Any]]) -> Reply:
    """A recorded image stream back into its images (record mode): the completed ones."""
    images = tuple(
        GivenImage(b64_json=data["b64_json"])
        for _, data in events
        if isinstance(data, dict)
        and str(data.get("type", "")).endswith(".completed")
        and isinstance(data.get("b64_json"), str)
    )
    return Reply(kind="image", extensions={ImageReply: ImageReply(images)})


def fallback(request: CanonicalRequest) -> Reply:
    """A miss, when not strict: the generated images."""
    del request
    return Reply(kind="image")


def decode(body: Any) -> Reply:
    """An images answer back into a reply (record mode): its images as the fixture's."""
    items = body.get("data") if isinstance(body, dict) else None
    images = tuple(
        GivenImage(
            url=item.get("url") if isinstance(item.get("url"), str) else None,
            b64_json=item.get("b64_json") if isinstance(item.get("b64_json"), str) else None,
            revised_prompt=item.get("revised_prompt")
            if isinstance(item.get("revised_prompt"), str)
            else None,
        )
        for item in (items if isinstance(items, list) else [])
        if isinstance(item, dict)
    )
    return Reply(kind="image", extensions={ImageReply: ImageReply(images)})


# --------------------------------------------------------------------------- plain routes

_FILE = re.compile(r"^([0-9a-f]{64})-(\d{1,2})x(\d{1,2})\.png$")


async def image_file(request: web.Request, view: ServerView) -> web.StreamResponse:
    """A generated image, drawn again from its name (`<digest>-<W>x<H>.png`)."""
    del view
    found = _FILE.match(request.match_info.get("name", ""))
    width = height = 0
    if found:
        width, height = int(found.group(2)), int(found.group(3))
    if not found or not (1 <= width <= 64 and 1 <= height <= 64):
        raise ProtocolError(
            ErrorInfo(404, "No such image.", type="invalid_request_error", code="not_found")
        )
    data = generated_png(found.group(1), f"{width}x{height}")
    return web.Response(
        body=data, content_type=PNG_TYPE, headers={"Cache-Control": "max-age=31536000"}
    )


async def variations(request: web.Request, view: ServerView) -> web.StreamResponse:
    """`/images/variations`: DALL-E 2 only, and the DALL-E models are gone from OpenAI's
    API; answered as a removed model is."""
    del request, view
    raise ProtocolError(
        ErrorInfo(
            404,
            "The model `dall-e-2` does not exist or you do not have access to it.",
            type="invalid_request_error",
            code="model_not_found",
        )
    )


def _variation_routes() -> tuple[PlainRoute, ...]:
    return tuple(
        PlainRoute(VARIATIONS, openai_base.OPENAI, "POST", path, variations, openai_base.ERRORS)
        for path in openai_base.paths("/images/variations")
    )


GENERATIONS_ROUTE = "/images/generations"
EDITS_ROUTE = "/images/edits"


def _images_surfaces(
    route: str, parse: openai_base.ProviderParse, **fields: Any
) -> tuple[Surface, ...]:
    """Generations and edits: the same answers, from a JSON body or an upload."""
    return openai_base.surfaces(
        route,
        openai_base.azure_deployment_path(route),
        parse,
        endpoint=ENDPOINT,
        render=render,
        stream=stream,
        collapse=collapse,
        decode=decode,
        fallback=fallback,
        **fields,
    )


PROVIDER = Provider(
    name="openai.images",
    surfaces=(
        *_images_surfaces(GENERATIONS_ROUTE, parse_generation, name=GENERATIONS),
        *_images_surfaces(EDITS_ROUTE, parse_edit, name=EDITS, body="multipart"),
    ),
    routes=(
        PlainRoute(
            IMAGE_FILE,
            openai_base.OPENAI,
            "GET",
            "/v1/aimock/images/{name}",
            image_file,
            openai_base.ERRORS,
        ),
        *_variation_routes(),
    ),
    extensions=(image_reply,),
)
