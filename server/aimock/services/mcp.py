"""MCP over Streamable HTTP: named servers defined in the stack file, with sessions.

Wire (one endpoint per server, `/mcp/{name}` or its `path`; the first server also on `/mcp`):

- POST one JSON-RPC message (or a batch). A request gets `application/json` with the response,
  or `text/event-stream` with one `event: message` carrying it: SSE when the client's Accept
  lists text/event-stream but not application/json, or when the server's `responseMode` is
  `sse` (the official SDK accepts both, so that is how a test drives its SSE path).
  Notifications and client responses get 202 with an empty body.
- Handshake era (2025-03-26, 2025-06-18, 2025-11-25): `initialize` negotiates the version (the
  client's if supported, else the newest) and issues `Mcp-Session-Id`; every later request
  needs it (missing: 400, unknown or ended: 404); DELETE ends the session. An unsupported
  `MCP-Protocol-Version` header is a 400. A session unused for the section's
  `sessionTtlSeconds` ends, and past `maxSessions` the least recently used one does (the
  official SDK's idle timeout and count); an ended session's id answers 404 like any other.
- 2026-07-28 (stateless): no session; `server/discover` returns the supported versions,
  capabilities and the serverInfo stamp in `_meta`; each request carries its version in
  `params._meta` (and the `MCP-Protocol-Version` header); results carry `resultType:
  "complete"`, list results and reads `ttlMs`/`cacheScope`. The `mcp` 2.x `Client` probes
  discover first and uses this era; 1.x clients and `mode="legacy"` use the handshake.
- GET answers 405 (no server-initiated stream; the SDK tolerates it).

A `tools/call` no result matches answers an `isError` result saying so, or, in strict mode
(server setting or `X-AIMock-Strict: true`), a -32603 JSON-RPC error "Strict mode: ...".
Chaos applies as on LLM surfaces (drop: HTTP 500 with a -32603 error; malformed; disconnect).
Every request goes into the journal with surface `mcp` and its JSON-RPC method.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from aimock.exchange import Exchange, Route
from aimock.models.services.mcp import DEFAULT_MOUNT, McpServer, McpSpec, Prompt, Tool, ToolResult
from aimock.models.services.mcp import SECTION as MCP_SECTION
from aimock.services import jsonrpc
from aimock.services.base import Expiring, Service, route
from aimock.services.jsonrpc import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    Message,
    RpcError,
    optional,
)
from aimock.state import ServerState
from aimock.streaming import sse

SURFACE = "mcp"
HANDSHAKE_VERSIONS = ("2025-03-26", "2025-06-18", "2025-11-25")
MODERN_VERSIONS = ("2026-07-28",)
ALL_VERSIONS = (*HANDSHAKE_VERSIONS, *MODERN_VERSIONS)
SESSION_HEADER = "Mcp-Session-Id"
# Ended by DELETE, by the reset, or dropped idle or over the count (the spec's 404 for all).
SESSION_NOT_FOUND = "Session not found (ended, expired or never issued)"
VERSION_HEADER = "mcp-protocol-version"
METHOD_HEADER = "mcp-method"
VERSION_META = "io.modelcontextprotocol/protocolVersion"
SERVER_INFO_META = "io.modelcontextprotocol/serverInfo"
RESOURCE_NOT_FOUND = -32002
HEADER_MISMATCH = -32020
UNSUPPORTED_VERSION = -32022
CAPABILITIES = {
    "tools": {"listChanged": False},
    "resources": {"subscribe": False, "listChanged": False},
    "prompts": {"listChanged": False},
}
# Results the 2026-07-28 revision lets a client cache: they carry ttlMs and cacheScope.
CACHEABLE = frozenset(
    {"tools/list", "resources/list", "resources/templates/list", "prompts/list", "resources/read"}
)
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")
# Requests one batch may carry: every one is answered in one response body, so a batch of
# 100,000 cheap requests would build an answer of hundreds of MB. 1,000 is the item limit
# JSON-RPC servers commonly apply (go-ethereum's BatchRequestLimit); the MCP SDK sends none.
MAX_BATCH = 1000


@dataclass
class Session:
    # Nothing the client sent beyond its version is kept: a session's size stays constant, so
    # `maxSessions` bounds the memory sessions take.
    id: str
    server: str
    protocol_version: str


@dataclass(frozen=True)
class Call:
    """One request being served: which server, which era, which negotiated version."""

    server: McpServer
    modern: bool
    version: str
    strict: bool = False  # a tool call no result matches answers a JSON-RPC error


class McpService:
    """Run-time state: open sessions, and the path -> server map of the spec in force."""

    def __init__(self) -> None:
        defaults = McpSpec()
        self.sessions: Expiring[Session] = Expiring(
            defaults.session_ttl_seconds, defaults.max_sessions
        )
        self._spec: McpSpec | None = None
        self._by_path: dict[str, McpServer] = {}

    def server_at(self, spec: McpSpec, path: str) -> McpServer | None:
        if spec is not self._spec:  # a reload brought new definitions: follow them once
            self._by_path = endpoints(spec)
            self.sessions.bound(spec.session_ttl_seconds, spec.max_sessions)
            self._spec = spec
        return self._by_path.get(path.rstrip("/") or "/")

    def reset(self) -> None:
        self.sessions.clear()


def endpoints(spec: McpSpec) -> dict[str, McpServer]:
    """Every endpoint path and its server; explicit paths win over the `/mcp` alias."""
    paths: dict[str, McpServer] = {}
    if spec.servers:
        paths[DEFAULT_MOUNT] = spec.servers[0]
    for server in spec.servers:
        paths[server.endpoint] = server
    return paths


MCP: web.AppKey[McpService] = web.AppKey("aimock_mcp", McpService)


# --- HTTP --------------------------------------------------------------------------------------


ROUTE = Route(SURFACE, SURFACE, jsonrpc.ERRORS)


async def _journaled_answer(exchange: Exchange) -> web.StreamResponse:
    request, state, entry = exchange.request, exchange.state, exchange.entry
    service = request.app[MCP]
    response, method, matched = await _answer(request, state, service, exchange)
    entry.rpc_method = method
    server = service.server_at(state.settings.section(MCP_SECTION), request.path)
    exchange.matched = matched
    if matched and server is not None:  # the journal's `matched`: a definition answered
        entry.fixture, entry.source = {"mcpServer": server.name}, "fixture"
    return response


async def _answer(
    request: web.Request, state: ServerState, service: McpService, exchange: Exchange
) -> tuple[web.Response, str | None, bool]:
    entry = exchange.entry
    server = service.server_at(state.settings.section(MCP_SECTION), request.path)
    if server is None:
        unknown = RpcError(METHOD_NOT_FOUND, f"No MCP server at {request.path}", status=404)
        return _rpc_error(unknown), None, False
    if request.method == "DELETE":
        return _end_session(request, service, server), None, True
    if request.method != "POST":
        error = RpcError(INVALID_REQUEST, "Method Not Allowed: POST JSON-RPC messages", status=405)
        return _rpc_error(error, {"Allow": "POST, DELETE"}), None, False
    try:
        body = await jsonrpc.read(request, state.max_body_bytes)
        entry.body = body
        if isinstance(body, list):
            return _batch(request, service, server, body, exchange.strict)
        message = jsonrpc.parse_message(body)
    except RpcError as exc:
        return _rpc_error(exc), _method_of(entry.body), False
    return _single(request, service, server, message, exchange.strict)


def _method_of(body: Any) -> str | None:
    method = body.get("method") if isinstance(body, dict) else None
    return method if isinstance(method, str) else None


def _single(
    request: web.Request, service: McpService, server: McpServer, message: Message, strict: bool
) -> tuple[web.Response, str | None, bool]:
    try:
        call, session = _admit(request, service, server, message, strict)
        if not message.is_request:  # notifications and client responses need no answer
            return web.Response(status=202), message.method, True
        headers: dict[str, str] = {}
        if message.method == "initialize":
            result, session = _initialize(service, call, message.params)
            answer, matched = jsonrpc.result(message.id, result), True
            headers = {SESSION_HEADER: session.id, "Access-Control-Expose-Headers": SESSION_HEADER}
        else:
            answer, matched = _dispatch(call, message)
    except RpcError as exc:
        return _rpc_error(exc, id=message.id), message.method, False
    return _reply(request, server, answer, headers), message.method, matched


def _batch(
    request: web.Request, service: McpService, server: McpServer, items: list[Any], strict: bool
) -> tuple[web.Response, str | None, bool]:
    """A JSON-RPC batch (2025-03-26): every request answered, in order, in one array."""
    if not items:
        raise RpcError(INVALID_REQUEST, "Invalid Request: empty batch", status=400)
    if len(items) > MAX_BATCH:
        raise RpcError(
            INVALID_REQUEST,
            f"Invalid Request: a batch holds at most {MAX_BATCH} messages, not {len(items)}",
            status=400,
        )
    answers: list[dict[str, Any]] = []
    methods: list[str] = []
    for item in items:
        try:
            message = jsonrpc.parse_message(item)
        except RpcError as exc:
            answers.append(exc.body())
            continue
        methods.append(message.method or "response")
        if message.method == "initialize":
            answers.append(
                jsonrpc.error(message.id, INVALID_REQUEST, "initialize cannot be batched")
            )
            continue
        try:
            call, _ = _admit(request, service, server, message, strict)
            if message.is_request:
                answer, _ = _dispatch(call, message)
                answers.append(answer)
        except RpcError as exc:
            if message.is_request:
                answers.append(exc.body(message.id))
    label = ",".join(methods) or None
    if not answers:
        return web.Response(status=202), label, True
    return _reply(request, server, answers, {}), label, True


# --- eras and sessions ------------------------------------------------------------------------


def _admit(
    request: web.Request, service: McpService, server: McpServer, message: Message, strict: bool
) -> tuple[Call, Session | None]:
    """Which era the message speaks, and its session (handshake era after initialize)."""
    session_id = request.headers.get(SESSION_HEADER)
    header_version = request.headers.get(VERSION_HEADER)
    meta = message.params.get("_meta")
    meta_version = optional(meta, VERSION_META, str, "_meta.") if isinstance(meta, dict) else None
    asked = meta_version or header_version
    if session_id is None and message.method != "initialize":
        if message.method == "server/discover" or asked in MODERN_VERSIONS:
            return _admit_modern(request, server, message, asked, strict), None
        if asked is not None and asked not in HANDSHAKE_VERSIONS:
            raise _unsupported(asked)
    if message.method == "initialize":
        return Call(server, False, HANDSHAKE_VERSIONS[-1], strict), None
    if session_id is None:
        raise RpcError(
            INVALID_REQUEST, f"Bad Request: the {SESSION_HEADER} header is required", status=400
        )
    session = service.sessions.get(session_id)
    if session is None or session.server != server.name:
        raise RpcError(INVALID_REQUEST, SESSION_NOT_FOUND, status=404)
    if header_version is not None and header_version not in HANDSHAKE_VERSIONS:
        raise RpcError(
            INVALID_REQUEST,
            f"Bad Request: unsupported {VERSION_HEADER} {header_version!r}",
            status=400,
        )
    return Call(server, False, session.protocol_version, strict), session


def _admit_modern(
    request: web.Request, server: McpServer, message: Message, asked: str | None, strict: bool
) -> Call:
    version = asked or MODERN_VERSIONS[-1]
    if version not in MODERN_VERSIONS:
        raise _unsupported(version)
    named = request.headers.get(METHOD_HEADER)
    if named is not None and named != message.method:
        raise RpcError(
            HEADER_MISMATCH,
            f"Header mismatch: {METHOD_HEADER} {named!r} but the body's method is "
            f"{message.method!r}",
            status=400,
        )
    return Call(server, True, version, strict)


def _unsupported(version: str) -> RpcError:
    return RpcError(
        UNSUPPORTED_VERSION,
        f"Unsupported protocol version {version!r}",
        {"supported": list(ALL_VERSIONS), "requested": version},
        status=400,
    )


def _end_session(request: web.Request, service: McpService, server: McpServer) -> web.Response:
    session_id = request.headers.get(SESSION_HEADER)
    if session_id is None:
        error = RpcError(INVALID_REQUEST, f"Bad Request: the {SESSION_HEADER} header is required")
        return _rpc_error(error, status=400)
    session = service.sessions.get(session_id)
    if session is None or session.server != server.name:
        return _rpc_error(RpcError(INVALID_REQUEST, SESSION_NOT_FOUND), status=404)
    service.sessions.pop(session_id)
    return web.Response(status=200)


# --- methods ----------------------------------------------------------------------------------

Handler = Callable[[Call, dict[str, Any]], tuple[dict[str, Any], bool]]


def _dispatch(call: Call, message: Message) -> tuple[dict[str, Any], bool]:
    """The JSON-RPC response to one request, and whether a definition answered it."""
    method = message.method or ""
    handler = (MODERN_METHODS if call.modern else HANDSHAKE_METHODS).get(method)
    if handler is None:
        raise RpcError(METHOD_NOT_FOUND, f"Method not found: {method}")
    value, matched = handler(call, message.params)
    if call.modern:
        value = {**value, "resultType": "complete"}
        if method in CACHEABLE:
            value.update(ttlMs=0, cacheScope="private")
    return jsonrpc.result(message.id, value), matched


def _initialize(
    service: McpService, call: Call, params: dict[str, Any]
) -> tuple[dict[str, Any], Session]:
    """The handshake: negotiate the version and open a session."""
    asked = optional(params, "protocolVersion", str)
    optional(params, "clientInfo", dict)  # type-checked only: nothing reads it back
    version = asked if asked in HANDSHAKE_VERSIONS else HANDSHAKE_VERSIONS[-1]
    # The spec wants session ids cryptographically secure; one per session costs nothing.
    session = Session(id=secrets.token_hex(16), server=call.server.name, protocol_version=version)
    service.sessions.add(session.id, session)
    result: dict[str, Any] = {
        "protocolVersion": version,
        "capabilities": CAPABILITIES,
        "serverInfo": _info(call.server),
    }
    if call.server.instructions is not None:
        result["instructions"] = call.server.instructions
    return result, session


def _info(server: McpServer) -> dict[str, Any]:
    return server.info.model_dump(mode="json", by_alias=True, exclude_none=True)


def _discover(call: Call, params: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    del params
    result: dict[str, Any] = {
        "supportedVersions": list(ALL_VERSIONS),
        "capabilities": CAPABILITIES,
        "ttlMs": 0,
        "cacheScope": "private",
        "_meta": {SERVER_INFO_META: _info(call.server)},
    }
    if call.server.instructions is not None:
        result["instructions"] = call.server.instructions
    return result, True


def _ping(call: Call, params: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    del call, params
    return {}, True


def _dump(model: Any, *, exclude: set[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = model.model_dump(
        mode="json", by_alias=True, exclude_none=True, exclude=exclude
    )
    return out


def _list_tools(call: Call, params: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    del params
    return {"tools": [_dump(t, exclude={"results"}) for t in call.server.tools]}, True


def _call_tool(call: Call, params: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    name = params.get("name")
    tool = next((t for t in call.server.tools if t.name == name), None)
    if tool is None:
        raise RpcError(INVALID_PARAMS, f"Unknown tool: {name}")
    arguments = optional(params, "arguments", dict) or {}
    result = next((r for r in tool.results if _fits(r, arguments)), None)
    if result is None:
        if call.strict:
            raise RpcError(INTERNAL_ERROR, f"Strict mode: {_no_result_text(tool, arguments)}")
        return _no_result(tool, arguments), False
    if result.error is not None:
        raise RpcError(result.error.code, result.error.message, result.error.data)
    return _tool_result(result), True


def _fits(result: ToolResult, arguments: dict[str, Any]) -> bool:
    match = result.match
    if match is None:
        return True
    if match.arguments is not None and arguments != match.arguments:
        return False
    if match.arguments_subset is not None and any(
        key not in arguments or arguments[key] != value
        for key, value in match.arguments_subset.items()
    ):
        return False
    for key, pattern in (match.arguments_regex or {}).items():
        if key not in arguments:
            return False
        value = arguments[key]
        text = value if isinstance(value, str) else orjson.dumps(value).decode()
        if re.search(pattern, text) is None:  # re caches compiled patterns
            return False
    return True


def _tool_result(result: ToolResult) -> dict[str, Any]:
    if result.content is not None:
        content = list(result.content)
    elif result.text is not None:
        content = [{"type": "text", "text": result.text}]
    else:
        # Structured-only: the spec asks for the same JSON as text for older clients.
        content = [{"type": "text", "text": orjson.dumps(result.structured_content).decode()}]
    out: dict[str, Any] = {"content": content, "isError": result.is_error}
    if result.structured_content is not None:
        out["structuredContent"] = result.structured_content
    return out


def _no_result_text(tool: Tool, arguments: dict[str, Any]) -> str:
    return (
        f"no result of tool {tool.name!r} matches the arguments {orjson.dumps(arguments).decode()}"
    )


def _no_result(tool: Tool, arguments: dict[str, Any]) -> dict[str, Any]:
    text = f"aimock: {_no_result_text(tool, arguments)}"
    return {"content": [{"type": "text", "text": text}], "isError": True}


def _list_resources(call: Call, params: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    del params
    listed = [_dump(r, exclude={"text", "blob"}) for r in call.server.resources]
    return {"resources": listed}, True


def _read_resource(call: Call, params: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    uri = params.get("uri")
    if not isinstance(uri, str):
        raise RpcError(INVALID_PARAMS, "Invalid params: uri must be a string")
    resource = next((r for r in call.server.resources if r.uri == uri), None)
    if resource is None:
        # 2026-07-28 folds resource-not-found into invalid params.
        code = INVALID_PARAMS if call.modern else RESOURCE_NOT_FOUND
        raise RpcError(code, f"Resource not found: {uri}", {"uri": uri})
    contents: dict[str, Any] = {"uri": uri}
    if resource.mime_type is not None:
        contents["mimeType"] = resource.mime_type
    if resource.blob is not None:
        contents["blob"] = resource.blob
    else:
        contents["text"] = resource.text or ""
    return {"contents": [contents]}, True


def _list_templates(call: Call, params: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    del params
    return {"resourceTemplates": [_dump(t) for t in call.server.resource_templates]}, True


def _list_prompts(call: Call, params: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    del params
    return {"prompts": [_dump(p, exclude={"messages"}) for p in call.server.prompts]}, True


def _get_prompt(call: Call, params: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    name = params.get("name")
    prompt = next((p for p in call.server.prompts if p.name == name), None)
    if prompt is None:
        raise RpcError(INVALID_PARAMS, f"Unknown prompt: {name}")
    given = optional(params, "arguments", dict) or {}
    missing = [a.name for a in prompt.arguments if a.required and a.name not in given]
    if missing:
        raise RpcError(INVALID_PARAMS, f"Missing required argument: {', '.join(missing)}")
    out: dict[str, Any] = {"messages": _prompt_messages(prompt, given)}
    if prompt.description is not None:
        out["description"] = prompt.description
    return out, True


def _prompt_messages(prompt: Prompt, arguments: dict[str, Any]) -> list[dict[str, Any]]:
    declared = {a.name for a in prompt.arguments}

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in arguments:
            return str(arguments[name])
        # A declared optional argument left out reads as empty; anything else stays visible.
        return "" if name in declared else match.group(0)

    def fill(text: str) -> str:
        return PLACEHOLDER.sub(value, text)

    messages: list[dict[str, Any]] = []
    for message in prompt.messages:
        if isinstance(message.content, str):
            content: dict[str, Any] = {"type": "text", "text": fill(message.content)}
        else:
            content = dict(message.content)
            if content.get("type") == "text" and isinstance(content.get("text"), str):
                content["text"] = fill(content["text"])
        messages.append({"role": message.role, "content": content})
    return messages


COMMON_METHODS: dict[str, Handler] = {
    "tools/list": _list_tools,
    "tools/call": _call_tool,
    "resources/list": _list_resources,
    "resources/read": _read_resource,
    "resources/templates/list": _list_templates,
    "prompts/list": _list_prompts,
    "prompts/get": _get_prompt,
}
HANDSHAKE_METHODS: dict[str, Handler] = {**COMMON_METHODS, "ping": _ping}
# 2026-07-28 removes ping and the handshake; discover is how a client learns the server.
MODERN_METHODS: dict[str, Handler] = {**COMMON_METHODS, "server/discover": _discover}


# --- rendering --------------------------------------------------------------------------------


def _wants_sse(request: web.Request, server: McpServer) -> bool:
    accept = request.headers.get("Accept", "").lower()
    if "text/event-stream" not in accept:
        return False
    return server.response_mode == "sse" or (
        "application/json" not in accept and "*/*" not in accept
    )


def _reply(
    request: web.Request, server: McpServer, body: Any, headers: dict[str, str]
) -> web.Response:
    payload = orjson.dumps(body)
    if _wants_sse(request, server):
        items = body if isinstance(body, list) else [body]
        events = b"".join(sse.frame(item, "message") for item in items)
        return web.Response(
            body=events,
            content_type=sse.CONTENT_TYPE,
            headers={**headers, "Cache-Control": "no-cache"},
        )
    return web.Response(body=payload, content_type="application/json", headers=headers)


def _rpc_error(
    error: RpcError,
    headers: dict[str, str] | None = None,
    *,
    id: Any = None,
    status: int | None = None,
) -> web.Response:
    return web.Response(
        body=orjson.dumps(error.body(id)),
        status=status if status is not None else error.status,
        content_type="application/json",
        headers=headers,
    )


# --- mounting ---------------------------------------------------------------------------------


def mount(app: web.Application, state: ServerState) -> None:
    app[MCP] = McpService()
    paths = {DEFAULT_MOUNT, DEFAULT_MOUNT + "/{name}"}
    # Custom paths are routed at start (like openaiPrefixes); their definitions still reload.
    paths.update(s.path for s in state.settings.section(MCP_SECTION).servers if s.path is not None)
    for path in sorted(paths):
        route(app, "*", path, ROUTE, _journaled_answer)


def reset(app: web.Application) -> None:
    app[MCP].reset()


SERVICE = Service(name=SURFACE, section=MCP_SECTION, mount=mount, reset=reset)
