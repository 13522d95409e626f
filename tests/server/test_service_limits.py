"""Issue 12 on the services' side: MCP sessions and A2A tasks are bounded (an idle TTL and a
count, set in their stack sections) and freed by the reset, and no body shape makes either
service answer anything but a JSON-RPC error in its transport's status.

The limits are checked in process (the service state is read directly: its size is the
counter); the fuzz drives a real `aimock serve` process with valid JSON-RPC requests of both
services, one field mutated to a hostile value, and reads its log for tracebacks.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aimock.fixtures.loading import LoadError, load_text
from aimock.services.a2a import A2A, MAX_TASK_HISTORY, StoredTask
from aimock.services.base import Expiring
from aimock.services.mcp import MAX_BATCH, MCP
from tests import mutation
from tests.conftest import ServerProcess, start_server
from tests.server.conftest import ClientFactory

Client = TestClient[Any, web.Application]
VERSION_META = "io.modelcontextprotocol/protocolVersion"
ACCEPT = {"Accept": "application/json, text/event-stream"}
STACK = """\
apiVersion: aimock.dev/v1alpha1
kind: MockStack
metadata: {{name: limits}}
spec:
  mcp:
{mcp_limits}
    servers:
      - name: tools
        tools:
          - name: lookup
            results:
              - match: {{arguments: {{id: 42}}}}
                text: "Ada"
              - text: "someone"
        resources:
          - {{uri: "doc://readme", name: readme, text: "# readme"}}
        prompts:
          - name: greet
            arguments: [{{name: who, required: true}}]
            messages: [{{role: user, content: "Hello {{{{who}}}}"}}]
  a2a:
{a2a_limits}
    agents:
      - name: agent
        responses:
          - match: {{text: "wait"}}
            reply: "More please"
            state: input-required
          - reply: "Done"
            artifacts: [{{name: out, parts: [{{text: "x"}}, {{data: {{k: 1}}}}]}}]
      - name: legacy
        protocolVersion: "0.3"
        responses:
          - reply: "Old done"
