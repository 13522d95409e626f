"""The one request path. Every route (an LLM surface, a service, a plain route, the control
API, an unknown path) is answered through `serve`, which gives it, once:

- a request id (`x-request-id` on the answer, streamed ones too, and in the journal);
- a journal entry (unless the route says `journal=False`: the control API);
- chaos: rolled before the handler (`chaos="before"`), by the handler once it knows the
  fixture whose rates count (`chaos="handler"`, via `Exchange.roll` and `suffer`), or never;
- strict mode: `Exchange.strict`, and a raised `Miss` answers 404, or 503 when strict;
- metrics and one log line.

A route declares what it is in a `Route`; its handler takes the `Exchange` and returns the
response. Nothing escapes as a traceback: `ProtocolError`, `Miss` and any fault of ours answer
in the route's own error dialect.

The one exception is the fast lane (`aimock.fastlane`): an LLM surface's request that nothing
could make wait is answered below aiohttp's web layer, without an `Exchange`. It builds the
same pieces from this module (`context_of`, `open_entry`, `stamp_headers`, `miss_info`) and
ends with the same `finish`, so its journal entry, metrics and log line are these.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web

from aimock import chaos, ids
from aimock.canonical import DEFAULT_TEST_ID, RequestContext
from aimock.journal import Entry, redact_query
from aimock.models.fixture import ChaosRates
from aimock.state import STATE, ServerState
from aimock.streaming import pacing
from aimock.surface import ErrorDialect, ErrorInfo, ProtocolError
from aimock.wire import JSON_TYPE, RAW_BODY, error_response

log = logging.getLogger("aimock.server")
access = logging.getLogger("aimock.request")

ChaosPoint = Literal["before", "handler", "never"]
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "*",
    "Access-Control-Expose-Headers": "*",
}


@dataclass(frozen=True)
class Route:
    """What a route is, for the request path: names, error dialect, chaos, journaling."""

    surface: str  # journal, metrics and chaos policies' `match.surface`
    provider: str
    errors: ErrorDialect
    # Where chaos may strike: "before" the handler runs (a service's answer may stream and
    # cannot be taken back), in the "handler" once it knows the fixture (`Exchange.roll`),
    # or "never" (the control API, probes).
    chaos: ChaosPoint = "before"
    # Whether the handler can cut its answer halfway (chaos' truncate): the pipeline can.
    truncates: bool = False
    journal: bool = True
    # Whether answers carry CORS headers (browser SDKs call provider routes from pages; the
    # control API must not be readable by a page of another origin).
    cors: bool = True
    # The level of the request's log line: the control API's (probes every few seconds in a
    # cluster) is DEBUG.
    log_level: int = logging.INFO
    # Whether the inbound API keys (`aimock.auth`) guard it: the control API has its token.
    guarded: bool = True


class Miss(Exception):
    """Nothing is defined to answer this request: 404, or 503 in strict mode."""

    def __init__(
        self, description: str, *, skipped_by_state: int = 0, nearest: tuple[str, ...] = ()
    ) -> None:
        super().__init__(description)
        self.description = description
        self.skipped_by_state = skipped_by_state
        # The nearest fixtures, each with what it failed (`fixtures.explain`).
        self.nearest = nearest


class ChaosStrike(Exception):
    def __init__(self, action: chaos.Action) -> None:
        super().__init__(action)
        self.action = action


# How long a stalled request waits for its client to give up before the server does (also
# the most a chaos delay may hold one: models.fixture.MAX_CHAOS_LATENCY_MS).
STALL_LIMIT_S = 300.0
# Actions after which nothing reached the client: the journal keeps status 0.
CUT = frozenset({"disconnect", "stall"})
CHAOS_ACTIONS = tuple(a for a in chaos.ACTIONS if a != "truncate")


def request_context(request: web.Request) -> RequestContext:
    headers = {k.lower(): v for k, v in request.headers.items()}
    return context_of(headers, request.query, secure=request.secure)


def context_of(
    headers: dict[str, str], query: Mapping[str, str], *, secure: bool = False
) -> RequestContext:
    """The request's context from its headers (lower-cased names) and query."""
    test_id = headers.get("x-test-id") or query.get("testId") or DEFAULT_TEST_ID
    strict_raw = headers.get("x-aimock-strict", "").strip().lower()
    strict: bool | None = None
    if strict_raw in ("true", "1"):
        strict = True
    elif strict_raw in ("false", "0"):
        strict = False
    return RequestContext(
        headers=headers, test_id=test_id, strict_override=strict, query=query, secure=secure
    )


