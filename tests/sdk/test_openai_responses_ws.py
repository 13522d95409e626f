"""The Responses API over a WebSocket, through the official `openai` client:
`client.responses.connect()` against a real server process. The events are those of the HTTP
stream, checked strictly against the SDK's `ResponsesServerEvent` types."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import websockets
from openai import AsyncOpenAI
from openai.types.responses import ResponsesServerEvent
from pydantic import TypeAdapter

from tests.conftest import ServerProcess, serving_fixtures

EVENTS: TypeAdapter[Any] = TypeAdapter(ResponsesServerEvent)
WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}
FIXTURES: list[dict[str, Any]] = [
    {
        "match": {"userMessage": "weather", "hasToolResult": True, "turnIndex": 1},
        "response": {"content": "It is sunny in Paris."},
    },
    {
        "match": {"userMessage": "weather"},
        "response": {
            "toolCalls": [{"id": "call_1", "name": "get_weather", "arguments": '{"city":"Paris"}'}]
        },
    },
    {"match": {"userMessage": "hello"}, "response": {"content": "Hello over a socket!"}},
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with serving_fixtures(tmp_path_factory.mktemp("responses-ws"), FIXTURES) as running:
        yield running


@pytest.fixture
async def client(server: ServerProcess) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0) as sdk:
        yield sdk


async def one_response(connection: Any) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    while True:
        event = json.loads(await connection.recv_bytes())
        EVENTS.validate_python(event)
        events.append(event)
        if event["type"] in ("response.completed", "response.incomplete", "error"):
            return events


async def test_a_response_over_the_socket_is_the_http_stream(
    client: AsyncOpenAI, server: ServerProcess
) -> None:
    async with client.responses.connect() as connection:
        await connection.response.create(model="gpt-5", input="hello")
        events = await one_response(connection)
    kinds = [e["type"] for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert text == "Hello over a socket!"
    # The same request over HTTP streams the same kinds of events in the same order.
    http = [
        e.type
        async for e in await client.responses.create(model="gpt-5", input="hello", stream=True)
    ]
    assert http == kinds
    entry = server.journal(surface="openai.responses")[-2]
    assert entry["method"] == "WS"


async def test_a_tool_loop_continues_with_previous_response_id(client: AsyncOpenAI) -> None:
    async with client.responses.connect() as connection:
        await connection.response.create(
            model="gpt-5", input="What is the weather in Paris?", tools=[WEATHER_TOOL]
        )
        first = await one_response(connection)
        final = first[-1]["response"]
        call = final["output"][0]
        assert call["type"] == "function_call"
        assert call["name"] == "get_weather"
        await connection.response.create(
            model="gpt-5",
            previous_response_id=final["id"],
            input=[{"type": "function_call_output", "call_id": call["call_id"], "output": "clear"}],
            tools=[WEATHER_TOOL],
        )
        second = await one_response(connection)
    text = "".join(e["delta"] for e in second if e["type"] == "response.output_text.delta")
    assert text == "It is sunny in Paris."


async def test_a_lane_is_echoed_on_every_event(client: AsyncOpenAI) -> None:
    async with client.responses.connect() as connection:
        await connection.send(
            {"type": "response.create", "model": "gpt-5", "input": "hello", "stream_id": "lane-7"}
        )
        events = await one_response(connection)
    assert {e["stream_id"] for e in events} == {"lane-7"}


async def test_a_bad_request_is_an_error_event_and_the_socket_goes_on(
    client: AsyncOpenAI, server: ServerProcess
) -> None:
    async with client.responses.connect() as connection:
        await connection.send({"type": "response.create", "input": "no model"})
        error = (await one_response(connection))[-1]
        await connection.send({"type": "response.frobnicate"})
        unknown = (await one_response(connection))[-1]
        await connection.response.create(model="gpt-5", input="hello")
        after = await one_response(connection)
    assert error["type"] == "error"
    assert error["status"] == 400
    assert error["error"]["param"] == "model"
    assert unknown["error"]["code"] == "invalid_value"
    assert after[-1]["type"] == "response.completed"
    statuses = [e["response"]["status"] for e in server.journal(surface="openai.responses")[-3:]]
    assert statuses == [400, 400, 200]


async def test_a_chaos_disconnect_drops_the_socket(server: ServerProcess) -> None:
    async with (
        AsyncOpenAI(
            base_url=server.base_url,
            api_key="k",
            max_retries=0,
            default_headers={"x-aimock-chaos-disconnect": "1"},
        ) as sdk,
        sdk.responses.connect(max_retries=0) as connection,
    ):
        await connection.response.create(model="gpt-5", input="hello")
        with pytest.raises(websockets.ConnectionClosedError):
            await connection.recv_bytes()
