"""Stored Responses through the official `openai` SDK against a real server process: `store`,
`responses.retrieve` (also as a replayed stream), `responses.delete`,
`responses.input_items.list`, a tool loop chained with `previous_response_id` whose second
turn's fixture needs the whole history (`turnIndex: 1`, `hasToolResult`), background mode with
`responses.cancel`, `responses.input_tokens.count` and `responses.compact`."""

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


# --------------------------------------------------------------------------- background mode


def test_a_background_response_is_queued_then_progresses_on_retrievals(client: OpenAI) -> None:
    plain = client.responses.create(model=MODEL, input="stored hello")
    created = client.responses.create(model=MODEL, input="stored hello", background=True)
    assert (created.status, created.background, created.output) == ("queued", True, [])
    assert created.usage is None
    statuses = [client.responses.retrieve(created.id) for _ in range(3)]
    assert [found.status for found in statuses] == ["in_progress", "completed", "completed"]
    done = statuses[-1]
    assert done.id == created.id and done.output_text == plain.output_text == "Hello, kept."
    assert done.usage is not None and done.usage.output_tokens > 0
    assert client.responses.cancel(created.id).status == "completed"  # finished: as it is


def test_cancel_a_background_response(client: OpenAI) -> None:
    created = client.responses.create(model=MODEL, input="stored hello", background=True)
    cancelled = client.responses.cancel(created.id)
    assert (cancelled.id, cancelled.status, cancelled.output) == (created.id, "cancelled", [])
    assert client.responses.retrieve(created.id).status == "cancelled"
    assert client.responses.cancel(created.id).status == "cancelled"  # idempotent
    polled = client.responses.create(model=MODEL, input="stored hello", background=True)
    assert client.responses.retrieve(polled.id).status == "in_progress"
    assert client.responses.cancel(polled.id).status == "cancelled"
    # A response continuing a cancelled one sees its input, not the output it never gave.
    finished = client.responses.create(model=MODEL, input="stored hello")
    after = {
        previous: client.responses.input_tokens.count(
            model=MODEL, input="next", previous_response_id=previous
        ).input_tokens
        for previous in (created.id, finished.id)
    }
    assert after[created.id] < after[finished.id]


def test_cancel_refuses_a_plain_response_and_knows_no_unknown_one(client: OpenAI) -> None:
    created = client.responses.create(model=MODEL, input="stored hello")
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.cancel(created.id)
    assert caught.value.message.endswith("Cannot cancel a synchronous response.")
    assert client.responses.retrieve(created.id).status == "completed"
    with pytest.raises(openai.NotFoundError):
        client.responses.cancel("resp_unknown")


def test_a_background_response_is_kept_for_polling_even_unstored(client: OpenAI) -> None:
    created = client.responses.create(
        model=MODEL, input="stored hello", background=True, store=False
    )
    client.responses.retrieve(created.id)
    assert client.responses.retrieve(created.id).output_text == "Hello, kept."


def test_a_background_stream_opens_queued_and_is_stored_complete(client: OpenAI) -> None:
    events = list(
        client.responses.create(model=MODEL, input="stored hello", background=True, stream=True)
    )
    assert [e.type for e in events[:3]] == [
        "response.queued",
        "response.created",
        "response.in_progress",
    ]
    assert events[0].response.status == "queued"  # type: ignore[union-attr]
    final = events[-1]
    assert final.type == "response.completed"
    assert client.responses.retrieve(final.response.id).status == "completed"


# --------------------------------------------------------------------------- stream replay


