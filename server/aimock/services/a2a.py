"""A2A (Agent2Agent) over JSON-RPC: named agents defined in the stack file, with tasks.

Wire (one endpoint per agent, `/a2a/{name}` or its `path`):

- `GET {path}/.well-known/agent-card.json` (also the 0.2 name `agent.json`; the first agent's
  card also at the root) answers the agent card. Its interface URL is this server's own origin
  (scheme and Host of the card request) + the agent's path, so the client posts back here.
  A `1.0` agent publishes `supportedInterfaces: [{url, protocolBinding: JSONRPC,
  protocolVersion: "1.0"}]`; a `0.3` agent a legacy card (`protocolVersion: "0.3.0"`, `url`,
  `preferredTransport`), which a2a-sdk maps to an interface of version 0.3.0 and answers with
  its v0.3 compat transport (`ClientFactory` picks the transport by that version).
- `POST {path}`: one JSON-RPC request. v1.0 methods `SendMessage`, `SendStreamingMessage`,
  `GetTask`, `CancelTask` (ProtoJSON: no `kind`, `TASK_STATE_*` and `ROLE_*` enums,
  `SendMessage` -> `{"task"}` or `{"message"}`); v0.3 methods `message/send`, `message/stream`,
  `tasks/get`, `tasks/cancel` (`kind` discriminators, lower-case states). The method names do
  not overlap, so every agent answers both families (as an a2a-sdk server with v0.3 compat
  does); the card decides which one a client speaks.
- Streaming answers are `text/event-stream`, each `data:` a whole JSON-RPC response with the
  request id, in this order: the task (working, with the user message in its history), the
  response's `streaming` updates, one artifact update per artifact, then the final status
  update (v0.3: `final: true`). A plain-message answer streams that one message.
- Errors are JSON-RPC errors with HTTP 200 (as the a2a-sdk server answers; its client raises
  the mapped error class only for a 200): -32700 parse, -32600 invalid request, -32601
  unknown method, -32602 invalid params, -32001 task not found, -32002 task not cancelable.
- A message no response matches answers a task in state `failed` whose status message says so
  (the journal marks it unmatched): an agent under test sees an ordinary A2A failure through
  every a2a-sdk path, streamed or not, instead of a transport error. In strict mode (server
  setting or `X-AIMock-Strict: true`) it answers a -32603 JSON-RPC error "Strict mode: ...".
- Chaos (`--chaos-*`, policies, `X-AIMock-Chaos-*` headers) applies as on LLM surfaces: drop is
  an HTTP 500 carrying a -32603 JSON-RPC error, malformed a 200 of broken JSON, disconnect a cut.

Tasks live in the service state until the control API's reset, or until they go unused for the
section's `taskTtlSeconds` or more than `maxTasks` are held (the least recently used go first);
a forgotten task answers TaskNotFoundError. Every request goes into the journal with surface
`a2a` and its JSON-RPC method.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from aimock import ids
from aimock.exchange import Exchange, Route
from aimock.models.services.a2a import (
    DEFAULT_MOUNT,
    TERMINAL_STATES,
    A2ASpec,
    Agent,
    AgentResponse,
    Artifact,
    Part,
)
from aimock.models.services.a2a import SECTION as A2A_SECTION
from aimock.services import jsonrpc
from aimock.services.base import Expiring, Service, route
from aimock.services.jsonrpc import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    RequestId,
    RpcError,
    bounded,
    optional,
)
from aimock.state import ServerState
from aimock.streaming import sse

SURFACE = "a2a"
CARD_PATH = "/.well-known/agent-card.json"
LEGACY_CARD_PATH = "/.well-known/agent.json"
TASK_NOT_FOUND = -32001
TASK_NOT_CANCELABLE = -32002
# The messages a task keeps (ours: A2A sets no limit; the oldest go first).
MAX_TASK_HISTORY = 1000
# GetTaskRequest.history_length is an int32 in the A2A 1.0 proto (a2a-sdk's a2a_pb2).
MAX_HISTORY_LENGTH = 2**31 - 1

Json = dict[str, Any]


# --- state ------------------------------------------------------------------------------------


@dataclass
class StoredTask:
    """A task in neutral form (v1 part shapes, lower-case states); rendered per dialect."""

    id: str
    context_id: str
    agent: str
    state: str
    status_message: Json | None = None
    artifacts: list[Json] = field(default_factory=list)
    history: list[Json] = field(default_factory=list)
    timestamp: str = ""

    def remember(self, message: Json) -> None:
        """Add a message to the history, keeping the last `MAX_TASK_HISTORY`: a client that
        continues one task without end cannot grow it without end."""
        self.history.append(message)
        if len(self.history) > MAX_TASK_HISTORY:
            del self.history[: len(self.history) - MAX_TASK_HISTORY]

    def set_state(self, state: str, message: Json | None = None) -> None:
        self.state, self.status_message, self.timestamp = state, message, _now()


class A2AService:
    """Run-time state: tasks, and the path -> agent map of the spec in force."""

    def __init__(self) -> None:
        defaults = A2ASpec()
        self.tasks: Expiring[StoredTask] = Expiring(defaults.task_ttl_seconds, defaults.max_tasks)
        self._spec: A2ASpec | None = None
        self._by_path: dict[str, Agent] = {}

    def agent_at(self, spec: A2ASpec, path: str) -> Agent | None:
        if spec is not self._spec:  # a reload brought new definitions: follow them once
            self._by_path = {a.endpoint: a for a in spec.agents}
            self.tasks.bound(spec.task_ttl_seconds, spec.max_tasks)
            self._spec = spec
        return self._by_path.get(path.rstrip("/") or "/")

    def reset(self) -> None:
        self.tasks.clear()


A2A: web.AppKey[A2AService] = web.AppKey("aimock_a2a", A2AService)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _new_id() -> str:
    return ids.uuid4()


# --- dialects ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dialect:
    """How one protocol version spells the shared objects."""

    legacy: bool  # v0.3: kind discriminators, lower-case enums

    def state(self, state: str) -> str:
        return state if self.legacy else "TASK_STATE_" + state.upper().replace("-", "_")

    def role(self, role: str) -> str:
        return role if self.legacy else f"ROLE_{role.upper()}"

    def part(self, part: Json) -> Json:
        if not self.legacy:
            return dict(part)
        if "text" in part:
            return {"kind": "text", "text": part["text"]}
        if "data" in part:
            return {"kind": "data", "data": part["data"]}
        file: Json = {"uri": part["url"]}
        if "mediaType" in part:
            file["mimeType"] = part["mediaType"]
        if "filename" in part:
            file["name"] = part["filename"]
        return {"kind": "file", "file": file}

    def message(self, message: Json) -> Json:
        out: Json = {"kind": "message"} if self.legacy else {}
        out.update(
            messageId=message["messageId"],
            role=self.role(message["role"]),
            parts=[self.part(p) for p in message["parts"]],
        )
        for key in ("contextId", "taskId"):
            if message.get(key):
                out[key] = message[key]
        return out

    def artifact(self, artifact: Json) -> Json:
        out = {k: v for k, v in artifact.items() if k != "parts"}
        out["parts"] = [self.part(p) for p in artifact["parts"]]
        return out

    def status(self, task: StoredTask) -> Json:
        status: Json = {"state": self.state(task.state), "timestamp": task.timestamp}
        if task.status_message is not None:
            status["message"] = self.message(task.status_message)
        return status

    def task(self, task: StoredTask, history_length: int | None = None) -> Json:
        out: Json = {"kind": "task"} if self.legacy else {}
        out.update(id=task.id, contextId=task.context_id, status=self.status(task))
        if task.artifacts:
            out["artifacts"] = [self.artifact(a) for a in task.artifacts]
        history = task.history
        if history_length is not None:
            history = history[-history_length:] if history_length > 0 else []
        if history:
            out["history"] = [self.message(m) for m in history]
        return out

    def send_result(self, task: StoredTask | None, message: Json | None) -> Json:
        if self.legacy:
            return self.task(task) if task is not None else self.message(message or {})
        return (
            {"task": self.task(task)}
            if task is not None
            else {"message": self.message(message or {})}
        )

    def status_update(self, task: StoredTask, *, final: bool) -> Json:
        event: Json = {"taskId": task.id, "contextId": task.context_id, "status": self.status(task)}
        if self.legacy:
            return {"kind": "status-update", **event, "final": final}
        return {"statusUpdate": event}

    def artifact_update(
        self, task: StoredTask, artifact: Json, *, append: bool, last_chunk: bool
    ) -> Json:
        event: Json = {
            "taskId": task.id,
            "contextId": task.context_id,
            "artifact": self.artifact(artifact),
            "append": append,
            "lastChunk": last_chunk,
        }
        return {"kind": "artifact-update", **event} if self.legacy else {"artifactUpdate": event}

    def stream_task(self, task: StoredTask) -> Json:
        return self.task(task) if self.legacy else {"task": self.task(task)}

    def stream_message(self, message: Json) -> Json:
        return self.message(message) if self.legacy else {"message": self.message(message)}


V1 = Dialect(legacy=False)
V03 = Dialect(legacy=True)


# --- requests ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What a request answers: a result, or SSE events; and whether a definition answered."""

    result: Json | None = None
    events: list[Json] | None = None
    matched: bool = True


