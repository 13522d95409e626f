"""Video jobs, shared by the video providers (OpenAI `/v1/videos`, Gemini's Veo): the plan a
fixture gives a job, the job's progression, the store the server keeps them in, and the media
a finished job answers.

A fixture's `video` (AIMock's shape) says how the job ends: `{id?, status?, url?, b64?, error?,
duration?}`, plus two keys of ours for its pace:

- `status`: `completed` (the default), `failed` (the job fails, with `error` as its message),
  or `processing` (the job never finishes);
- `polls`: how many polls (retrievals) the job takes to reach its end, default 2: created
  `queued`, the first poll `in_progress` at 50%, the second at its end. `polls: 0` ends it at
  creation (AIMock's behaviour);
- `afterMs`: the job ends this many milliseconds after its creation instead, whatever the
  polls (`in_progress` in between, its progress following the clock).

A finished job's video is the fixture's `url` content when it is a `data:` URL, or its `b64`,
else a small valid MP4 (an `ftyp` box and a `moov` box holding an `mvhd`, the clip's duration
in it) whose bytes follow from the prompt; its thumbnail is a PNG drawn from the prompt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from aimock import ids
from aimock.canonical import CanonicalRequest, Message, RequestContext
from aimock.fixtures.compiled import Reply
from aimock.models.fixture import Fixture, Response
from aimock.providers.common import check_type, expect_object, missing, not_blank
from aimock.providers.images_media import generated_png
from aimock.surface import ErrorInfo, ProtocolError, ServerView, within

MP4_TYPE = "video/mp4"
DEFAULT_POLLS = 2
MAX_POLLS = 1000
MAX_AFTER_MS = 24 * 3600 * 1000
MAX_JOBS = 10_000  # per provider; the oldest job goes first past it
FINAL = ("completed", "failed")


@dataclass(frozen=True, slots=True)
class VideoPlan:
    """How a fixture's job goes: its end status, pace, and media."""

    id: str | None = None
    status: str = "completed"  # completed | failed | processing
    polls: int = DEFAULT_POLLS
    after_ms: float | None = None
    url: str | None = None
    data: bytes | None = None  # the video's bytes, when the fixture gives them
    error: str | None = None
    error_code: str | None = None
    duration: float | None = None
    cost: float | None = None  # USD, for the providers that report a cost (Grok, OpenRouter)


DEFAULT_PLAN = VideoPlan()


