"""Compose the server: middlewares, typed state, routes from the provider and service registries.

No routes, parsing or rendering live here.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import signal
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web

from aimock import control, pipeline
from aimock.fixtures.loading import FixtureSet
from aimock.providers import openai_base  # unknown routes answer in the most common envelope
from aimock.providers.registry import PROVIDERS
from aimock.services.registry import SERVICES
from aimock.state import STATE, ServeOptions, ServerState
from aimock.surface import ErrorInfo, PlainRoute, ProtocolError, Surface
from aimock.wire import error_response

log = logging.getLogger("aimock.server")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

OPENAI, OPENAI_BASE = "openai", "/v1/"
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "*",
}


def _not_found_body(request: web.Request, status: int) -> bytes:
    reason = "Unknown route" if status == 404 else "Method not allowed"
    info = ErrorInfo(
        status,
        f"{reason}: {request.method} {request.path}",
        type="invalid_request_error",
        code="unknown_route" if status == 404 else "method_not_allowed",
    )
    return orjson.dumps(openai_base.error_body(info))


@web.middleware
async def edge(request: web.Request, handler: Handler) -> web.StreamResponse:
    """CORS, request ids, and JSON answers for unknown routes instead of HTML pages."""
    if request.method == "OPTIONS":
        return web.Response(status=204, headers=CORS)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status not in (404, 405):
            raise
        response = web.Response(
            body=_not_found_body(request, exc.status),
            status=exc.status,
            content_type="application/json",
        )
    if not response.prepared:
        response.headers.update(CORS)
        response.headers.setdefault("x-request-id", "req_" + secrets.token_hex(12))
    return response


def _surface_handler(surface: Surface) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await pipeline.handle(request, surface)

    return handler


def _plain_handler(route: PlainRoute) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        state = request.app[STATE]
        context = pipeline.request_context(request)
        entry = pipeline.journal_entry(request, context, route.name, route.provider)
        try:
            response = await route.handler(request, state)
        except ProtocolError as exc:
            response = error_response(route.errors, exc.info)
        except Exception:
            log.exception("internal error serving %s %s", request.method, request.path)
            info = ErrorInfo(500, "aimock internal error; see the server log", type="server_error")
            response = error_response(route.errors, info)
        entry.status = response.status
        state.journal.add(entry)
        return response

    return handler


def _shared_handler(routes: list[PlainRoute]) -> Handler:
    """One handler for plain routes that share a method and path: the first route whose
    `accepts` takes the request answers, else the first route that accepts anything (else the
    first route). `routes` may still grow until the app serves its first request."""

    def pick(request: web.Request) -> PlainRoute:
        for route in routes:
            if route.accepts is not None and route.accepts(request):
                return route
        return next((route for route in routes if route.accepts is None), routes[0])

    async def handler(request: web.Request) -> web.StreamResponse:
        route = routes[0] if len(routes) == 1 else pick(request)
        return await _plain_handler(route)(request)

    return handler


def create_app(options: ServeOptions, loaded: FixtureSet) -> web.Application:
    state = ServerState(options, loaded)
    # The body limit is enforced by the pipeline so it can answer in each protocol's envelope.
    app = web.Application(middlewares=[edge], client_max_size=options.max_body_bytes + 1024)
    app[STATE] = state
    control.add_routes(app)
    for service in SERVICES:
        service.mount(app, state)
    taken: set[tuple[str, str]] = set()

    def add(method: str, path: str, handler: Handler) -> None:
        if (method, path) not in taken:  # a configured prefix may repeat a built-in one
            taken.add((method, path))
            app.router.add_route(method, path, handler)

    shared: dict[tuple[str, str], list[PlainRoute]] = {}
    for provider in PROVIDERS:
        for surface in provider.surfaces:
            handler = _surface_handler(surface)
            for path in surface.paths:
                add(surface.method, path, handler)
        for route in provider.routes:
            key = (route.method, route.path)
            if key in shared:  # a later provider's alternative for a registered route
                shared[key].append(route)
            elif key not in taken:
                shared[key] = [route]
                add(route.method, route.path, _shared_handler(shared[key]))
    for prefix in state.settings.openai_prefixes:
        for method, path, handler in _openai_routes_under(prefix):
            add(method, path, handler)
    return app


def _openai_routes_under(prefix: str) -> list[tuple[str, str, Handler]]:
    """Every OpenAI route served under `/v1`, again under `prefix` (`--openai-prefix`,
    `openaiPrefixes`): `/v1/chat/completions` becomes `{prefix}/chat/completions`."""
    routes: list[tuple[str, str, Handler]] = []
    for provider in PROVIDERS:
        for surface in provider.surfaces:
            if surface.provider == OPENAI:
                handler = _surface_handler(surface)
                for path in surface.paths:
                    if path.startswith(OPENAI_BASE):
                        routes.append((surface.method, prefix + path[len("/v1") :], handler))
        for route in provider.routes:
            if route.provider == OPENAI and route.path.startswith(OPENAI_BASE):
                routes.append(
                    (route.method, prefix + route.path[len("/v1") :], _plain_handler(route))
                )
    return routes


async def start(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Bind and start serving; returns the runner and the bound port (useful with port 0)."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    bound = port
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            bound = int(address[1])
            break
    return runner, bound


async def run_until_stopped(
    app: web.Application, host: str, port: int, on_ready: Callable[[int], None]
) -> None:
    """Serve until SIGINT or SIGTERM (Kubernetes' stop signal), then drain and close."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner, bound = await start(app, host, port)
    on_ready(bound)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
