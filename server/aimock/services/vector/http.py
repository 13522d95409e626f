"""HTTP plumbing of the vector dialects: one store, journaling and error rendering.

Each dialect module gives `ROUTES` (method, path, handler) and an `error` renderer; a handler
gets the request, the store and the parsed JSON body (None for a bodiless request) and returns
`(status, body)`. Every request is journaled with surface `vector.<dialect>` and runs under
chaos like LLM surfaces (`services.base.serve`; a drop answers the database's own 500 body).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from aimock.journal import Entry
from aimock.services.base import serve
from aimock.services.vector.filters import FilterError
from aimock.services.vector.store import VectorError, VectorStore
from aimock.state import STATE
from aimock.surface import ProtocolError
from aimock.wire import read_json

PROVIDER = "vector"
Answer = tuple[int, Any]
Handler = Callable[[web.Request, VectorStore, Any], Awaitable[Answer]]
ErrorRenderer = Callable[[VectorError], Answer]
Route = tuple[str, str, Handler]

STORE: web.AppKey[VectorStore] = web.AppKey("aimock_vector", VectorStore)


def endpoint(
    surface: str, handler: Handler, error: ErrorRenderer
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def answer(request: web.Request, entry: Entry) -> tuple[web.StreamResponse, bool]:
        state = request.app[STATE]
        store = request.app[STORE]
        store.follow(state.settings.vector)
        try:
            body = await read_json(request, state.max_body_bytes) if request.can_read_body else None
            entry.body = body
            status, answer = await handler(request, store, body)
        except ProtocolError as exc:  # unreadable JSON or too large
            status, answer = error(VectorError("bad_request", exc.info.message))
            status = 413 if exc.info.status == 413 else status
        except FilterError as exc:
            status, answer = error(VectorError("bad_request", f"Bad filter: {exc}"))
        except VectorError as exc:
            status, answer = error(exc)
        return _response(status, answer), False

    def dropped() -> web.StreamResponse:
        return _response(*error(VectorError("internal", "Chaos: request dropped")))

    async def handle(request: web.Request) -> web.StreamResponse:
        return await serve(request, surface, PROVIDER, answer, dropped)

    return handle


def _response(status: int, answer: Any) -> web.Response:
    if answer is None:  # e.g. Pinecone's 202 to an index delete
        return web.Response(status=status)
    return web.Response(body=orjson.dumps(answer), status=status, content_type="application/json")


def mount_routes(
    app: web.Application, surface: str, routes: list[Route], error: ErrorRenderer
) -> None:
    for method, path, handler in routes:
        app.router.add_route(method, path, endpoint(surface, handler, error))
