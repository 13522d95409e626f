"""Stored Responses through the official `openai` SDK against a real server process: `store`,
`responses.retrieve`, `responses.delete`, `responses.input_items.list`, and a tool loop chained
with `previous_response_id` whose second turn's fixture needs the whole history
(`turnIndex: 1`, `hasToolResult`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import OpenAI

from tests.conftest import ServerProcess, serving_fixtures, start_server

MODEL = "gpt-4.1"
WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}
FIXTURES: list[dict[str, Any]] = [
    {
        "match": {"userMessage": "stored weather", "turnIndex": 1, "hasToolResult": True},
        "response": {"content": "It is sunny in Paris."},
    },
    {
        "match": {"userMessage": "stored weather", "turnIndex": 0},
        "response": {
            "toolCalls": [
                {"id": "call_stored_1", "name": "get_weather", "arguments": '{"city":"Paris"}'}
            ]
        },
    },
    {"match": {"userMessage": "stored hello"}, "response": {"content": "Hello, kept."}},
    {"match": {"userMessage": "and again", "turnIndex": 1}, "response": {"content": "Turn 1."}},
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with serving_fixtures(tmp_path_factory.mktemp("stored-responses"), FIXTURES) as running:
        yield running


@pytest.fixture
def client(server: ServerProcess) -> Iterator[OpenAI]:
    with OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as sdk:
        yield sdk


def test_a_stored_response_is_retrieved_as_it_was_answered(client: OpenAI) -> None:
    created = client.responses.create(model=MODEL, input="stored hello", metadata={"k": "v"})
    assert created.store is True
    found = client.responses.retrieve(created.id)
    assert found.model_dump() == created.model_dump()
    assert found.output_text == "Hello, kept."


def test_a_streamed_response_is_stored_too(client: OpenAI) -> None:
    with client.responses.stream(model=MODEL, input="stored hello") as stream:
        final = stream.get_final_response()
    assert client.responses.retrieve(final.id).output_text == "Hello, kept."


def test_store_false_keeps_nothing(client: OpenAI) -> None:
    created = client.responses.create(model=MODEL, input="stored hello", store=False)
    assert created.store is False
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.retrieve(created.id)
    assert f"'{created.id}'" in caught.value.message
    with pytest.raises(openai.NotFoundError) as chained:
        client.responses.create(model=MODEL, input="and again", previous_response_id=created.id)
    assert chained.value.code == "previous_response_not_found"


def test_delete_removes_it(client: OpenAI) -> None:
    created = client.responses.create(model=MODEL, input="stored hello")
    client.responses.delete(created.id)  # the SDK returns None; the body says deleted
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.delete(created.id)
    raw = client.responses.with_raw_response.delete(
        client.responses.create(model=MODEL, input="stored hello").id
    )
    assert raw.http_response.json()["deleted"] is True


def test_input_items_list_and_page(client: OpenAI) -> None:
    created = client.responses.create(
        model=MODEL,
        input=[
            {"role": "developer", "content": "be brief"},
            {"role": "user", "content": [{"type": "input_text", "text": "first"}]},
            {"role": "user", "content": "stored hello"},
        ],
    )
    newest_first = client.responses.input_items.list(created.id)
    texts = [item.content[0].text for item in newest_first.data]  # type: ignore[union-attr]
    assert texts == ["stored hello", "first", "be brief"]
    assert all(item.id for item in newest_first.data)
    assert newest_first.has_more is False
    oldest_first = client.responses.input_items.list(created.id, order="asc", limit=2)
    assert [item.id for item in oldest_first.data] == [i.id for i in newest_first.data][::-1][:2]
    assert oldest_first.has_more is True
    rest = client.responses.input_items.list(
        created.id, order="asc", after=oldest_first.data[-1].id
    )
    assert [item.id for item in rest.data] == [newest_first.data[0].id]
    everything = list(client.responses.input_items.list(created.id, order="asc", limit=1))
    assert len(everything) == 3  # the SDK pages on `after` and `has_more`
    with pytest.raises(openai.NotFoundError):
        client.responses.input_items.list("resp_unknown")


def test_previous_response_id_carries_a_tool_loop(client: OpenAI) -> None:
    first = client.responses.create(model=MODEL, input="stored weather", tools=[WEATHER_TOOL])
    call = first.output[0]
    assert call.type == "function_call"
    # Only the tool's output is sent: the stored turn supplies the user message and the call.
    second = client.responses.create(
        model=MODEL,
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
        tools=[WEATHER_TOOL],
    )
    assert second.output_text == "It is sunny in Paris."
    assert second.previous_response_id == first.id
    # A third turn chains on the second: the history holds both earlier turns.
    third = client.responses.create(model=MODEL, previous_response_id=second.id, input="and again")
    assert third.output_text == "Turn 1."


def test_the_unknown_and_the_deleted_are_not_found(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.create(model=MODEL, input="x", previous_response_id="resp_nope")
    assert caught.value.code == "previous_response_not_found"
    assert caught.value.param == "previous_response_id"
    created = client.responses.create(model=MODEL, input="stored hello")
    client.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model=MODEL, input="x", previous_response_id=created.id)


def test_a_reset_forgets_stored_responses(client: OpenAI, server: ServerProcess) -> None:
    created = client.responses.create(model=MODEL, input="stored hello")
    server.reset()
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)


async def test_a_socket_continues_a_response_stored_over_http(
    client: OpenAI, server: ServerProcess
) -> None:
    first = client.responses.create(model=MODEL, input="stored weather", tools=[WEATHER_TOOL])
    call = first.output[0]
    assert call.type == "function_call"
    async with (
        openai.AsyncOpenAI(base_url=server.base_url, api_key="k") as sdk,
        sdk.responses.connect() as connection,
    ):
        await connection.response.create(
            model=MODEL,
            previous_response_id=first.id,
            input=[{"type": "function_call_output", "call_id": call.call_id, "output": "ok"}],
        )
        text = ""
        async for event in connection:
            if event.type == "response.output_text.delta":
                text += event.delta
            if event.type in ("response.completed", "error"):
                final = event
                break
    assert text == "It is sunny in Paris."
    assert final.type == "response.completed"
    assert client.responses.retrieve(final.response.id).output_text == text


# --------------------------------------------------------------------------- conversations


def test_conversation_create_retrieve_update_delete(client: OpenAI) -> None:
    made = client.conversations.create(
        metadata={"topic": "demo"}, items=[{"role": "user", "content": "stored hello"}]
    )
    assert made.object == "conversation" and made.id.startswith("conv_")
    assert client.conversations.retrieve(made.id).metadata == {"topic": "demo"}
    updated = client.conversations.update(made.id, metadata={"topic": "other"})
    assert updated.metadata == {"topic": "other"}
    deleted = client.conversations.delete(made.id)
    assert (deleted.id, deleted.deleted, deleted.object) == (made.id, True, "conversation.deleted")
    with pytest.raises(openai.NotFoundError):
        client.conversations.retrieve(made.id)


def test_conversation_items(client: OpenAI) -> None:
    made = client.conversations.create()
    added = client.conversations.items.create(
        made.id,
        items=[
            {"type": "message", "role": "user", "content": "one"},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "two"}]},
        ],
    )
    assert [item.type for item in added.data] == ["message", "message"]
    first, second = added.data
    assert first.id and second.id
    newest_first = client.conversations.items.list(made.id)
    assert [item.id for item in newest_first.data] == [second.id, first.id]
    assert [item.id for item in client.conversations.items.list(made.id, limit=1)] == [
        second.id,
        first.id,
    ]  # the SDK pages on `after` and `has_more`
    found = client.conversations.items.retrieve(first.id, conversation_id=made.id)
    assert found.id == first.id
    after = client.conversations.items.delete(first.id, conversation_id=made.id)
    assert after.id == made.id
    assert [item.id for item in client.conversations.items.list(made.id, order="asc")] == [
        second.id
    ]
    with pytest.raises(openai.NotFoundError):
        client.conversations.items.retrieve(first.id, conversation_id=made.id)


def test_responses_in_a_conversation(client: OpenAI) -> None:
    """A response in a conversation continues its items and adds its input and output."""
    made = client.conversations.create()
    first = client.responses.create(
        model=MODEL, conversation=made.id, input="stored weather", tools=[WEATHER_TOOL]
    )
    assert first.conversation is not None and first.conversation.id == made.id
    call = first.output[0]
    assert call.type == "function_call"
    second = client.responses.create(
        model=MODEL,
        conversation={"id": made.id},
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
        tools=[WEATHER_TOOL],
    )
    assert second.output_text == "It is sunny in Paris."
    kinds = [item.type for item in client.conversations.items.list(made.id, order="asc")]
    assert kinds == ["message", "function_call", "function_call_output", "message"]
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model=MODEL, conversation="conv_unknown", input="stored hello")
    with pytest.raises(openai.BadRequestError):
        client.responses.create(
            model=MODEL, conversation=made.id, previous_response_id=first.id, input="x"
        )


# --------------------------------------------------------------------------- record and replay

LOOP = Path(__file__).parent / "fixtures" / "record_loop.yaml"


def _chained_loop(origin: str, stream: bool) -> tuple[list[str], str]:
    """An agent on the Responses API that sends only the new items each turn and chains with
    `previous_response_id` (as the Agents SDK's `auto_previous_response_id` does)."""
    called: list[str] = []
    tools: Any = [
        {"type": "function", "name": name, "parameters": {"type": "object"}}
        for name in ("get_weather", "get_time")
    ]
    new_items: Any = [{"role": "user", "content": "rr-loop"}]
    previous: str | None = None
    with OpenAI(base_url=origin + "/v1", api_key="k", max_retries=0) as client:
        for _ in range(5):
            ask: dict[str, Any] = {"model": "gpt-4o", "input": new_items, "tools": tools}
            if previous is not None:
                ask["previous_response_id"] = previous
            if stream:
                with client.responses.stream(**ask) as events:
                    response = events.get_final_response()
            else:
                response = client.responses.create(**ask)
            calls = [item for item in response.output if item.type == "function_call"]
            if not calls:
                return called, response.output_text
            previous = response.id
            called += [call.name for call in calls]
            new_items = [
                {"type": "function_call_output", "call_id": call.call_id, "output": "ok"}
                for call in calls
            ]
    raise AssertionError(f"the loop did not end: {called}")


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_a_chained_loop_records_and_replays(stream: bool, tmp_path: Path) -> None:
    """Record mode keeps what it relays, so each chained turn is recorded with its whole
    history (and the loop ends); the recordings replay the loop with `--strict`."""
    answer = (["get_weather", "get_time"], "In Lisbon it is sunny, 18 degrees, and 14:05.")
    upstream = start_server(["-f", str(LOOP)])
    try:
        recorder = start_server(
            ["-f", str(tmp_path), "--record", "--provider-openai", upstream.url]
        )
        try:
            assert _chained_loop(recorder.url, stream) == answer
        finally:
            recorder.stop()
    finally:
        upstream.stop()
    assert len(list((tmp_path / "recorded").glob("*.json"))) == 3  # one per turn
    replay = start_server(["-f", str(tmp_path / "recorded"), "--strict"])
    try:
        assert _chained_loop(replay.url, stream) == answer
    finally:
        replay.stop()
