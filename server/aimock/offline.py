"""A request run through the fixture pipeline without an HTTP request: a batch's lines.

`run` takes a body as a surface's route would receive it and gives what that route would
answer: the same parse, the surface's `recall`, match (the index snapshot, sequence and turn
state), strict mode and fallback, and render (`pipeline.begin`'s steps: `select`,
`unanswered`, `rendered`). What only an HTTP exchange has is skipped: no chaos is rolled
(there is no connection to drop or cut), no one-shot error queued through the control API is
taken, no latency is waited, a miss is never relayed to a real provider (record mode), and a
request asking to stream is answered whole (a batch line has no stream).

Each run is journaled like a request (method `BATCH`, the line's `url` as path, the surface's
name), and counted in the metrics and the log, so a test can see which fixture answered each
line. The app hands the route table's surfaces in by method and path (`SURFACES`): the runner
finds the surface at a line's `url` without importing any provider.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from aimock import exchange, pipeline
from aimock.canonical import RequestContext
from aimock.exchange import Miss
from aimock.state import STATE, ServerState
from aimock.surface import ErrorInfo, ProtocolError, RenderOptions, Surface
from aimock.wire import JSON_TYPE

# The surfaces of the route table by (method, path), set by the app when it mounts the table.
SURFACES: web.AppKey[Mapping[tuple[str, str], Surface]] = web.AppKey("aimock_offline", dict)
METHOD = "BATCH"
log = logging.getLogger("aimock.offline")


def state_of(app: web.Application) -> ServerState:
    return app[STATE]


@dataclass(frozen=True)
class Outcome:
    """What the route would have answered: its status, JSON body and request id."""

    status: int
    body: Any
    request_id: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def run(
    state: ServerState, surface: Surface, path: str, body: Any, context: RequestContext
) -> Outcome:
    """`body` answered as `surface` would answer it at `path` (never raises)."""
    route = pipeline.route_of(surface)
    request_id = exchange.new_request_id()
    entry = exchange.open_entry(METHOD, path, context, route, request_id)
    started = time.perf_counter()
    matched = False
    try:
        status, answer = _answer(state, surface, body, context, entry)
        matched = entry.fixture is not None
    except ProtocolError as error:
        status, answer = error.info.status, surface.errors.body(error.info)
    except Miss as miss:
        info = exchange.miss_info(miss, exchange.strict_for(state, context))
        status, answer = info.status, surface.errors.body(info)
    except Exception:  # a defect of ours: the line's error, the evidence in the log
        log.exception("batch line failed: %s %s", surface.name, path)
        info = ErrorInfo(500, "aimock internal error; see the server log", type="server_error")
        status, answer = 500, surface.errors.body(info)
    entry.response_body = orjson.dumps(answer)
    entry.response_type = "application/json"
    exchange.finish(state, route, entry, status=status, matched=matched, started=started, raw=None)
    return Outcome(status, answer, request_id)


def _answer(
    state: ServerState,
    surface: Surface,
    body: Any,
    context: RequestContext,
    entry: Any,
) -> tuple[int, Any]:
    pipeline.check_served(state, surface)
    entry.body = body
    canonical = surface.parse(body, context, {})
    entry.model = canonical.model or None
    if surface.recall is not None:  # what the surface keeps (a stored conversation)
        canonical = surface.recall(canonical, state, False)
    index = state.index
    canonical, selection = pipeline.select(state, surface, canonical, entry)
    reply = selection.reply
    if reply is None:
        strict = exchange.strict_for(state, context)
        reply = pipeline.unanswered(
            surface, canonical, selection, entry, strict=strict, index=index, state=state
        )
    if reply.kind == "error":
        info = pipeline.error_info(reply)
        return info.status, surface.errors.body(info)
    compiled = selection.compiled
    physics = compiled.physics if compiled is not None else index.default_physics
    options = RenderOptions(chunk_size=physics.chunk_size)
    answer = pipeline.rendered(surface, canonical, reply, options, state)
    if answer.content_type != JSON_TYPE:  # no batch endpoint answers otherwise; kept as text
        return 200, answer.body.decode("utf-8", "replace")
    return 200, orjson.loads(answer.body)
