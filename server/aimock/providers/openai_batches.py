"""OpenAI batches: `POST /v1/batches`, retrieve, list and `POST /v1/batches/{id}/cancel`.

Each line of the input file (`{custom_id, method, url, body}`) runs through the fixture
pipeline as a request to `url` would (`aimock.offline`: the same parse, match and render, a
journal entry per line), and the answers go to a real output file and an error file in the
file store, as OpenAI writes them:

- output: `{id, custom_id, response: {status_code: 200, request_id, body}, error: null}`;
- errors: a line the route refused or no fixture answered keeps its `response` (its status
  and error body); a line that is no request at all (not JSON, no `custom_id`, a `method`
  other than POST, a `url` that is not the batch's endpoint, a body that is not an object, a
  repeated `custom_id`) gets `response: null` and `error: {code, message}`.

Status. A batch advances on its retrieves: `validating` when created, `in_progress` at the
first retrieve, `completed` at the second (the lines run then, under the fixtures in force).
`X-AIMock-Batch-Polls: N` on create makes it complete at the Nth retrieve instead (0: at once;
from 3 on, the retrieve before the last shows `finalizing`); `X-AIMock-Batch-Seconds: S` makes
it complete once S seconds have passed since create, whatever the retrieves. Cancel answers
`cancelling`; the next retrieve shows `cancelled`. AIMock's `X-AIMock-Batch-Outcome: failed |
expired | cancelled` on create lands the batch there instead of `completed` (no line runs;
`failed` reports every line as `mock_failure`). The lines run with the create request's
headers: its test id and `X-AIMock-Strict`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from aimock import exchange, offline
from aimock.canonical import RequestContext
from aimock.providers import openai_store
from aimock.providers.openai_store import FileStore, header_number, new_id, not_found, now
from aimock.surface import ErrorInfo, ProtocolError, Provider, ServerView, bad_request
from aimock.wire import json_response

KEY = "openai.batches"
ENDPOINTS = ("/v1/chat/completions", "/v1/responses", "/v1/embeddings", "/v1/completions")
TERMINAL = ("completed", "failed", "expired", "cancelled")
DEFAULT_POLLS = 2
MAX_POLLS = 1000
MAX_LINES = 50_000
POLLS_HEADER = "X-AIMock-Batch-Polls"
SECONDS_HEADER = "X-AIMock-Batch-Seconds"
# AIMock's header: where the batch lands instead of `completed` (its lines are not run then).
OUTCOME_HEADER = "X-AIMock-Batch-Outcome"
OUTCOMES = ("completed", "failed", "expired", "cancelled")


@dataclass
class Batch:
    id: str
    endpoint: str
    input_file_id: str
    completion_window: str
    metadata: dict[str, str] | None
    context: RequestContext
    polls_needed: int
    seconds_needed: float | None
    outcome: str = "completed"
    created_at: int = field(default_factory=now)
    started: float = field(default_factory=time.monotonic)
    status: str = "validating"
    polls: int = 0
    times: dict[str, int | None] = field(default_factory=dict)
    output_file_id: str | None = None
    error_file_id: str | None = None
    counts: dict[str, int] = field(
        default_factory=lambda: {"total": 0, "completed": 0, "failed": 0}
    )
    errors: list[dict[str, Any]] | None = None

    def card(self) -> dict[str, Any]:
        stamp = self.times.get
        return {
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "errors": {"object": "list", "data": self.errors} if self.errors else None,
            "input_file_id": self.input_file_id,
            "completion_window": self.completion_window,
            "status": self.status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": self.created_at,
            "in_progress_at": stamp("in_progress_at"),
            "expires_at": self.created_at + 24 * 3600,
            "finalizing_at": stamp("finalizing_at"),
            "completed_at": stamp("completed_at"),
            "failed_at": stamp("failed_at"),
            "expired_at": stamp("expired_at"),
            "cancelling_at": stamp("cancelling_at"),
            "cancelled_at": stamp("cancelled_at"),
            "request_counts": dict(self.counts),
            "metadata": self.metadata,
        }

    def enter(self, status: str) -> None:
        self.status = status
        self.times.setdefault(f"{status}_at", now())


def batches(view: ServerView) -> dict[str, Batch]:
    return view.keep(KEY, dict)


def files(view: ServerView) -> FileStore:
    return view.keep(openai_store.KEY, FileStore)


async def create(request: web.Request, view: ServerView) -> web.StreamResponse:
    body = await openai_store.json_object(request, view.max_body_bytes)
    input_file_id = openai_store.text_field(body, "input_file_id")
    endpoint = openai_store.text_field(body, "endpoint")
    window = openai_store.text_field(body, "completion_window")
    assert input_file_id is not None and endpoint is not None
    served = request.app.get(offline.SURFACES, {})
    if endpoint not in ENDPOINTS or ("POST", endpoint) not in served:
        usable = [e for e in ENDPOINTS if ("POST", e) in served]
        raise bad_request(
            f"Invalid value for 'endpoint': '{endpoint[:100]}'. Expected one of: "
            + ", ".join(usable)
            + ".",
            param="endpoint",
            code="invalid_value",
        )
    if window != "24h":
        raise bad_request(
            "Invalid value for 'completion_window': expected '24h'.",
            param="completion_window",
            code="invalid_value",
        )
    meta = openai_store.metadata(body)
    source = files(view).get(input_file_id, "input_file_id")
    if source.purpose != "batch":
        raise bad_request(
            f"The file '{input_file_id}' has purpose '{source.purpose}'; a batch's input file "
            "must have purpose 'batch'.",
            param="input_file_id",
            code="invalid_file_purpose",
        )
    polls = header_number(request, POLLS_HEADER, MAX_POLLS)
    seconds = header_number(request, SECONDS_HEADER, 24 * 3600)
    outcome = request.headers.get(OUTCOME_HEADER, "completed").strip().lower()
    if outcome not in OUTCOMES:
        raise bad_request(
            f"Invalid {OUTCOME_HEADER} '{outcome[:40]}'. Expected one of: {', '.join(OUTCOMES)}."
        )
    batch = Batch(
        new_id("batch_"),
        endpoint,
        input_file_id,
        window,
        meta,
        exchange.request_context(request),
        DEFAULT_POLLS if polls is None else int(polls),
        seconds,
        outcome,
    )
    batches(view)[batch.id] = batch
    if batch.polls_needed == 0 and batch.seconds_needed is None:
        await _complete(request, view, batch)
    return json_response(batch.card())


async def retrieve(request: web.Request, view: ServerView) -> web.StreamResponse:
    batch = _find(request, view)
    await _advance(request, view, batch)
    return json_response(batch.card())


async def cancel(request: web.Request, view: ServerView) -> web.StreamResponse:
    batch = _find(request, view)
    if batch.status in TERMINAL or batch.status == "cancelling":
        raise ProtocolError(
            ErrorInfo(
                409,
                f"Cannot cancel a batch with status '{batch.status}'.",
                type="invalid_request_error",
            )
        )
    batch.enter("cancelling")
    return json_response(batch.card())


async def list_batches(request: web.Request, view: ServerView) -> web.StreamResponse:
    listed = list(batches(view).values())[::-1]  # newest first
    return json_response(openai_store.page(listed, Batch.card, lambda b: b.id, request.query))


def _find(request: web.Request, view: ServerView) -> Batch:
    batch_id = request.match_info["batch_id"]
    found = batches(view).get(batch_id)
    if found is None:
        raise not_found("batch", batch_id)
    return found


async def _advance(request: web.Request, view: ServerView, batch: Batch) -> None:
    if batch.status in TERMINAL:
        return
    if batch.status == "cancelling":
        batch.enter("cancelled")
        return
    batch.polls += 1
    if batch.seconds_needed is not None:
        done = time.monotonic() - batch.started >= batch.seconds_needed
        last = False
    else:
        done = batch.polls >= batch.polls_needed
        last = batch.polls_needed >= 3 and batch.polls == batch.polls_needed - 1
    if done:
        await _complete(request, view, batch)
    elif last:
        batch.times.setdefault("in_progress_at", now())
        batch.enter("finalizing")
    else:
        batch.enter("in_progress")


async def _complete(request: web.Request, view: ServerView, batch: Batch) -> None:
    """Run every line, write the output and error files, and end the batch."""
    batch.times.setdefault("in_progress_at", now())
    if batch.outcome != "completed":
        _land(batch, files(view))
        return
    batch.times.setdefault("finalizing_at", now())
    store = files(view)
    source = store.files.get(batch.input_file_id)
    if source is None:
        _fail(batch, "file_not_found", f"The input file '{batch.input_file_id}' was deleted.")
        return
    outputs, failures = await run_lines(request.app, batch.endpoint, source.content, batch.context)
    batch.counts = {
        "total": len(outputs) + len(failures),
        "completed": len(outputs),
        "failed": len(failures),
    }
    for lines, suffix, attribute in (
        (outputs, "output", "output_file_id"),
        (failures, "error", "error_file_id"),
    ):
        if not lines:
            continue
        content = b"".join(orjson.dumps(line) + b"\n" for line in lines)
        refused = store.room_for(len(content))
        if refused is not None:
            _fail(batch, "output_file_too_large", refused.message)
            return
        kept = store.add(f"{batch.id}_{suffix}.jsonl", f"batch_{suffix}", content)
        setattr(batch, attribute, kept.id)
    batch.enter("completed")


def _land(batch: Batch, store: FileStore) -> None:
    """AIMock's `X-AIMock-Batch-Outcome` other than completed: no line runs. `failed` writes
    every line to the error file as `mock_failure`, as AIMock does."""
    source = store.files.get(batch.input_file_id)
    lines = [raw for raw in (source.content if source else b"").split(b"\n") if raw.strip()]
    if batch.outcome == "failed":
        message = f"Mock batch failure ({OUTCOME_HEADER}: failed)"
        content = b"".join(
            orjson.dumps(
                {
                    "id": new_id("batch_req_"),
                    "custom_id": _custom_id(raw, number),
                    "response": None,
                    "error": {"code": "mock_failure", "message": message},
                }
            )
            + b"\n"
            for number, raw in enumerate(lines, start=1)
        )
        if store.room_for(len(content)) is None:
            batch.error_file_id = store.add(f"{batch.id}_error.jsonl", "batch_error", content).id
        batch.counts = {"total": len(lines), "completed": 0, "failed": len(lines)}
        _fail(batch, "mock_failure", f"{message}: see error_file_id")
        return
    batch.counts = {"total": len(lines), "completed": 0, "failed": 0}
    batch.enter(batch.outcome)


def _custom_id(raw: bytes, number: int) -> str:
    try:
        line = orjson.loads(raw)
    except orjson.JSONDecodeError:
        line = None
    found = line.get("custom_id") if isinstance(line, dict) else None
    return found if isinstance(found, str) else f"request-{number}"


def _fail(batch: Batch, code: str, message: str) -> None:
    batch.errors = [{"code": code, "message": message, "param": None, "line": None}]
    batch.enter("failed")


async def run_lines(
    app: web.Application, endpoint: str, content: bytes, context: RequestContext
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every line of a batch's input file answered: (output lines, error lines)."""
    state, surfaces = offline.state_of(app), app.get(offline.SURFACES, {})
    outputs: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    seen: set[str] = set()
    lines = [line for line in content.split(b"\n") if line.strip()]
    for number, raw in enumerate(lines, start=1):
        if number % 100 == 0:
            await asyncio.sleep(0)  # a long batch does not hold every other request
        line_id = new_id("batch_req_")
        if number > MAX_LINES:
            failures.append(_refused(line_id, None, "too_many_requests", number, MAX_LINES))
            continue
        request, custom_id, problem = _read_line(raw, endpoint, seen)
        if problem is not None:
            failures.append(_refused(line_id, custom_id, problem[0], number, problem[1]))
            continue
        assert request is not None and custom_id is not None
        surface = surfaces.get(("POST", endpoint))
        if surface is None:
            failures.append(_refused(line_id, custom_id, "invalid_url", number, endpoint))
            continue
        outcome = offline.run(state, surface, endpoint, request, context)
        line = {
            "id": line_id,
            "custom_id": custom_id,
            "response": {
                "status_code": outcome.status,
                "request_id": outcome.request_id,
                "body": outcome.body,
            },
            "error": None,
        }
        (outputs if outcome.ok else failures).append(line)
    return outputs, failures


