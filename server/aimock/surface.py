"""The contract between the pipeline and a provider module.

A provider describes each wire surface it speaks as a `Surface`: how to read a request into
the canonical model, how to render a `Reply` as a body or as stream events, and how its errors
look. It never matches, paces, journals or frames bytes: the pipeline and `streaming/` do that
once for everyone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

from aiohttp import web

from aimock.canonical import CanonicalRequest, RequestContext
from aimock.fixtures.compiled import Extend, Physics, Reply

Framing = Literal["sse", "ndjson", "eventstream", "json-array", "raw"]
T = TypeVar("T")


@dataclass(slots=True)  # not frozen: a frozen dataclass is twice as slow to build, and a
class Event:  # stream builds one per chunk; nothing changes an event once made
    """One streamed item. `data` is JSON-serialised unless it is already a string (e.g. the
    `[DONE]` terminator); `tokens` weighs the event for tokens-per-second pacing. A `preamble`
    event opening a stream (a notice while the model starts) goes out at once, before the
    first-token wait, and is not a chunk; a `trailer` (a summary or terminator closing it)
    goes out with the event before it, unpaced."""

    data: Any
    name: str | None = None
    tokens: int = 0
    preamble: bool = False
    trailer: bool = False


@dataclass(frozen=True)
class ErrorInfo:
    """A neutral error, rendered by each surface in its own envelope."""

    status: int
    message: str
    type: str | None = None
    code: str | None = None
    param: str | None = None
    retry_after: float | None = None
    metadata: Mapping[str, Any] | None = None
    # The connection cannot carry another request: its body was not read to the end (too
    # large, or undecodable, which leaves aiohttp's parser mid-body).
    close: bool = False


class ProtocolError(Exception):
    """The request itself is wrong (bad JSON, missing or mistyped field, too large)."""

    def __init__(self, info: ErrorInfo) -> None:
        super().__init__(info.message)
        self.info = info


def bad_request(message: str, param: str | None = None, code: str | None = None) -> ProtocolError:
    return ProtocolError(
        ErrorInfo(400, message, type="invalid_request_error", code=code, param=param)
    )


def within(value: Any, param: str, low: int, high: int) -> int:
    """`value` as an integer in [low, high], or a 400 naming `param` and the bounds.

    Every size-like field (dimensions, n, top_k, limit...) passes through here: the real
    APIs cap them, and an unbounded one would let a single request drive a loop (or an
    allocation) as large as it likes."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(
            f"Invalid '{param}': expected an integer between {low} and {high}.",
            param=param,
            code="invalid_value",
        )
    if not low <= value <= high:
        raise bad_request(
            f"Invalid '{param}': {value} is out of range; it must be between {low} and {high}.",
            param=param,
            code="invalid_value",
        )
    return value


@dataclass(frozen=True)
class RenderOptions:
    chunk_size: int = 20


def default_unauthorized(given: bool) -> ErrorInfo:
    """The refusal of a protocol without words of its own for it: 401 `invalid_api_key`."""
    message = "Invalid API key" if given else "Missing API key"
    return ErrorInfo(401, message, type="authentication_error", code="invalid_api_key")


@dataclass(frozen=True)
class ErrorDialect:
    """How a protocol family spells an error: its body and any headers that go with it."""

    body: Callable[[ErrorInfo], dict[str, Any]]
    headers: Callable[[ErrorInfo], dict[str, str]] = lambda info: {}
    # The status that says "overloaded, try later" on this wire (Anthropic's is 529).
    overloaded_status: int = 503
    # The refusal of a request without a configured inbound API key (`aimock.auth`), given
    # whether it sent a wrong one (True) or none (False): each provider's own status, type
    # and words.
    unauthorized: Callable[[bool], ErrorInfo] = default_unauthorized


@dataclass(frozen=True)
class RawBody:
    """An answer that is not JSON (audio, a transcript as text or subtitles): `render` returns
    it, and it goes out as it is with its content type."""

    data: bytes
    content_type: str


