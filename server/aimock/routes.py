"""The route table: every path the server answers, each bound to its handler on the request path.

From the registries: each provider's surfaces (through the fixture pipeline) and plain routes
(several providers may share one method and path: `PlainRoute.accepts` picks), each service's
routes (mounted by the service), the OpenAI routes again under every configured prefix, and
the answer for an unknown path.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterator
from typing import NamedTuple

from aiohttp import web

from aimock import exchange, families, pipeline, sockets
from aimock.exchange import Exchange, Route
from aimock.providers import openai_base
from aimock.providers.registry import DEFAULT_ERRORS, PROVIDERS
from aimock.surface import ErrorInfo, PlainRoute, ProtocolError, SocketSurface, Surface

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Unknown paths, and methods a path does not take: journaled, in the most common envelope.
UNKNOWN = Route("unknown", "aimock", DEFAULT_ERRORS, chaos="never")


def surface_handler(surface: Surface) -> Handler:
    route, answer = pipeline.route_of(surface), pipeline.handler_of(surface)

    async def handler(request: web.Request) -> web.StreamResponse:
        return await exchange.serve(request, route, answer)

    return handler


def socket_handler(surface: SocketSurface) -> Handler:
    route, upgrade = sockets.route_of(surface), sockets.handler_of(surface)

    async def handler(request: web.Request) -> web.StreamResponse:
        return await exchange.serve(request, route, upgrade)

    return handler


@functools.cache
def _on_path(route: PlainRoute) -> tuple[Route, exchange.Handler]:
    """A plain route as the request path takes it, built once per route."""

    async def answer(exchange: Exchange) -> web.StreamResponse:
        return await route.handler(exchange.request, exchange.state)

    return Route(route.name, route.provider, route.errors), answer


def plain_handler(routes: list[PlainRoute]) -> Handler:
    """One handler for the plain routes sharing a method and path: the first whose `accepts`
    takes the request answers, else the first that accepts anything (else the first).
    `routes` may still grow until the app serves its first request."""

    def pick(request: web.Request) -> PlainRoute:
        for route in routes:
            if route.accepts is not None and route.accepts(request):
                return route
        return next((route for route in routes if route.accepts is None), routes[0])

    async def handler(request: web.Request) -> web.StreamResponse:
        chosen = routes[0] if len(routes) == 1 else pick(request)
        return await exchange.serve(request, *_on_path(chosen))

    return handler


async def unknown(request: web.Request, status: int) -> web.StreamResponse:
    """An unknown path (404) or a method its path does not take (405), answered in the
    envelope of the family whose paths it is nearest."""

    async def answer(exchange: Exchange) -> web.StreamResponse:
        del exchange
        reason = "Unknown route" if status == 404 else "Method not allowed"
        raise ProtocolError(
            ErrorInfo(
                status,
                f"{reason}: {request.method} {request.path}",
                type="invalid_request_error",
                code="unknown_route" if status == 404 else "method_not_allowed",
            )
        )

    route = families.family_of(request.app, request.path, UNKNOWN)
    return await exchange.serve(request, route, answer)


class Mount(NamedTuple):
    """A route of the table: where it is, who answers it, and the surface it serves (None for
    a plain route)."""

    method: str
    path: str
    handler: Handler
    route: Route
    surface: Surface | None = None


def table(openai_prefixes: tuple[str, ...]) -> Iterator[Mount]:
    """Every provider route; a (method, path) comes once."""
    taken: set[tuple[str, str]] = set()
    shared: dict[tuple[str, str], list[PlainRoute]] = {}
    for provider in PROVIDERS:
        for surface in provider.surfaces:
            handler, on_path = surface_handler(surface), pipeline.route_of(surface)
            for path in surface.paths:
                if (surface.method, path) not in taken:
                    taken.add((surface.method, path))
                    yield Mount(surface.method, path, handler, on_path, surface)
        for socket in provider.sockets:
            handler = socket_handler(socket)
            for path in socket.paths:
                if ("GET", path) not in taken:
                    taken.add(("GET", path))
                    yield Mount("GET", path, handler, sockets.route_of(socket))
        for route in provider.routes:
            key = (route.method, route.path)
            if key in shared:  # a later provider's alternative for a registered route
                shared[key].append(route)
            elif key not in taken:
                taken.add(key)
                shared[key] = [route]
                handler = plain_handler(shared[key])
                yield Mount(route.method, route.path, handler, _on_path(route)[0])
    for prefix in openai_prefixes:
        for mount in _openai_routes_under(prefix):
            if (mount.method, mount.path) not in taken:  # a prefix may repeat a built-in one
                taken.add((mount.method, mount.path))
                yield mount


def _openai_routes_under(prefix: str) -> Iterator[Mount]:
    """Every OpenAI route served under `/v1`, again under `prefix` (`--openai-prefix`,
    `openaiPrefixes`): `/v1/chat/completions` becomes `{prefix}/chat/completions`."""
    for provider in PROVIDERS:
        for surface in provider.surfaces:
            if surface.provider == openai_base.OPENAI:
                handler, on_path = surface_handler(surface), pipeline.route_of(surface)
                for path in surface.paths:
                    if (rebased := openai_base.rebase(path, prefix)) is not None:
                        yield Mount(surface.method, rebased, handler, on_path, surface)
        for socket in provider.sockets:
            if socket.provider == openai_base.OPENAI:
                handler = socket_handler(socket)
                for path in socket.paths:
                    if (rebased := openai_base.rebase(path, prefix)) is not None:
                        yield Mount("GET", rebased, handler, sockets.route_of(socket))
        for route in provider.routes:
            rebased = openai_base.rebase(route.path, prefix)
            if route.provider == openai_base.OPENAI and rebased is not None:
                yield Mount(route.method, rebased, plain_handler([route]), _on_path(route)[0])
