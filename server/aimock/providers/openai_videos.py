"""OpenAI videos (Sora), with each body as the SDK sends it: `POST /v1/videos` (multipart), and
the jobs made from a kept video, `POST /v1/videos/{id}/remix` (JSON `prompt`),
`POST /v1/videos/edits` and `POST /v1/videos/extensions` (multipart `prompt`, `video` as a file
or `video[id]`, and the extension's `seconds`); the plain routes over the jobs:
`GET /v1/videos/{id}` (each retrieval is a poll: the job advances, see `jobs`), `GET /v1/videos`
(after, limit, order), `DELETE /v1/videos/{id}` and `GET /v1/videos/{id}/content` (`variant`
video, thumbnail or spritesheet); and characters, `POST /v1/videos/characters` (multipart
`name`, `video` file) and `GET /v1/videos/characters/{id}`. On every OpenAI base
(`openai_base.PREFIXES`).

A job is matched when it is created, through the pipeline: its prompt is the user message,
with `match.model` and `match.endpoint: video`; the fixture's `video` plans it (`jobs`). A
remix, edit or extension by id is a creation whose `recall` first finds its source (404 when
unknown, 400 `video_not_completed` until it completed) and takes its model, size and seconds
(an extension's are the source's plus its own), naming it in `remixed_from_video_id`. A miss
is 404 (503 when strict) in OpenAI's envelope; an unknown id is 404.
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from aiohttp import web

from aimock.canonical import CanonicalRequest, Message, RequestContext
from aimock.fixtures.compiled import Reply
from aimock.multipart import Form, read_form
from aimock.providers import openai_base, openai_store
from aimock.providers.common import expect_object, missing, new_id, not_blank
from aimock.providers.images_media import PNG_TYPE
from aimock.providers.jobs import (
    DEFAULT_PLAN,
    JOB_FIELD,
    MP4_TYPE,
    Job,
    Keeper,
    VideoPlan,
    video_plan,
)
from aimock.surface import (
    BodyKind,
    ErrorInfo,
    ProtocolError,
    Provider,
    RenderOptions,
    ServerView,
    Surface,
    bad_request,
)
from aimock.wire import json_response

NAME = "openai.videos"
ENDPOINT = "video"
KEY = "openai.videos.jobs"
DEFAULT_MODEL = "sora-2"
MODELS = (
    "sora-2",
    "sora-2-pro",
    "sora-2-2025-10-06",
    "sora-2-pro-2025-10-06",
    "sora-2-2025-12-08",
)
SECONDS = ("4", "8", "12")
# What an extension may add (the API reference's "4, 8, 12, 16, 20"; the SDK types 4, 8, 12).
EXTEND_SECONDS = ("4", "8", "12", "16", "20")
SIZES = ("720x1280", "1280x720", "1024x1792", "1792x1024")
VARIANTS = ("video", "thumbnail", "spritesheet")
MAX_PROMPT = 32000
# What a poll-paced job tells the SDK's `poll` to wait between retrievals (milliseconds).
POLL_AFTER_MS = 10
EXPIRES_AFTER = 24 * 3600
CHARACTERS_KEY = "openai.videos.characters"
MAX_CHARACTERS = 10_000  # the oldest goes first past it
# `extras` keys: the kept video a remix, edit or extension starts from, and the parameter
# that named it (for its errors).
SOURCE = "source_video_id"
SOURCE_PARAM = "source_param"
# What `render` copies from `extras` into the job (echoed by `card`).
ECHOED = ("seconds", "size", "remixed_from_video_id")


def _choice(value: str | None, param: str, allowed: tuple[str, ...], default: str) -> str:
    if value is None:
        return default
    if value not in allowed:
        names = ", ".join(f"'{item}'" for item in allowed)
        raise bad_request(
            f"Invalid value: '{value[:100]}'. Supported values are: {names}.",
            param=param,
            code="invalid_value",
        )
    return value


def _prompt(value: Any) -> str:
    """The `prompt` of every creation: present, a non-empty string, at most `MAX_PROMPT`."""
    if value is None:
        raise missing("prompt")
    if not isinstance(value, str):
        raise bad_request(
            "Invalid type for 'prompt': expected a string.", param="prompt", code="invalid_type"
        )
    not_blank(value, "prompt")
    if len(value) > MAX_PROMPT:
        raise bad_request(
            f"Invalid 'prompt': string too long. Expected a string with maximum length "
            f"{MAX_PROMPT}, but got a string with length {len(value)} instead.",
            param="prompt",
            code="string_above_max_length",
        )
    return value


def _form(body: Any) -> Form:
    if not isinstance(body, Form):
        raise bad_request("The request must be multipart/form-data.", code="invalid_content_type")
    return body


def _job_request(
    prompt: str, model: str, context: RequestContext, provider: str, **extras: Any
) -> CanonicalRequest:
    """A creation as the fixtures match it: the prompt is the user message."""
    return CanonicalRequest(
        surface=NAME,
        provider=provider,
        endpoint=ENDPOINT,
        model=model,
        context=context,
        messages=(Message("user", prompt),),
        extras=extras,
    )


def parse_create(
    body: Any, context: RequestContext, params: Mapping[str, str], provider: str = "openai"
) -> CanonicalRequest:
    """The SDK's form: `prompt`, and optionally `model`, `seconds`, `size`, `input_reference`
    (a file, accepted and described)."""
    del params
    form = _form(body)
    prompt = _prompt(form.get("prompt"))
    reference = form.file("input_reference")
    return _job_request(
        prompt,
        _choice(form.get("model"), "model", MODELS, DEFAULT_MODEL),
        context,
        provider,
        seconds=_choice(form.get("seconds"), "seconds", SECONDS, "4"),
        size=_choice(form.get("size"), "size", SIZES, "720x1280"),
        input_reference=reference.describe() if reference is not None else None,
    )


def parse_remix(
    body: Any, context: RequestContext, params: Mapping[str, str], provider: str = "openai"
) -> CanonicalRequest:
    """`POST /videos/{video_id}/remix`, `{prompt}` (JSON, or a form); `recall` completes it
    from the source."""
    prompt = _prompt(_fields(body).get("prompt"))
    return _job_request(
        prompt,
        DEFAULT_MODEL,
        context,
        provider,
        **{SOURCE: params["video_id"], SOURCE_PARAM: "video_id"},
    )


def _boxes(data: bytes) -> dict[bytes, bytes]:
    """The ISO BMFF boxes at the top of `data` (type -> payload, the first of each type);
    empty past a malformed box."""
    found: dict[bytes, bytes] = {}
    at = 0
    while at + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, at)
        head = 8
        if size == 1 and at + 16 <= len(data):  # a 64-bit size follows the type
            size, head = struct.unpack_from(">Q", data, at + 8)[0], 16
        elif size == 0:  # the box runs to the end
            size = len(data) - at
        if size < head or at + size > len(data):
            return {}
        found.setdefault(kind, data[at + head : at + size])
        at += size
    return found


def clip_seconds(data: bytes) -> float | None:
    """An uploaded MP4's duration (its `moov`'s `mvhd`), or None when it has none."""
    mvhd = _boxes(_boxes(data).get(b"moov", b"")).get(b"mvhd", b"")
    try:
        if mvhd[:1] == b"\x01":  # version 1: 64-bit times
            timescale, duration = struct.unpack_from(">IQ", mvhd, 20)
        else:
            timescale, duration = struct.unpack_from(">II", mvhd, 12)
    except struct.error:
        return None
    return duration / timescale if timescale else None


def _fields(body: Any) -> Mapping[str, Any]:
    """A body the API takes either way: its form's text fields, or its JSON object."""
    if isinstance(body, Form):
        return dict(body.fields)
    return expect_object(body)