@dataclass(frozen=True)
class Call:
    service: A2AService
    agent: Agent
    dialect: Dialect
    params: Json
    strict: bool = False  # a message no response matches answers a JSON-RPC error


def _incoming_parts(raw: Any) -> list[Json]:
    """The message's parts in neutral form (text, data, url); raw bytes are not kept."""
    if not isinstance(raw, list) or not raw or not all(isinstance(p, dict) for p in raw):
        raise RpcError(INVALID_PARAMS, "Invalid params: message.parts must be a non-empty list")
    parts: list[Json] = []
    for part in raw:
        file = part.get("file") if isinstance(part.get("file"), dict) else None
        if isinstance(part.get("text"), str):
            parts.append({"text": part["text"]})
        elif isinstance(part.get("data"), dict):
            parts.append({"data": part["data"]})
        elif isinstance(part.get("url"), str):
            parts.append({"url": part["url"]})
        elif file is not None and isinstance(file.get("uri"), str):
            parts.append({"url": file["uri"]})
    return parts


def _incoming_message(params: Json) -> Json:
    message = params.get("message")
    if not isinstance(message, dict):
        raise RpcError(INVALID_PARAMS, "Invalid params: message must be an object")
    parts = _incoming_parts(message.get("parts"))
    out: Json = {
        "messageId": optional(message, "messageId", str, "message.") or _new_id(),
        "role": "user",
        "parts": parts,
    }
    for key in ("contextId", "taskId"):
        value = optional(message, key, str, "message.")
        if value:
            out[key] = value
    return out


