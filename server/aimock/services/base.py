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

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aiohttp import web

from aimock import exchange, families
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
    families.add_family(app, path, route)  # an unknown path beside it answers in its envelope


V = TypeVar("V")


class Expiring(Generic[V]):
    """Run-time objects by id (MCP sessions, A2A tasks) that a client may open without end and
    never close: each is dropped once idle for `ttl` seconds, and the least recently used go
    first when more than `limit` are held.

    Items are kept in order of last use, so the expired ones are always at the front: adding
    drops them from there (each item is dropped once: amortised O(1), never a sweep of all),
    and a lookup of an expired id drops it on the spot."""

    def __init__(self, ttl: float, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.limit = ttl, limit
        self._clock = clock
        self._items: OrderedDict[str, tuple[V, float]] = OrderedDict()  # id -> (item, deadline)

    def __len__(self) -> int:
        return len(self._items)

    def bound(self, ttl: float, limit: int) -> None:
        """New limits (a reload): held items keep their deadlines, the count is cut at once."""
        self.ttl, self.limit = ttl, limit
        self._trim()

    def get(self, key: str) -> V | None:
        """The live item, its idle time restarted; None if unknown or expired."""
        held = self._items.get(key)
        if held is None:
            return None
        now = self._clock()
        if held[1] <= now:
            del self._items[key]
            return None
        self._items[key] = (held[0], now + self.ttl)
        self._items.move_to_end(key)
        return held[0]

    def add(self, key: str, item: V) -> None:
        now = self._clock()
        self._drop_expired(now)
        self._items[key] = (item, now + self.ttl)
        self._items.move_to_end(key)
        self._trim()

    def pop(self, key: str) -> V | None:
        held = self._items.pop(key, None)
        return None if held is None else held[0]

    def clear(self) -> None:
        self._items.clear()

    def _drop_expired(self, now: float) -> None:
        while self._items:
            key, (_, deadline) = next(iter(self._items.items()))
            if deadline > now:
                return
            del self._items[key]

    def _trim(self) -> None:
        while len(self._items) > self.limit:
            self._items.popitem(last=False)
