"""JSON in and out over HTTP, the same for the pipeline and for plain routes: a body read to
the end under a size limit (a chunked body too), and answers with orjson.

A bad body raises `ProtocolError`, which each caller renders in its own protocol's envelope.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from aimock.surface import ErrorDialect, ErrorInfo, ProtocolError, bad_request

JSON_TYPE = "application/json"


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
        raise ProtocolError(
            ErrorInfo(
                413,
                f"Request body of {request.content_length} bytes exceeds the limit of "
                f"{limit} bytes",
                type="invalid_request_error",
                code="request_too_large",
                close=True,
            )
        )
    # Read to the end: a chunked body (no Content-Length) arrives in pieces.
    parts: list[bytes] = []
    size = 0
    while chunk := await _read(request):
        size += len(chunk)
        if size > limit:
            raise ProtocolError(
                ErrorInfo(
                    413,
                    f"Request body exceeds the limit of {limit} bytes",
                    type="invalid_request_error",
                    code="request_too_large",
                    close=True,
                )
            )
        parts.append(chunk)
    return b"".join(parts)


async def _read(request: web.Request) -> bytes:
    try:
        return await request.content.read(65536)
    except RequestPayloadError as exc:  # a body its Content-Encoding does not decode...
        # ...stops the parser mid-body: nothing more can be read. Say the body ended, or
        # aiohttp drains it after the answer and logs this same error as a traceback; the
        # answer closes the connection.
        request.content.feed_eof()
        info = ErrorInfo(
            400,
            f"Unreadable body: {exc}",
            type="invalid_request_error",
            code="invalid_body",
            close=True,
        )
        raise ProtocolError(info) from None


def parse_json(raw: bytes, method: str) -> Any:
    """A body as JSON; an empty one is {} for a bodiless method, else a `ProtocolError`."""
    if not raw.strip():
        if method in ("GET", "DELETE", "HEAD"):
            return {}
        raise bad_request("The request body is empty; expected a JSON object", code="invalid_json")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"Malformed JSON: {exc}", code="invalid_json") from None
