"""GPT-Live over a WebSocket: `GET /v1/live/sessions`, replayed from a recorded transcript as
AIMock 1.43 replays it (`client.live.connect()` in the openai SDK).

A Live fixture (`match.endpoint: openai-live`, `response.live`) holds a whole conversation:
client commands and server events in order (`aimock.models.live`). The session goes:

1. The upgrade is refused with 400 when the URL carries `?model=` (the model goes in the first
   message) and with 429 while 16 Live sessions are open.
2. The first message must be `session.start` for `gpt-live-1`, PCM16 audio at 24 kHz and a
   delegation of `client` (client mode) or `responses` (managed mode). It selects the fixture
   (one journaled turn: endpoint `openai-live`, the session's model). No fixture: the client
   is told `fixture-mismatch` and the socket closes with 1008.
3. From then on each client message must equal the transcript's next client entry, with the
   identifiers the client chose put in place of the recorded ones; audio must be the recorded
   PCM byte for byte, in frames cut any way the client likes. A server event goes out once the
   client input its barrier waits for has arrived, at its `atMs` after the start
   (`liveTiming: recorded`, divided by the replay speed) or at once (`immediate`). Server ids
   the transcript defines are minted afresh (`aimock-<uuid>`); client ids are echoed.
4. After the server's `session.closed` the socket closes with 1000.

Any failure is one frame, `{"type": "aimock.error", "error": {"category", "message"}}`, then
close 1008 (1009 for a resource limit). Categories: `invalid-client` (not a Live command, or
not allowed now), `fixture-mismatch` (no fixture, or the client strayed from the transcript),
`resource-limit`, `timeout` (120 s per session, 30 s without activity, 30 s waiting for the
client input the transcript expects), `protocol-divergence`.

`LiveReplay` is the pure engine (no I/O, no clock of its own); `LiveSession` drives it on a
socket. In managed mode `session.update` may only change the backend's instructions.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from aimock import ids
from aimock.canonical import CanonicalRequest
from aimock.fixtures.compiled import Reply
from aimock.models.fixture import Fixture, Response
from aimock.models.live import (
    LIMITS,
    MODEL,
    PATH,
    SAMPLE_RATE,
    LiveLimits,
    LiveShapeError,
    LiveTranscript,
    at_pointer,
    binding_sites,
    check_client_event,
    check_instructions_update,
    dotted,
    json_kind,
    pcm_bytes,
    pointer_parts,
    put_at_pointer,
    same_json,
)
from aimock.providers import openai_base
from aimock.surface import (
    ErrorInfo,
    Link,
    ProtocolError,
    Provider,
    SocketSurface,
)

SURFACE = "openai.live"
ENDPOINT = "openai-live"
ERROR_EVENT = "aimock.error"
CATEGORIES = (
    "invalid-client",
    "fixture-mismatch",
    "resource-limit",
    "timeout",
    "protocol-divergence",
)
# The journal status of each failure (a turn that failed).
_STATUS = {
    "invalid-client": 400,
    "fixture-mismatch": 409,
    "resource-limit": 413,
    "timeout": 408,
    "protocol-divergence": 500,
}


class LiveFailure(Exception):
    """The session cannot go on: what to tell the client, and how to close."""

    def __init__(self, category: str, message: str) -> None:
        super().__init__(f"{category}: {message}")
        self.category = category
        self.message = message

    @property
    def close_code(self) -> int:
        return close_code(self.category)

    def info(self) -> ErrorInfo:
        return ErrorInfo(
            _STATUS.get(self.category, 500), self.message, type=ERROR_EVENT, code=self.category
        )


def close_code(category: str) -> int:
    return 1009 if category == "resource-limit" else 1008


# --------------------------------------------------------------------------- the tape


@dataclass(frozen=True, slots=True)
class TapeBinding:
    """One identifier field of one entry, as the replay uses it."""

    pointer: str
    parts: tuple[str, ...]
    name: str
    define: bool
    namespace: str


@dataclass(frozen=True, slots=True)
class Command:
    """A client entry matched whole (any command, or an audio append with an id)."""

    entry: int


@dataclass(frozen=True, slots=True)
class AudioRun:
    """Consecutive audio appends with the same other fields, as one stream of PCM: the
    client may cut it into frames any way it likes."""

    entry: int  # the first of them
    pcm: bytes
    rest: Mapping[str, Any]  # the appends' fields besides `audio`


Step = Command | AudioRun


@dataclass(frozen=True)
class LiveTape:
    """A transcript compiled for replay (once, when the fixtures load): a fixture's reply
    carries it as an extension (`reply.extension(LiveTape)`)."""

    mode: str
    events: tuple[Mapping[str, Any], ...]  # every entry's event
    steps: tuple[Step, ...]  # what the client must send, in order
    servers: tuple[int, ...]  # the entries the server sends, in order
    barriers: tuple[tuple[int, int], ...]  # per server entry: (commands, audio bytes)
    at_ms: tuple[int, ...]  # per server entry
    bindings: Mapping[int, tuple[TapeBinding, ...]]  # per entry, definitions first
    immediate: bool  # liveTiming: immediate


def compile_tape(
    live: LiveTranscript, immediate: bool = False, limits: LiveLimits = LIMITS
) -> LiveTape:
    """`live` (validated) as the replay reads it."""
    sites = {
        index: binding_sites(entry.event, entry.direction)
        for index, entry in enumerate(live.entries)
    }
    grouped: dict[int, list[TapeBinding]] = {}
    for binding in live.bindings:
        parts = pointer_parts(binding.pointer) or []
        namespace = sites[binding.entry][binding.pointer].namespace
        grouped.setdefault(binding.entry, []).append(
            TapeBinding(
                binding.pointer,
                tuple(parts),
                binding.name,
                binding.action == "define",
                namespace,
            )
        )
    bindings = {
        entry: tuple(sorted(found, key=lambda b: not b.define)) for entry, found in grouped.items()
    }
    steps: list[Step] = []
    runs: dict[int, list[bytes]] = {}  # a run's position in `steps` -> its chunks
    servers: list[int] = []
    room = limits.max_decoded_audio_bytes
    for index, entry in enumerate(live.entries):
        event = entry.event
        if entry.direction == "server":
            servers.append(index)
            continue
        if event.get("type") != "session.input_audio.append":
            steps.append(Command(index))
            continue
        pcm = pcm_bytes(event.get("audio"), ("entries", index, "event", "audio"), room)
        room -= len(pcm)
        if index in bindings:  # an append with an id is matched as a command
            steps.append(Command(index))
            continue
        rest = _without_audio(event)
        last = steps[-1] if steps else None
        if isinstance(last, AudioRun) and same_json(dict(last.rest), rest):
            runs[len(steps) - 1].append(pcm)
        else:
            runs[len(steps)] = [pcm]
            steps.append(AudioRun(index, b"", rest))
    for position, chunks in runs.items():
        run = steps[position]
        assert isinstance(run, AudioRun)
        steps[position] = AudioRun(run.entry, b"".join(chunks), run.rest)
    barriers: list[tuple[int, int]] = []
    at_ms: list[int] = []
    for index in servers:
        entry = live.entries[index]
        barrier = entry.barrier
        barriers.append((barrier.command, barrier.audio_bytes) if barrier else (0, 0))
        at_ms.append(entry.at_ms)
    return LiveTape(
        mode=live.mode,
        events=tuple(entry.event for entry in live.entries),
        steps=tuple(steps),
        servers=tuple(servers),
        barriers=tuple(barriers),
        at_ms=tuple(at_ms),
        bindings=bindings,
        immediate=immediate,
    )


def live_tape(fixture: Fixture | None, response: Response) -> LiveTape | None:
    """The reply extension builder (`Provider.extensions`)."""
    del fixture
    if response.live is None:
        return None
    return compile_tape(response.live, immediate=response.live_timing == "immediate")


def _without_audio(event: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in event.items() if key != "audio"}


# --------------------------------------------------------------------------- the engine


def opening(message: Any, limits: LiveLimits = LIMITS) -> tuple[dict[str, Any], str]:
    """The session configuration of a first message, and the mode it asks for; raises
    `LiveFailure` unless it is a `session.start` Live can serve."""
    kind = _checked(message, limits)
    session = message.get("session")
    fmt = _field(_field(session, "audio"), "format")
    delegation = _field(session, "delegation")
    mode = delegation.get("type") if isinstance(delegation, dict) else None
    if (
        kind != "session.start"
        or not isinstance(session, dict)
        or session.get("model") != MODEL
        or _field(fmt, "type") != "audio/pcm"
        or _field(fmt, "rate") != SAMPLE_RATE
        or mode not in ("client", "responses")
    ):
        raise LiveFailure(
            "invalid-client",
            f"the first message must be session.start with session.model {MODEL}, "
            f"session.audio.format {{type: audio/pcm, rate: {SAMPLE_RATE}}} and "
            "session.delegation.type client or responses",
        )
    return session, "client" if mode == "client" else "managed"


def _field(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, dict) else None


def _checked(message: Any, limits: LiveLimits) -> str:
    """The type of a documented Live command of at most `max_message_bytes` as JSON; else
    `resource-limit` (too large) or `invalid-client`."""
    try:
        size = len(orjson.dumps(message))
    except orjson.JSONEncodeError as exc:  # an integer past 64 bits, say
        raise LiveFailure("invalid-client", f"not a Live client command: {exc}") from None
    if size > limits.max_message_bytes:
        raise LiveFailure(
            "resource-limit",
            f"a message of {size} bytes is past the limit of {limits.max_message_bytes}",
        )
    try:
        return check_client_event(message, limits)
    except LiveShapeError as exc:
        raise LiveFailure("invalid-client", f"not a Live client command: {exc}") from None


def new_id() -> str:
    return f"aimock-{ids.uuid4()}"


class LiveReplay:
    """One session's replay of a tape. Pure: the caller gives every client message and the
    time (seconds, any monotonic clock) and asks what to send and until when to wait; ids the
    server defines come from `mint`.

    `accept` raises `LiveFailure` and nothing else, whatever the message."""

    def __init__(
        self,
        tape: LiveTape,
        *,
        now: float,
        speed: float = 1.0,
        limits: LiveLimits = LIMITS,
        mint: Callable[[], str] = new_id,
    ) -> None:
        self.tape = tape
        self.speed = speed if speed > 0 else 1.0
        self.limits = limits
        self.mint = mint
        self.created = now
        self.start: float | None = None  # when the first message was accepted
        self.last_activity = now
        self.missing_since = now  # since when the client input the tape expects is awaited
        self.mode: str | None = None  # the mode the client's session.start asked for
        self.cursor = 0  # the next step of the client
        self.offset = 0  # PCM bytes of the current audio run received
        self.commands = 0  # client commands received
        self.audio = 0  # PCM bytes since the last command
        self.audio_total = 0
        self.next = 0  # the next server event
        self.values: dict[str, str] = {}  # binding name -> the id in force
        self.taken: set[tuple[str, str]] = set()  # (namespace, id) pairs named so far

    # ----------------------------------------------------------------- the client's side

    def accept(self, message: Any, now: float) -> None:
        """The client's next message; raises `LiveFailure` when it is not allowed or not the
        one the tape holds next."""
        if self.mode is None:
            _session, self.mode = opening(message, self.limits)
        else:
            kind = _checked(message, self.limits)
            if kind == "session.start":
                raise LiveFailure("invalid-client", "the session has started already")
            if kind == "session.update":
                self._check_update(message)
        try:
            self._match(message)
        except LiveShapeError as exc:
            raise LiveFailure(
                "fixture-mismatch", f"the client's message does not follow the fixture: {exc}"
            ) from None
        if self.start is None:
            self.start = now
        self.last_activity = self.missing_since = now

    def _check_update(self, message: dict[str, Any]) -> None:
        if self.mode != "managed":
            raise LiveFailure(
                "invalid-client", "session.update is only allowed in managed mode (responses)"
            )
        try:
            check_instructions_update(message, ())
        except LiveShapeError as exc:
            raise LiveFailure("invalid-client", str(exc)) from None

    def _match(self, message: dict[str, Any]) -> None:
        steps = self.tape.steps
        step = steps[self.cursor] if self.cursor < len(steps) else None
        rest = _without_audio(message)
        # A finished audio run gives way to what follows, unless this is an empty append of
        # the same kind (which adds nothing to it).
        while (
            isinstance(step, AudioRun)
            and self.offset == len(step.pcm)
            and not (message.get("audio") == "" and same_json(rest, dict(step.rest)))
        ):
            self.cursor += 1
            self.offset = 0
            step = steps[self.cursor] if self.cursor < len(steps) else None
        if step is None:
            raise LiveShapeError((), f"the fixture expects no more messages, got {_kind(message)}")
        if isinstance(step, AudioRun):
            self._audio(message, rest, step)
        else:
            self._command(message, step)

    def _audio(self, message: dict[str, Any], rest: dict[str, Any], run: AudioRun) -> None:
        where = f"entries[{run.entry}]"
        if not same_json(rest, dict(run.rest)):
            raise LiveShapeError(
                (),
                f"expected session.input_audio.append ({where} on, {len(run.pcm) - self.offset} "
                f"more PCM bytes), got {_kind(message)}{_differs(dict(run.rest), rest)}",
            )
        room = min(
            self.limits.max_decoded_audio_bytes - self.audio_total, len(run.pcm) - self.offset
        )
        pcm = pcm_bytes(message.get("audio"), ("audio",), room)
        if pcm != run.pcm[self.offset : self.offset + len(pcm)]:
            raise LiveShapeError(
                ("audio",), f"differs from the recorded PCM at byte {self.offset} of {where} on"
            )
        self.offset += len(pcm)
        self.audio += len(pcm)
        self.audio_total += len(pcm)

    def _command(self, message: dict[str, Any], step: Command) -> None:
        index = step.entry
        recorded = self.tape.events[index]
        template = copy.deepcopy(dict(recorded))
        for binding in self.tape.bindings.get(index, ()):
            found, value = at_pointer(message, list(binding.parts))
            if not found or not isinstance(value, str) or not value:
                raise LiveShapeError(
                    (),
                    f"expected {recorded.get('type')} (entries[{index}]) with an id at "
                    f"{binding.pointer}, got {_kind(message)}",
                )
            self._bind(binding, value)
            put_at_pointer(template, list(binding.parts), value)
        if not same_json(template, message):
            raise LiveShapeError(
                (),
                f"expected {recorded.get('type')} (entries[{index}]), got "
                f"{_kind(message)}{_differs(template, message)}",
            )
        if message.get("type") == "session.input_audio.append":
            room = self.limits.max_decoded_audio_bytes - self.audio_total
            size = len(pcm_bytes(message.get("audio"), ("audio",), room))
            self.audio += size
            self.audio_total += size
        else:
            self.commands += 1
            self.audio = 0
        self.cursor += 1

    def _bind(self, binding: TapeBinding, value: str) -> None:
        known = self.values.get(binding.name)
        if not binding.define:
            if known != value:
                raise LiveShapeError(
                    (),
                    f"{binding.pointer} is {value!r}, but the fixture's {binding.name} is "
                    f"{known!r} in this session",
                )
            return
        key = (binding.namespace, value)
        if known is not None or key in self.taken:
            raise LiveShapeError(
                (), f"{binding.pointer} {value!r} is an id this session has used already"
            )
        self.values[binding.name] = value
        self.taken.add(key)

    # ----------------------------------------------------------------- the server's side

    @property
    def finished(self) -> bool:
        """Every server event has been taken."""
        return self.next >= len(self.tape.servers)

    def eligible(self) -> bool:
        """Whether the client input the next server event waits for has arrived."""
        if self.finished:
            return False
        command, audio = self.tape.barriers[self.next]
        return self.commands > command or (self.commands == command and self.audio >= audio)

    def due_at(self) -> float | None:
        """When the next server event may go out, or None while it waits for the client."""
        if self.start is None or not self.eligible():
            return None
        if self.tape.immediate:
            return self.start
        return self.start + self.tape.at_ms[self.next] / 1000 / self.speed

    def take(self, now: float) -> dict[str, Any]:
        """The next server event, its ids put in (call when `due_at()` has come)."""
        index = self.tape.servers[self.next]
        event = copy.deepcopy(dict(self.tape.events[index]))
        for binding in self.tape.bindings.get(index, ()):
            try:
                if binding.define:
                    self._bind(binding, self.mint())
            except LiveShapeError as exc:
                raise LiveFailure("protocol-divergence", str(exc)) from None
            value = self.values.get(binding.name)
            if value is None:
                raise LiveFailure(
                    "protocol-divergence", f"entries[{index}] needs {binding.name}, never set"
                )
            put_at_pointer(event, list(binding.parts), value)
        size = len(orjson.dumps(event))
        if size > self.limits.max_write_bytes:
            raise LiveFailure(
                "resource-limit",
                f"entries[{index}] is {size} bytes, past the limit of "
                f"{self.limits.max_write_bytes}",
            )
        self.next += 1
        self.last_activity = self.missing_since = now
        return event

    # ----------------------------------------------------------------- deadlines

    def awaiting_client(self) -> bool:
        """Whether the tape expects more from the client than it has sent."""
        steps = self.tape.steps
        if self.cursor >= len(steps):
            return False
        last = steps[-1]
        spent = self.cursor == len(steps) - 1 and isinstance(last, AudioRun)
        return not (spent and isinstance(last, AudioRun) and self.offset == len(last.pcm))

    def deadline(self) -> tuple[float, LiveFailure]:
        """The first of the session's deadlines, and the failure it brings."""
        limits = self.limits
        found = [
            (
                (self.start if self.start is not None else self.created)
                + limits.max_duration_ms / 1000,
                LiveFailure("timeout", f"the session ran past {limits.max_duration_ms} ms"),
            ),
            (
                self.last_activity + limits.idle_timeout_ms / 1000,
                LiveFailure("timeout", f"nothing happened for {limits.idle_timeout_ms} ms"),
            ),
        ]
        if self.awaiting_client() and not self.eligible():
            found.append(
                (
                    self.missing_since + limits.mismatch_timeout_ms / 1000,
                    LiveFailure(
                        "fixture-mismatch",
                        f"the client message the fixture expects next ({self._expected()}) "
                        f"did not come within {limits.mismatch_timeout_ms} ms",
                    ),
                )
            )
        return min(found, key=lambda item: item[0])

    def _expected(self) -> str:
        step = self.tape.steps[self.cursor]
        if isinstance(step, AudioRun) and self.offset == len(step.pcm):
            following = self.cursor + 1
            if following < len(self.tape.steps):
                step = self.tape.steps[following]
        kind = self.tape.events[step.entry].get("type")
        return f"{kind}, entries[{step.entry}]"