def message_text(message: Json) -> str:
    return "\n".join(p["text"] for p in message["parts"] if "text" in p)


def _fits(response: AgentResponse, text: str) -> bool:
    match = response.match
    if match is None:
        return True
    if match.text is not None and match.text not in text:
        return False
    if match.equals is not None and match.equals != text:
        return False
    return match.regex is None or re.search(match.regex, text) is not None


def _part(part: Part) -> Json:
    out: Json = part.model_dump(mode="json", by_alias=True, exclude_none=True)
    return out


def _agent_message(reply: str | list[Part], task: StoredTask | None, context_id: str) -> Json:
    parts = [{"text": reply}] if isinstance(reply, str) else [_part(p) for p in reply]
    message: Json = {"messageId": _new_id(), "role": "agent", "parts": parts}
    message["contextId"] = context_id
    if task is not None:
        message["taskId"] = task.id
    return message


def _artifact(artifact: Artifact, task: StoredTask, index: int) -> Json:
    out: Json = {"artifactId": artifact.artifact_id or f"{task.id}-artifact-{index}"}
    if artifact.name is not None:
        out["name"] = artifact.name
    if artifact.description is not None:
        out["description"] = artifact.description
    out["parts"] = [_part(p) for p in artifact.parts]
    return out


def _merge(task: StoredTask, artifact: Json, *, append: bool) -> None:
    """Keeps the task's artifacts as a client assembles them from updates."""
    for kept in task.artifacts:
        if kept["artifactId"] == artifact["artifactId"]:
            if append:
                kept["parts"] = [*kept["parts"], *artifact["parts"]]
            else:
                kept.clear()
                kept.update(artifact)
            return
    task.artifacts.append(dict(artifact))


