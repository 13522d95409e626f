"""OpenRouter video jobs: `POST /api/v1/videos` (JSON: `prompt`, `model`, ...) answers `{id,
polling_url, status: pending}`; `GET /api/v1/videos/{id}` polls it (`pending`, `in_progress`,
then `completed` with `unsigned_urls` and `usage.cost`, or `failed` with `error`); `GET
/api/v1/videos/{id}/content?index=0` serves the video; `GET /api/v1/videos/models` lists the
video models (AIMock's default two).

A job is matched when it is created, through the pipeline: its prompt is the user message,
with `match.model` and `match.endpoint: video`; the fixture's `video` plans it (`jobs`). A
miss is 404 (503 when strict) in OpenRouter's envelope; an unknown id is 404.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from aimock.canonical import CanonicalRequest, RequestContext
from aimock.fixtures.compiled import Reply
from aimock.providers.jobs import (
    JOB_FIELD,
    MP4_TYPE,
    Job,
    Keeper,
    new_job,
    prompt_request,
    video_plan,
)
from aimock.providers.openai_base import OPENROUTER, OPENROUTER_ERRORS
from aimock.surface import (
    ErrorInfo,
    PlainRoute,
    Provider,
    RenderOptions,
    ServerView,
    Surface,
    bad_request,
)
from aimock.wire import json_response

NAME = "openrouter.videos"
ENDPOINT = "video"
KEY = "openrouter.videos.jobs"
DEFAULT_MODEL = "bytedance/seedance-2.0"
DEFAULT_MODELS = (DEFAULT_MODEL, "openai/sora-2")
BASE = "/api/v1/videos"


def parse(body: Any, context: RequestContext, params: Mapping[str, str]) -> CanonicalRequest:
    del params
    return prompt_request(
        body,
        context,
        surface=NAME,
        provider=OPENROUTER,
        default_model=DEFAULT_MODEL,
        max_seconds=60,
    )


def render(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> dict[str, Any]:
    del options
    job = new_job(request, reply, request.extras.get("seconds"))
    return {
        "id": job.id,
        "polling_url": f"{job.options['origin']}{BASE}/{job.id}",
        "status": "pending",
        JOB_FIELD: job,
    }


KEEPER = Keeper(KEY)
store, remember = KEEPER.store, KEEPER.remember


def status_body(job: Job) -> dict[str, Any]:
    status = job.status
    wire = "pending" if status == "queued" else status
    body: dict[str, Any] = {"id": job.id, "status": wire}
    if status == "completed":
        url = job.plan.url
        if not url or url.startswith("data:"):
            url = f"{job.options['origin']}{BASE}/{job.id}/content?index=0"
        body["unsigned_urls"] = [url]
        body["usage"] = {"cost": job.plan.cost or 0}
    elif status == "failed":
        body["error"] = job.plan.error or "Video generation failed"
    return body


# --------------------------------------------------------------------------- plain routes


def _job(request: web.Request, view: ServerView) -> Job:
    job_id = request.match_info["job_id"]
    return KEEPER.find(view, job_id, ErrorInfo(404, f"Video job {job_id[:100]} not found"))


async def poll(request: web.Request, view: ServerView) -> web.StreamResponse:
    job = _job(request, view)
    job.poll()
    return json_response(status_body(job))


async def content(request: web.Request, view: ServerView) -> web.StreamResponse:
    job = _job(request, view)
    if job.status != "completed":
        raise bad_request(f"Video job {job.id} is not completed (status: {job.status})")
    return web.Response(body=job.video(), content_type=MP4_TYPE)


def _entry(model: str) -> dict[str, Any]:
    return {
        "id": model,
        "name": model,
        "supported_durations": [4, 8],
        "supported_resolutions": ["720p", "1080p"],
        "supported_aspect_ratios": ["16:9", "9:16", "1:1"],
        "supported_frame_images": [],
        "supported_sizes": [],
        "generate_audio": False,
        "seed": True,
        "pricing_skus": [],
    }


async def models(request: web.Request, view: ServerView) -> web.StreamResponse:
    del request, view
    return json_response({"data": [_entry(model) for model in DEFAULT_MODELS]})


PROVIDER = Provider(
    name=NAME,
    surfaces=(
        Surface(
            name=NAME,
            provider=OPENROUTER,
            endpoint=ENDPOINT,
            method="POST",
            paths=(BASE,),
            parse=parse,
            render=render,
            errors=OPENROUTER_ERRORS,
            remember=remember,
        ),
    ),
    routes=(
        PlainRoute(NAME, OPENROUTER, "GET", f"{BASE}/models", models, OPENROUTER_ERRORS),
        PlainRoute(NAME, OPENROUTER, "GET", f"{BASE}/{{job_id}}", poll, OPENROUTER_ERRORS),
        PlainRoute(
            NAME, OPENROUTER, "GET", f"{BASE}/{{job_id}}/content", content, OPENROUTER_ERRORS
        ),
    ),
    extensions=(video_plan,),
)