def _int(value: Any, low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return max(low, min(high, int(value)))


def _data_url(url: str) -> bytes | None:
    """The bytes of a base64 `data:` URL, or None."""
    if not url.startswith("data:"):
        return None
    head, _, payload = url.partition(",")
    if not head.endswith(";base64"):
        return payload.encode()
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return None


def video_plan(fixture: Fixture | None, response: Response) -> VideoPlan | None:
    """The reply extension builder (`Provider.extensions`): a fixture's `video`."""
    del fixture
    given = response.video
    if not isinstance(given, dict):
        return None
    status = given.get("status")
    if status not in ("completed", "failed", "processing"):
        status = "completed"
    url = given.get("url") if isinstance(given.get("url"), str) else None
    data = _data_url(url) if url else None
    b64 = given.get("b64")
    if data is None and isinstance(b64, str):
        try:
            data = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            data = None
    error = given.get("error")
    message = code = None
    if isinstance(error, str):
        message = error
    elif isinstance(error, dict):
        message = error.get("message") if isinstance(error.get("message"), str) else None
        code = error.get("code") if isinstance(error.get("code"), str) else None
    polls = _int(given.get("polls"), 0, MAX_POLLS)
    after = _int(given.get("afterMs"), 0, MAX_AFTER_MS)
    duration = given.get("duration")
    cost = given.get("cost")
    return VideoPlan(
        id=given.get("id") if isinstance(given.get("id"), str) and given.get("id") else None,
        status=status,
        polls=DEFAULT_POLLS if polls is None else polls,
        after_ms=None if after is None else float(after),
        url=url,
        data=data,
        error=message,
        error_code=code,
        duration=float(duration)
        if isinstance(duration, (int, float)) and not isinstance(duration, bool)
        else None,
        cost=float(cost) if isinstance(cost, (int, float)) and not isinstance(cost, bool) else None,
    )


def origin(request: CanonicalRequest) -> str:
    """scheme://host the client reached the mock at, for the URLs a job's media are served at."""
    return request.context.origin


@dataclass(slots=True)
class Job:
    """One video job: what was asked, its plan, and how far it went."""

    id: str
    model: str
    prompt: str
    plan: VideoPlan
    created: float = field(default_factory=time.time)
    polls: int = 0
    # What the provider echoes back (seconds, size, aspect ratio...).
    options: dict[str, Any] = field(default_factory=dict)

    def poll(self) -> None:
        """One retrieval: a poll-paced job moves on a step."""
        self.polls += 1

    @property
    def fraction(self) -> float:
        """How far the job is, 0 to 1 (1 once it reached its end)."""
        plan = self.plan
        if plan.after_ms is not None:
            if plan.after_ms <= 0:
                return 1.0
            return min(1.0, (time.time() - self.created) * 1000 / plan.after_ms)
        if plan.polls <= 0:
            return 1.0
        return min(1.0, self.polls / plan.polls)

    @property
    def status(self) -> str:
        """queued | in_progress | completed | failed."""
        fraction = self.fraction
        if fraction >= 1.0 and self.plan.status in FINAL:
            return self.plan.status
        if fraction <= 0.0:
            return "queued"
        return "in_progress"

    @property
    def progress(self) -> int:
        """Percent done: 100 once completed; a processing job stops short of it."""
        status = self.status
        if status in FINAL:
            return 100 if status == "completed" else int(self.fraction * 100)
        return min(99, int(self.fraction * 100))

    @property
    def done(self) -> bool:
        return self.status in FINAL

    def wait_ms(self, default: int) -> int:
        """How long a client should wait before its next poll (`openai-poll-after-ms`)."""
        if self.plan.after_ms is None:
            return default
        left = self.plan.after_ms - (time.time() - self.created) * 1000
        return max(1, min(1000, int(left)))

    @property
    def seconds(self) -> float:
        if self.plan.duration is not None:
            return self.plan.duration
        given = self.options.get("seconds")
        try:
            return float(given) if given is not None else 4.0
        except ValueError:
            return 4.0

    def video(self) -> bytes:
        """The finished video's bytes."""
        if self.plan.data is not None:
            return self.plan.data
        return mp4(self.prompt, self.seconds)

    def thumbnail(self) -> bytes:
        return generated_png(hashlib.sha256(self.prompt.encode()).hexdigest(), "64x36")


class JobStore:
    """A provider's jobs, oldest first, at most `MAX_JOBS` (kept by `ServerView.keep`)."""

    def __init__(self) -> None:
        self.jobs: OrderedDict[str, Job] = OrderedDict()

    def add(self, job: Job) -> Job:
        self.jobs.pop(job.id, None)
        self.jobs[job.id] = job
        while len(self.jobs) > MAX_JOBS:
            self.jobs.popitem(last=False)
        return job

    def get(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)

    def delete(self, job_id: str) -> Job | None:
        return self.jobs.pop(job_id, None)


# How `render` hands the job it made to `remember`, which takes it out of the body written.
JOB_FIELD = "_aimock_job"


class Keeper:
    """A provider's kept jobs (under `key` in `ServerView.keep`): `store` reads them, and
    `remember` (the surface's hook) keeps the job its `render` made."""

    def __init__(self, key: str) -> None:
        self.key = key

    def store(self, view: ServerView) -> JobStore:
        found: JobStore = view.keep(self.key, JobStore)
        return found

    def find(self, view: ServerView, job_id: str, missing: ErrorInfo) -> Job:
        """The kept job `job_id`, or `missing` (the provider's 404) raised."""
        job = self.store(view).get(job_id)
        if job is None:
            raise ProtocolError(missing)
        return job

    def remember(self, request: CanonicalRequest, body: Any, view: ServerView) -> None:
        del request
        job = body.pop(JOB_FIELD, None) if isinstance(body, dict) else None
        if isinstance(job, Job):
            self.store(view).add(job)


def new_job(request: CanonicalRequest, reply: Reply, seconds: Any) -> Job:
    """The job a create request starts: a fresh id, the fixture's plan (or the default)."""
    return Job(
        id=ids.uuid4(),
        model=reply.model or request.model,
        prompt=request.last_user_text or "",
        plan=reply.extension(VideoPlan) or DEFAULT_PLAN,
        options={"seconds": seconds, "origin": origin(request)},
    )


def prompt_request(
    body: Any,
    context: RequestContext,
    *,
    surface: str,
    provider: str,
    default_model: str,
    max_seconds: int,
) -> CanonicalRequest:
    """A `{prompt, model?, duration?}` create request (Grok's, OpenRouter's) as the fixtures
    match it: the prompt is the user message."""
    body = expect_object(body)
    prompt = body.get("prompt")
    if prompt is None:
        raise missing("prompt")
    check_type(prompt, "prompt", str, "a string")
    not_blank(prompt, "prompt")
    model = body.get("model")
    if model is None:
        model = default_model
    check_type(model, "model", str, "a string")
    not_blank(model, "model")
    duration = body.get("duration")
    if duration is not None:
        duration = within(duration, "duration", 1, max_seconds)
    return CanonicalRequest(
        surface=surface,
        provider=provider,
        endpoint="video",
        model=model,
        context=context,
        messages=(Message("user", prompt),),
        extras={"seconds": duration},
    )


# --------------------------------------------------------------------------- MP4


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4(prompt: str, seconds: float) -> bytes:
    """A minimal, valid MP4 container for `prompt`: `ftyp`, then `moov` with its `mvhd` (the
    duration `seconds`), then a `free` box holding the prompt's digest, so the bytes are the
    same for the same prompt and differ between prompts."""
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2avc1mp41")
    timescale = 1000
    duration = max(0, min(2**32 - 1, round(seconds * timescale)))
    matrix = struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
    mvhd = _box(
        b"mvhd",
        struct.pack(">B3xIIII", 0, 0, 0, timescale, duration)  # version, flags, times
        + struct.pack(">IH10x", 0x00010000, 0x0100)  # rate 1.0, volume 1.0, reserved
        + matrix
        + bytes(24)  # pre_defined
        + struct.pack(">I", 2),  # next_track_ID
    )
    free = _box(b"free", hashlib.sha256(prompt.encode()).digest())
    return ftyp + _box(b"moov", mvhd) + free