_MESSAGES = {
    "invalid_json_line": "Line {0} is not a valid JSON object.",
    "missing_custom_id": "Line {0} has no 'custom_id' string.",
    "duplicate_custom_id": "Line {0} repeats the custom_id {1!r}; each must be unique.",
    "invalid_method": "Line {0}: 'method' must be 'POST'.",
    "invalid_url": "Line {0}: 'url' must be the batch's endpoint, '{1}'.",
    "invalid_body": "Line {0}: 'body' must be a JSON object.",
    "too_many_requests": "Line {0}: a batch holds at most {1} requests.",
}


def _refused(
    line_id: str, custom_id: str | None, code: str, number: int, detail: object
) -> dict[str, Any]:
    message = _MESSAGES[code].format(number, detail)
    return {
        "id": line_id,
        "custom_id": custom_id,
        "response": None,
        "error": {"code": code, "message": message},
    }


def _read_line(
    raw: bytes, endpoint: str, seen: set[str]
) -> tuple[dict[str, Any] | None, str | None, tuple[str, object] | None]:
    """A line's request body and custom id, or why it is no request: (code, detail)."""
    try:
        line = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None, None, ("invalid_json_line", None)
    if not isinstance(line, dict):
        return None, None, ("invalid_json_line", None)
    custom_id = line.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        return None, None, ("missing_custom_id", None)
    if custom_id in seen:
        return None, custom_id, ("duplicate_custom_id", custom_id)
    seen.add(custom_id)
    if line.get("method") != "POST":
        return None, custom_id, ("invalid_method", None)
    if line.get("url") != endpoint:
        return None, custom_id, ("invalid_url", endpoint)
    body = line.get("body")
    if not isinstance(body, dict):
        return None, custom_id, ("invalid_body", None)
    return body, custom_id, None


PROVIDER = Provider(
    name="openai.batches",
    routes=openai_store.openai_routes(
        "openai.batches",
        (
            ("POST", "/batches", create),
            ("GET", "/batches", list_batches),
            ("GET", "/batches/{batch_id}", retrieve),
            ("POST", "/batches/{batch_id}/cancel", cancel),
        ),
    ),
)