def _source(body: Any) -> dict[str, Any]:
    """The `video` of an edit or extension: a kept video's id (JSON `{"id": ...}`, or
    `video[id]`, the SDK's way of putting it in a form) or an uploaded file (described, as
    `input_reference` is, with its duration when it is an MP4 that says it)."""
    if not isinstance(body, Form):
        video = expect_object(body).get("video")
        if video is None:
            raise missing("video")
        video_id = video.get("id") if isinstance(video, dict) else None
        if not isinstance(video_id, str):
            raise bad_request(
                "Invalid 'video': expected an object with a string 'id'.",
                param="video",
                code="invalid_type",
            )
        not_blank(video_id, "video.id")
        return {SOURCE: video_id, SOURCE_PARAM: "video"}
    form = body
    video_id = form.get("video[id]")
    if video_id is not None:
        not_blank(video_id, "video.id")
        return {SOURCE: video_id, SOURCE_PARAM: "video"}
    upload = form.file("video")
    if upload is not None:
        return {"video": upload.describe(), "video_seconds": clip_seconds(upload.data)}
    if form.get("video") is not None:
        raise bad_request(
            "Invalid 'video': expected a file or an object with an 'id'.",
            param="video",
            code="invalid_type",
        )
    raise missing("video")


def parse_edit(
    body: Any, context: RequestContext, params: Mapping[str, str], provider: str = "openai"
) -> CanonicalRequest:
    """`POST /videos/edits`: `prompt`, `video` (the SDK's form, or JSON)."""
    del params
    prompt = _prompt(_fields(body).get("prompt"))
    return _job_request(prompt, DEFAULT_MODEL, context, provider, **_source(body))


