"""fal.ai's queue and sync runs, for any fal model (video, image, audio, ...): the mock stands
in for `queue.fal.run` and `fal.run` under `/fal`.

- `POST /fal/{model_id}` submits to the queue (`{request_id, response_url, status_url,
  cancel_url, queue_position}`, the URLs the mock's own); `GET
  /fal/{model_id}/requests/{id}/status` polls it (`IN_QUEUE`, `IN_PROGRESS`, `COMPLETED`, with
  `queue_position`, `logs` and `metrics`); `GET /fal/{model_id}/requests/{id}` answers the
  result (400 until completed); `PUT /fal/{model_id}/requests/{id}/cancel` cancels it.
- The same `POST` with `x-fal-target-host: fal.run` (AIMock's convention for a client pointed at
  the mock) runs it at once and answers the result; so does AIMock's `POST /fal/run/{model_id}`.
  AIMock's `POST /fal/queue/submit/{model_id}` submits, and its `/fal/queue/requests/{id}`,
  `.../status` and `.../cancel` (each by `GET`, `POST` or `PUT`, as AIMock takes them) answer
  the result, the status and the cancel of any job.

A run is matched when it is submitted, through the pipeline: its prompt (`prompt`, `text`, or
`input.prompt`/`input.text`) is the user message, with `match.model` (the model id, e.g.
`fal-ai/veo3`). Fixtures of both of AIMock's endpoint kinds answer every path: a request on
AIMock's audio paths (`/fal/queue/submit/...`, `/fal/run/...`) without `x-fal-target-host` is
matched as `fal-audio` first, then as `fal`; any other as `fal` first, then as `fal-audio`
(`Surface.candidates`). AIMock's fixture shapes load unchanged: `json`, the result as it is,
with `billableUnits` (the `x-fal-billable-units` header of the result); `audio` (base64 with
`format`, or `{b64Json, contentType}`), a fal File, `{"audio": {url, content_type, file_name,
file_size}}`, whose URL is the mock's own `GET /fal/files/{request_id}/{file_name}`, serving
the fixture's bytes (kept with the job; a sync run keeps a finished job for it). The job takes
two status polls to complete. A miss is 404 (503 when strict) as fal answers an error,
`{detail}`; an unknown request id is 404.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from aimock import ids
from aimock.canonical import CanonicalRequest, Message, RequestContext
from aimock.fixtures.compiled import Reply
from aimock.models.fixture import Fixture, Response
from aimock.providers.audio import SPEECH_TYPES, GivenAudio, given_audio
from aimock.providers.common import expect_object
from aimock.providers.jobs import DEFAULT_PLAN, JOB_FIELD, Job, Keeper, VideoPlan, origin
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

FAL = "fal"
NAME = "fal.queue"
ENDPOINT = "fal"
AUDIO_ENDPOINT = "fal-audio"  # AIMock's kind for its audio paths
KEY = "fal.queue.jobs"
TARGET_HOST = "x-fal-target-host"
SYNC_HOST = "fal.run"
REQUEST_ID = "x-fal-request-id"
BILLABLE = "x-fal-billable-units"
OCTET_STREAM = "application/octet-stream"
_STATUS = {"queued": "IN_QUEUE", "in_progress": "IN_PROGRESS", "completed": "COMPLETED"}
# A sync run's job: finished at once (it is kept only to serve its files).
_FINISHED = VideoPlan(polls=0)


def error_body(info: ErrorInfo) -> dict[str, Any]:
    """fal's envelope: `{detail}`."""
    return {"detail": info.message}


def unauthorized(given: bool) -> ErrorInfo:
    message = (
        "Invalid credentials"
        if given
        else "No credentials provided: use 'Authorization: Key <key>'"
    )
    return ErrorInfo(401, message)


ERRORS = ErrorDialect(body=error_body, unauthorized=unauthorized)


@dataclass(frozen=True, slots=True)
class FalResult:
    """A fixture's `json` (the result) and `billableUnits`."""

    body: Any
    billable_units: float | None = None


def fal_result(fixture: Fixture | None, response: Response) -> FalResult | None:
    """The reply extension builder (`Provider.extensions`)."""
    del fixture
    if response.json_ is None:
        return None
    units = response.billable_units
    billable = (
        float(units) if isinstance(units, (int, float)) and not isinstance(units, bool) else None
    )
    return FalResult(response.json_, billable)