BodyKind = Literal["json", "multipart", "either"]
Parse = Callable[[Any, RequestContext, Mapping[str, str]], CanonicalRequest]
Render = Callable[[CanonicalRequest, Reply, RenderOptions], dict[str, Any] | RawBody]
StreamRender = Callable[[CanonicalRequest, Reply, RenderOptions], Iterable[Event]]
Fallback = Callable[[CanonicalRequest], Reply]
# A recorded stream back into one answer: the events as (name, decoded JSON payload) pairs, in
# order. Lives beside the stream renderer so the two change together (record mode uses it).
Collapse = Callable[[Sequence[tuple[str | None, Any]]], Reply]
# A non-streamed answer's JSON back into one answer, beside `render` (record mode); an answer
# that is not JSON (audio, a transcript as text or subtitles) comes as a `RawBody`.
Decode = Callable[[Any], Reply]
# Headers a successful answer carries besides the body (request ids, content-type echoes).
SuccessHeaders = Callable[[CanonicalRequest], Mapping[str, str]]
# The framing of one streamed answer, when the request picks it (Gemini's `?alt=sse` or not).
FramingFor = Callable[[CanonicalRequest], Framing]
# The requests to try in turn (OpenRouter's `models` fallback list): the pipeline answers
# with the first whose fixture is not a falling-through error.
Candidates = Callable[[CanonicalRequest], Sequence[CanonicalRequest]]
# What a surface keeps between requests (OpenAI's stored Responses), through the server's
# `ServerView.keep`. `recall` completes a parsed request from what was kept (an earlier
# response it continues), or raises `ProtocolError` for an unknown one unless `lenient` (a
# recorder is on: the upstream may know it). `remember` keeps a successful answer: the
# rendered body, or the list of stream events.
Recall = Callable[[CanonicalRequest, "ServerView", bool], CanonicalRequest]
Remember = Callable[[CanonicalRequest, Any, "ServerView"], None]


@dataclass(frozen=True)
class Surface:
    """One endpoint of one wire protocol, served through the shared pipeline."""

    name: str  # "openai.chat": what a fixture's `match.surface` names
    provider: str  # "openai"
    endpoint: str  # fixture endpoint kind: chat | embedding | moderation
    method: str
    paths: tuple[str, ...]
    parse: Parse
    render: Render
    errors: ErrorDialect
    stream: StreamRender | None = None
    framing: Framing = "sse"
    # Overrides `framing` per request when the same route streams in more than one way.
    framing_for: FramingFor | None = None
    # An answer for a miss when not strict (deterministic embeddings, unflagged moderation).
    fallback: Fallback | None = None
    collapse: Collapse | None = None
    decode: Decode | None = None
    headers: SuccessHeaders | None = None
    candidates: Candidates | None = None
    # What the request body is: JSON (parsed with orjson), multipart/form-data (an upload:
    # `parse` then gets an `aimock.multipart.Form`), or either, as its Content-Type says (a
    # route the API takes both ways). The fast lane takes only JSON bodies.
    body: BodyKind = "json"
    recall: Recall | None = None
    remember: Remember | None = None


class ServerView(Protocol):
    """What a plain route may read of the running server."""

    @property
    def models(self) -> list[str]: ...

    @property
    def max_body_bytes(self) -> int: ...

    @property
    def chunk_size(self) -> int:
        """Characters a streamed slice holds when no fixture says (`--chunk-size`)."""
        ...

    def keep(self, key: str, make: Callable[[], T]) -> T:
        """What the server keeps under `key` between requests (made on first use; a full
        reset forgets it): a provider's stored responses, files, jobs."""
        ...


PlainHandler = Callable[[web.Request, ServerView], Awaitable[web.StreamResponse]]
# Whether a request is this route's to answer (e.g. it carries Google's API key header).
Accepts = Callable[[web.Request], bool]


@dataclass(frozen=True)
class PlainRoute:
    """A route that needs no fixture matching (e.g. a model listing).

    Two providers may serve the same method and path (`GET /v1/models` is both OpenAI's and
    the Gemini API's): the app then asks the routes with `accepts` in turn and falls back to
    the first route without one."""

    name: str
    provider: str
    method: str
    path: str
    handler: PlainHandler
    errors: ErrorDialect
    accepts: Accepts | None = None


