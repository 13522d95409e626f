"""The fixture pipeline, the handler of every LLM surface on the request path:

    read -> parse (provider) -> canonical -> match -> chaos -> strict -> render

Providers supply parse and render hooks (a `Surface`); everything else happens here, once. The
request path (`exchange.serve`) around it gives the request id, journal entry, metrics and log
line, and answers a `ProtocolError`, a `Miss` or a fault in the surface's own error envelope.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Mapping
from typing import Any, NamedTuple

import orjson
from aiohttp import web

from aimock.canonical import DEFAULT_TEST_ID, CanonicalRequest, RequestContext
from aimock.exchange import Exchange, Handler, Miss, Route
from aimock.fixtures import explain
from aimock.fixtures.compiled import Physics, Reply
from aimock.fixtures.matching import FixtureIndex, Selection
from aimock.journal import Entry
from aimock.multipart import parse_form
from aimock.recording.proxy import RECORDER
from aimock.state import ServerState
from aimock.streaming import pacing
from aimock.surface import (
    ErrorInfo,
    ProtocolError,
    RawBody,
    RenderOptions,
    SocketSurface,
    Surface,
)
from aimock.wire import JSON_TYPE, error_response, parse_json, read_body


def route_of(surface: Surface) -> Route:
    """A surface on the request path: chaos is rolled once the fixture is known."""
    return Route(surface.name, surface.provider, surface.errors, chaos="handler", truncates=True)


def handler_of(surface: Surface) -> Handler:
    async def handler(exchange: Exchange) -> web.StreamResponse:
        return await answer(exchange, surface)

    return handler


def describe(request: CanonicalRequest) -> str:
    """A request as a miss names it: surface, model, the text that was matched on."""
    parts = [f"surface={request.surface}", f"model={request.model!r}"]
    if request.last_user_text is not None:
        text = request.last_user_text
        parts.append(f"userMessage={text[:80] + '...' if len(text) > 80 else text!r}")
    elif request.input_text is not None:
        parts.append(f"inputText={request.input_text[:80]!r}")
    if request.context.test_id != DEFAULT_TEST_ID:
        parts.append(f"testId={request.context.test_id!r}")
    return "(" + ", ".join(parts) + ")"


def error_info(reply: Reply) -> ErrorInfo:
    err = reply.error
    assert err is not None
    return ErrorInfo(
        err.status,
        err.message,
        type=err.type,
        code=err.code,
        param=err.param,
        retry_after=err.retry_after,
        metadata=err.metadata,
    )


async def answer(exchange: Exchange, surface: Surface) -> web.StreamResponse:
    state, entry, request = exchange.state, exchange.entry, exchange.request
    check_served(state, surface)
    raw = await read_body(request, state.settings.max_body_bytes)
    index = state.index  # the snapshot `begin` selects from: no wait in between
    begun = begin(
        state,
        surface,
        exchange.context,
        entry,
        match_info=request.match_info,
        raw=raw,
        method=request.method,
        lenient=request.app.get(RECORDER) is not None,
        content_type=request.headers.get("Content-Type", ""),
    )
    if isinstance(begun, web.Response):
        return begun
    canonical, selection = begun
    compiled = selection.compiled
    found = exchange.roll(compiled.chaos if compiled else None, canonical.model)
    if found is not None:
        await exchange.suffer(found)

    reply = selection.reply
    physics = compiled.physics if compiled is not None else index.default_physics
    if reply is None:
        recorder = request.app.get(RECORDER)
        if recorder is not None and not exchange.strict:  # strict never leaves the mock
            return await recorder.relay(exchange, surface, canonical, raw)
        reply = unanswered(
            surface, canonical, selection, entry, strict=exchange.strict, index=index, state=state
        )

    if reply.kind == "error":
        await pacing.wait_first_byte(physics)
        return error_response(surface.errors, error_info(reply))

    options = RenderOptions(chunk_size=physics.chunk_size)
    if canonical.stream and surface.stream is not None:
        return await _stream(exchange, surface, canonical, reply, physics=physics, options=options)
    await pacing.wait_first_byte(physics)
    response = plain(surface, canonical, reply, options, state)
    if exchange.truncate:
        return await _cut(exchange, response)
    return response


# The steps of `answer` that never wait, shared with the fast lane (`aimock.fastlane`), which
# runs them for a request nothing on this path could make wait.


def check_served(state: ServerState, surface: Surface | SocketSurface) -> None:
    if not state.settings.serves(surface.name, surface.provider):
        raise ProtocolError(
            ErrorInfo(
                404,
                f"The {surface.name} surface is not enabled on this stack (spec.surfaces)",
                type="invalid_request_error",
                code="surface_disabled",
            )
        )


def begin(
    state: ServerState,
    surface: Surface,
    context: RequestContext,
    entry: Entry,
    *,
    match_info: Mapping[str, str],
    raw: bytes,
    method: str,
    lenient: bool = False,
    content_type: str = "",
) -> tuple[CanonicalRequest, Selection] | web.Response:
    """Parse the body, complete it from what the surface keeps (`recall`; `lenient` when a
    recorder may relay what is unknown here) and select its fixture (the journal entry
    learns model and fixture); or the answer already, when a one-shot error was queued."""
    body: Any
    if surface.body == "multipart" or (
        surface.body == "either" and content_type.lower().startswith("multipart/")
    ):  # an upload (the fast lane never takes one)
        body = parse_form(raw, content_type)
        entry.body = body.describe()
    else:
        body = entry.body = parse_json(raw, method)
    canonical = surface.parse(body, context, match_info)
    entry.model = canonical.model or None
    if surface.recall is not None:
        canonical = surface.recall(canonical, state, lenient)
        entry.model = canonical.model or None  # what it continues may name the model

    queued = injected(state, entry)
    if queued is not None:
        return error_response(surface.errors, queued)
    return select(state, surface, canonical, entry)


def injected(state: ServerState, entry: Entry) -> ErrorInfo | None:
    """The next one-shot error queued through the control API, taken, if there is one."""
    if not state.one_shot_errors:
        return None
    queued = state.one_shot_errors.pop(0)
    entry.source = "injected"
    return ErrorInfo(queued.status, queued.message, queued.type, queued.code)


def select(
    state: ServerState, surface: Surface | None, canonical: CanonicalRequest, entry: Entry
) -> tuple[CanonicalRequest, Selection]:
    """The fixture answering `canonical` (the journal entry learns it), and the request it
    answered (a surface's `candidates` may try several)."""
    index = state.index  # one snapshot for the whole request
    canonical, selection = _select(index, surface, canonical, state)
    compiled = selection.compiled
    if compiled is not None:
        entry.fixture = compiled.description
        entry.source = "fixture"
    return canonical, selection


def unanswered(
    surface: Surface | None,
    canonical: CanonicalRequest,
    selection: Selection,
    entry: Entry,
    *,
    strict: bool,
    index: FixtureIndex,
    state: ServerState,
) -> Reply:
    """The surface's fallback answer when no fixture matched, else a `Miss` that names the
    nearest fixtures of `index` and what each failed (`fixtures.explain`)."""
    if surface is None or surface.fallback is None or strict:
        near = explain.nearest(index, canonical, state.match_state)
        entry.nearest = [miss.to_json() for miss in near]
        raise Miss(
            describe(canonical),
            skipped_by_state=selection.skipped_by_state,
            nearest=tuple(miss.sentence() for miss in near),
        )
    entry.source = "fallback"
    return surface.fallback(canonical)


def error_reply(surface: Surface, reply: Reply) -> web.Response:
    return error_response(surface.errors, error_info(reply))


class Rendered(NamedTuple):
    """A whole (not streamed) answer: its JSON body and the surface's own headers."""

    body: bytes
    headers: Mapping[str, str] | None
    content_type: str = JSON_TYPE  # another when `render` gave a `RawBody` (audio, text)


def rendered(
    surface: Surface,
    canonical: CanonicalRequest,
    reply: Reply,
    options: RenderOptions,
    state: ServerState,
) -> Rendered:
    """A whole answer, kept by the surface's `remember` when it has one."""
    headers = surface.headers(canonical) if surface.headers is not None else None
    body = surface.render(canonical, reply, options)
    if surface.remember is not None:
        surface.remember(canonical, body, state)
    if isinstance(body, RawBody):
        return Rendered(body.data, headers, body.content_type)
    return Rendered(orjson.dumps(body), headers)


def plain(
    surface: Surface,
    canonical: CanonicalRequest,
    reply: Reply,
    options: RenderOptions,
    state: ServerState,
) -> web.Response:
    """A whole (not streamed) answer."""
    body, headers, content_type = rendered(surface, canonical, reply, options, state)
    return web.Response(body=body, content_type=content_type, headers=headers)


@dataclasses.dataclass(frozen=True)
class Streamed:
    """A streamed answer before its first byte: its events, framing and the surface's own
    headers (beside `stream_headers`)."""

    events: list[Any]
    framing: str
    own_headers: Mapping[str, str] | None

    @property
    def headers(self) -> dict[str, str]:
        return {**stream_headers(self.framing), **(self.own_headers or {})}


def stream_headers(framing: str) -> dict[str, str]:
    """The headers of every stream of `framing`."""
    return {
        "Content-Type": pacing.FRAMERS[framing][1],
        "Cache-Control": "no-cache",
        "X-Accel-Buffering": "no",
    }


def streamed(
    surface: Surface,
    canonical: CanonicalRequest,
    reply: Reply,
    options: RenderOptions,
    state: ServerState,
) -> Streamed:
    """A streamed answer's events (kept by the surface's `remember` when it has one)."""
    assert surface.stream is not None
    # Render every event before the first byte: a rendering fault still gets a proper error.
    events = list(surface.stream(canonical, reply, options))
    if surface.remember is not None:
        surface.remember(canonical, events, state)
    framing = surface.framing_for(canonical) if surface.framing_for else surface.framing
    own = surface.headers(canonical) if surface.headers is not None else None
    if framing == "raw" and events and isinstance(events[0].data, RawBody):
        # Raw bytes (audio) go out with their own content type, not the framing's.
        own = {**(own or {}), "Content-Type": events[0].data.content_type}
    return Streamed(events, framing, own)


async def _cut(exchange: Exchange, whole: web.Response) -> web.StreamResponse:
    """Chaos' truncate on a plain answer: its headers and half its body, then the socket is
    dropped, as an upstream dying mid-body would leave it."""
    body = bytes(whole.body) if isinstance(whole.body, bytes | bytearray) else b""
    response = web.StreamResponse(status=whole.status, headers=whole.headers)
    response.content_length = len(body)
    await exchange.prepare(response)
    await response.write(body[: len(body) // 2])
    exchange.entry.status = whole.status
    exchange.entry.interrupted = "truncated"
    pacing.abort(exchange.request)
    return response


def _select(
    index: FixtureIndex, surface: Surface | None, canonical: CanonicalRequest, state: ServerState
) -> tuple[CanonicalRequest, Selection]:
    """The fixture answering this request, and the request it answered.

    A surface with `candidates` (OpenRouter's `models` list) has each candidate matched in
    turn, as OpenRouter fails over: the first non-error answer wins; an error fixture falls
    through to the next model unless it says `fallthrough: false`; when every candidate
    fails, the last error answers. Each candidate that matched counts as served.
    """
    if surface is None or surface.candidates is None:
        return canonical, index.select(canonical, state.match_state)
    failed: tuple[CanonicalRequest, Selection] | None = None
    skipped = 0
    for candidate in surface.candidates(canonical):
        selection = index.select(candidate, state.match_state)
        skipped = max(skipped, selection.skipped_by_state)
        reply = selection.reply
        if reply is None:
            continue
        if reply.error is not None and reply.error.fallthrough:
            failed = (candidate, selection)
            continue
        return candidate, selection
    return failed or (canonical, Selection(None, None, skipped))


async def _stream(
    exchange: Exchange,
    surface: Surface,
    canonical: CanonicalRequest,
    reply: Reply,
    *,
    physics: Physics,
    options: RenderOptions,
) -> web.StreamResponse:
    answer = streamed(surface, canonical, reply, options, exchange.state)
    if exchange.truncate:  # chaos: half the events, no terminator
        half = max(1, len(answer.events) // 2)
        physics = dataclasses.replace(physics, truncate_after_chunks=half)
    response = web.StreamResponse(status=200, headers=answer.headers)
    await exchange.prepare(response)
    entry = exchange.entry
    entry.status = 200
    written = bytearray()
    entry.response_type = response.content_type
    try:
        outcome = await pacing.stream(
            exchange.request,
            response,
            answer.events,
            physics,
            framing=answer.framing,
            record=written,
        )
    finally:
        entry.response_body = bytes(written)
    if outcome != "complete":
        exchange.entry.interrupted = outcome
        return response
    # Every event was written; a client may leave before the stream's end.
    with contextlib.suppress(ConnectionError):
        await response.write_eof()
    return response