def _prompt(body: Mapping[str, Any]) -> str:
    for source in (body, body.get("input")):
        if isinstance(source, Mapping):
            for key in ("prompt", "text"):
                if isinstance(source.get(key), str):
                    return str(source[key])
    return ""


def _parse(mode: str) -> Any:
    """`mode`: `queue` and `sync` are AIMock's paths (audio ones, unless the client names a
    fal host), `auto` fal's own (sync when the client names `fal.run`)."""

    def parse(body: Any, context: RequestContext, params: Mapping[str, str]) -> CanonicalRequest:
        body = expect_object(body)
        model = params.get("model", "").strip("/")
        host = context.header(TARGET_HOST)
        sync = mode == "sync" or (mode == "auto" and host == SYNC_HOST)
        audio_path = mode != "auto" and not host
        return CanonicalRequest(
            surface=NAME,
            provider=FAL,
            endpoint=AUDIO_ENDPOINT if audio_path else ENDPOINT,
            model=model,
            context=context,
            messages=(Message("user", _prompt(body)),),
            extras={"sync": sync},
        )

    return parse


def candidates(request: CanonicalRequest) -> tuple[CanonicalRequest, ...]:
    """The path's own endpoint kind first, then the other: both kinds answer fal."""
    other = ENDPOINT if request.endpoint == AUDIO_ENDPOINT else AUDIO_ENDPOINT
    return (request, dataclasses.replace(request, endpoint=other))


# --------------------------------------------------------------------------- audio files


def _extension(audio: GivenAudio) -> str:
    """The file's extension: the format of its content type (mp3 when none is named)."""
    return next((k for k, v in SPEECH_TYPES.items() if v == audio.content_type), "mp3")


def _content_type(audio: GivenAudio) -> str:
    """The fixture's content type, when a header can carry it as it is."""
    given = audio.content_type
    ok = given.isascii() and given.isprintable() and len(given) <= 200
    return given if ok else OCTET_STREAM


def _file_url(job: Job, name: str) -> str:
    return f"{job.options['origin']}/fal/files/{job.id}/{name}"


def _audio_file(job: Job, audio: GivenAudio) -> dict[str, Any]:
    """fal's File object for `audio`, kept with `job`, which serves its bytes."""
    name = f"generated_audio.{_extension(audio)}"
    job.options["file"] = (name, audio)
    return {
        "audio": {
            "url": _file_url(job, name),
            "content_type": _content_type(audio),
            "file_name": name,
            "file_size": len(audio.data),
        }
    }


# --------------------------------------------------------------------------- render


def _new_job(request: CanonicalRequest, plan: VideoPlan) -> Job:
    return Job(
        id=ids.uuid4(),
        model=request.model,
        prompt=request.last_user_text or "",
        plan=plan,
        options={"origin": origin(request), "cancelled": False},
    )


def _answer(request: CanonicalRequest, reply: Reply, job: Job) -> FalResult:
    """What the fixture answers: its `json`, or its `audio` as a fal File kept with `job`
    (a fixture holding both answers as its request's endpoint kind, as AIMock does)."""
    result = reply.extension(FalResult)
    audio = reply.extension(GivenAudio)
    if audio is not None and (result is None or request.endpoint == AUDIO_ENDPOINT):
        return FalResult(_audio_file(job, audio))
    if result is not None:
        return result
    raise ProtocolError(ErrorInfo(500, "The fixture's response is neither json nor audio"))