# A WebSocket surface (OpenAI Realtime, GPT-Live, Responses over a socket, Gemini Live): the
# provider writes a `Session` per connection against the `Link` that `aimock.sockets` gives it.
# Each answer on the socket is a `Turn` of the one request path: a journal entry, chaos, strict
# mode, metrics and a log line, as an HTTP request gets.


@dataclass(frozen=True)
class Answer:
    """What a turn selected: the reply, how to pace it, and the chunking of its text."""

    reply: Reply
    physics: Physics
    options: RenderOptions


class Turn(Protocol):
    """One exchange on a socket (`async with link.turn(body) as turn`). A `ProtocolError`, a
    `Miss` or chaos raised inside is told to the client by the surface's `report` (or done to
    the socket) when the block ends, and swallowed; `ok` is then False."""

    @property
    def ok(self) -> bool: ...

    async def select(self, canonical: CanonicalRequest) -> Answer:
        """The fixture's answer to `canonical` (chaos rolled, strict mode applied); raises
        `Miss` when nothing answers and the surface has no fallback."""
        ...

    async def stream(self, events: Sequence[Event], physics: Physics) -> bool:
        """`events` as text frames paced by the shared pacer; False when the stream was cut
        (chaos, the fixture's truncation) or the client left."""
        ...

    async def send(self, event: Any) -> None:
        """One frame now, recorded in the turn's journal entry."""
        ...


class Link(Protocol):
    """One open socket, as a session sees it."""

    @property
    def request(self) -> web.Request: ...  # the upgrade request: headers, query, path

    @property
    def context(self) -> RequestContext: ...

    @property
    def closed(self) -> bool: ...

    async def send(self, event: Any) -> None:
        """One text frame: the JSON of `event` (a str goes as it is). Nothing happens once
        the socket is closed."""
        ...

    async def close(self, code: int = 1000, reason: str = "") -> None: ...

    def abort(self) -> None:
        """Drop the connection without a close frame, as a dying upstream would."""
        ...

    def turn(self, body: Any) -> AbstractAsyncContextManager[Turn]:
        """One answer on the socket, journaled with `body` as what was asked."""
        ...

    def spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run `work` beside the receive loop (a fault of ours in it is logged and reported);
        cancelled when the socket closes."""
        ...


class Session(Protocol):
    """A protocol's state on one socket, made by `SocketSurface.session` once the upgrade is
    accepted."""

    async def opened(self) -> None:
        """After the upgrade, before any client frame (OpenAI's `session.created`)."""
        ...

    async def received(self, message: Any) -> None:
        """A client text frame, parsed (any JSON value; the session checks its shape)."""
        ...

    async def closed(self) -> None:
        """The socket ended, whichever side ended it."""
        ...


# How an error is told on an open socket: an `error` event, or a close code and reason.
Report = Callable[[Link, ErrorInfo], Awaitable[None]]
# Refuses an upgrade before it is accepted by raising `ProtocolError` (a bad query, too many
# sessions): answered in the surface's HTTP envelope.
Admit = Callable[[web.Request], None]


@dataclass(frozen=True)
class SocketSurface:
    """A WebSocket endpoint of one wire protocol."""

    name: str  # "openai.realtime": `match.surface`, the journal, metrics, chaos policies
    provider: str
    paths: tuple[str, ...]  # GET paths that upgrade
    session: Callable[[Link], Session]
    errors: ErrorDialect  # a refused upgrade, in HTTP
    report: Report
    endpoint: str = "realtime"  # the fixture endpoint kind its turns ask for
    admit: Admit | None = None
    # Whether binary frames carry the protocol (none of today's do: a binary frame is an error).
    binary: bool = False


@dataclass(frozen=True)
class Provider:
    """What a provider module contributes: its surfaces and plain routes."""

    name: str
    surfaces: tuple[Surface, ...] = ()
    routes: tuple[PlainRoute, ...] = field(default_factory=tuple)
    # The variables its official SDK reads to find the service, with `{origin}` standing for
    # the mock's scheme://host:port. The operator publishes them for `envFrom`.
    environment: Mapping[str, str] = field(default_factory=dict)
    # Builders of this provider's typed part of a reply (see `fixtures.compiled`).
    extensions: tuple[Extend, ...] = ()
    sockets: tuple[SocketSurface, ...] = ()
