"""HTTP plumbing of the vector dialects: one store, journaling and error rendering.

Each dialect module gives `ROUTES` (method, path, handler) and an `error` renderer; a handler
gets the request, the store and the parsed JSON body (None for a bodiless request) and returns
`(status, body)`. Every request takes the request path with surface `vector.<dialect>`
(`services.base.route`): journal, chaos (a drop answers the database's own 500 body), metrics.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from aimock.exchange import Exchange, Route
from aimock.models.services.vector import SECTION as VECTOR_SECTION
from aimock.services.base import route
from aimock.services.vector.filters import FilterError
from aimock.services.vector.store import ErrorKind, VectorError, VectorStore
from aimock.surface import ErrorDialect, ErrorInfo, ProtocolError
from aimock.wire import read_json

PROVIDER = "vector"
Answer = tuple[int, Any]
Handler = Callable[[web.Request, VectorStore, Any], Awaitable[Answer]]
ErrorRenderer = Callable[[VectorError], Answer]
DialectRoute = tuple[str, str, Handler]

STORE: web.AppKey[VectorStore] = web.AppKey("aimock_vector", VectorStore)
# The error kind of a status the request path answers (other 4xx: a bad request).
KINDS: dict[int, ErrorKind] = {404: "not_found", 409: "conflict", 422: "invalid"}


def dialect(error: ErrorRenderer) -> ErrorDialect:
    """A database's error renderer as the request path's error dialect (chaos drops, faults)."""

    def body(info: ErrorInfo) -> dict[str, Any]:
        kind = "internal" if info.status >= 500 else KINDS.get(info.status, "bad_request")
        rendered = error(VectorError(kind, info.message))[1]
        return rendered if isinstance(rendered, dict) else {"error": info.message}

    return ErrorDialect(body=body)


def endpoint(
    handler: Handler, error: ErrorRenderer
) -> Callable[[Exchange], Awaitable[web.Response]]:
    async def answer(exchange: Exchange) -> web.Response:
        request, state = exchange.request, exchange.state
        store = request.app[STORE]
        store.follow(state.settings.section(VECTOR_SECTION))
        try:
            body = await read_json(request, state.max_body_bytes) if request.can_read_body else None
            exchange.entry.body = body
            status, answer = await handler(request, store, body)
        except ProtocolError as exc:  # unreadable JSON (a format error), or too large
            status, answer = error(VectorError("format", exc.info.message))
            status = 413 if exc.info.status == 413 else status
        except FilterError as exc:
            status, answer = error(VectorError("format", f"Bad filter: {exc}"))
        except VectorError as exc:
            status, answer = error(exc)
        return _response(status, answer)

    return answer


def _response(status: int, answer: Any) -> web.Response:
    if answer is None:  # e.g. Pinecone's 202 to an index delete
        return web.Response(status=status)
    return web.Response(body=orjson.dumps(answer), status=status, content_type="application/json")


def mount_routes(
    app: web.Application, surface: str, routes: list[DialectRoute], error: ErrorRenderer
) -> None:
    on_path = Route(surface, PROVIDER, dialect(error))
    for method, path, handler in routes:
        route(app, method, path, on_path, endpoint(handler, error))