def render(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> dict[str, Any]:
    del options
    if request.extras.get("sync"):
        job = _new_job(request, _FINISHED)
        result = _answer(request, reply, job)
        job.options["result"] = result
        body = result.body
        answer = dict(body) if isinstance(body, dict) else {"result": body}
        if "file" in job.options:  # kept only to serve its file
            answer[JOB_FIELD] = job
        return answer
    job = _new_job(request, DEFAULT_PLAN)
    job.options["result"] = _answer(request, reply, job)
    base = f"{job.options['origin']}/fal/{job.model}/requests/{job.id}"
    return {
        "request_id": job.id,
        "response_url": base,
        "status_url": f"{base}/status",
        "cancel_url": f"{base}/cancel",
        "queue_position": 0,
        "status": "IN_QUEUE",
        JOB_FIELD: job,
    }


KEEPER = Keeper(KEY)
store, remember = KEEPER.store, KEEPER.remember


def status(job: Job) -> str:
    return "CANCELLED" if job.options.get("cancelled") else _STATUS.get(job.status, "COMPLETED")


# --------------------------------------------------------------------------- plain routes


def _job(request: web.Request, view: ServerView) -> Job:
    request_id = request.match_info["request_id"]
    return KEEPER.find(view, request_id, ErrorInfo(404, f"Request {request_id[:100]} not found"))


async def poll(request: web.Request, view: ServerView) -> web.StreamResponse:
    job = _job(request, view)
    if not job.options.get("cancelled"):
        job.poll()
    state = status(job)
    body: dict[str, Any] = {
        "status": state,
        "request_id": job.id,
        "response_url": f"{job.options['origin']}/fal/{job.model}/requests/{job.id}",
        "logs": [],
    }
    if state in ("IN_QUEUE", "IN_PROGRESS"):
        body["queue_position"] = 0
    if state == "COMPLETED":
        body["metrics"] = {"inference_time": 0.0}
    return json_response(body, headers={REQUEST_ID: job.id})


async def result(request: web.Request, view: ServerView) -> web.StreamResponse:
    job = _job(request, view)
    state = status(job)
    if state != "COMPLETED":
        raise ProtocolError(ErrorInfo(400, f"Request is not completed (status: {state})"))
    given = job.options["result"]
    headers = {REQUEST_ID: job.id}
    if given.billable_units is not None:
        headers[BILLABLE] = f"{given.billable_units:g}"
    return json_response(given.body, headers=headers)


async def cancel(request: web.Request, view: ServerView) -> web.StreamResponse:
    job = _job(request, view)
    if status(job) == "COMPLETED":
        return json_response({"status": "ALREADY_COMPLETED"}, status=400)
    job.options["cancelled"] = True
    return json_response({"status": "CANCELLED"})


async def download(request: web.Request, view: ServerView) -> web.StreamResponse:
    """A file a job's result names (`/fal/files/{request_id}/{name}`): its bytes as given."""
    job = _job(request, view)
    kept = job.options.get("file")
    name = request.match_info["name"]
    if kept is None or kept[0] != name:
        raise ProtocolError(ErrorInfo(404, f"File {name[:100]} not found"))
    audio: GivenAudio = kept[1]
    return web.Response(
        body=audio.data,
        headers={"Content-Type": _content_type(audio), REQUEST_ID: job.id},
    )


def _surface(paths: tuple[str, ...], mode: str) -> Surface:
    return Surface(
        name=NAME,
        provider=FAL,
        endpoint=ENDPOINT,
        method="POST",
        paths=paths,
        parse=_parse(mode),
        render=render,
        errors=ERRORS,
        candidates=candidates,
        remember=remember,
    )


_REQUEST = "/fal/{model:.+}/requests/{request_id}"
_QUEUE_REQUEST = "/fal/queue/requests/{request_id}"
# AIMock takes its queue routes by any of these.
_QUEUE_METHODS = ("GET", "POST", "PUT")


def _queue_routes() -> tuple[PlainRoute, ...]:
    return tuple(
        PlainRoute(NAME, FAL, method, path, handler, ERRORS)
        for path, handler in (
            (f"{_QUEUE_REQUEST}/status", poll),
            (f"{_QUEUE_REQUEST}/cancel", cancel),
            (_QUEUE_REQUEST, result),
        )
        for method in _QUEUE_METHODS
    )


PROVIDER = Provider(
    name=NAME,
    surfaces=(
        # AIMock's own paths first: `/fal/{model:.+}` would take them.
        _surface(("/fal/queue/submit/{model:.+}",), "queue"),
        _surface(("/fal/run/{model:.+}",), "sync"),
        _surface(("/fal/{model:.+}",), "auto"),
    ),
    routes=(
        *_queue_routes(),
        PlainRoute(NAME, FAL, "GET", f"{_REQUEST}/status", poll, ERRORS),
        PlainRoute(NAME, FAL, "PUT", f"{_REQUEST}/cancel", cancel, ERRORS),
        PlainRoute(NAME, FAL, "GET", _REQUEST, result, ERRORS),
        PlainRoute(NAME, FAL, "GET", "/fal/files/{request_id}/{name}", download, ERRORS),
    ),
    extensions=(fal_result, given_audio),
)