def parse_extend(
    body: Any, context: RequestContext, params: Mapping[str, str], provider: str = "openai"
) -> CanonicalRequest:
    """`POST /videos/extensions`: `prompt`, `seconds` (the extension's), `video` (the SDK's
    form, or JSON). An uploaded MP4's duration is added to the extension's (a kept video's by
    `recall`)."""
    del params
    fields = _fields(body)
    prompt = _prompt(fields.get("prompt"))
    seconds = fields.get("seconds")
    if seconds is None:
        raise missing("seconds")
    seconds = _choice(seconds, "seconds", EXTEND_SECONDS, "4")
    source = _source(body)
    clip = source.get("video_seconds")
    if isinstance(clip, float):
        seconds = _total(clip, seconds)
    return _job_request(prompt, DEFAULT_MODEL, context, provider, **source, seconds=seconds)


def _total(base: float, extension: str) -> str:
    """An extension's `seconds`: the stitched total, its source's and its own."""
    return f"{base + float(extension):g}"


def recall(request: CanonicalRequest, view: ServerView, lenient: bool) -> CanonicalRequest:
    """A remix, edit or extension of a kept video, completed from it before matching: its
    model, size and seconds (an extension adds its own), and `remixed_from_video_id`. An
    unknown source is 404 (unless a recorder may know it), one not completed 400."""
    extras = request.extras
    source_id = extras.get(SOURCE)
    if not isinstance(source_id, str):
        return request
    param = str(extras.get(SOURCE_PARAM))
    source = store(view).get(source_id)
    if source is None:
        if lenient:
            return replace(request, extras={**extras, "remixed_from_video_id": source_id})
        raise openai_store.not_found("video", source_id, param)
    if source.status != "completed":
        raise bad_request(
            f"Video '{source_id}' is not completed (status '{source.status}'); only a "
            "completed video can be remixed, edited or extended.",
            param=param,
            code="video_not_completed",
        )
    added = extras.get("seconds")
    seconds = _total(source.seconds, added) if isinstance(added, str) else f"{source.seconds:g}"
    return replace(
        request,
        model=source.model,
        extras={
            **extras,
            "seconds": seconds,
            "size": source.options.get("size"),
            "remixed_from_video_id": source_id,
        },
    )


def card(job: Job) -> dict[str, Any]:
    """The job as OpenAI's `video` object, as of now."""
    status = job.status
    created = int(job.created)
    error = None
    if status == "failed":
        error = {
            "code": job.plan.error_code or "video_generation_failed",
            "message": job.plan.error or "Video generation failed.",
        }
    return {
        "id": job.id,
        "object": "video",
        "created_at": created,
        "completed_at": created if status in ("completed", "failed") else None,
        "error": error,
        "expires_at": created + EXPIRES_AFTER if status == "completed" else None,
        "model": job.model,
        "progress": job.progress,
        "prompt": job.prompt,
        "remixed_from_video_id": job.options.get("remixed_from_video_id"),
        "seconds": str(job.options.get("seconds", "4")),
        "size": str(job.options.get("size", "720x1280")),
        "status": status,
    }