"""


def stack(mcp: str = "", a2a: str = "") -> str:
    def indent(limits: str) -> str:
        return "\n".join(f"    {line}" for line in limits.splitlines())

    return STACK.format(mcp_limits=indent(mcp), a2a_limits=indent(a2a))


def rpc(method: str, *, rpc_id: int = 1, **params: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rpc_id, "method": method, "params": params}


def nested(depth: int, leaf: Any = None) -> Any:
    """`leaf` inside `depth` levels of lists and objects, alternating."""
    value = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


INITIALIZE = rpc(
    "initialize", protocolVersion="2025-06-18", capabilities={}, clientInfo={"name": "t"}
)
V1_SEND = rpc(
    "SendMessage", message={"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "hi"}]}
)
V03_SEND = rpc(
    "message/send",
    message={"kind": "message", "messageId": "m1", "role": "user", "parts": [{"text": "hi"}]},
)


# --- the store --------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_items_idle_past_the_ttl_are_dropped_and_use_restarts_the_idle_time() -> None:
    clock = Clock()
    store: Expiring[str] = Expiring(10, 100, clock)
    store.add("a", "A")
    store.add("b", "B")
    clock.now = 8
    assert store.get("a") == "A"  # used: idle from 8 on
    clock.now = 15
    assert store.get("b") is None  # idle 15 > 10
    assert store.get("a") == "A"
    clock.now = 40
    store.add("c", "C")  # adding drops what expired from the front
    assert len(store) == 1 and store.get("c") == "C"


def test_over_the_count_the_least_recently_used_go_first() -> None:
    store: Expiring[int] = Expiring(60, 2, Clock())
    store.add("a", 1)
    store.add("b", 2)
    store.get("a")  # b is now the least recently used
    store.add("c", 3)
    assert (store.get("a"), store.get("b"), store.get("c")) == (1, None, 3)
    store.bound(60, 1)  # a reload with a lower count cuts at once
    assert len(store) == 1 and store.get("c") == 3
    assert store.pop("c") == 3 and len(store) == 0


@pytest.mark.parametrize(
    ("section", "limit"),
    [
        ("mcp", "sessionTtlSeconds: 0"),
        ("mcp", "maxSessions: 0"),
        ("a2a", "taskTtlSeconds: -1"),
        ("a2a", "maxTasks: 0"),
    ],
)
def test_limits_out_of_range_are_refused_at_load(section: str, limit: str) -> None:
    with pytest.raises(LoadError, match=limit.split(":", maxsplit=1)[0]):
        load_text(stack(**{section: limit}), "stack.yaml")


def test_limits_default_to_the_mcp_sdk_values() -> None:
    loaded = load_text(stack(), "stack.yaml")
    assert loaded.stack is not None and loaded.stack.mcp is not None
    assert loaded.stack.a2a is not None
    mcp, a2a = loaded.stack.mcp, loaded.stack.a2a
    assert (mcp.session_ttl_seconds, mcp.max_sessions) == (1800, 10_000)
    assert (a2a.task_ttl_seconds, a2a.max_tasks) == (1800, 10_000)


# --- MCP sessions -----------------------------------------------------------------------------


async def post_mcp(
    client: Client, body: Any, session: str | None = None, **headers: str
) -> tuple[int, Any]:
    sent = {**ACCEPT, **headers, **({"Mcp-Session-Id": session} if session else {})}
    response = await client.post("/mcp/tools", data=json.dumps(body), headers=sent)
    return response.status, await response.json(content_type=None)


async def open_session(client: Client) -> str:
    response = await client.post("/mcp/tools", json=INITIALIZE, headers=ACCEPT)
    assert response.status == 200
    return response.headers["Mcp-Session-Id"]


async def ping(client: Client, session: str) -> int:
    status, _ = await post_mcp(client, rpc("ping"), session)
    return status


async def reset(client: Client) -> None:
    assert (await client.post("/__aimock/reset")).status == 200


async def test_an_mcp_session_idle_past_its_ttl_answers_404(make_client: ClientFactory) -> None:
    client = await make_client(stack(mcp="sessionTtlSeconds: 0.05"))
    session = await open_session(client)
    await asyncio.sleep(0.2)
    status, body = await post_mcp(client, rpc("tools/list"), session)
    assert status == 404 and body["error"]["code"] == -32600
    assert len(client.app[MCP].sessions) == 0


async def test_over_max_sessions_the_oldest_mcp_session_ends(make_client: ClientFactory) -> None:
    client = await make_client(stack(mcp="maxSessions: 2"))
    first, second, third = [await open_session(client) for _ in range(3)]
    assert len(client.app[MCP].sessions) == 2
    assert [await ping(client, s) for s in (first, second, third)] == [404, 200, 200]
    delete = await client.delete("/mcp/tools", headers={"Mcp-Session-Id": first})
    assert delete.status == 404


async def test_reset_frees_every_mcp_session(make_client: ClientFactory) -> None:
    client = await make_client(stack())
    sessions = [await open_session(client) for _ in range(50)]
    assert len(client.app[MCP].sessions) == 50
    await reset(client)
    assert len(client.app[MCP].sessions) == 0
    assert await ping(client, sessions[0]) == 404
    assert await ping(client, await open_session(client)) == 200  # new ones still open


# --- A2A tasks --------------------------------------------------------------------------------


async def post_a2a(client: Client, body: Any, path: str = "/a2a/agent") -> Any:
    response = await client.post(path, data=json.dumps(body))
    assert response.status == 200  # A2A's JSON-RPC answers errors with HTTP 200
    return await response.json(content_type=None)


async def new_task(client: Client, text: str = "hi") -> str:
    send = json.loads(json.dumps(V1_SEND))
    send["params"]["message"]["parts"] = [{"text": text}]
    answer = await post_a2a(client, send)
    task_id: str = answer["result"]["task"]["id"]
    return task_id


async def task_error(client: Client, task_id: str) -> int | None:
    """The error code GetTask answers for the task, None when it answers the task."""
    answer = await post_a2a(client, rpc("GetTask", id=task_id))
    return answer["error"]["code"] if "error" in answer else None


async def test_an_a2a_task_idle_past_its_ttl_is_not_found(make_client: ClientFactory) -> None:
    client = await make_client(stack(a2a="taskTtlSeconds: 0.05"))
    task = await new_task(client, "wait")
    await asyncio.sleep(0.2)
    assert await task_error(client, task) == -32001
    assert len(client.app[A2A].tasks) == 0


async def test_over_max_tasks_the_oldest_a2a_task_is_forgotten(make_client: ClientFactory) -> None:
    client = await make_client(stack(a2a="maxTasks: 2"))
    first, second = await new_task(client, "wait"), await new_task(client)
    await task_error(client, first)  # used: second is now the least recently used
    third = await new_task(client)
    assert len(client.app[A2A].tasks) == 2
    assert [await task_error(client, t) for t in (first, second, third)] == [None, -32001, None]
    carry_on = json.loads(json.dumps(V1_SEND))
    carry_on["params"]["message"]["taskId"] = second
    assert (await post_a2a(client, carry_on))["error"]["code"] == -32001
    cancel = await post_a2a(client, rpc("tasks/cancel", id=second), "/a2a/agent")
    assert cancel["error"]["code"] == -32001


async def test_reset_frees_every_a2a_task(make_client: ClientFactory) -> None:
    client = await make_client(stack())
    tasks = [await new_task(client) for _ in range(50)]
    assert len(client.app[A2A].tasks) == 50
    await reset(client)
    assert len(client.app[A2A].tasks) == 0
    assert await task_error(client, tasks[0]) == -32001


# --- odd shapes and sizes ---------------------------------------------------------------------


def with_params(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    changed = json.loads(json.dumps(body))
    changed["params"].update(changes)
    return changed


def with_message(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    changed = json.loads(json.dumps(body))
    changed["params"]["message"].update(changes)
    return changed


MODERN = {"_meta": {VERSION_META: "2026-07-28"}}
# (body, needs a session, HTTP status, JSON-RPC error code or None for a result)
MCP_CASES = [
    (rpc("tools/call", name="lookup", arguments=nested(120)), True, 200, -32602),
    (rpc("tools/call", name="lookup", arguments={"id": nested(120, 42)}), True, 200, None),
    (rpc("tools/call", name=nested(60), arguments={}), True, 200, -32602),
    (rpc("prompts/get", name="greet", arguments=[nested(60)]), True, 200, -32602),
    (rpc("prompts/get", name="greet", arguments={"who": nested(100)}), True, 200, None),
    (rpc("resources/read", uri={"u": nested(80)}), True, 200, -32602),
    (with_params(INITIALIZE, protocolVersion=[["2025-06-18"]]), False, 200, -32602),
    (with_params(INITIALIZE, clientInfo="me"), False, 200, -32602),
    (rpc("tools/list", _meta={VERSION_META: {"v": nested(50)}}), False, 200, -32602),
    (rpc("tools/call", name="lookup", arguments=7, **MODERN), False, 200, -32602),
    ({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": []}, True, 400, -32602),
    ({"jsonrpc": "2.0", "id": nested(40), "method": "ping"}, True, 400, -32600),
    (rpc("ping", rpc_id=2**64 - 1), True, 200, None),
    (nested(200), True, 400, -32700),
    ([rpc("ping", rpc_id=n) for n in range(MAX_BATCH + 1)], True, 400, -32600),
]


@pytest.mark.parametrize("case", MCP_CASES)
async def test_odd_mcp_bodies_answer_a_json_rpc_error(
    make_client: ClientFactory,
    caplog: pytest.LogCaptureFixture,
    case: tuple[Any, bool, int, int | None],
) -> None:
    body, in_session, status, code = case
    client = await make_client(stack())
    session = await open_session(client) if in_session else None
    answered, answer = await post_mcp(client, body, session)
    assert answered == status
    assert (answer["error"]["code"] if "error" in answer else None) == code, answer
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


A2A_CASES = [
    (with_message(V1_SEND, messageId=nested(120, "m")), -32602),
    (with_message(V1_SEND, messageId={"id": "m"}), -32602),
    (with_message(V03_SEND, parts=[{"kind": "data", "data": nested(120)}]), None),
    (with_message(V1_SEND, parts=[{"data": {"deep": nested(120)}}, {"text": "hi"}]), None),
    (with_message(V1_SEND, parts=[{"text": nested(30)}]), None),  # no usable part: empty text
    (with_message(V1_SEND, contextId=[]), -32602),
    (with_message(V03_SEND, taskId={"t": 1}), -32602),
    (with_message(V1_SEND, parts=nested(91)), -32602),  # an object, not a list
    (with_params(V1_SEND, message=nested(90)), -32602),
    (rpc("GetTask", id=nested(90)), -32602),
    (rpc("tasks/get", id="t", historyLength=2**31), -32602),
    (rpc("GetTask", id="t", historyLength=-1), -32602),
    (rpc("GetTask", id="t", historyLength="5"), -32602),
    (rpc("GetTask", id="t", historyLength=True), -32602),
    (rpc("GetTask", id="t", historyLength=2**31 - 1), -32001),  # in range: the task is unknown
    (rpc("CancelTask", id=["t"]), -32602),
    ({"jsonrpc": "2.0", "id": 1, "method": nested(50)}, -32600),
    (nested(200), -32700),
]


@pytest.mark.parametrize(("body", "code"), A2A_CASES)
async def test_odd_a2a_bodies_answer_a_json_rpc_error(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture, body: Any, code: int | None
) -> None:
    client = await make_client(stack())
    answer = await post_a2a(client, body)
    assert (answer["error"]["code"] if "error" in answer else None) == code, answer
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_history_length_trims_within_its_bounds(make_client: ClientFactory) -> None:
    client = await make_client(stack())
    task = await new_task(client)
    whole = await post_a2a(client, rpc("GetTask", id=task, historyLength=2**31 - 1))
    none = await post_a2a(client, rpc("GetTask", id=task, historyLength=0))
    assert len(whole["result"]["history"]) == 1 and "history" not in none["result"]


# --- fuzz against a real server process -------------------------------------------------------


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServerProcess, dict[str, str]]]:
    """A server with both services, an MCP session and one task per A2A agent to aim at."""
    folder = tmp_path_factory.mktemp("services")
    (folder / "stack.yaml").write_text(stack())
    server = start_server(["-f", str(folder)])
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            opened = http.post("/mcp/tools", json=INITIALIZE, headers=ACCEPT)
            v1 = http.post("/a2a/agent", json=with_message(V1_SEND, parts=[{"text": "wait"}]))
            v03 = http.post("/a2a/legacy", json=V03_SEND)
        ids = {
            "session": opened.headers["Mcp-Session-Id"],
            "v1": v1.json()["result"]["task"]["id"],
            "v03": v03.json()["result"]["id"],
        }
        yield server, ids
    finally:
        server.stop()


def templates(ids: dict[str, str]) -> list[tuple[str, str, dict[str, Any]]]:
    """Valid requests: (family, path, body); family `mcp` is sent in the session."""
    message = V1_SEND["params"]["message"]
    legacy = V03_SEND["params"]["message"]
    return [
        ("mcp", "/mcp/tools", INITIALIZE),
        ("mcp", "/mcp/tools", rpc("tools/list")),
        ("mcp", "/mcp/tools", rpc("tools/call", name="lookup", arguments={"id": 42})),
        ("mcp", "/mcp/tools", rpc("resources/read", uri="doc://readme")),
        ("mcp", "/mcp/tools", rpc("prompts/get", name="greet", arguments={"who": "Ada"})),
        ("mcp-modern", "/mcp/tools", rpc("tools/call", name="lookup", arguments={}, **MODERN)),
        ("mcp-modern", "/mcp/tools", rpc("server/discover", **MODERN)),
        ("a2a", "/a2a/agent", V1_SEND),
        ("a2a", "/a2a/agent", rpc("SendStreamingMessage", message=message)),
        ("a2a", "/a2a/agent", rpc("GetTask", id=ids["v1"], historyLength=1)),
        ("a2a", "/a2a/agent", rpc("CancelTask", id=ids["v1"])),
        ("a2a", "/a2a/legacy", V03_SEND),
        ("a2a", "/a2a/legacy", rpc("message/stream", message=legacy)),
        ("a2a", "/a2a/legacy", rpc("tasks/get", id=ids["v03"], historyLength=1)),
        ("a2a", "/a2a/legacy", rpc("tasks/cancel", id=ids["v03"])),
    ]


DELETE = object()


def mutated(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A copy of `body` with the place at `path` set to `value` (or removed for DELETE)."""
    if not path:
        return None if value is DELETE else value
    copy = json.loads(json.dumps(body))
    if value is DELETE:
        return mutation.delete_at(copy, path)
    return mutation.set_at(copy, path, value)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.integers(min_value=2**64, max_value=2**80),  # past 64 bits: no JSON parser here reads it
    st.floats(),  # NaN and infinities too: not JSON, a parse error
    st.text(max_size=30),
    st.sampled_from(["", "2026-07-28", "2025-06-18", "ROLE_USER", "\u0000", "x" * 5000]),
    st.sampled_from([-1, 0, 2**31 - 1, 2**31, 2**63 - 1]),
)
hostile = st.one_of(
    st.just(DELETE),
    st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
        max_leaves=12,
    ),
    st.builds(nested, st.integers(min_value=1, max_value=140), scalars),
)
ACCEPTS = ("application/json, text/event-stream", "text/event-stream", "application/json", "*/*")