def _task_for(call: Call, incoming: Json) -> StoredTask:
    """The task a message continues (its taskId), or a new one."""
    task_id = incoming.get("taskId")
    if task_id is not None:
        return _known_task(call, task_id)
    context_id = incoming.get("contextId") or _new_id()
    task = StoredTask(id=_new_id(), context_id=context_id, agent=call.agent.name, state="submitted")
    call.service.tasks.add(task.id, task)
    return task


def _known_task(call: Call, task_id: str) -> StoredTask:
    """The agent's task of that id; forgotten (reset, idle, over the count) or another agent's
    is the same TaskNotFoundError."""
    task = call.service.tasks.get(task_id)
    if task is None or task.agent != call.agent.name:
        raise RpcError(TASK_NOT_FOUND, f"Task not found: {task_id}")
    return task


def _miss_reply(agent: Agent, text: str) -> str:
    return f"aimock: no response of agent {agent.name!r} matches the message {text!r}"


def _send(call: Call, *, stream: bool) -> Outcome:
    incoming = _incoming_message(call.params)
    text = message_text(incoming)
    response = next((r for r in call.agent.responses if _fits(r, text)), None)
    if response is None and call.strict:
        raise RpcError(
            INTERNAL_ERROR,
            f"Strict mode: no response of agent {call.agent.name!r} matched the message {text!r}",
        )
    dialect = call.dialect
    if response is not None and response.message and response.reply is not None:
        context_id = incoming.get("contextId") or _new_id()
        reply = _agent_message(response.reply, None, context_id)
        if stream:
            return Outcome(events=[dialect.stream_message(reply)])
        return Outcome(result=dialect.send_result(None, reply))
    task = _task_for(call, incoming)
    incoming = {**incoming, "contextId": task.context_id, "taskId": task.id}
    task.remember(incoming)
    task.set_state("working")
    events = [dialect.stream_task(task)] if stream else []
    if response is None:
        failed = _agent_message(_miss_reply(call.agent, text), task, task.context_id)
        task.set_state("failed", failed)
        events.append(dialect.status_update(task, final=True))
        return _finish(dialect, task, events, stream, matched=False)
    for update in response.streaming or []:
        if update.status is not None:
            note = _agent_message(update.text, task, task.context_id) if update.text else None
            task.set_state(update.status, note)
            events.append(dialect.status_update(task, final=False))
        elif update.artifact is not None:
            artifact = _artifact(update.artifact, task, len(task.artifacts))
            _merge(task, artifact, append=update.append)
            events.append(
                dialect.artifact_update(
                    task, artifact, append=update.append, last_chunk=update.last_chunk
                )
            )
    for artifact_spec in response.artifacts:
        artifact = _artifact(artifact_spec, task, len(task.artifacts))
        _merge(task, artifact, append=False)
        events.append(dialect.artifact_update(task, artifact, append=False, last_chunk=True))
    answer = response.reply
    task.set_state(
        response.state, None if answer is None else _agent_message(answer, task, task.context_id)
    )
    events.append(dialect.status_update(task, final=True))
    return _finish(dialect, task, events, stream, matched=True)


def _finish(
    dialect: Dialect, task: StoredTask, events: list[Json], stream: bool, *, matched: bool
) -> Outcome:
    if stream:
        return Outcome(events=events, matched=matched)
    return Outcome(result=dialect.send_result(task, None), matched=matched)


