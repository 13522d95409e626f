"""What a stateful service (MCP, A2A, the vector databases) gives the app: routes and a reset.

A service is not an LLM provider: it does not go through the fixture pipeline, it keeps its
own state (sessions, stores) in an object it puts on the app under a `web.AppKey`, and it reads
its definitions from its own section of the stack spec (`aimock.models.services`). The app
mounts every service of `registry.SERVICES`; the control API's reset calls `reset`.

A service's routes are answered through the request path like every route
(`exchange.serve`): `route` mounts a handler with its journal entry, chaos (rolled before the
handler: a streamed answer cannot be taken back), strict mode, metrics and log line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from aimock import exchange
from aimock.exchange import Handler, Route
from aimock.models.base import Section
from aimock.state import ServerState


@dataclass(frozen=True)
class Service:
    name: str
    # The stack spec's part this service reads (`spec.mcp`...).
    section: Section[Any]
    # Adds the service's routes and state object to the app (called once, at start).
    mount: Callable[[web.Application, ServerState], None]
    # Drops run-time state (sessions...); definitions come from the settings and stay.
    reset: Callable[[web.Application], None]


def route(app: web.Application, method: str, path: str, route: Route, handler: Handler) -> None:
    """Mount `handler` on `method path`, answered through the request path as `route`."""

    async def handle(request: web.Request) -> web.StreamResponse:
        return await exchange.serve(request, route, handler)

    app.router.add_route(method, path, handle)