def open_entry(
    method: str, path_qs: str, context: RequestContext, route: Route, request_id: str
) -> Entry:
    """The journal entry of a request on its way in."""
    return Entry(
        method=method,
        path=path_qs,
        headers=context.headers,
        surface=route.surface,
        provider=route.provider,
        test_id=context.test_id,
        strict_override=context.strict_override,
        request_id=request_id,
    )


def stamp_headers(headers: MutableMapping[str, str], route: Route, request_id: str) -> None:
    """The headers every answer carries: CORS and the request id."""
    if route.cors:
        for name, value in CORS.items():
            headers.setdefault(name, value)
    headers.setdefault("x-request-id", request_id)


def new_request_id() -> str:
    return "req_" + ids.hex_id(24)


def strict_for(state: ServerState, context: RequestContext) -> bool:
    """The server's strict mode, unless the request overrides it (`X-AIMock-Strict`)."""
    override = context.strict_override
    return state.strict if override is None else override


class Exchange:
    """One request on its way through: what a handler reads and fills in."""

    __slots__ = (
        "context",
        "entry",
        "matched",
        "request",
        "request_id",
        "route",
        "state",
        "truncate",
    )

    def __init__(
        self, request: web.Request, route: Route, state: ServerState, method: str = ""
    ) -> None:
        self.request = request
        self.route = route
        self.state = state
        self.request_id = new_request_id()
        self.context = request_context(request)
        # `method`: what the journal calls it when it is not the request's (a socket's turn
        # is "WS", as AIMock's journal has it).
        self.entry = open_entry(
            method or request.method, request.path_qs, self.context, route, self.request_id
        )
        # Whether a definition answered, for metrics; a fixture in the journal entry counts.
        self.matched = False
        # Chaos asks the handler to cut its answer halfway.
        self.truncate = False

    @property
    def strict(self) -> bool:
        """The server's strict mode, unless the request overrides it (`X-AIMock-Strict`)."""
        return strict_for(self.state, self.context)

    def stamp(self, response: web.StreamResponse) -> None:
        """The headers every answer carries: CORS and the request id."""
        stamp_headers(response.headers, self.route, self.request_id)

    async def prepare(self, response: web.StreamResponse) -> None:
        """Send a streamed answer's headers (stamped like every answer's)."""
        self.stamp(response)
        await response.prepare(self.request)

    def roll(self, fixture_rates: ChaosRates | None = None, model: str = "") -> chaos.Strike | None:
        """What chaos does to this request, if anything (drawn now, suffered by `suffer`).
        Not a coroutine: most requests draw nothing, and pay nothing for the asking."""
        state, route = self.state, self.route
        return chaos.roll(
            self.context.headers,
            route.surface,
            route.provider,
            model,
            fixture_rates=fixture_rates,
            server_rates=state.chaos_for(self.context.test_id),
            policies=state.chaos_policies,
            rng=state.rng,
            seed=state.chaos_seed,
            actions=chaos.ACTIONS if route.truncates else CHAOS_ACTIONS,
        )

    async def suffer(self, found: chaos.Strike) -> None:
        """Wait the strike's delay, then raise `ChaosStrike` for a fault (a truncate only
        sets `truncate`, for the handler to cut its answer)."""
        if found.latency_ms:
            await hold(self.request, found.latency_ms / 1000)
        if found.action is None:
            return
        entry = self.entry
        entry.chaos_action, entry.chaos_policy, entry.chaos_seed = (
            found.action,
            found.policy,
            found.seed,
        )
        self.state.metrics.chaos_taken(found.action, self.route.surface)
        if found.action == "truncate":
            self.truncate = True
            return
        raise ChaosStrike(found.action)


