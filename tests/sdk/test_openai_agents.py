"""The OpenAI Agents SDK (`openai-agents`) against a real server process: a multi-turn run (a
tool call, the tool runs, then the answer) over the Responses API.

The SDK chains turns in one of two ways, and both are run here:
- by default it sends the whole conversation again on every turn (no `previous_response_id`);
- with `auto_previous_response_id=True` (or a `previous_response_id` given to the run) it sends
  only the new items and names the last response as `previous_response_id`, which the server
  must have stored: the second turn's fixture (`hasToolResult`, `turnIndex: 1`, and the user
  message, which only the stored turn holds) matches only when the stored conversation is
  prepended.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from agents import Agent, OpenAIResponsesModel, RunConfig, Runner, function_tool
from openai import AsyncOpenAI

from tests.conftest import ServerProcess, serving_fixtures

MODEL = "gpt-4.1"
FIXTURES: list[dict[str, Any]] = [
    {
        "match": {"userMessage": "agent weather", "hasToolResult": True, "turnIndex": 1},
        "response": {"content": "The agent says: sunny in Paris."},
    },
    {
        "match": {"userMessage": "agent weather", "turnIndex": 0},
        "response": {
            "toolCalls": [
                {"id": "call_agent_1", "name": "get_weather", "arguments": '{"city":"Paris"}'}
            ]
        },
    },
]
CALLS: list[str] = []


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    CALLS.append(city)
    return f"sunny in {city}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with serving_fixtures(tmp_path_factory.mktemp("agents"), FIXTURES) as running:
        yield running


@pytest.fixture
async def agent(server: ServerProcess) -> AsyncIterator[Agent[Any]]:
    CALLS.clear()
    async with AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client:
        yield Agent(
            name="weather",
            instructions="Answer about the weather.",
            model=OpenAIResponsesModel(model=MODEL, openai_client=client),
            tools=[get_weather],
        )


def bodies(server: ServerProcess) -> list[dict[str, Any]]:
    """The last run's two Responses request bodies, as the journal kept them."""
    entries = server.journal(surface="openai.responses")
    found = [entry["body"] for entry in entries[-2:]]
    assert all(isinstance(body, dict) for body in found)
    return found  # type: ignore[return-value]


async def test_a_run_resending_the_whole_conversation(
    agent: Agent[Any], server: ServerProcess
) -> None:
    result = await Runner.run(agent, "agent weather", run_config=RunConfig(tracing_disabled=True))
    assert result.final_output == "The agent says: sunny in Paris."
    assert CALLS == ["Paris"]
    _, second = bodies(server)
    assert "previous_response_id" not in second
    kinds = [item.get("type", "message") for item in second["input"]]
    assert kinds == ["message", "function_call", "function_call_output"]


async def test_a_run_chained_with_previous_response_id(
    agent: Agent[Any], server: ServerProcess
) -> None:
    result = await Runner.run(
        agent,
        "agent weather",
        auto_previous_response_id=True,
        run_config=RunConfig(tracing_disabled=True),
    )
    assert result.final_output == "The agent says: sunny in Paris."
    assert CALLS == ["Paris"]
    first, second = bodies(server)
    assert "previous_response_id" not in first
    assert second["previous_response_id"] == result.raw_responses[0].response_id
    # Only the tool's output is sent: the user message and the call come from the store.
    assert [item["type"] for item in second["input"]] == ["function_call_output"]
    assert result.last_response_id == result.raw_responses[-1].response_id


async def test_a_second_run_continues_the_first(agent: Agent[Any], server: ServerProcess) -> None:
    """A follow-up run given the last response id continues the same stored conversation."""
    config = RunConfig(tracing_disabled=True)
    first = await Runner.run(
        agent, "agent weather", auto_previous_response_id=True, run_config=config
    )
    server_fixtures = [
        {
            "match": {"userMessage": "and tomorrow?", "turnIndex": 2},
            "response": {"content": "Rain."},
        },
    ]
    with server.control() as control:
        control.post("/__aimock/fixtures", json={"fixtures": server_fixtures}).raise_for_status()
    follow = await Runner.run(
        agent, "and tomorrow?", previous_response_id=first.last_response_id, run_config=config
    )
    assert follow.final_output == "Rain."
    (body,) = bodies(server)[-1:]
    assert body["previous_response_id"] == first.last_response_id