def test_retrieve_as_a_stream_replays_the_events(client: OpenAI) -> None:
    created = client.responses.create(
        model=MODEL, input="stored weather", tools=[WEATHER_TOOL], reasoning={"effort": "low"}
    )
    events = list(client.responses.retrieve(created.id, stream=True))
    kinds = [event.type for event in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert "response.function_call_arguments.delta" in kinds
    assert [event.sequence_number for event in events] == list(range(len(events)))
    assert events[-1].response.model_dump() == created.model_dump()  # type: ignore[union-attr]
    later = list(client.responses.retrieve(created.id, stream=True, starting_after=2))
    assert [e.sequence_number for e in later] == list(range(3, len(events)))
    assert [e.type for e in later] == kinds[3:]


def test_a_streamed_replay_carries_the_text(client: OpenAI) -> None:
    with client.responses.stream(model=MODEL, input="stored hello") as stream:
        first = stream.get_final_response()
    replay = client.responses.retrieve(first.id, stream=True, include_obfuscation=False)
    text = "".join(e.delta for e in replay if e.type == "response.output_text.delta")
    assert text == "Hello, kept."


def test_a_background_response_streamed_runs_to_its_end(client: OpenAI) -> None:
    created = client.responses.create(model=MODEL, input="stored hello", background=True)
    events = list(client.responses.retrieve(created.id, stream=True))
    assert events[0].type == "response.queued"
    assert events[-1].type == "response.completed"
    assert client.responses.retrieve(created.id).status == "completed"
    cancelled = client.responses.create(model=MODEL, input="stored hello", background=True)
    client.responses.cancel(cancelled.id)
    kinds = [e.type for e in client.responses.retrieve(cancelled.id, stream=True)]
    assert kinds == ["response.queued", "response.created", "response.in_progress"]


def test_a_replay_of_the_unknown_or_with_a_bad_cursor_is_refused(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve("resp_unknown", stream=True)
    created = client.responses.create(model=MODEL, input="stored hello")
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.retrieve(created.id, stream=True, starting_after=-5)
    assert caught.value.param == "starting_after"


# --------------------------------------------------------------------------- input tokens


def test_input_tokens_count_grows_with_the_input(client: OpenAI) -> None:
    short = client.responses.input_tokens.count(model=MODEL, input="hello")
    assert short.object == "response.input_tokens" and short.input_tokens >= 1
    longer = client.responses.input_tokens.count(model=MODEL, input="hello " * 50)
    assert longer.input_tokens > short.input_tokens
    instructed = client.responses.input_tokens.count(
        model=MODEL, input="hello " * 50, instructions="Answer in French, briefly."
    )
    assert instructed.input_tokens > longer.input_tokens
    assert client.responses.input_tokens.count(input="hello").input_tokens == short.input_tokens


def test_input_tokens_count_the_usage_a_response_reports(client: OpenAI) -> None:
    created = client.responses.create(model=MODEL, input="stored hello " * 10)
    counted = client.responses.input_tokens.count(model=MODEL, input="stored hello " * 10)
    assert created.usage is not None
    assert counted.input_tokens == created.usage.input_tokens
    chained = client.responses.input_tokens.count(
        model=MODEL, input="and again", previous_response_id=created.id
    )
    alone = client.responses.input_tokens.count(model=MODEL, input="and again")
    assert chained.input_tokens > alone.input_tokens  # the stored conversation counts


def test_input_tokens_count_refuses_a_bad_body(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.input_tokens.count(model=MODEL, input=7)  # type: ignore[arg-type]
    assert caught.value.param == "input"
    with pytest.raises(openai.BadRequestError) as missing_id:
        client.responses.input_tokens.count(
            model=MODEL,
            input=[{"type": "function_call_output", "output": "x"}],
        )
    assert missing_id.value.param == "input[0].call_id"
    with pytest.raises(openai.NotFoundError) as unknown:
        client.responses.input_tokens.count(model=MODEL, input="x", previous_response_id="resp_no")
    assert unknown.value.code == "previous_response_not_found"


# --------------------------------------------------------------------------- compaction


def test_compact_keeps_the_user_messages_and_one_compaction_item(client: OpenAI) -> None:
    first = client.responses.create(model=MODEL, input="stored weather", tools=[WEATHER_TOOL])
    call = first.output[0]
    assert call.type == "function_call"
    ask: Any = [{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}]
    compacted = client.responses.compact(model=MODEL, previous_response_id=first.id, input=ask)
    assert compacted.object == "response.compaction" and compacted.id.startswith("resp_")
    kinds = [(item.type, getattr(item, "role", None)) for item in compacted.output]
    assert kinds == [("message", "user"), ("compaction", None)]
    assert compacted.usage.input_tokens > 0 and compacted.usage.output_tokens > 0
    again = client.responses.compact(model=MODEL, previous_response_id=first.id, input=ask)
    summary = compacted.output[-1]
    assert summary.type == "compaction" and again.output[-1].type == "compaction"
    assert summary.encrypted_content == again.output[-1].encrypted_content  # deterministic
    # The compacted output continues the conversation: the fixture of the tool loop's
    # second turn (`turnIndex: 1`, `hasToolResult`) matches it.
    # (The SDK types a user message of the output as an assistant one: dump it as it came.)
    items: Any = [item.model_dump(exclude_none=True, warnings=False) for item in compacted.output]
    second = client.responses.create(model=MODEL, input=items, tools=[WEATHER_TOOL])
    assert second.output_text == "It is sunny in Paris."


def test_compact_refuses_a_bad_body(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.compact(model=None, input="x")
    assert caught.value.param == "model"
    with pytest.raises(openai.NotFoundError):
        client.responses.compact(model=MODEL, input="x", previous_response_id="resp_no")


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
