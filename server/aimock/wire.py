"""JSON in and out over HTTP, the same for the pipeline and for plain routes: a body read to
the end under a size limit (a chunked body too), and answers with orjson.

A bad body raises `ProtocolError`, which each caller renders in its own protocol's envelope.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from aimock.surface import ErrorDialect, ErrorInfo, ProtocolError, bad_request

JSON_TYPE = "application/json"
# The body as sent, kept on the request for the journal (which sizes it and may keep its start).
RAW_BODY = web.RequestKey("aimock.raw_body", bytes)
# Seconds a request body may go without a byte arriving (the server's idle timeout).
BODY_IDLE_TIMEOUT = web.AppKey("aimock.body_idle_timeout", float)
# The deepest nesting of objects and arrays a JSON body may have (see `too_deep`).
MAX_JSON_DEPTH = 128


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=orjson.dumps(body), status=status, content_type=JSON_TYPE, headers=headers
    )


def error_response(dialect: ErrorDialect, info: ErrorInfo) -> web.Response:
    response = json_response(dialect.body(info), info.status, dialect.headers(info))
    if info.close:
        response.force_close()
    return response


async def read_json(request: web.Request, limit: int) -> Any:
    return parse_json(await read_body(request, limit), request.method)


async def read_body(request: web.Request, limit: int) -> bytes:
    """The body's bytes, read to the end; `ProtocolError` 413 past `limit`."""
    if request.content_length is not None and request.content_length > limit:
        message = (
            f"Request body of {request.content_length} bytes exceeds the limit of {limit} bytes"
        )
        raise _closing(413, message, "request_too_large")
    # Read to the end: a chunked body (no Content-Length) arrives in pieces.
    parts: list[bytes] = []
    size = 0
    while chunk := await _read(request):
        size += len(chunk)
        if size > limit:
            raise _closing(
                413, f"Request body exceeds the limit of {limit} bytes", "request_too_large"
            )
        parts.append(chunk)
    raw = request[RAW_BODY] = b"".join(parts)
    return raw


async def _read(request: web.Request) -> bytes:
    idle = request.app.get(BODY_IDLE_TIMEOUT, 30.0)
    content = request.content
    try:
        # What has arrived already needs no timer (most bodies are whole by now).
        chunk = content.read_nowait(65536)
        if chunk or content.at_eof():
            return chunk
        async with asyncio.timeout(idle):
            return await content.read(65536)
    except TimeoutError:
        # A client that sent its headers and then trickles (or stops) its body holds a
        # handler: it gets the wire's 408 and the connection closes.
        message = f"The request body stalled: nothing arrived for {idle:g} seconds"
        raise _closing(408, message, "request_timeout") from None
    except RuntimeError as exc:
        # aiohttp's word for a connection lost before the handler first read: a request whose
        # last bytes arrived with the client's FIN. The client is gone, as with a reset.
        if str(exc) != "Connection closed.":
            raise
        raise ConnectionResetError("the client closed the connection mid-body") from None
    except RequestPayloadError as exc:  # a body its Content-Encoding does not decode...
        # ...stops the parser mid-body: nothing more can be read. Say the body ended, or
        # aiohttp drains it after the answer and logs this same error as a traceback; the
        # answer closes the connection.
        request.content.feed_eof()
        raise _closing(400, f"Unreadable body: {exc}", "invalid_body") from None


def _closing(status: int, message: str, code: str) -> ProtocolError:
    """A refusal after which the connection cannot carry another request."""
    info = ErrorInfo(status, message, type="invalid_request_error", code=code, close=True)
    return ProtocolError(info)


def parse_json(raw: bytes, method: str) -> Any:
    """A body as JSON; an empty one is {} for a bodiless method, else a `ProtocolError`."""
    if not raw.strip():
        if method in ("GET", "DELETE", "HEAD"):
            return {}
        raise bad_request("The request body is empty; expected a JSON object", code="invalid_json")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"Malformed JSON: {exc}", code="invalid_json") from None
    if too_deep(raw, value):
        raise bad_request(
            f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels", code="invalid_json"
        )
    return value


def too_deep(raw: bytes, value: Any, limit: int | None = None) -> bool:
    """Whether `value` (parsed from `raw`) nests containers deeper than `limit`.

    No real API takes bodies hundreds of levels deep, and past 254 levels orjson cannot write
    them back out (the journal, match keys, recordings). Most bodies have fewer brackets than
    the limit in all, which settles it at C speed; the others are walked once."""
    limit = MAX_JSON_DEPTH if limit is None else limit
    if raw.count(b"{") + raw.count(b"[") <= limit:
        return False
    return depth_exceeds(value, limit)


def depth_exceeds(value: Any, limit: int) -> bool:
    """Whether lists and dicts nest deeper than `limit` in `value` (iterative: a hostile
    value cannot exhaust the stack)."""
    if not isinstance(value, dict | list):
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False
