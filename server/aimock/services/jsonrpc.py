"""JSON-RPC 2.0 messages: parsing, validation, and the result/error envelopes.

A message is a request (`method` and `id`), a notification (`method`, no `id`), or a response
(`id` with exactly one of `result`/`error`). Ids are strings or integers (MCP forbids null).
Validation problems raise `RpcError` with the standard code; services decide the HTTP status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from aimock.surface import ErrorDialect, ErrorInfo, ProtocolError, within
from aimock.wire import read_json

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

RequestId = str | int


class RpcError(Exception):
    """A JSON-RPC error to answer; `status` is the HTTP status a transport should use."""

    def __init__(
        self, code: int, message: str, data: Any = None, *, status: int = 200, id: Any = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data
        self.status = status
        self.id = id

    def body(self, id: RequestId | None = None) -> dict[str, Any]:
        return error(self.id if id is None else id, self.code, self.message, self.data)


@dataclass(frozen=True)
class Message:
    method: str | None
    id: RequestId | None
    params: dict[str, Any]
    has_id: bool

    @property
    def is_request(self) -> bool:
        return self.method is not None and self.has_id

    @property
    def is_notification(self) -> bool:
        return self.method is not None and not self.has_id

    @property
    def is_response(self) -> bool:
        return self.method is None


def _valid_id(value: Any) -> bool:
    # bool is an int subclass, and true is no id.
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def parse_message(obj: Any) -> Message:
    """One JSON-RPC message from decoded JSON, or `RpcError(INVALID_REQUEST)` (HTTP 400)."""
    if not isinstance(obj, dict):
        raise RpcError(INVALID_REQUEST, "Invalid Request: expected a JSON object", status=400)
    raw_id = obj.get("id")
    known_id = raw_id if _valid_id(raw_id) else None
    if obj.get("jsonrpc") != "2.0":
        raise RpcError(
            INVALID_REQUEST, 'Invalid Request: jsonrpc must be "2.0"', status=400, id=known_id
        )
    if "id" in obj and not _valid_id(raw_id):
        raise RpcError(
            INVALID_REQUEST, "Invalid Request: id must be a string or an integer", status=400
        )
    method = obj.get("method")
    if method is None:
        if "id" not in obj or (("result" in obj) == ("error" in obj)):
            raise RpcError(
                INVALID_REQUEST,
                "Invalid Request: a message needs a method, or an id with result or error",
                status=400,
                id=known_id,
            )
        return Message(None, raw_id, {}, True)
    if not isinstance(method, str) or not method:
        raise RpcError(
            INVALID_REQUEST, "Invalid Request: method must be a string", status=400, id=known_id
        )
    params = obj.get("params")
    if params is None:
        params = {}
    elif not isinstance(params, dict):
        raise RpcError(
            INVALID_PARAMS, "Invalid params: params must be an object", status=400, id=known_id
        )
    return Message(method, raw_id, params, "id" in obj)


# What a wrong-typed parameter is said to be expected as.
_KIND_NAMES: dict[type, str] = {str: "a string", int: "an integer", dict: "an object"}


def optional(params: dict[str, Any], key: str, kind: type, where: str = "") -> Any:
    """`params[key]` when absent (None) or of `kind` (bool is no int), else the invalid-params
    error naming it: odd types are refused at the edge instead of travelling on."""
    value = params.get(key)
    if value is None or (isinstance(value, kind) and not (kind is int and isinstance(value, bool))):
        return value
    raise RpcError(INVALID_PARAMS, f"Invalid params: {where}{key} must be {_KIND_NAMES[kind]}")


def bounded(value: Any, param: str, low: int, high: int) -> int:
    """`value` as an integer in [low, high], else the invalid-params error naming the bounds
    (the JSON-RPC spelling of `surface.within`)."""
    try:
        return within(value, param, low, high)
    except ProtocolError as exc:
        raise RpcError(INVALID_PARAMS, f"Invalid params: {exc.info.message}") from None


def result(id: RequestId | None, value: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id, "result": value}


def error(id: RequestId | None, code: int, message: str, data: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        body["data"] = data
    return {"jsonrpc": "2.0", "id": id, "error": body}


async def read(request: web.Request, limit: int) -> Any:
    """The request's JSON body, or the `RpcError` a JSON-RPC server answers for it: a parse
    error (400), or an invalid request when it is over the size limit (413)."""
    try:
        return await read_json(request, limit)
    except ProtocolError as exc:
        too_large = exc.info.status == 413
        code = INVALID_REQUEST if too_large else PARSE_ERROR
        prefix = "Request too large" if too_large else "Parse error"
        raise RpcError(
            code, f"{prefix}: {exc.info.message}", status=413 if too_large else 400
        ) from None


def _error_body(info: ErrorInfo) -> dict[str, Any]:
    code = INTERNAL_ERROR if info.status >= 500 else INVALID_REQUEST
    return error(None, code, info.message)


# How the request path answers for a JSON-RPC service (a chaos drop, a fault of ours): an
# error object with no id, under the HTTP status of the failure.
def _error_headers(info: ErrorInfo) -> dict[str, str]:
    # A 401 says how to authenticate (MCP's HTTP transport and A2A ask for a bearer token).
    return {"WWW-Authenticate": 'Bearer realm="aimock"'} if info.status == 401 else {}


ERRORS = ErrorDialect(body=_error_body, headers=_error_headers)
