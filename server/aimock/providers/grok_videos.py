"""xAI Grok Imagine video jobs: `POST /v1/videos/generations` (JSON: `prompt`, `model`,
`duration`, `aspect_ratio`, `resolution`, `image`) answers `{request_id}`; `GET
/v1/videos/{request_id}` polls it: `{request_id, status: pending|done|failed, progress}`, with
`video: {url, duration}` and `usage.cost_in_usd_ticks` once done, `code` and `error` once
failed. The video's URL is the fixture's, or the mock's own `GET
/v1/aimock/videos/{request_id}.mp4`.

`GET /v1/videos/{id}` is also OpenAI's: a Grok request id is a UUID, and the route answers a
UUID as Grok's (`PlainRoute.accepts`), anything else (`video_...`) as OpenAI's.

A job is matched when it is created, through the pipeline: its prompt is the user message,
with `match.model` and `match.endpoint: video`; the fixture's `video` plans it (`jobs`; a
fixture's `id` is not used: a Grok id is always a UUID). A miss is 404 (503 when strict) in
xAI's envelope, `{code, error}`; an unknown id is 404.
"""

from __future__ import annotations

import re
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
from aimock.surface import (
    ErrorDialect,
    ErrorInfo,
    PlainRoute,
    ProtocolError,
    Provider,
    RenderOptions,
    ServerView,
    Surface,
)
from aimock.wire import json_response

GROK = "grok"
NAME = "grok.videos"
ENDPOINT = "video"
KEY = "grok.videos.jobs"
DEFAULT_MODEL = "grok-imagine-video"
USD_TICKS = 10**10  # xAI reports costs in 1e-10 USD
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def error_body(info: ErrorInfo) -> dict[str, Any]:
    """xAI's envelope: `{code, error}`."""
    code = info.code or {404: "not_found", 429: "rate_limited"}.get(info.status)
    if code is None:
        code = "invalid_request" if info.status < 500 else "internal_error"
    return {"code": code, "error": info.message}


def unauthorized(given: bool) -> ErrorInfo:
    message = "Incorrect API key provided." if given else "No API key provided."
    return ErrorInfo(401, message, code="unauthenticated")


ERRORS = ErrorDialect(body=error_body, unauthorized=unauthorized)


def parse(body: Any, context: RequestContext, params: Mapping[str, str]) -> CanonicalRequest:
    del params
    return prompt_request(
        body,
        context,
        surface=NAME,
        provider=GROK,
        default_model=DEFAULT_MODEL,
        max_seconds=15,
    )


def render(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> dict[str, Any]:
    del options
    job = new_job(request, reply, request.extras.get("seconds") or 6)
    return {"request_id": job.id, JOB_FIELD: job}


KEEPER = Keeper(KEY)
store, remember = KEEPER.store, KEEPER.remember


def status_body(job: Job) -> dict[str, Any]:
    status = job.status
    wire = {"completed": "done", "failed": "failed"}.get(status, "pending")
    body: dict[str, Any] = {"request_id": job.id, "status": wire, "progress": job.progress}
    if status == "completed":
        url = job.plan.url
        if not url or url.startswith("data:"):
            url = f"{job.options['origin']}/v1/aimock/videos/{job.id}.mp4"
        body["video"] = {"url": url, "duration": job.seconds}
        body["model"] = job.model
        body["usage"] = {"cost_in_usd_ticks": round((job.plan.cost or 0) * USD_TICKS)}
    elif status == "failed":
        body["code"] = job.plan.error_code or "generation_failed"
        body["error"] = job.plan.error or "Video generation failed"
    return body


# --------------------------------------------------------------------------- plain routes


def _job(view: ServerView, job_id: str) -> Job:
    return KEEPER.find(view, job_id, ErrorInfo(404, f"Video request {job_id[:100]} not found."))


async def poll(request: web.Request, view: ServerView) -> web.StreamResponse:
    job = _job(view, request.match_info["video_id"])
    job.poll()
    return json_response(status_body(job))


async def video_file(request: web.Request, view: ServerView) -> web.StreamResponse:
    job = _job(view, request.match_info["request_id"])
    if job.status != "completed":
        raise ProtocolError(ErrorInfo(404, f"Video {job.id} is not ready.", code="not_ready"))
    return web.Response(body=job.video(), content_type=MP4_TYPE)


def is_grok_id(request: web.Request) -> bool:
    """A Grok request id (a UUID); OpenAI's ids are `video_...`."""
    return bool(_UUID.match(request.match_info.get("video_id", "")))


PROVIDER = Provider(
    name=NAME,
    surfaces=(
        Surface(
            name=NAME,
            provider=GROK,
            endpoint=ENDPOINT,
            method="POST",
            paths=("/v1/videos/generations",),
            parse=parse,
            render=render,
            errors=ERRORS,
            remember=remember,
        ),
    ),
    routes=(
        PlainRoute(NAME, GROK, "GET", "/v1/videos/{video_id}", poll, ERRORS, accepts=is_grok_id),
        PlainRoute(NAME, GROK, "GET", "/v1/aimock/videos/{request_id}.mp4", video_file, ERRORS),
    ),
    extensions=(video_plan,),
)