def _kind(message: Any) -> str:
    kind = message.get("type") if isinstance(message, dict) else None
    return kind if isinstance(kind, str) else json_kind(message)


def _differs(expected: Any, actual: Any) -> str:
    where = _first_difference(expected, actual, ())
    return "" if where is None else f" (differs at {dotted(where) or 'the top'})"


def _first_difference(expected: Any, actual: Any, path: tuple[str | int, ...]) -> Any:
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(expected.keys() | actual.keys()):
            if key not in expected or key not in actual:
                return (*path, key)
            found = _first_difference(expected[key], actual[key], (*path, key))
            if found is not None:
                return found
        return None
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        for index, (a, b) in enumerate(zip(expected, actual, strict=True)):
            found = _first_difference(a, b, (*path, index))
            if found is not None:
                return found
        return None
    return None if same_json(expected, actual) else path


# --------------------------------------------------------------------------- the socket


# The limits every Live socket of this process keeps (AIMock's defaults; a test may shrink them).
SESSION_LIMITS = LIMITS
# The open Live sessions of each server (an app), for the cap on how many may be open at once.
_OPEN: weakref.WeakKeyDictionary[web.Application, set[LiveSession]] = weakref.WeakKeyDictionary()


class LiveSession:
    """`LiveReplay` on one socket: the first message selects the fixture, a task sends what
    falls due and watches the deadlines."""

    def __init__(self, link: Link, limits: LiveLimits | None = None) -> None:
        self.link = link
        self.limits = limits or SESSION_LIMITS
        self.replay: LiveReplay | None = None
        self.over = False
        self.created = asyncio.get_running_loop().time()
        self.wake = asyncio.Event()
        _OPEN.setdefault(link.request.app, set()).add(self)

    async def opened(self) -> None:
        self.link.spawn(self._drive())

    async def closed(self) -> None:
        self.over = True
        self.wake.set()
        _OPEN.get(self.link.request.app, set()).discard(self)

    async def received(self, message: Any) -> None:
        if self.over:
            return
        try:
            if self.replay is None:
                session, _mode = opening(message, self.limits)
                if not await self._start(message, session):
                    return
            assert self.replay is not None
            self.replay.accept(message, asyncio.get_running_loop().time())
        except LiveFailure as failure:
            await self._fail(failure, message)
            return
        self.wake.set()

    async def _start(self, message: dict[str, Any], session: dict[str, Any]) -> bool:
        """Select the fixture (one journaled turn); False when the session ends here."""
        link = self.link
        canonical = CanonicalRequest(
            surface=SURFACE,
            provider=openai_base.OPENAI,
            endpoint=ENDPOINT,
            model=str(session.get("model")),
            context=link.context,
            extras={"session": session},
        )
        reply: Reply | None = None
        speed = 1.0
        async with link.turn(message) as turn:
            answer = await turn.select(canonical)
            reply, speed = answer.reply, answer.physics.replay_speed
        if not turn.ok or reply is None:
            self.over = True
            if not link.closed:  # the failure was not told (chaos that sent a broken frame)
                await link.close(1008, "live session failed")
            return False
        tape = reply.extension(LiveTape)
        if tape is None:
            raise LiveFailure("protocol-divergence", "the matched fixture holds no live transcript")
        now = asyncio.get_running_loop().time()
        self.replay = LiveReplay(tape, now=now, speed=speed, limits=self.limits)
        return True

    async def _fail(self, failure: LiveFailure, body: Any) -> None:
        """Tell the client and close: a failed turn in the journal."""
        self.over = True
        self.wake.set()
        async with self.link.turn(body):
            raise ProtocolError(failure.info())

    async def _drive(self) -> None:
        loop = asyncio.get_running_loop()
        link, limits = self.link, self.limits
        ends = self.created + limits.max_duration_ms / 1000
        while not self.over and not link.closed:
            now = loop.time()
            replay = self.replay
            due: float | None = None
            if replay is None:
                deadline, failure = min(
                    (
                        self.created + limits.idle_timeout_ms / 1000,
                        LiveFailure(
                            "timeout",
                            f"no session.start within {limits.idle_timeout_ms} ms",
                        ),
                    ),
                    (ends, _too_long(limits)),
                    key=lambda item: item[0],
                )
            else:
                due = replay.due_at()
                if due is not None and due <= now:
                    try:
                        event = replay.take(now)
                    except LiveFailure as failed:
                        await self._fail(failed, None)
                        return
                    await link.send(event)
                    if replay.finished:
                        self.over = True
                        await link.close(1000, "live session complete")
                        return
                    continue
                deadline, failure = min(
                    replay.deadline(), (ends, _too_long(limits)), key=lambda item: item[0]
                )
            if now >= deadline:
                await self._fail(failure, None)
                return
            until = deadline if due is None else min(due, deadline)
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), max(0.0, until - now))