def rpc_answers(response: httpx.Response) -> list[Any]:
    """The JSON-RPC objects a response carries (SSE frames, or a JSON body: one, or a batch's
    array of them)."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        lines = response.text.splitlines()
        return [json.loads(line[5:]) for line in lines if line.startswith("data:")]
    body = response.json()
    return body if isinstance(body, list) else [body]


def assert_rpc_envelope(answer: Any, *, error: bool) -> None:
    assert isinstance(answer, dict) and answer.get("jsonrpc") == "2.0", answer
    assert ("result" in answer) != ("error" in answer), answer
    if error:
        assert "error" in answer, answer
    if "error" in answer:
        assert isinstance(answer["error"]["code"], int), answer
        assert isinstance(answer["error"]["message"], str), answer


def assert_still_serving(server: ServerProcess, http: httpx.Client, session: str) -> None:
    journal = http.get("/__aimock/journal")
    assert journal.status_code == 200 and isinstance(journal.json(), list)
    headers = {**ACCEPT, "Mcp-Session-Id": session}
    listed = http.post("/mcp/tools", json=rpc("tools/list"), headers=headers)
    assert listed.status_code == 200 and listed.json()["result"]["tools"]
    log = "".join(server.output)
    assert "Traceback" not in log and "Error handling request" not in log, log[-3000:]


def places(body: dict[str, Any]) -> st.SearchStrategy[tuple[Any, ...]]:
    """Where to mutate: half the time inside `params` (where the services read most), else
    anywhere, the envelope and the whole body included."""
    everywhere = mutation.places(body)
    inside = [place for place in everywhere if place[:1] == ("params",) and len(place) > 1]
    anywhere = st.sampled_from(everywhere)
    return st.sampled_from(inside) | anywhere if inside else anywhere


def exercise(served: tuple[ServerProcess, dict[str, str]], family: str, data: Any) -> None:
    """One valid request of `family`, one place mutated, sent; then the invariants."""
    server, ids = served
    requests = [t for t in templates(ids) if t[0].startswith(family)]
    kind, path, body = data.draw(st.sampled_from(requests), label="request")
    sent = mutated(body, data.draw(places(body), label="place"), data.draw(hostile, label="value"))
    headers = {"Accept": data.draw(st.sampled_from(ACCEPTS), label="accept")}
    if kind == "mcp":
        headers["Mcp-Session-Id"] = ids["session"]
    content = b"" if sent is None else json.dumps(sent).encode()
    with httpx.Client(base_url=server.url, timeout=30) as http:
        response = http.post(path, content=content, headers=headers)
        assert response.status_code < 500, response.text
        if family == "a2a":  # A2A's JSON-RPC answers every error with HTTP 200
            assert response.status_code == 200, response.text
        else:  # Streamable HTTP: the statuses the MCP spec names
            assert response.status_code in (200, 202, 400, 404, 413), response.text
        if response.status_code == 202:  # a notification (the id was mutated away)
            assert response.content == b""
        else:
            for answer in rpc_answers(response):
                assert_rpc_envelope(answer, error=response.status_code >= 400)
        assert_still_serving(server, http, ids["session"])


FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(data=st.data())
def test_a_mutated_mcp_request_answers_a_json_rpc_object(
    served: tuple[ServerProcess, dict[str, str]], data: st.DataObject
) -> None:
    exercise(served, "mcp", data)


@FUZZ
@given(data=st.data())
def test_a_mutated_a2a_request_answers_a_json_rpc_object(
    served: tuple[ServerProcess, dict[str, str]], data: st.DataObject
) -> None:
    exercise(served, "a2a", data)


def test_a_task_keeps_its_last_messages_only() -> None:
    task = StoredTask(id="t", context_id="c", agent="a", state="working")
    for i in range(MAX_TASK_HISTORY + 5):
        task.remember({"messageId": str(i)})
    assert len(task.history) == MAX_TASK_HISTORY
    assert task.history[0]["messageId"] == "5"
    assert task.history[-1]["messageId"] == str(MAX_TASK_HISTORY + 4)