def _task_param(call: Call) -> StoredTask:
    task_id = call.params.get("id")
    if not isinstance(task_id, str) or not task_id:
        raise RpcError(INVALID_PARAMS, "Invalid params: id must be a non-empty string")
    return _known_task(call, task_id)


def _get_task(call: Call) -> Outcome:
    length = call.params.get("historyLength")
    if length is not None:
        length = bounded(length, "historyLength", 0, MAX_HISTORY_LENGTH)
    return Outcome(result=call.dialect.task(_task_param(call), length))


def _cancel_task(call: Call) -> Outcome:
    task = _task_param(call)
    if task.state in TERMINAL_STATES:
        raise RpcError(TASK_NOT_CANCELABLE, f"Task cannot be canceled: it is already {task.state}")
    task.set_state("canceled")
    return Outcome(result=call.dialect.task(task))


Handler = Callable[[Call], Outcome]
METHODS: dict[str, tuple[Dialect, Handler]] = {
    "SendMessage": (V1, lambda call: _send(call, stream=False)),
    "SendStreamingMessage": (V1, lambda call: _send(call, stream=True)),
    "GetTask": (V1, _get_task),
    "CancelTask": (V1, _cancel_task),
    "message/send": (V03, lambda call: _send(call, stream=False)),
    "message/stream": (V03, lambda call: _send(call, stream=True)),
    "tasks/get": (V03, _get_task),
    "tasks/cancel": (V03, _cancel_task),
}


# --- HTTP -------------------------------------------------------------------------------------


def card(agent: Agent, origin: str) -> Json:
    """The agent card, pointing the client back at this server."""
    url = origin + agent.endpoint
    out: Json = {"name": agent.name, "description": agent.description, "version": agent.version}
    if agent.protocol_version == "0.3":
        out.update(protocolVersion="0.3.0", url=url, preferredTransport="JSONRPC")
    else:
        out["supportedInterfaces"] = [
            {"url": url, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}
        ]
    out["capabilities"] = {
        "streaming": agent.capabilities.streaming,
        "pushNotifications": False,
    }
    out["defaultInputModes"] = list(agent.default_input_modes)
    out["defaultOutputModes"] = list(agent.default_output_modes)
    out["skills"] = [
        s.model_dump(mode="json", by_alias=True, exclude_none=True) for s in agent.skills
    ]
    return out


def _card_owner(service: A2AService, spec: A2ASpec, path: str) -> Agent | None:
    for suffix in (CARD_PATH, LEGACY_CARD_PATH):
        if path == suffix:  # the root card: the first agent's
            return spec.agents[0] if spec.agents else None
        if path.endswith(suffix):
            return service.agent_at(spec, path[: -len(suffix)])
    return None


def _is_card_path(path: str) -> bool:
    return path.endswith((CARD_PATH, LEGACY_CARD_PATH))


ROUTE = Route(SURFACE, SURFACE, jsonrpc.ERRORS)


async def _journaled_answer(exchange: Exchange) -> web.StreamResponse:
    request, state, entry = exchange.request, exchange.state, exchange.entry
    service = request.app[A2A]
    spec = state.settings.section(A2A_SECTION)
    agent: Agent | None
    response: web.StreamResponse
    if _is_card_path(request.path):
        agent = _card_owner(service, spec, request.path)
        response = _card_response(request, agent)
        matched = agent is not None
    else:
        agent = service.agent_at(spec, request.path)
        body, entry.rpc_method, outcome = await _rpc(request, service, agent, exchange)
        entry.body = body
        if isinstance(outcome, RpcError):
            response, matched = _rpc_error(outcome), False
        else:
            response = await _respond(exchange, outcome, body)
            matched = outcome.matched
    exchange.matched = matched
    if matched and agent is not None:
        entry.fixture, entry.source = {"a2aAgent": agent.name}, "fixture"
    return response


