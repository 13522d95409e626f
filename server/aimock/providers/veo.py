"""Gemini's Veo video jobs: `POST /v1beta/models/{model}:predictLongRunning` starts one and
answers its operation's name, `models/{model}/operations/{id}`; `GET /v1beta/{name}` polls it
(`done: false`, then `done: true` with `response.generateVideoResponse.generatedSamples[]`, or
an `error`); `GET /v1beta/files/{id}:download?alt=media` serves a finished sample's bytes, the
URI each sample names. AIMock's operation names (`operations/{id}`, `GET
/v1beta/operations/{id}`) are served too. On v1beta, v1 and v1alpha.

A job is matched when it starts, through the pipeline: its prompt (`instances[0].prompt`) is
the user message, with `match.model` and `match.endpoint: video`; the fixture's `video` plans
it (`jobs`: each poll is a step, or the clock). A miss is 404 (503 when strict) in Google's
envelope; an unknown operation or file is 404.

Vertex AI (the only mode in which google-genai's `generate_videos` runs): `POST
{v1|v1beta1}/[projects/{p}/locations/{l}/]publishers/{pub}/models/{model}:predictLongRunning`,
polled with `POST ...:fetchPredictOperation` (`{operationName}`); a finished operation holds
`response.videos[]`, each the video's bytes (`bytesBase64Encoded`) or the fixture's URL
(`gcsUri`).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from aimock.canonical import CanonicalRequest, Message, RequestContext
from aimock.fixtures.compiled import Reply
from aimock.providers.common import check_type, expect_object, new_id
from aimock.providers.gemini_base import ERRORS
from aimock.providers.jobs import (
    DEFAULT_PLAN,
    JOB_FIELD,
    MP4_TYPE,
    Job,
    Keeper,
    VideoPlan,
    mp4,
    origin,
    video_plan,
)
from aimock.surface import (
    ErrorInfo,
    PlainRoute,
    ProtocolError,
    Provider,
    RenderOptions,
    ServerView,
    Surface,
    within,
)
from aimock.wire import json_response, parse_json, read_body

GEMINI = "gemini"
VERTEX = "vertex"
NAME = "gemini.videos"
ENDPOINT = "video"
KEY = "gemini.videos.jobs"
VERSIONS = ("v1beta", "v1", "v1alpha")
MAX_SAMPLES = 4
ASPECT_RATIOS = ("16:9", "9:16")
RESPONSE_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse"
VERTEX_RESPONSE_TYPE = "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse"
VERTEX_MODELS = tuple(
    f"/{version}/{scope}publishers/{{publisher}}/models/{{model}}"
    for version in ("v1beta1", "v1")
    for scope in ("projects/{project}/locations/{location}/", "")
)
# A sample's file: the job's id, `n`, the sample's index (lower-case letters and digits only:
# google-genai's `files.download` takes the name as `[a-z0-9]+`).
_FILE = re.compile(r"^([0-9a-f]+)n(\d{1,2})$")


def _invalid(message: str) -> ProtocolError:
    return ProtocolError(ErrorInfo(400, message, type="INVALID_ARGUMENT"))


def parse(
    body: Any, context: RequestContext, params: Mapping[str, str], provider: str = GEMINI
) -> CanonicalRequest:
    """`{instances: [{prompt, image?}], parameters: {sampleCount, durationSeconds,
    aspectRatio, ...}}`, as google-genai's `generate_videos` sends it."""
    body = expect_object(body)
    instances = body.get("instances")
    if not isinstance(instances, list) or not instances or not isinstance(instances[0], dict):
        raise _invalid("* instances: a non-empty list of objects is required.")
    first = instances[0]
    prompt = first.get("prompt")
    if prompt is not None:
        check_type(prompt, "instances[0].prompt", str, "a string")
    if not prompt and first.get("image") is None and first.get("video") is None:
        raise _invalid("* instances[0].prompt: a prompt (or an image) is required.")
    parameters = body.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise _invalid("* parameters: must be an object.")
    samples = parameters.get("sampleCount")
    samples = 1 if samples is None else within(samples, "parameters.sampleCount", 1, MAX_SAMPLES)
    duration = parameters.get("durationSeconds")
    if duration is not None:
        duration = within(duration, "parameters.durationSeconds", 1, 60)
    ratio = parameters.get("aspectRatio")
    if ratio is not None and ratio not in ASPECT_RATIOS:
        raise _invalid(f"* parameters.aspectRatio: must be one of {', '.join(ASPECT_RATIOS)}.")
    return CanonicalRequest(
        surface=NAME,
        provider=provider,
        endpoint=ENDPOINT,
        model=params.get("model", ""),
        context=context,
        messages=(Message("user", prompt or ""),),
        extras={
            "samples": samples,
            "seconds": duration or 8,
            "aspect_ratio": ratio,
            "resource": _resource(params),
        },
    )