Handler = Callable[[Exchange], Awaitable[web.StreamResponse]]


async def serve(request: web.Request, route: Route, handler: Handler) -> web.StreamResponse:
    state = request.app[STATE]
    started = time.perf_counter()
    exchange = Exchange(request, route, state)
    try:
        response = await _answer(exchange, handler)
    except asyncio.CancelledError:
        exchange.entry.interrupted = exchange.entry.interrupted or "client_gone"
        _finish(exchange, None, started)
        raise
    if not response.prepared:
        exchange.stamp(response)
    _finish(exchange, response, started)
    return response


async def _answer(exchange: Exchange, handler: Handler) -> web.StreamResponse:
    """The handler's answer, or the route's error answer for whatever it raised."""
    route = exchange.route
    keys = exchange.state.settings.api_keys
    try:
        if keys is not None and route.guarded:
            given = keys.refusal(exchange.context.headers, exchange.request.query)
            if given is not None:
                return error_response(route.errors, route.errors.unauthorized(given))
        if route.chaos == "before" and (found := exchange.roll()) is not None:
            await exchange.suffer(found)
        return await handler(exchange)
    except ChaosStrike as strike:
        return await _chaos_answer(exchange, strike.action)
    except ProtocolError as exc:
        return error_response(route.errors, exc.info)
    except Miss as miss:
        return error_response(route.errors, miss_info(miss, exchange.strict))
    except web.HTTPException as exc:  # aiohttp's own (a body over the size limit...)
        return error_response(route.errors, ErrorInfo(exc.status, exc.reason))
    except asyncio.CancelledError:
        raise
    except ConnectionError:
        # The client left (mid-body, mid-answer): nobody to answer, nothing wrong with us.
        exchange.entry.interrupted = exchange.entry.interrupted or "client_gone"
        pacing.abort(exchange.request)
        return web.Response(status=499)
    except Exception:
        # A defect of ours. Answer in the caller's protocol and keep the evidence in the log.
        request = exchange.request
        log.exception("internal error serving %s %s", request.method, request.path)
        info = ErrorInfo(500, "aimock internal error; see the server log", type="server_error")
        return error_response(route.errors, info)


def _finish(exchange: Exchange, response: web.StreamResponse | None, started: float) -> None:
    entry = exchange.entry
    if isinstance(response, web.Response) and entry.response_body is None:
        body = response.body
        if isinstance(body, bytes):
            entry.response_body, entry.response_type = body, response.content_type
    finish(
        exchange.state,
        exchange.route,
        exchange.entry,
        status=response.status if response is not None else None,
        matched=exchange.matched,
        started=started,
        raw=exchange.request.get(RAW_BODY),
    )


def finish(
    state: ServerState,
    route: Route,
    entry: Entry,
    *,
    status: int | None,
    matched: bool,
    started: float,
    raw: bytes | None,
) -> None:
    """A request's end, whichever way it was answered: its journal entry, metrics and log
    line. `status`: the answer's, None when there was none."""
    elapsed = time.perf_counter() - started
    entry.latency_ms = elapsed * 1000
    # A disconnect keeps status 0: nothing reached the client.
    if status is not None and entry.status == 0 and entry.chaos_action not in CUT:
        entry.status = status
    matched = matched or entry.matched
    # A fixture's hit, by its source (a service's definitions name themselves otherwise).
    source = entry.fixture.get("source") if entry.fixture is not None else None
    if isinstance(source, str):
        state.fixture_hits[source] += 1
    if route.journal:
        state.journal.add(entry, raw)
    state.metrics.observe(route.surface, route.provider, entry.status, matched, elapsed)
    if access.isEnabledFor(route.log_level):
        _log_line(route, entry, matched)


