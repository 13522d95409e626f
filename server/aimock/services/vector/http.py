"""HTTP plumbing of the vector dialects: a store each, journaling and error rendering.

Each dialect module gives `ROUTES` (method, path, handler) and an `error` renderer; a handler
gets the request, its dialect's store and the parsed JSON body (None for a bodiless request)
and returns `(status, body)`. Routes are mounted on their own paths and, when the spec gives
one, again under `vector.path` (AIMock's mount path). Every request takes the request path with
surface `vector.<dialect>` (`services.base.route`): journal, chaos (a drop answers the
database's own 500 body), metrics.
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

# Each dialect's store, by dialect name: Qdrant, Chroma and Pinecone are separate databases.
STORES: web.AppKey[dict[str, VectorStore]] = web.AppKey("aimock_vector", dict)
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
    handler: Handler, error: ErrorRenderer, name: str
) -> Callable[[Exchange], Awaitable[web.Response]]:
    async def answer(exchange: Exchange) -> web.Response:
        request, state = exchange.request, exchange.state
        store = request.app[STORES][name]
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
    app: web.Application,
    surface: str,
    routes: list[DialectRoute],
    error: ErrorRenderer,
    prefix: str | None = None,
) -> None:
    """Mount a dialect's routes (surface `vector.<dialect>`, its store `app[STORES][dialect]`),
    also under `prefix`."""
    on_path = Route(surface, PROVIDER, dialect(error))
    name = surface.removeprefix("vector.")
    for method, path, handler in routes:
        answer = endpoint(handler, error, name)
        route(app, method, path, on_path, answer)
        if prefix:
            route(app, method, prefix + path, on_path, answer)
            if path == "/":  # the prefix itself, as clients ask it (`GET /vector`)
                route(app, method, prefix, on_path, answer)