def parse_vertex(body: Any, context: RequestContext, params: Mapping[str, str]) -> CanonicalRequest:
    return parse(body, context, params, VERTEX)


def _resource(params: Mapping[str, str]) -> str:
    """The model's resource name, which the operation's name extends."""
    model = params.get("model", "")
    if "publisher" not in params:
        return f"models/{model}"
    scope = ""
    if "project" in params:
        scope = f"projects/{params['project']}/locations/{params.get('location', '')}/"
    return f"{scope}publishers/{params['publisher']}/models/{model}"


def render(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> dict[str, Any]:
    del options
    plan = reply.extension(VideoPlan) or DEFAULT_PLAN
    model = reply.model or request.model
    job_id = new_id("", 16) if plan.id is None else plan.id
    name = f"{request.extras.get('resource') or f'models/{model}'}/operations/{job_id}"
    job = Job(
        id=job_id,
        model=model,
        prompt=request.last_user_text or "",
        plan=plan,
        options={
            "name": name,
            "samples": request.extras.get("samples") or 1,
            "seconds": request.extras.get("seconds"),
            "origin": origin(request),
            "vertex": request.provider == VERTEX,
        },
    )
    return {"name": name, JOB_FIELD: job}


KEEPER = Keeper(KEY)
store, remember = KEEPER.store, KEEPER.remember


def operation(job: Job) -> dict[str, Any]:
    """The job as a google.longrunning Operation, as of now."""
    body: dict[str, Any] = {"name": job.options["name"], "done": job.done}
    status = job.status
    if status == "failed":
        body["error"] = {"code": 13, "message": job.plan.error or "Video generation failed."}
    elif status == "completed" and job.options.get("vertex"):
        body["response"] = {
            "@type": VERTEX_RESPONSE_TYPE,
            "raiMediaFilteredCount": 0,
            "videos": _vertex_videos(job),
        }
    elif status == "completed":
        if job.plan.url and not job.plan.url.startswith("data:"):
            uris = [job.plan.url]
        else:
            origin = job.options["origin"]
            uris = [
                f"{origin}/v1beta/files/{job.id}n{index}:download?alt=media"
                for index in range(int(job.options["samples"]))
            ]
        body["response"] = {
            "@type": RESPONSE_TYPE,
            "generateVideoResponse": {"generatedSamples": [{"video": {"uri": u}} for u in uris]},
        }
    else:
        body["metadata"] = {"progress": job.progress}
    return body


def _vertex_videos(job: Job) -> list[dict[str, Any]]:
    if job.plan.url and not job.plan.url.startswith("data:"):
        return [{"gcsUri": job.plan.url, "mimeType": MP4_TYPE}]
    return [
        {
            "bytesBase64Encoded": base64.b64encode(
                job.video() if index == 0 else _sample(job, index)
            ).decode(),
            "mimeType": MP4_TYPE,
        }
        for index in range(int(job.options["samples"]))
    ]


# --------------------------------------------------------------------------- plain routes


def _not_found(what: str) -> ProtocolError:
    return ProtocolError(ErrorInfo(404, f"{what} not found.", type="NOT_FOUND"))


async def poll(request: web.Request, view: ServerView) -> web.StreamResponse:
    job_id = request.match_info["operation"]
    job = store(view).get(job_id)
    if job is None:
        raise _not_found(f"Operation {job_id}")
    job.poll()
    return json_response(operation(job))


async def fetch(request: web.Request, view: ServerView) -> web.StreamResponse:
    """Vertex's poll: `POST {model}:fetchPredictOperation` with `{operationName}`."""
    body = parse_json(await read_body(request, view.max_body_bytes), "POST")
    name = body.get("operationName") if isinstance(body, dict) else None
    if not isinstance(name, str) or "/operations/" not in name:
        raise ProtocolError(
            ErrorInfo(
                400, "* operationName: an operation's name is required.", type="INVALID_ARGUMENT"
            )
        )
    job_id = name.rsplit("/", 1)[-1]
    job = store(view).get(job_id)
    if job is None:
        raise _not_found(f"Operation {name[:200]}")
    job.poll()
    return json_response(operation(job))


async def download(request: web.Request, view: ServerView) -> web.StreamResponse:
    """A finished sample's bytes. The name is what follows the path's last `files/`:
    google-genai's `files.download(file=video)` sends a URI on plain http whole as the name."""
    name = request.match_info.get("name", "").rpartition("files/")[2]
    matched = _FILE.match(name)
    job = store(view).get(matched.group(1)) if matched else None
    if matched is None or job is None or int(matched.group(2)) >= int(job.options["samples"]):
        raise _not_found(f"File {name[:100]}")
    if job.status != "completed":
        raise ProtocolError(
            ErrorInfo(
                400,
                f"File {name} is not ready: its operation is not done.",
                type="FAILED_PRECONDITION",
            )
        )
    index = int(matched.group(2))
    data = job.video() if index == 0 else _sample(job, index)
    return web.Response(body=data, content_type=MP4_TYPE)


def _sample(job: Job, index: int) -> bytes:
    """The other samples of one job: the same clip drawn from the prompt and the index."""
    if job.plan.data is not None:
        return job.plan.data
    return mp4(f"{job.prompt}\n#{index}", job.seconds)


def _routes() -> tuple[PlainRoute, ...]:
    routes: list[PlainRoute] = []
    for version in VERSIONS:
        for path in (
            f"/{version}/models/{{model}}/operations/{{operation}}",
            f"/{version}/operations/{{operation}}",
        ):
            routes.append(PlainRoute(NAME, GEMINI, "GET", path, poll, ERRORS))
        routes.append(
            PlainRoute(
                NAME, GEMINI, "GET", f"/{version}/files/{{name:.+}}:download", download, ERRORS
            )
        )
    for root in VERTEX_MODELS:
        routes.append(
            PlainRoute(NAME, VERTEX, "POST", f"{root}:fetchPredictOperation", fetch, ERRORS)
        )
    return tuple(routes)


PROVIDER = Provider(
    name=NAME,
    surfaces=(
        Surface(
            name=NAME,
            provider=GEMINI,
            endpoint=ENDPOINT,
            method="POST",
            paths=tuple(f"/{v}/models/{{model}}:predictLongRunning" for v in VERSIONS),
            parse=parse,
            render=render,
            errors=ERRORS,
            remember=remember,
        ),
        Surface(
            name=NAME,
            provider=VERTEX,
            endpoint=ENDPOINT,
            method="POST",
            paths=tuple(f"{root}:predictLongRunning" for root in VERTEX_MODELS),
            parse=parse_vertex,
            render=render,
            errors=ERRORS,
            remember=remember,
        ),
    ),
    routes=_routes(),
    extensions=(video_plan,),
)