def _log_line(route: Route, entry: Entry, matched: bool) -> None:
    """One line a request: `POST /v1/chat/completions openai.chat 200 1.2ms matched
    fixture=fixtures.json#fixtures[0]`; a miss adds a DEBUG line naming its nearest fixtures.
    The same fields go to the JSON log format (`--log-format json`) as keys: handed over as a
    function, so that the text format, the default, never builds them."""
    fixture = entry.fixture
    label = (fixture.get("name") or fixture.get("source")) if fixture else None
    path = redact_query(entry.path)

    def fields() -> dict[str, Any]:
        return {
            "method": entry.method,
            "path": path,
            "surface": route.surface,
            "status": entry.status,
            "ms": round(entry.latency_ms, 1),
            "matched": matched,
            "fixture": label,
            "chaos": entry.chaos_action,
            "testId": entry.test_id,
            "requestId": entry.request_id,
        }

    access.log(
        route.log_level,
        "%s %s %s %d %.1fms%s%s%s",
        entry.method,
        path,
        route.surface,
        entry.status,
        entry.latency_ms,
        " matched" if matched else "",
        f" fixture={label}" if label else "",
        f" chaos={entry.chaos_action}" if entry.chaos_action else "",
        extra={"fields": fields},
    )
    if entry.nearest and access.isEnabledFor(logging.DEBUG):
        nearest = " | ".join(
            f"{near['fixture']}: {'; '.join(near['failed'])}" for near in entry.nearest
        )
        access.debug(
            "%s %s missed; nearest fixtures: %s",
            entry.method,
            path,
            nearest,
            extra={"fields": lambda: {**fields(), "nearestFixtures": entry.nearest}},
        )


def chaos_error(action: chaos.Action, errors: ErrorDialect) -> ErrorInfo | None:
    """The error a chaos action answers with, in `errors`' statuses; None for the actions
    that break the connection or the body instead."""
    if action == "drop":
        return ErrorInfo(500, "Chaos: request dropped", type="server_error", code="chaos_drop")
    if action == "ratelimit":
        return ErrorInfo(
            429,
            "Chaos: rate limited",
            type="rate_limit_error",
            code="chaos_ratelimit",
            retry_after=1.0,
        )
    if action == "overloaded":
        return ErrorInfo(
            errors.overloaded_status,
            "Chaos: overloaded",
            type="overloaded_error",
            code="chaos_overloaded",
        )
    return None


async def _chaos_answer(exchange: Exchange, action: chaos.Action) -> web.StreamResponse:
    errors = exchange.route.errors
    info = chaos_error(action, errors)
    if info is not None:
        response = error_response(errors, info)
        if info.retry_after is not None:
            response.headers.setdefault("Retry-After", f"{info.retry_after:g}")
        return response
    if action == "malformed":
        return web.Response(body=chaos.MALFORMED_BODY, status=200, content_type=JSON_TYPE)
    if action == "stall":
        await hold(exchange.request, STALL_LIMIT_S)
        exchange.entry.interrupted = "client_gone"
    pacing.abort(exchange.request)
    return web.Response(status=499)  # never reaches the client: the socket is gone


async def hold(request: web.Request, seconds: float) -> None:
    """Keep a request waiting `seconds`, or until its client gives up: other requests go on,
    and a client that left frees its request at once (aiohttp does not cancel handlers)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    transport = request.transport
    while transport is not None and not transport.is_closing():
        left = deadline - loop.time()
        if left <= 0:
            return
        await asyncio.sleep(min(left, 0.05))


def miss_info(miss: Miss, strict: bool) -> ErrorInfo:
    nearest = f". Nearest fixtures: {' | '.join(miss.nearest)}" if miss.nearest else ""
    if not strict:
        return ErrorInfo(
            404,
            f"No fixture matched {miss.description}{nearest}",
            "invalid_request_error",
            "no_fixture_match",
        )
    if miss.skipped_by_state:
        message = (
            f"Strict mode: {miss.skipped_by_state} candidate fixture(s) skipped by "
            f"sequence/turn state{nearest}"
        )
    else:
        message = f"Strict mode: no fixture matched {miss.description}{nearest}"
    return ErrorInfo(503, message, type="invalid_request_error", code="no_fixture_match")
