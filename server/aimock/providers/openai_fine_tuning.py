"""OpenAI fine-tuning jobs: create, list, retrieve, cancel, pause, resume, and a job's
`/events` and `/checkpoints`.

A job is checked where OpenAI checks it: `model` given, `training_file` (and any
`validation_file`) uploaded with purpose `fine-tune`. It advances on its retrieves:
`validating_files` when created, then `queued`, `running`, and `succeeded` at the third
retrieve, with `fine_tuned_model: "ft:<base>:aimock:<suffix>:<id>"`, a result file, three
checkpoints and the events a real job logs. `X-AIMock-Fine-Tuning-Polls: N` on create makes it
succeed at the Nth retrieve (0: at once), `X-AIMock-Fine-Tuning-Seconds: S` once S seconds
have passed. Chat then accepts the `ft:` model: a fixture matching the base model (a plain
`model:` string) matches the models fine-tuned from it (`fixtures.criteria`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from aimock.providers import openai_store
from aimock.providers.openai_store import FileStore, header_number, new_id, not_found, now
from aimock.surface import ErrorInfo, ProtocolError, Provider, ServerView, bad_request
from aimock.wire import json_response

KEY = "openai.fine_tuning"
DEFAULT_POLLS = 3
MAX_POLLS = 1000
POLLS_HEADER = "X-AIMock-Fine-Tuning-Polls"
SECONDS_HEADER = "X-AIMock-Fine-Tuning-Seconds"
TERMINAL = ("succeeded", "failed", "cancelled")
# The stages before success, in order; a job shows the one its retrieves have reached.
STAGES = ("validating_files", "queued", "running")
EPOCHS = 3


@dataclass
class Job:
    id: str
    model: str
    training_file: str
    validation_file: str | None
    suffix: str | None
    seed: int
    metadata: dict[str, str] | None
    hyperparameters: dict[str, Any]
    method: dict[str, Any] | None
    training_bytes: int
    polls_needed: int
    seconds_needed: float | None
    created_at: int = field(default_factory=now)
    started: float = field(default_factory=time.monotonic)
    status: str = "validating_files"
    polls: int = 0
    paused: bool = False
    finished_at: int | None = None
    fine_tuned_model: str | None = None
    result_files: list[str] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    checkpoints: list[dict[str, Any]] = field(default_factory=list)

    @property
    def trained_tokens(self) -> int | None:
        return max(1, self.training_bytes // 4) * EPOCHS if self.status == "succeeded" else None

    def card(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "fine_tuning.job",
            "created_at": self.created_at,
            "error": None,
            "fine_tuned_model": self.fine_tuned_model,
            "finished_at": self.finished_at,
            "hyperparameters": self.hyperparameters,
            "model": self.model,
            "organization_id": "org-aimock",
            "result_files": list(self.result_files),
            "seed": self.seed,
            "status": self.status,
            "trained_tokens": self.trained_tokens,
            "training_file": self.training_file,
            "validation_file": self.validation_file,
            "estimated_finish": None,
            "integrations": None,
            "metadata": self.metadata,
            "method": self.method,
        }

    def log(self, message: str, *, kind: str = "message", data: Any = None) -> None:
        self.events.append(
            {
                "id": new_id("ftevent-"),
                "object": "fine_tuning.job.event",
                "created_at": now(),
                "level": "info",
                "message": message,
                "type": kind,
                "data": data,
            }
        )

    def tuned_name(self) -> str:
        return f"ft:{self.model}:aimock:{self.suffix or ''}:{self.id.removeprefix('ftjob-')[:8]}"


def jobs(view: ServerView) -> dict[str, Job]:
    return view.keep(KEY, dict)


def _training(store: FileStore, file_id: str, param: str) -> int:
    found = store.get(file_id, param)
    if found.purpose != "fine-tune":
        raise bad_request(
            f"File '{file_id}' has purpose '{found.purpose}'; a fine-tuning file must have "
            "purpose 'fine-tune'.",
            param=param,
            code="invalid_file_purpose",
        )
    return len(found.content)


def _hyperparameters(body: dict[str, Any]) -> dict[str, Any]:
    given = body.get("hyperparameters")
    method = body.get("method")
    if given is None and isinstance(method, dict):
        kind = method.get("type")
        inner = method.get(kind) if isinstance(kind, str) else None
        given = inner.get("hyperparameters") if isinstance(inner, dict) else None
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise bad_request(
            "Invalid 'hyperparameters': expected an object.",
            param="hyperparameters",
            code="invalid_type",
        )
    chosen = {"batch_size": 1, "learning_rate_multiplier": 1.0, "n_epochs": EPOCHS}
    for name, default in list(chosen.items()):
        value = given.get(name, "auto")
        ok = value == "auto" or (
            isinstance(value, int | float) and not isinstance(value, bool) and value > 0
        )
        if not ok:
            raise bad_request(
                f"Invalid 'hyperparameters.{name}': expected 'auto' or a positive number.",
                param=f"hyperparameters.{name}",
                code="invalid_value",
            )
        chosen[name] = default if value == "auto" else value
    return chosen


async def create(request: web.Request, view: ServerView) -> web.StreamResponse:
    body = await openai_store.json_object(request, view.max_body_bytes)
    model = openai_store.text_field(body, "model")
    training_file = openai_store.text_field(body, "training_file")
    validation_file = openai_store.text_field(body, "validation_file", required=False)
    suffix = openai_store.text_field(body, "suffix", required=False)
    assert model is not None and training_file is not None
    if suffix is not None and (len(suffix) > 64 or ":" in suffix):
        raise bad_request(
            "Invalid 'suffix': at most 64 characters, without ':'.",
            param="suffix",
            code="invalid_value",
        )
    seed = body.get("seed", 42)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise bad_request("Invalid 'seed': expected an integer.", param="seed")
    method = body.get("method")
    if method is not None and not isinstance(method, dict):
        raise bad_request("Invalid 'method': expected an object.", param="method")
    hyperparameters = _hyperparameters(body)
    meta = openai_store.metadata(body)
    store = view.keep(openai_store.KEY, FileStore)
    size = _training(store, training_file, "training_file")
    if validation_file is not None:
        _training(store, validation_file, "validation_file")
    polls = header_number(request, POLLS_HEADER, MAX_POLLS)
    job = Job(
        new_id("ftjob-"),
        model,
        training_file,
        validation_file,
        suffix,
        seed,
        meta,
        hyperparameters,
        method,
        size,
        DEFAULT_POLLS if polls is None else int(polls),
        header_number(request, SECONDS_HEADER, 24 * 3600),
    )
    job.log(f"Created fine-tuning job: {job.id}")
    job.log(f"Validating training file: {training_file}")
    jobs(view)[job.id] = job
    if job.polls_needed == 0 and job.seconds_needed is None:
        _succeed(job, store)
    return json_response(job.card())


def _advance(job: Job, store: FileStore) -> None:
    if job.status in TERMINAL or job.paused:
        return
    job.polls += 1
    if job.seconds_needed is not None:
        elapsed = time.monotonic() - job.started
        if elapsed >= job.seconds_needed:
            _succeed(job, store)
            return
        stage = min(len(STAGES) - 1, 1 + int(2 * elapsed / max(job.seconds_needed, 1e-9)))
    elif job.polls >= job.polls_needed:
        _succeed(job, store)
        return
    else:
        stage = min(len(STAGES) - 1, job.polls)
    _enter(job, STAGES[stage])


def _enter(job: Job, status: str) -> None:
    """Move forward to `status`, logging each stage passed."""
    order = (*STAGES, "succeeded")
    while order.index(job.status) < order.index(status):
        job.status = order[order.index(job.status) + 1]
        if job.status == "queued":
            job.log("Files validated, moving job to queued state")
        elif job.status == "running":
            job.log("Fine-tuning job started")


def _succeed(job: Job, store: FileStore) -> None:
    _enter(job, "running")
    job.fine_tuned_model = job.tuned_name()
    steps = EPOCHS * 10
    rows = ["step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy"]
    for step in range(1, steps + 1):
        loss = round(2.0 / (1 + step), 4)
        rows.append(f"{step},{loss},{round(1 - loss / 2, 4)},,")
        if step % 10 == 0:
            job.log(
                f"Step {step}/{steps}: training loss={loss}",
                kind="metrics",
                data={"step": step, "train_loss": loss, "total_steps": steps},
            )
            job.checkpoints.append(
                {
                    "id": new_id("ftckpt-"),
                    "object": "fine_tuning.job.checkpoint",
                    "created_at": now(),
                    "fine_tuned_model_checkpoint": f"{job.fine_tuned_model}:ckpt-step-{step}",
                    "fine_tuning_job_id": job.id,
                    "step_number": step,
                    "metrics": {
                        "step": float(step),
                        "train_loss": loss,
                        "train_mean_token_accuracy": round(1 - loss / 2, 4),
                        "valid_loss": None,
                        "valid_mean_token_accuracy": None,
                        "full_valid_loss": None,
                        "full_valid_mean_token_accuracy": None,
                    },
                }
            )
    content = ("\n".join(rows) + "\n").encode()
    if store.room_for(len(content)) is None:
        job.result_files = [store.add("step_metrics.csv", "fine-tune-results", content).id]
    job.log(f"New fine-tuned model created: {job.fine_tuned_model}")
    job.log("The job has successfully completed")
    job.status = "succeeded"
    job.finished_at = now()


def _find(request: web.Request, view: ServerView) -> Job:
    job_id = request.match_info["job_id"]
    found = jobs(view).get(job_id)
    if found is None:
        raise not_found("fine-tuning job", job_id, "fine_tuning_job_id")
    return found


async def retrieve(request: web.Request, view: ServerView) -> web.StreamResponse:
    job = _find(request, view)
    _advance(job, view.keep(openai_store.KEY, FileStore))
    return json_response(job.card())


async def list_jobs(request: web.Request, view: ServerView) -> web.StreamResponse:
    listed = list(jobs(view).values())[::-1]  # newest first
    return json_response(openai_store.page(listed, Job.card, lambda j: j.id, request.query))


def _refuse(job: Job, action: str) -> ProtocolError:
    return ProtocolError(
        ErrorInfo(
            400,
            f"Cannot {action} a fine-tuning job with status '{job.status}'.",
            type="invalid_request_error",
            code="invalid_job_status",
        )
    )


async def cancel(request: web.Request, view: ServerView) -> web.StreamResponse:
    job = _find(request, view)
    if job.status in TERMINAL:
        raise _refuse(job, "cancel")
    job.status = "cancelled"
    job.finished_at = now()
    job.log("Fine-tuning job cancelled")
    return json_response(job.card())


async def pause(request: web.Request, view: ServerView) -> web.StreamResponse:
    job = _find(request, view)
    if job.status in TERMINAL or job.paused:
        raise _refuse(job, "pause")
    job.paused = True
    job.status = "paused"
    job.log("Fine-tuning job paused")
    return json_response(job.card())


async def resume(request: web.Request, view: ServerView) -> web.StreamResponse:
    job = _find(request, view)
    if not job.paused:
        raise _refuse(job, "resume")
    job.paused = False
    job.status = "running"
    job.log("Fine-tuning job resumed")
    return json_response(job.card())


async def events(request: web.Request, view: ServerView) -> web.StreamResponse:
    job = _find(request, view)
    listed = job.events[::-1]  # newest first, as OpenAI lists them
    return json_response(openai_store.page(listed, dict, lambda e: str(e["id"]), request.query))


async def checkpoints(request: web.Request, view: ServerView) -> web.StreamResponse:
    job = _find(request, view)
    listed = job.checkpoints[::-1]
    return json_response(
        openai_store.page(listed, dict, lambda c: str(c["id"]), request.query, default_limit=10)
    )


PROVIDER = Provider(
    name="openai.fine_tuning",
    routes=openai_store.openai_routes(
        "openai.fine_tuning",
        (
            ("POST", "/fine_tuning/jobs", create),
            ("GET", "/fine_tuning/jobs", list_jobs),
            ("GET", "/fine_tuning/jobs/{job_id}", retrieve),
            ("POST", "/fine_tuning/jobs/{job_id}/cancel", cancel),
            ("POST", "/fine_tuning/jobs/{job_id}/pause", pause),
            ("POST", "/fine_tuning/jobs/{job_id}/resume", resume),
            ("GET", "/fine_tuning/jobs/{job_id}/events", events),
            ("GET", "/fine_tuning/jobs/{job_id}/checkpoints", checkpoints),
        ),
    ),
)
