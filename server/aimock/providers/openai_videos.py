"""OpenAI videos (Sora): `POST /v1/videos` (multipart/form-data, as the SDK sends it), and the
plain routes over the jobs it made: `GET /v1/videos/{id}` (each retrieval is a poll: the job
advances, see `jobs`), `GET /v1/videos` (after, limit, order), `DELETE /v1/videos/{id}` and
`GET /v1/videos/{id}/content` (`variant` video, thumbnail or spritesheet). On every OpenAI
base (`openai_base.PREFIXES`).

A job is matched when it is created, through the pipeline: its prompt is the user message,
with `match.model` and `match.endpoint: video`; the fixture's `video` plans it (`jobs`). A
miss is 404 (503 when strict) in OpenAI's envelope; an unknown id is 404.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from aimock.canonical import CanonicalRequest, Message, RequestContext
from aimock.fixtures.compiled import Reply
from aimock.multipart import Form
from aimock.providers import openai_base, openai_store
from aimock.providers.common import missing, new_id, not_blank
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
SIZES = ("720x1280", "1280x720", "1024x1792", "1792x1024")
VARIANTS = ("video", "thumbnail", "spritesheet")
MAX_PROMPT = 32000
# What a poll-paced job tells the SDK's `poll` to wait between retrievals (milliseconds).
POLL_AFTER_MS = 10
EXPIRES_AFTER = 24 * 3600
# The key under which `render` hands the new job to `remember` (taken out before the body
# is written).


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


def parse_create(
    body: Any, context: RequestContext, params: Mapping[str, str], provider: str = "openai"
) -> CanonicalRequest:
    """The SDK's form: `prompt`, and optionally `model`, `seconds`, `size`, `input_reference`
    (a file, accepted and described)."""
    del params
    if not isinstance(body, Form):
        raise bad_request("The request must be multipart/form-data.", code="invalid_content_type")
    prompt = body.get("prompt")
    if prompt is None:
        raise missing("prompt")
    not_blank(prompt, "prompt")
    if len(prompt) > MAX_PROMPT:
        raise bad_request(
            f"Invalid 'prompt': string too long. Expected a string with maximum length "
            f"{MAX_PROMPT}, but got a string with length {len(prompt)} instead.",
            param="prompt",
            code="string_above_max_length",
        )
    model = _choice(body.get("model"), "model", MODELS, DEFAULT_MODEL)
    seconds = _choice(body.get("seconds"), "seconds", SECONDS, "4")
    size = _choice(body.get("size"), "size", SIZES, "720x1280")
    reference = body.file("input_reference")
    return CanonicalRequest(
        surface=NAME,
        provider=provider,
        endpoint=ENDPOINT,
        model=model,
        context=context,
        messages=(Message("user", prompt),),
        extras={
            "seconds": seconds,
            "size": size,
            "input_reference": reference.describe() if reference is not None else None,
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
        "remixed_from_video_id": None,
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
        options={"seconds": request.extras.get("seconds"), "size": request.extras.get("size")},
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


PROVIDER = Provider(
    name=NAME,
    surfaces=(
        Surface(
            name=NAME,
            provider=openai_base.OPENAI,
            endpoint=ENDPOINT,
            method="POST",
            paths=openai_base.paths("/videos"),
            parse=openai_base.parse_for(parse_create, openai_base.OPENAI),
            render=render,
            errors=openai_base.ERRORS,
            body="multipart",
            remember=remember,
        ),
    ),
    routes=openai_store.openai_routes(
        NAME,
        (
            ("GET", "/videos", list_videos),
            ("GET", "/videos/{video_id}", retrieve),
            ("DELETE", "/videos/{video_id}", delete),
            ("GET", "/videos/{video_id}/content", content),
        ),
    ),
    extensions=(video_plan,),
)
