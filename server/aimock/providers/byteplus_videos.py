"""BytePlus Ark (ModelArk, Seedance) video tasks: `POST /api/v3/contents/generations/tasks`
(JSON: `model`, `content: [{type: text, text} | {type: image_url, image_url: {url}, role?},
...]`) answers `{id}` (`cgt-<uuid>`); `GET /api/v3/contents/generations/tasks/{id}` polls it:
`{id, model, status: queued|running, created_at}`, then the finished task.

The match text is AIMock's: the text parts joined by newlines, then `[media: ...]` naming each
media part by role and a digest of its URL (`first_frame:<12 hex>`), so `match.userMessage`
picks the fixture, with `match.model` and `match.endpoint: video`. Two fixture shapes:

- AIMock's: `json` (with `endpoint: video`), the Ark task envelope itself, served as it is
  (its `id` rewritten) once the task ends: `succeeded`, `failed`, `cancelled`, `expired`;
- ours: `video` (`jobs`), from which the finished task is built: `succeeded` with
  `content.video_url` (the fixture's URL, or the mock's own `GET
  /api/v3/aimock/videos/{id}.mp4`), or `failed` with `error: {code, message}`.

The task takes two polls to end (`polls`/`afterMs` of a `video` fixture say otherwise). A miss
is 404 (503 when strict) in Ark's envelope, `{error: {code, message}}`; an unknown id is 404.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from aimock import ids
from aimock.canonical import CanonicalRequest, Message, RequestContext
from aimock.fixtures.compiled import Reply
from aimock.models.fixture import Fixture, Response
from aimock.providers.common import check_type, expect_object, missing, not_blank
from aimock.providers.jobs import (
    DEFAULT_PLAN,
    JOB_FIELD,
    MP4_TYPE,
    Job,
    Keeper,
    VideoPlan,
    origin,
    video_plan,
)
from aimock.surface import (
    ErrorDialect,
    ErrorInfo,
    PlainRoute,
    Provider,
    RenderOptions,
    ServerView,
    Surface,
    bad_request,
)
from aimock.wire import json_response

BYTEPLUS = "byteplus"
NAME = "byteplus.videos"
ENDPOINT = "video"
KEY = "byteplus.videos.jobs"
TASKS = "/api/v3/contents/generations/tasks"
_STATUS = {"queued": "queued", "in_progress": "running", "completed": "succeeded"}


def error_body(info: ErrorInfo) -> dict[str, Any]:
    code = info.code or info.type or {404: "NotFound", 400: "InvalidParameter"}.get(info.status)
    return {"error": {"code": code or "InternalServiceError", "message": info.message}}


def unauthorized(given: bool) -> ErrorInfo:
    del given
    return ErrorInfo(
        401,
        "The API key or AK/SK in the request is missing or invalid.",
        code="AuthenticationError",
    )


ERRORS = ErrorDialect(body=error_body, unauthorized=unauthorized)


@dataclass(frozen=True, slots=True)
class ArkEnvelope:
    """A fixture's `json`: the finished Ark task, served as it is."""

    body: Mapping[str, Any]


def ark_envelope(fixture: Fixture | None, response: Response) -> ArkEnvelope | None:
    """The reply extension builder (`Provider.extensions`)."""
    del fixture
    given = response.json_
    return ArkEnvelope(given) if isinstance(given, dict) and given.get("status") else None


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def match_text(content: list[Any]) -> str:
    """AIMock's match text of a task's `content` (see the module's docstring)."""
    texts: list[str] = []
    media: list[str] = []
    for part in content:
        if isinstance(part, dict) and part.get("type") == "text":
            if isinstance(part.get("text"), str) and part["text"]:
                texts.append(part["text"])
            continue
        kind = part.get("type") if isinstance(part, dict) else None
        holder = part.get(kind) if isinstance(part, dict) and isinstance(kind, str) else None
        url = holder.get("url") if isinstance(holder, dict) else None
        if (
            not isinstance(kind, str)
            or kind not in ("image_url", "video_url", "audio_url")
            or (not isinstance(url, str))
        ):
            raw = orjson.dumps(part).decode() if part is not None else "null"
            role = kind if isinstance(kind, str) and kind else "part"
            media.append(f"{role}:{_digest(raw)}")
            continue
        role = part.get("role")
        if not isinstance(role, str) or not role:
            role = "first_frame" if kind == "image_url" else kind
        media.append(f"{role}:{_digest(url)}")
    suffix = f"[media: {', '.join(media)}]"
    text = "\n".join(texts)
    return f"{text}\n{suffix}" if text else suffix


