"""What a stateful service (MCP, A2A, the vector databases) gives the app: routes and a reset.

A service is not an LLM provider: it does not go through the fixture pipeline, it keeps its
own state (sessions, stores) in an object it puts on the app under a `web.AppKey`. The app
mounts every service of `registry.SERVICES`; the control API's reset calls `reset`.

Every service request goes through `serve`, the services' counterpart of the pipeline's
journal/metrics/chaos steps, so services run under the same chaos and journal as LLM surfaces.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from aimock import chaos, pipeline
from aimock.canonical import CanonicalRequest, RequestContext
from aimock.journal import Entry
from aimock.state import STATE, ServerState
from aimock.streaming import pacing
from aimock.wire import JSON_TYPE


@dataclass(frozen=True)
class Service:
    name: str
    # Adds the service's routes and state object to the app (called once, at start).
    mount: Callable[[web.Application, ServerState], None]
    # Drops run-time state (sessions...); definitions come from the settings and stay.
    reset: Callable[[web.Application], None]


# What a service's own handler does with a request: answers it, filling the journal entry
# (body, JSON-RPC method, fixture) on the way, and says whether a definition answered it.
Answer = Callable[[web.Request, Entry], Awaitable[tuple[web.StreamResponse, bool]]]
# The service's own 500 for a dropped request (JSON-RPC error, the database's error body...).
DropResponse = Callable[[], web.StreamResponse]


async def serve(
    request: web.Request, surface: str, provider: str, answer: Answer, drop: DropResponse
) -> web.StreamResponse:
    """Every service request: chaos, then the service's answer; journaled and counted once.

    Chaos is rolled before the service answers (a streamed answer cannot be taken back), with
    the same rates as the LLM pipeline: `X-AIMock-Chaos-*` headers, chaos policies, then the
    server's rates (services have no fixtures, so no fixture rates).
    """
    state = request.app[STATE]
    started = time.perf_counter()
    context = pipeline.request_context(request)
    entry = pipeline.journal_entry(request, context, surface, provider)
    matched = False
    action = _roll(state, context, surface, provider)
    if action is not None:
        entry.chaos_action = action
        state.metrics.chaos.labels(action, surface).inc()
        response = _chaos_response(request, action, drop)
    else:
        response, matched = await answer(request, entry)
    # A disconnect keeps status 0: nothing reached the client (as in the pipeline).
    entry.status = 0 if action == "disconnect" else response.status
    elapsed = time.perf_counter() - started
    entry.latency_ms = elapsed * 1000
    state.journal.add(entry)
    state.metrics.observe(surface, provider, entry.status, matched, elapsed)
    return response


def _roll(
    state: ServerState, context: RequestContext, surface: str, provider: str
) -> chaos.Action | None:
    probe = CanonicalRequest(
        surface=surface, provider=provider, endpoint="service", model="", context=context
    )
    return chaos.roll(probe, None, state.server_chaos, state.chaos_policies, state.rng)


def _chaos_response(
    request: web.Request, action: chaos.Action, drop: DropResponse
) -> web.StreamResponse:
    if action == "drop":
        return drop()
    if action == "malformed":
        return web.Response(body=chaos.MALFORMED_BODY, status=200, content_type=JSON_TYPE)
    pacing.abort(web.StreamResponse(), request)
    return web.Response(status=499)  # never reaches the client: the socket is gone


def strict_mode(request: web.Request) -> bool:
    """Whether a miss must answer an error: the server's setting, or `X-AIMock-Strict`."""
    override = pipeline.request_context(request).strict_override
    return request.app[STATE].strict if override is None else override