def _too_long(limits: LiveLimits) -> LiveFailure:
    return LiveFailure("timeout", f"the session ran past {limits.max_duration_ms} ms")


def category_of(info: ErrorInfo) -> str:
    """The `aimock.error` category of an error told on a Live socket."""
    if info.type == ERROR_EVENT and info.code in CATEGORIES:
        return info.code
    if info.code == "no_fixture_match":
        return "fixture-mismatch"
    if info.status == 413:
        return "resource-limit"
    if 400 <= info.status < 500 and info.status != 429:
        return "invalid-client"
    return "protocol-divergence"


async def report(link: Link, info: ErrorInfo) -> None:
    """Every error on a Live socket is one `aimock.error` frame, then the close."""
    category = category_of(info)
    await link.send({"type": ERROR_EVENT, "error": {"category": category, "message": info.message}})
    await link.close(close_code(category), "live session failed")


def admit(request: web.Request) -> None:
    """Refuse before the upgrade: a model in the URL (400), too many sessions (429)."""
    if "model" in request.query:
        raise ProtocolError(
            ErrorInfo(
                400,
                "GPT-Live takes no ?model= in the URL: send the model in session.start",
                type="invalid_request_error",
                code="invalid_request",
                param="model",
            )
        )
    most = SESSION_LIMITS.max_sessions
    sessions = _OPEN.get(request.app, set())
    # A socket that is gone no longer counts, whether or not its `closed` has run yet.
    sessions.difference_update([s for s in sessions if s.link.closed])
    if len(sessions) >= most:
        raise ProtocolError(
            ErrorInfo(
                429,
                f"Too many Live sessions: at most {most} at once",
                type="rate_limit_error",
                code="too_many_sessions",
                retry_after=1.0,
            )
        )


SOCKET = SocketSurface(
    name=SURFACE,
    provider=openai_base.OPENAI,
    paths=openai_base.paths(PATH.removeprefix("/v1")),
    session=LiveSession,
    errors=openai_base.ERRORS,
    report=report,
    endpoint=ENDPOINT,
    admit=admit,
)

PROVIDER = Provider(name=SURFACE, sockets=(SOCKET,), extensions=(live_tape,))
