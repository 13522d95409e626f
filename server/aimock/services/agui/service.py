"""The AG-UI route: a run read, matched, chaos rolled, then streamed (or recorded); mounting."""

from __future__ import annotations

import dataclasses

import orjson
from aiohttp import web

from aimock.exchange import ChaosStrike, Exchange, Miss, Route
from aimock.fixtures.compiled import Physics
from aimock.models.services.agui import DEFAULT_MOUNT, AguiSpec
from aimock.models.services.agui import SECTION as AGUI_SECTION
from aimock.services.agui.events import (
    now_ms,
    physics_for,
    run_events,
    started,
    strict_miss_events,
)
from aimock.services.agui.record import relay
from aimock.services.agui.run import AGUI, ERRORS, Agent, AguiService, RunInput, parse_input, select
from aimock.services.base import Service, route
from aimock.state import ServerState
from aimock.streaming import pacing, sse
from aimock.surface import ErrorInfo, Event, ProtocolError
from aimock.wire import parse_json, read_body

SURFACE = "agui"
# Chaos waits for the fixture (its own rates count), and truncate cuts the run halfway.
ROUTE = Route(SURFACE, SURFACE, ERRORS, chaos="handler", truncates=True)
# Quoted in a miss's description, at most this many characters of the user's message.
SHOWN_CHARS = 80
# What chaos' malformed sends as an event: the start of one, cut (as `chaos.MALFORMED_BODY`).
MALFORMED_FRAME = '{"type":"TEXT_MESSAGE_CONTENT","messageId":'


def _shown(text: str) -> str:
    cut = text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "..."
    return orjson.dumps(cut).decode()


def _description(agent: Agent, run: RunInput) -> str:
    who = f"agent {agent.name!r}" if agent.name else "the default agent"
    return f"the AG-UI run of {who} (last user message {_shown(run.user_text)})"


async def _run(exchange: Exchange) -> web.StreamResponse:
    request, state, entry = exchange.request, exchange.state, exchange.entry
    spec = state.settings.section(AGUI_SECTION)
    service = request.app[AGUI]
    agent = service.agent_at(spec, request.path)
    if agent is None:
        raise ProtocolError(
            ErrorInfo(404, f"No AG-UI agent at {request.path}", code="agent_not_found")
        )
    if request.method != "POST":
        raise ProtocolError(
            ErrorInfo(405, "Method Not Allowed: POST a RunAgentInput", code="method_not_allowed")
        )
    raw = await read_body(request, state.max_body_bytes)
    body = parse_json(raw, request.method)
    entry.body = body
    run = parse_input(body)
    index = state.index
    chosen = select(agent.fixtures, run)
    if chosen is not None:
        entry.fixture = {"aguiAgent": agent.label, "aguiFixture": chosen[0]}
        entry.source = "fixture"
    else:  # what record mode brought back from the real agent, in this server's life
        chosen = select(service.recorded.get(agent.endpoint, ()), run)
        if chosen is not None:
            entry.fixture = {"aguiAgent": agent.label, "aguiRecording": chosen[0]}
            entry.source = "recorded"
    fixture = chosen[1] if chosen is not None else None
    exchange.matched = fixture is not None
    found = exchange.roll(fixture.chaos if fixture is not None else None)
    if found is not None:
        try:
            await exchange.suffer(found)
        except ChaosStrike as strike:
            if strike.action != "malformed":
                raise
            return await _malformed(exchange, run)
    physics = physics_for(fixture, index.default_physics)
    if fixture is None:
        if agent.record is not None and not exchange.strict:  # strict never leaves the mock
            return await relay(exchange, service, agent, raw, run)
        description = _description(agent, run)
        if not exchange.strict:
            raise Miss(description)
        events = strict_miss_events(run, f"Strict mode: no fixture matched {description}")
    else:
        events = run_events(fixture, run, physics.chunk_size)
    return await _stream(exchange, events, physics)


async def _malformed(exchange: Exchange, run: RunInput) -> web.StreamResponse:
    """Chaos' malformed on a run: RUN_STARTED, then a `data:` frame that is not JSON (the
    generic broken JSON body would not even be read as a stream by an AG-UI client)."""
    response = web.StreamResponse(
        status=200, headers={"Content-Type": sse.CONTENT_TYPE, "Cache-Control": "no-cache"}
    )
    await exchange.prepare(response)
    body = sse.frame({**started(run), "timestamp": now_ms()}) + sse.frame(MALFORMED_FRAME)
    exchange.entry.status, exchange.entry.response_type = 200, sse.CONTENT_TYPE
    exchange.entry.response_body = body
    try:
        await response.write(body)
        await response.write_eof()
    except ConnectionError:
        exchange.entry.interrupted = "client_gone"
    return response


async def _stream(exchange: Exchange, events: list[Event], physics: Physics) -> web.StreamResponse:
    if exchange.truncate:  # chaos: half the run, then the connection drops
        physics = dataclasses.replace(physics, truncate_after_chunks=max(1, len(events) // 2))
    response = web.StreamResponse(
        status=200, headers={"Content-Type": sse.CONTENT_TYPE, "Cache-Control": "no-cache"}
    )
    await exchange.prepare(response)
    entry = exchange.entry
    entry.status, entry.response_type = 200, sse.CONTENT_TYPE
    written = bytearray()
    try:
        outcome = await pacing.stream(
            exchange.request, response, events, physics, framing="sse", record=written
        )
    finally:
        entry.response_body = bytes(written)
    if outcome != "complete":
        entry.interrupted = outcome
        return response
    try:
        await response.write_eof()
    except ConnectionError:
        entry.interrupted = "client_gone"
    return response


# --- mounting -----------------------------------------------------------------------------------


def _endpoints(spec: AguiSpec) -> set[str]:
    """The paths routed at start: the default mount and the spec's, each with `/{name}`, and
    named agents' own paths."""
    endpoints = {DEFAULT_MOUNT, spec.path}
    endpoints.update(path + "/{name}" for path in (DEFAULT_MOUNT, spec.path))
    endpoints.update(a.path for a in spec.agents if a.path is not None)
    return endpoints


def mount(app: web.Application, state: ServerState) -> None:
    service = app[AGUI] = AguiService()

    async def close(_: web.Application) -> None:
        await service.close()

    app.on_cleanup.append(close)
    for endpoint in sorted(_endpoints(state.settings.section(AGUI_SECTION))):
        route(app, "*", endpoint, ROUTE, _run)
        if not endpoint.endswith("}"):
            route(app, "*", endpoint + "/", ROUTE, _run)


def reset(app: web.Application) -> None:
    """Forget the runs recorded in memory (their files stay); definitions come from the
    settings."""
    app[AGUI].recorded.clear()


SERVICE = Service(name=SURFACE, section=AGUI_SECTION, mount=mount, reset=reset)
