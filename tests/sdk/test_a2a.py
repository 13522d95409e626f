"""A2A driven by the official `a2a-sdk` client against a real server process.

The stack file tests/sdk/fixtures_a2a/stack.yaml defines three agents: `travel` (v1.0 card,
first, so its card is also at the root), `legacy` (a v0.3 card: the client's compat transport
speaks message/send...) and `quiet` (no streaming capability, on a custom path).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from a2a.client import A2ACardResolver, Client, ClientConfig, ClientFactory
from a2a.helpers.proto_helpers import get_message_text, get_text_parts, new_text_message
from a2a.types.a2a_pb2 import (
    CancelTaskRequest,
    GetTaskRequest,
    Role,
    SendMessageRequest,
    StreamResponse,
    TaskState,
)
from a2a.utils.errors import TaskNotCancelableError, TaskNotFoundError

from tests.conftest import ServerProcess, start_server

STACK = Path(__file__).resolve().parent / "fixtures_a2a"


@pytest.fixture(scope="module")
def a2a_server() -> Iterator[ServerProcess]:
    server = start_server(["-f", str(STACK)])
    yield server
    server.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


async def connect(
    server: ServerProcess, http: httpx.AsyncClient, agent: str, *, streaming: bool = True
) -> Client:
    factory = ClientFactory(ClientConfig(httpx_client=http, streaming=streaming))
    return await factory.create_from_url(f"{server.url}/a2a/{agent}")


def request(text: str, *, task_id: str | None = None) -> SendMessageRequest:
    message = new_text_message(text, role=Role.ROLE_USER, task_id=task_id)
    return SendMessageRequest(message=message)


async def events(client: Client, text: str, *, task_id: str | None = None) -> list[StreamResponse]:
    return [event async for event in client.send_message(request(text, task_id=task_id))]


def methods(server: ServerProcess) -> list[Any]:
    return [e.get("rpcMethod") for e in server.journal() if e.get("surface") == "a2a"]


# --- card discovery ---------------------------------------------------------------------------


async def test_card_discovery(a2a_server: ServerProcess, http: httpx.AsyncClient) -> None:
    card = await A2ACardResolver(http, f"{a2a_server.url}/a2a/travel").get_agent_card()
    assert (card.name, card.description, card.version) == ("travel", "Plans trips.", "2.1.0")
    assert card.capabilities.streaming
    [skill] = card.skills
    assert (skill.id, skill.name, list(skill.tags)) == ("plan", "Plan a trip", ["travel"])
    [interface] = card.supported_interfaces
    # The interface points at the origin the card was fetched from, plus the agent's path.
    assert interface.url == f"{a2a_server.url}/a2a/travel"
    assert (interface.protocol_binding, interface.protocol_version) == ("JSONRPC", "1.0")

    root = await A2ACardResolver(http, a2a_server.url).get_agent_card()
    assert root.name == "travel"
    legacy = await A2ACardResolver(http, f"{a2a_server.url}/a2a/legacy").get_agent_card()
    assert legacy.supported_interfaces[0].protocol_version == "0.3.0"
    quiet = await A2ACardResolver(http, f"{a2a_server.url}/agents/quiet").get_agent_card()
    assert quiet.supported_interfaces[0].url == f"{a2a_server.url}/agents/quiet"
    assert not quiet.capabilities.streaming
    missing = await http.get(f"{a2a_server.url}/a2a/nobody/.well-known/agent-card.json")
    assert missing.status_code == 404


# --- v1.0 -------------------------------------------------------------------------------------


async def test_send_text_reply_and_artifacts(
    a2a_server: ServerProcess, http: httpx.AsyncClient
) -> None:
    client = await connect(a2a_server, http, "travel", streaming=False)
    [event] = await events(client, "please a2a-itinerary")
    task = event.task
    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    assert get_message_text(task.status.message) == "Here is your itinerary"
    assert task.status.message.role == Role.ROLE_AGENT
    [artifact] = task.artifacts
    assert artifact.name == "itinerary"
    assert get_text_parts(artifact.parts) == ["Day 1: Lisbon"]
    assert artifact.parts[1].data.struct_value["days"] == 3
    assert get_message_text(task.history[0]) == "please a2a-itinerary"
    assert methods(a2a_server)[-1] == "SendMessage"


async def test_stream_status_and_artifacts_in_order(
    a2a_server: ServerProcess, http: httpx.AsyncClient
) -> None:
    client = await connect(a2a_server, http, "travel")
    streamed = await events(client, "a2a-stream-7")
    kinds = [e.WhichOneof("payload") for e in streamed]
    assert kinds == [
        "task",
        "status_update",
        "artifact_update",
        "artifact_update",
        "artifact_update",
        "status_update",
    ]
    task_id = streamed[0].task.id
    assert streamed[0].task.status.state == TaskState.TASK_STATE_WORKING
    working = streamed[1].status_update
    assert working.task_id == task_id
    assert get_message_text(working.status.message) == "Looking up flights"
    first, second, summary = (e.artifact_update for e in streamed[2:5])
    assert (get_text_parts(first.artifact.parts), first.append, first.last_chunk) == (
        ["Day 1. "],
        False,
        False,
    )
    assert (get_text_parts(second.artifact.parts), second.append) == (["Day 2."], True)
    assert get_text_parts(summary.artifact.parts) == ["Two days"]
    final = streamed[-1].status_update
    assert final.status.state == TaskState.TASK_STATE_COMPLETED
    assert get_message_text(final.status.message) == "Done"
    assert methods(a2a_server)[-1] == "SendStreamingMessage"

    # The stored task holds the artifacts as a client assembles them.
    stored = await client.get_task(GetTaskRequest(id=task_id))
    assert stored.status.state == TaskState.TASK_STATE_COMPLETED
    assert [get_text_parts(a.parts) for a in stored.artifacts] == [
        ["Day 1. ", "Day 2."],
        ["Two days"],
    ]


async def test_get_task_history_length(a2a_server: ServerProcess, http: httpx.AsyncClient) -> None:
    client = await connect(a2a_server, http, "travel", streaming=False)
    [event] = await events(client, "a2a-hello")
    full = await client.get_task(GetTaskRequest(id=event.task.id))
    assert get_message_text(full.status.message) == "Hello from the travel agent"
    assert len(full.history) == 1
    trimmed = await client.get_task(GetTaskRequest(id=event.task.id, history_length=0))
    assert len(trimmed.history) == 0


async def test_input_required_continue_and_cancel(
    a2a_server: ServerProcess, http: httpx.AsyncClient
) -> None:
    client = await connect(a2a_server, http, "travel")
    streamed = await events(client, "a2a-need-input")
    final = streamed[-1].status_update
    assert final.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
    task_id = final.task_id
    # The answer continues the same task (its taskId), which records both turns.
    continued = await events(client, "a2a-hello", task_id=task_id)
    assert continued[0].task.id == task_id
    assert continued[-1].status_update.status.state == TaskState.TASK_STATE_COMPLETED
    stored = await client.get_task(GetTaskRequest(id=task_id))
    assert [get_message_text(m) for m in stored.history] == ["a2a-need-input", "a2a-hello"]

    waiting = await events(client, "a2a-need-input")
    canceled = await client.cancel_task(CancelTaskRequest(id=waiting[-1].status_update.task_id))
    assert canceled.status.state == TaskState.TASK_STATE_CANCELED
    with pytest.raises(TaskNotCancelableError):
        await client.cancel_task(CancelTaskRequest(id=task_id))  # completed
    with pytest.raises(TaskNotFoundError):
        await client.get_task(GetTaskRequest(id="no-such-task"))
    with pytest.raises(TaskNotFoundError):
        await client.cancel_task(CancelTaskRequest(id="no-such-task"))


async def test_message_answer(a2a_server: ServerProcess, http: httpx.AsyncClient) -> None:
    for streaming in (False, True):
        client = await connect(a2a_server, http, "travel", streaming=streaming)
        [event] = await events(client, "a2a-just-a-message")
        assert event.WhichOneof("payload") == "message"
        assert get_message_text(event.message) == "A plain message"


async def test_miss_answers_a_failed_task(
    a2a_server: ServerProcess, http: httpx.AsyncClient
) -> None:
    for streaming in (False, True):
        client = await connect(a2a_server, http, "travel", streaming=streaming)
        streamed = await events(client, "nothing matches this")
        last = streamed[-1]
        status = last.task.status if last.HasField("task") else last.status_update.status
        assert status.state == TaskState.TASK_STATE_FAILED
        assert "no response of agent 'travel'" in get_message_text(status.message)
    entry = [e for e in a2a_server.journal() if e.get("surface") == "a2a"][-1]
    assert entry["rpcMethod"] == "SendStreamingMessage"
    assert entry.get("fixture") is None


async def test_agent_without_streaming_is_sent_messages(
    a2a_server: ServerProcess, http: httpx.AsyncClient
) -> None:
    factory = ClientFactory(ClientConfig(httpx_client=http, streaming=True))
    client = await factory.create_from_url(f"{a2a_server.url}/agents/quiet")
    [event] = await events(client, "anything")
    assert get_message_text(event.task.status.message) == "Quiet reply"
    assert methods(a2a_server)[-1] == "SendMessage"


# --- v0.3 -------------------------------------------------------------------------------------


async def test_legacy_agent_speaks_v03(a2a_server: ServerProcess, http: httpx.AsyncClient) -> None:
    client = await connect(a2a_server, http, "legacy", streaming=False)
    [event] = await events(client, "a2a-old")
    task = event.task
    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    assert get_message_text(task.status.message) == "Hello from v0.3"
    assert get_text_parts(task.artifacts[0].parts) == ["legacy artifact"]
    assert methods(a2a_server)[-1] == "message/send"

    stored = await client.get_task(GetTaskRequest(id=task.id))
    assert stored.status.state == TaskState.TASK_STATE_COMPLETED
    assert methods(a2a_server)[-1] == "tasks/get"
    with pytest.raises(TaskNotCancelableError):
        await client.cancel_task(CancelTaskRequest(id=task.id))
    with pytest.raises(TaskNotFoundError):
        await client.get_task(GetTaskRequest(id="no-such-task"))


async def test_legacy_agent_streams_and_cancels(
    a2a_server: ServerProcess, http: httpx.AsyncClient
) -> None:
    client = await connect(a2a_server, http, "legacy")
    streamed = await events(client, "a2a-old")
    kinds = [e.WhichOneof("payload") for e in streamed]
    assert kinds == ["task", "artifact_update", "status_update"]
    assert get_text_parts(streamed[1].artifact_update.artifact.parts) == ["legacy artifact"]
    final = streamed[-1].status_update
    assert final.status.state == TaskState.TASK_STATE_COMPLETED
    assert get_message_text(final.status.message) == "Hello from v0.3"
    assert methods(a2a_server)[-1] == "message/stream"

    waiting = await events(client, "a2a-wait-legacy")
    task_id = waiting[-1].status_update.task_id
    canceled = await client.cancel_task(CancelTaskRequest(id=task_id))
    assert canceled.status.state == TaskState.TASK_STATE_CANCELED
    assert methods(a2a_server)[-1] == "tasks/cancel"


async def test_legacy_wire_shapes(a2a_server: ServerProcess, http: httpx.AsyncClient) -> None:
    body = {
        "jsonrpc": "2.0",
        "id": "r1",
        "method": "message/send",
        "params": {
            "message": {
                "kind": "message",
                "messageId": "m1",
                "role": "user",
                "parts": [{"kind": "text", "text": "a2a-old"}],
            }
        },
    }
    result = (await http.post(f"{a2a_server.url}/a2a/legacy", json=body)).json()["result"]
    assert result["kind"] == "task"
    assert result["status"]["state"] == "completed"
    assert result["status"]["message"]["kind"] == "message"
    assert result["status"]["message"]["role"] == "agent"
    assert result["artifacts"][0]["parts"] == [{"kind": "text", "text": "legacy artifact"}]


# --- raw protocol errors ----------------------------------------------------------------------


async def rpc(http: httpx.AsyncClient, url: str, body: Any) -> dict[str, Any]:
    content = body if isinstance(body, bytes) else None
    response = await http.post(url, content=content, json=None if content else body)
    assert response.status_code == 200
    answer: dict[str, Any] = response.json()
    return answer


async def test_protocol_errors(a2a_server: ServerProcess, http: httpx.AsyncClient) -> None:
    url = f"{a2a_server.url}/a2a/travel"
    parse = await rpc(http, url, b"{not json")
    assert parse["error"]["code"] == -32700 and parse["id"] is None
    unknown = await rpc(http, url, {"jsonrpc": "2.0", "id": 5, "method": "tasks/frobnicate"})
    assert (unknown["id"], unknown["error"]["code"]) == (5, -32601)
    no_message = await rpc(http, url, {"jsonrpc": "2.0", "id": 6, "method": "SendMessage"})
    assert no_message["error"]["code"] == -32602
    no_parts = {"jsonrpc": "2.0", "id": 7, "method": "SendMessage", "params": {"message": {}}}
    assert (await rpc(http, url, no_parts))["error"]["code"] == -32602
    no_id = await rpc(http, url, {"jsonrpc": "2.0", "id": 8, "method": "GetTask", "params": {}})
    assert no_id["error"]["code"] == -32602
    bad_version = await rpc(http, url, {"jsonrpc": "1.0", "id": 9, "method": "GetTask"})
    assert bad_version["error"]["code"] == -32600
    assert (await http.get(url)).status_code == 405
    assert (await http.post(f"{a2a_server.url}/a2a/nobody", json={})).status_code == 404
    entry = [e for e in a2a_server.journal() if e.get("surface") == "a2a"][-4]
    assert entry["rpcMethod"] == "GetTask"


async def test_reset_forgets_tasks(a2a_server: ServerProcess, http: httpx.AsyncClient) -> None:
    client = await connect(a2a_server, http, "travel", streaming=False)
    [event] = await events(client, "a2a-hello")
    a2a_server.reset()
    with pytest.raises(TaskNotFoundError):
        await client.get_task(GetTaskRequest(id=event.task.id))