def render(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> dict[str, Any]:
    del options
    plan = reply.extension(VideoPlan) or DEFAULT_PLAN
    job = Job(
        id=plan.id or reply.id or new_id("video_"),
        model=reply.model or request.model,
        prompt=request.last_user_text or "",
        plan=plan,
        options={key: request.extras[key] for key in ECHOED if request.extras.get(key)},
    )
    return {**card(job), JOB_FIELD: job}


KEEPER = Keeper(KEY)
store, remember = KEEPER.store, KEEPER.remember


# --------------------------------------------------------------------------- plain routes


def _job(request: web.Request, view: ServerView) -> Job:
    video_id = request.match_info["video_id"]
    return KEEPER.find(view, video_id, openai_store.not_found("video", video_id).info)


async def retrieve(request: web.Request, view: ServerView) -> web.StreamResponse:
    job = _job(request, view)
    job.poll()
    headers = None if job.done else {"openai-poll-after-ms": str(job.wait_ms(POLL_AFTER_MS))}
    return json_response(card(job), headers=headers)


async def list_videos(request: web.Request, view: ServerView) -> web.StreamResponse:
    query = request.query
    listed = openai_store.ordered(store(view).jobs.values(), query)
    return json_response(openai_store.page(listed, card, lambda job: job.id, query))


async def delete(request: web.Request, view: ServerView) -> web.StreamResponse:
    job = _job(request, view)
    store(view).delete(job.id)
    return json_response({"id": job.id, "object": "video.deleted", "deleted": True})


async def content(request: web.Request, view: ServerView) -> web.StreamResponse:
    job = _job(request, view)
    variant = request.query.get("variant", "video")
    if variant not in VARIANTS:
        raise bad_request(
            f"Invalid value: '{variant[:100]}'. Supported values are: "
            + ", ".join(f"'{item}'" for item in VARIANTS)
            + ".",
            param="variant",
            code="invalid_value",
        )
    if job.status != "completed":
        raise ProtocolError(
            ErrorInfo(
                404,
                f"Video is not ready yet (status '{job.status}'), use GET /v1/videos/{job.id} "
                "to check status.",
                type="invalid_request_error",
                code="video_not_ready",
            )
        )
    if variant == "video":
        return web.Response(body=job.video(), content_type=MP4_TYPE)
    return web.Response(body=job.thumbnail(), content_type=PNG_TYPE)


# --------------------------------------------------------------------------- characters


@dataclass(frozen=True, slots=True)
class Character:
    """A character made from an uploaded video: OpenAI answers its id, name and creation."""

    id: str
    name: str
    created_at: int

    def card(self) -> dict[str, Any]:
        return {"id": self.id, "created_at": self.created_at, "name": self.name}


def characters(view: ServerView) -> OrderedDict[str, Character]:
    kept: OrderedDict[str, Character] = view.keep(CHARACTERS_KEY, OrderedDict)
    return kept


async def create_character(request: web.Request, view: ServerView) -> web.StreamResponse:
    """The SDK's form: `name`, and `video`, a file."""
    form = await read_form(request, view.max_body_bytes)
    name = form.get("name")
    if name is None:
        raise missing("name")
    not_blank(name, "name")
    upload = form.file("video")
    if upload is None:
        if form.get("video") is not None:
            raise bad_request(
                "Invalid 'video': expected a file upload.", param="video", code="invalid_type"
            )
        raise missing("video")
    character = Character(new_id("char_"), name, openai_store.now())
    kept = characters(view)
    kept[character.id] = character
    while len(kept) > MAX_CHARACTERS:
        kept.popitem(last=False)
    return json_response(character.card())


async def get_character(request: web.Request, view: ServerView) -> web.StreamResponse:
    character_id = request.match_info["character_id"]
    character = characters(view).get(character_id)
    if character is None:
        raise openai_store.not_found("character", character_id)
    return json_response(character.card())


def _creation(
    route: str, parse: openai_base.ProviderParse, body: BodyKind = "multipart"
) -> Surface:
    """A route that starts a job: matched through the pipeline, its job kept by `remember`,
    its source (a remix, edit or extension) found by `recall`."""
    return Surface(
        name=NAME,
        provider=openai_base.OPENAI,
        endpoint=ENDPOINT,
        method="POST",
        paths=openai_base.paths(route),
        parse=openai_base.parse_for(parse, openai_base.OPENAI),
        render=render,
        errors=openai_base.ERRORS,
        body=body,
        recall=recall,
        remember=remember,
    )


PROVIDER = Provider(
    name=NAME,
    surfaces=(
        _creation("/videos", parse_create),
        # The API takes these as JSON or as a form (the SDK sends remix JSON, the others forms).
        _creation("/videos/{video_id}/remix", parse_remix, body="either"),
        _creation("/videos/edits", parse_edit, body="either"),
        _creation("/videos/extensions", parse_extend, body="either"),
    ),
    routes=openai_store.openai_routes(
        NAME,
        (
            ("POST", "/videos/characters", create_character),
            ("GET", "/videos/characters/{character_id}", get_character),
            ("GET", "/videos", list_videos),
            ("GET", "/videos/{video_id}", retrieve),
            ("DELETE", "/videos/{video_id}", delete),
            ("GET", "/videos/{video_id}/content", content),
        ),
    ),
    extensions=(video_plan,),
)