def _card_response(request: web.Request, agent: Agent | None) -> web.Response:
    if agent is None:
        return web.json_response({"error": f"No A2A agent at {request.path}"}, status=404)
    if request.method not in ("GET", "HEAD"):
        return web.json_response(
            {"error": "Method Not Allowed: GET the agent card"},
            status=405,
            headers={"Allow": "GET"},
        )
    origin = f"{request.scheme}://{request.host}"
    return web.Response(body=orjson.dumps(card(agent, origin)), content_type="application/json")


async def _rpc(
    request: web.Request, service: A2AService, agent: Agent | None, exchange: Exchange
) -> tuple[Any, str | None, Outcome | RpcError]:
    """Reads and answers one JSON-RPC request: its body, its method, and the outcome or the
    error to answer (carrying the request's id once it is known)."""
    if agent is None:
        return None, None, RpcError(METHOD_NOT_FOUND, f"No A2A agent at {request.path}", status=404)
    if request.method != "POST":
        error = RpcError(INVALID_REQUEST, "Method Not Allowed: POST JSON-RPC requests", status=405)
        return None, None, error
    try:
        body = await jsonrpc.read(request, exchange.state.max_body_bytes)
    except RpcError as exc:
        return None, None, exc
    raw_method = body.get("method") if isinstance(body, dict) else None
    method = raw_method if isinstance(raw_method, str) else None
    try:
        message = jsonrpc.parse_message(body)
    except RpcError as exc:
        return body, method, exc
    try:
        if not message.is_request:
            raise RpcError(INVALID_REQUEST, "Invalid Request: expected a request with an id")
        known = METHODS.get(message.method or "")
        if known is None:
            raise RpcError(METHOD_NOT_FOUND, f"Method not found: {message.method}")
        dialect, handler = known
        call = Call(service, agent, dialect, message.params, exchange.strict)
        return body, method, handler(call)
    except RpcError as exc:
        exc.id = message.id
        return body, method, exc


async def _respond(exchange: Exchange, outcome: Outcome, body: Any) -> web.StreamResponse:
    request_id: RequestId | None = body.get("id") if isinstance(body, dict) else None
    if outcome.events is None:
        answer = jsonrpc.result(request_id, outcome.result or {})
        return web.Response(body=orjson.dumps(answer), content_type="application/json")
    response = web.StreamResponse(
        headers={"Content-Type": sse.CONTENT_TYPE, "Cache-Control": "no-cache"}
    )
    await exchange.prepare(response)
    for event in outcome.events:
        await response.write(sse.frame(jsonrpc.result(request_id, event)))
    await response.write_eof()
    return response


def _rpc_error(error: RpcError) -> web.Response:
    # JSON-RPC errors travel with HTTP 200 (the a2a-sdk client maps them only then); a wrong
    # path or HTTP method is not JSON-RPC's business and keeps its HTTP status.
    status = error.status if error.status in (404, 405) else 200
    headers = {"Allow": "POST"} if status == 405 else None
    return web.Response(
        body=orjson.dumps(error.body()),
        status=status,
        content_type="application/json",
        headers=headers,
    )


# --- mounting ---------------------------------------------------------------------------------


def mount(app: web.Application, state: ServerState) -> None:
    app[A2A] = A2AService()
    endpoints = {DEFAULT_MOUNT + "/{name}"}
    # Custom paths are routed at start (like MCP's); their definitions still reload.
    endpoints.update(
        a.path for a in state.settings.section(A2A_SECTION).agents if a.path is not None
    )
    paths = {CARD_PATH, LEGACY_CARD_PATH}
    for endpoint in endpoints:
        paths.update({endpoint, endpoint + CARD_PATH, endpoint + LEGACY_CARD_PATH})
    for path in sorted(paths):
        route(app, "*", path, ROUTE, _journaled_answer)


def reset(app: web.Application) -> None:
    app[A2A].reset()


SERVICE = Service(name=SURFACE, section=A2A_SECTION, mount=mount, reset=reset)