def parse(body: Any, context: RequestContext, params: Mapping[str, str]) -> CanonicalRequest:
    del params
    body = expect_object(body)
    model = body.get("model")
    if model is None:
        raise missing("model")
    check_type(model, "model", str, "a string")
    not_blank(model, "model")
    content = body.get("content")
    if content is None:
        raise missing("content")
    if not isinstance(content, list) or not content:
        raise bad_request("Invalid type for parameter: 'content' must be a non-empty array")
    return CanonicalRequest(
        surface=NAME,
        provider=BYTEPLUS,
        endpoint=ENDPOINT,
        model=model,
        context=context,
        messages=(Message("user", match_text(content)),),
    )


def render(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> dict[str, Any]:
    del options
    envelope = reply.extension(ArkEnvelope)
    job = Job(
        id=f"cgt-{ids.uuid4()}",
        model=reply.model or request.model,
        prompt=request.last_user_text or "",
        plan=reply.extension(VideoPlan) or DEFAULT_PLAN,
        options={"origin": origin(request), "envelope": envelope},
    )
    return {"id": job.id, JOB_FIELD: job}


KEEPER = Keeper(KEY)
store, remember = KEEPER.store, KEEPER.remember


def task(job: Job) -> dict[str, Any]:
    """The task as Ark answers a poll, as of now."""
    envelope = job.options.get("envelope")
    status = job.status
    created = int(job.created)
    if status in ("completed", "failed") and isinstance(envelope, ArkEnvelope):
        return {**envelope.body, "id": job.id}
    body: dict[str, Any] = {
        "id": job.id,
        "model": job.model,
        "status": _STATUS.get(status, status),
        "created_at": created,
    }
    if status == "completed":
        url = job.plan.url
        if not url or url.startswith("data:"):
            url = f"{job.options['origin']}/api/v3/aimock/videos/{job.id}.mp4"
        body["content"] = {"video_url": url}
        body["updated_at"] = created
        body["duration"] = round(job.seconds)
    elif status == "failed":
        body["error"] = {
            "code": job.plan.error_code or "InternalServiceError",
            "message": job.plan.error or "Video generation failed",
        }
        body["updated_at"] = created
    return body


# --------------------------------------------------------------------------- plain routes


def _job(view: ServerView, task_id: str) -> Job:
    missing = ErrorInfo(404, f'Unknown video task id "{task_id[:100]}".', code="NotFound")
    return KEEPER.find(view, task_id, missing)


async def poll(request: web.Request, view: ServerView) -> web.StreamResponse:
    job = _job(view, request.match_info["task_id"])
    job.poll()
    return json_response(task(job))


async def video_file(request: web.Request, view: ServerView) -> web.StreamResponse:
    job = _job(view, request.match_info["task_id"])
    if job.status != "completed":
        raise bad_request(f"Video task {job.id} has not succeeded.")
    return web.Response(body=job.video(), content_type=MP4_TYPE)


PROVIDER = Provider(
    name=NAME,
    surfaces=(
        Surface(
            name=NAME,
            provider=BYTEPLUS,
            endpoint=ENDPOINT,
            method="POST",
            paths=(TASKS,),
            parse=parse,
            render=render,
            errors=ERRORS,
            remember=remember,
        ),
    ),
    routes=(
        PlainRoute(NAME, BYTEPLUS, "GET", f"{TASKS}/{{task_id}}", poll, ERRORS),
        PlainRoute(
            NAME, BYTEPLUS, "GET", "/api/v3/aimock/videos/{task_id}.mp4", video_file, ERRORS
        ),
    ),
    extensions=(video_plan, ark_envelope),
)
