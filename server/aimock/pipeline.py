"""The one request pipeline every surface goes through:

    read -> parse (provider) -> canonical -> match -> chaos -> strict -> journal -> render

Providers supply parse and render hooks (a `Surface`); everything else happens here, once.
Nothing escapes as a traceback: a bad request, a miss, an error fixture and an internal fault
all answer in the surface's own error envelope.
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import web

from aimock.canonical import DEFAULT_TEST_ID, CanonicalRequest, RequestContext
from aimock.chaos import MALFORMED_BODY, roll
from aimock.fixtures.compiled import Physics, Reply
from aimock.fixtures.matching import FixtureIndex, Selection
from aimock.journal import Entry
from aimock.state import STATE, ServerState
from aimock.streaming import pacing
from aimock.surface import ErrorInfo, ProtocolError, RenderOptions, Surface
from aimock.wire import JSON_TYPE, error_response, json_response, read_json

log = logging.getLogger("aimock.server")


def request_context(request: web.Request) -> RequestContext:
    headers = {k.lower(): v for k, v in request.headers.items()}
    test_id = headers.get("x-test-id") or request.query.get("testId") or DEFAULT_TEST_ID
    strict_raw = headers.get("x-aimock-strict", "").strip().lower()
    strict: bool | None = None
    if strict_raw in ("true", "1"):
        strict = True
    elif strict_raw in ("false", "0"):
        strict = False
    return RequestContext(
        headers=headers, test_id=test_id, strict_override=strict, query=request.query
    )


def journal_entry(
    request: web.Request, context: RequestContext, surface: str, provider: str
) -> Entry:
    """The journal entry every request gets, matched or not, whatever route served it."""
    return Entry(
        method=request.method,
        path=request.path_qs,
        headers=context.headers,
        surface=surface,
        provider=provider,
        test_id=context.test_id,
        strict_override=context.strict_override,
    )


def _miss_info(selection: Selection, strict: bool, request: CanonicalRequest) -> ErrorInfo:
    if strict:
        if selection.skipped_by_state:
            message = (
                f"Strict mode: {selection.skipped_by_state} candidate fixture(s) skipped by "
                "sequence/turn state"
            )
        else:
            message = f"Strict mode: no fixture matched {_describe(request)}"
        return ErrorInfo(503, message, type="invalid_request_error", code="no_fixture_match")
    return ErrorInfo(
        404,
        f"No fixture matched {_describe(request)}",
        type="invalid_request_error",
        code="no_fixture_match",
    )


def _describe(request: CanonicalRequest) -> str:
    parts = [f"surface={request.surface}", f"model={request.model!r}"]
    if request.last_user_text is not None:
        text = request.last_user_text
        parts.append(f"userMessage={text[:80] + '...' if len(text) > 80 else text!r}")
    elif request.input_text is not None:
        parts.append(f"inputText={request.input_text[:80]!r}")
    if request.context.test_id != DEFAULT_TEST_ID:
        parts.append(f"testId={request.context.test_id!r}")
    return "(" + ", ".join(parts) + ")"


def _error_info(reply: Reply) -> ErrorInfo:
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


async def handle(request: web.Request, surface: Surface) -> web.StreamResponse:
    state = request.app[STATE]
    started = time.perf_counter()
    context = request_context(request)
    entry = journal_entry(request, context, surface.name, surface.provider)
    try:
        response = await _serve(request, surface, state, context, entry)
    except ProtocolError as exc:
        response = error_response(surface.errors, exc.info)
    except asyncio.CancelledError:
        entry.interrupted = entry.interrupted or "client_gone"
        raise
    except Exception:
        # A defect of ours. Answer in the caller's protocol and keep the evidence in the log.
        log.exception("internal error serving %s %s", request.method, request.path)
        response = error_response(
            surface.errors,
            ErrorInfo(500, "aimock internal error; see the server log", type="server_error"),
        )
    finally:
        elapsed = time.perf_counter() - started
        entry.latency_ms = elapsed * 1000
        state.journal.add(entry)
    if entry.status == 0 and entry.chaos_action != "disconnect":
        entry.status = response.status
    state.metrics.observe(surface.name, surface.provider, entry.status, entry.matched, elapsed)
    return response


async def _serve(
    request: web.Request,
    surface: Surface,
    state: ServerState,
    context: RequestContext,
    entry: Entry,
) -> web.StreamResponse:
    if not state.settings.serves(surface.name, surface.provider):
        raise ProtocolError(
            ErrorInfo(
                404,
                f"The {surface.name} surface is not enabled on this stack (spec.surfaces)",
                type="invalid_request_error",
                code="surface_disabled",
            )
        )
    body = await read_json(request, state.settings.max_body_bytes)
    entry.body = body
    canonical = surface.parse(body, context, request.match_info)
    entry.model = canonical.model or None

    if state.one_shot_errors:
        injected = state.one_shot_errors.pop(0)
        entry.source = "injected"
        info = ErrorInfo(injected.status, injected.message, injected.type, injected.code)
        return error_response(surface.errors, info)

    index = state.index  # one snapshot for the whole request
    canonical, selection = _select(index, surface, canonical, state)
    compiled = selection.compiled
    if compiled is not None:
        entry.fixture = compiled.description
        entry.source = "fixture"

    action = roll(
        canonical,
        compiled.chaos if compiled else None,
        state.server_chaos,
        state.chaos_policies,
        state.rng,
    )
    if action is not None:
        entry.chaos_action = action
        state.metrics.chaos.labels(action, surface.name).inc()
        if action == "drop":
            info = ErrorInfo(500, "Chaos: request dropped", type="server_error", code="chaos_drop")
            return error_response(surface.errors, info)
        if action == "malformed":
            return web.Response(body=MALFORMED_BODY, status=200, content_type=JSON_TYPE)
        pacing.abort(web.StreamResponse(), request)
        entry.status = 0
        return web.Response(status=499)  # never reaches the client: the socket is gone

    reply = selection.reply
    physics = compiled.physics if compiled is not None else index.default_physics
    if reply is None:
        strict = state.strict if context.strict_override is None else context.strict_override
        if surface.fallback is not None and not strict:
            reply = surface.fallback(canonical)
            entry.source = "fallback"
        else:
            return error_response(surface.errors, _miss_info(selection, strict, canonical))

    if reply.kind == "error":
        await _wait_first_byte(physics)
        return error_response(surface.errors, _error_info(reply))

    options = RenderOptions(
        chunk_size=physics.chunk_size,
        open_router_processing=bool(compiled and compiled.fixture.open_router_processing),
    )
    if canonical.stream and surface.stream is not None:
        return await _stream(
            request, surface, canonical, reply, physics=physics, options=options, entry=entry
        )
    await _wait_first_byte(physics)
    headers = surface.headers(canonical) if surface.headers is not None else None
    return json_response(surface.render(canonical, reply, options), headers=headers)


def _select(
    index: FixtureIndex, surface: Surface, canonical: CanonicalRequest, state: ServerState
) -> tuple[CanonicalRequest, Selection]:
    """The fixture answering this request, and the request it answered.

    A surface with `candidates` (OpenRouter's `models` list) has each candidate matched in
    turn, as OpenRouter fails over: the first non-error answer wins; an error fixture falls
    through to the next model unless it says `fallthrough: false`; when every candidate
    fails, the last error answers. Each candidate that matched counts as served.
    """
    if surface.candidates is None:
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


async def _wait_first_byte(physics: Physics) -> None:
    wait = (physics.ttft or physics.recorded_ttft or 0.0) + physics.latency
    if wait > 0:
        await asyncio.sleep(wait / physics.replay_speed / 1000)


async def _stream(
    request: web.Request,
    surface: Surface,
    canonical: CanonicalRequest,
    reply: Reply,
    *,
    physics: Physics,
    options: RenderOptions,
    entry: Entry,
) -> web.StreamResponse:
    assert surface.stream is not None
    # Render every event before the first byte: a rendering fault still gets a proper error.
    events = list(surface.stream(canonical, reply, options))
    framing = surface.framing_for(canonical) if surface.framing_for else surface.framing
    response = web.StreamResponse(
        status=200,
        headers={
            "Content-Type": pacing.FRAMERS[framing][1],
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
            **(surface.headers(canonical) if surface.headers is not None else {}),
        },
    )
    await response.prepare(request)
    entry.status = 200
    outcome = await pacing.stream(request, response, events, physics, framing=framing)
    if outcome != "complete":
        entry.interrupted = outcome
        return response
    await response.write_eof()
    return response
