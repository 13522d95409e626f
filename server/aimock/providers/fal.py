"""fal.ai's queue and sync runs, for any fal model (video, image, audio, ...): the mock stands
in for `queue.fal.run` and `fal.run` under `/fal`.

- `POST /fal/{model_id}` submits to the queue (`{request_id, response_url, status_url,
  cancel_url, queue_position}`, the URLs the mock's own); `GET
  /fal/{model_id}/requests/{id}/status` polls it (`IN_QUEUE`, `IN_PROGRESS`, `COMPLETED`, with
  `queue_position`, `logs` and `metrics`); `GET /fal/{model_id}/requests/{id}` answers the
  result (400 until completed); `PUT /fal/{model_id}/requests/{id}/cancel` cancels it.
- The same `POST` with `x-fal-target-host: fal.run` (AIMock's convention for a client pointed at
  the mock) runs it at once and answers the result; so does AIMock's `POST /fal/run/{model_id}`.
  AIMock's `POST /fal/queue/submit/{model_id}` submits.

A run is matched when it is submitted, through the pipeline: its prompt (`prompt`, `text`, or
`input.prompt`/`input.text`) is the user message, with `match.model` (the model id, e.g.
`fal-ai/veo3`) and `match.endpoint: fal`. AIMock's fixture shape loads unchanged: `json`, the
result as it is, and `billableUnits` (the `x-fal-billable-units` header of the result). The job
takes two status polls to complete. A miss is 404 (503 when strict) as fal answers an error,
`{detail}`; an unknown request id is 404.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from aimock import ids
from aimock.canonical import CanonicalRequest, Message, RequestContext
from aimock.fixtures.compiled import Reply
from aimock.models.fixture import Fixture, Response
from aimock.providers.common import expect_object
from aimock.providers.jobs import DEFAULT_PLAN, JOB_FIELD, Job, Keeper, origin
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
KEY = "fal.queue.jobs"
TARGET_HOST = "x-fal-target-host"
SYNC_HOST = "fal.run"
REQUEST_ID = "x-fal-request-id"
BILLABLE = "x-fal-billable-units"
_STATUS = {"queued": "IN_QUEUE", "in_progress": "IN_PROGRESS", "completed": "COMPLETED"}


def error_body(info: ErrorInfo) -> dict[str, Any]:
    """fal's envelope: `{detail}`."""
    return {"detail": info.message}


ERRORS = ErrorDialect(body=error_body)


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
    def parse(body: Any, context: RequestContext, params: Mapping[str, str]) -> CanonicalRequest:
        body = expect_object(body)
        model = params.get("model", "").strip("/")
        sync = mode == "sync" or (mode == "auto" and context.header(TARGET_HOST) == SYNC_HOST)
        return CanonicalRequest(
            surface=NAME,
            provider=FAL,
            endpoint=ENDPOINT,
            model=model,
            context=context,
            messages=(Message("user", _prompt(body)),),
            extras={"sync": sync},
        )

    return parse


def _result(reply: Reply) -> FalResult:
    return reply.extension(FalResult) or FalResult({})


def render(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> dict[str, Any]:
    del options
    result = _result(reply)
    if request.extras.get("sync"):
        body = result.body
        return dict(body) if isinstance(body, dict) else {"result": body}
    job = Job(
        id=ids.uuid4(),
        model=request.model,
        prompt=request.last_user_text or "",
        plan=DEFAULT_PLAN,
        options={"origin": origin(request), "result": result, "cancelled": False},
    )
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
        remember=remember,
    )


_REQUEST = "/fal/{model:.+}/requests/{request_id}"

PROVIDER = Provider(
    name=NAME,
    surfaces=(
        # AIMock's own paths first: `/fal/{model:.+}` would take them.
        _surface(("/fal/queue/submit/{model:.+}",), "queue"),
        _surface(("/fal/run/{model:.+}",), "sync"),
        _surface(("/fal/{model:.+}",), "auto"),
    ),
    routes=(
        PlainRoute(NAME, FAL, "GET", f"{_REQUEST}/status", poll, ERRORS),
        PlainRoute(NAME, FAL, "PUT", f"{_REQUEST}/cancel", cancel, ERRORS),
        PlainRoute(NAME, FAL, "GET", _REQUEST, result, ERRORS),
    ),
    extensions=(fal_result,),
)
