"""OpenAI Chat Completions driven by the official `openai` SDK against a real aimock process.

Every scenario runs with the sync and the async client. Raw bodies and raw stream chunks are
also validated strictly against the SDK's types (see typecheck.py), because the SDK itself
tolerates missing fields that real clients read. Fixtures: tests/sdk/fixtures/chat.yaml.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI
from openai.types.chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    chat_completion,
    chat_completion_chunk,
)
from openai.types.completion_usage import CompletionUsage
from pydantic import BaseModel

from tests.conftest import ServerProcess
from tests.sdk.clients import Client, collect, resolve
from tests.sdk.helpers import WEATHER_TOOL, user
from tests.sdk.typecheck import assert_required_fields, validate_strict

MODEL = "gpt-4o"
STORY = "Once upon a time a mock server streamed this sentence in several slices."
REFUSAL = "I'm sorry, I can't help with that request."
REASONING = "The user wants a number. Two plus two is four, so answer four."

# Fields the real API always sends although the SDK types declare them optional.
ALWAYS: dict[type[BaseModel], set[str]] = {
    ChatCompletion: {"usage", "system_fingerprint", "service_tier"},
    chat_completion.Choice: {"logprobs"},
    ChatCompletionMessage: {"content", "refusal", "annotations"},
    CompletionUsage: {"prompt_tokens_details", "completion_tokens_details"},
    ChatCompletionChunk: {"system_fingerprint", "service_tier"},
    chat_completion_chunk.Choice: {"finish_reason", "logprobs"},
}
ALWAYS_WITH_USAGE = {**ALWAYS, ChatCompletionChunk: ALWAYS[ChatCompletionChunk] | {"usage"}}


async def create(client: Client, text: str, **kwargs: Any) -> Any:
    return await resolve(client.chat.completions.create(model=MODEL, messages=user(text), **kwargs))


async def stream_chunks(client: Client, text: str, **kwargs: Any) -> list[ChatCompletionChunk]:
    return await collect(await create(client, text, stream=True, **kwargs))


async def stream_helper(client: Client, **kwargs: Any) -> tuple[list[Any], Any]:
    """Events and the final completion of `client.chat.completions.stream(...)`."""
    manager = client.chat.completions.stream(model=MODEL, **kwargs)
    if isinstance(client, AsyncOpenAI):
        async with manager as astream:
            events = [event async for event in astream]
            return events, await astream.get_final_completion()
    with manager as sstream:
        events = list(sstream)
        return events, sstream.get_final_completion()


def content_of(chunks: Iterable[ChatCompletionChunk]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def raw_sse(server: ServerProcess, body: dict[str, Any]) -> list[str]:
    """The `data:` payloads of a raw streamed response, in order, read with httpx."""
    with httpx.stream("POST", server.base_url + "/chat/completions", json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines), lines
    return [line.removeprefix("data: ") for line in lines]


# -- plain text ---------------------------------------------------------------------------


async def test_plain_text(client: Client) -> None:
    completion = await create(client, "chat-plain-hello")
    assert completion.object == "chat.completion"
    assert completion.id.startswith("chatcmpl-")
    assert completion.model == MODEL
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == "Hello from the chat fixture."
    assert choice.message.refusal is None
    assert choice.message.tool_calls is None
    assert choice.finish_reason == "stop"
    usage = completion.usage
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


@pytest.mark.parametrize(
    "text",
    [
        "chat-plain-hello",
        "chat-tool-parallel",
        "chat-refuse-me",
        "chat-think-first",
        "chat-usage-counts",
        "chat-fixed-identity",
        "chat-cut-short",
    ],
)
async def test_raw_body_matches_sdk_types_strictly(client: Client, text: str) -> None:
    raw_response = await resolve(
        client.chat.completions.with_raw_response.create(model=MODEL, messages=user(text))
    )
    raw = raw_response.http_response.json()
    validate_strict(ChatCompletion, raw)
    assert_required_fields(ChatCompletion, raw, ALWAYS)


# -- streaming text -----------------------------------------------------------------------


async def test_streamed_text(client: Client) -> None:
    chunks = await stream_chunks(client, "chat-stream-story")
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.choices[0].delta.role is None for c in chunks[1:])
    assert content_of(chunks) == STORY
    content_deltas = [c for c in chunks if c.choices[0].delta.content]
    assert len(content_deltas) > 1, "a 73-character answer streams in several slices"
    assert [c.choices[0].finish_reason for c in chunks[:-1]] == [None] * (len(chunks) - 1)
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.choices[0].delta.content is None
    assert len({c.id for c in chunks}) == 1
    assert all(c.object == "chat.completion.chunk" and c.usage is None for c in chunks)


async def test_streamed_usage_chunk(client: Client) -> None:
    chunks = await stream_chunks(
        client, "chat-stream-story", stream_options={"include_usage": True}
    )
    *body, usage_chunk = chunks
    assert usage_chunk.choices == []
    assert usage_chunk.usage is not None
    assert usage_chunk.usage.completion_tokens > 0
    assert usage_chunk.usage.total_tokens == (
        usage_chunk.usage.prompt_tokens + usage_chunk.usage.completion_tokens
    )
    assert all(c.usage is None for c in body)
    assert body[-1].choices[0].finish_reason == "stop"
    assert content_of(body) == STORY


@pytest.mark.parametrize(
    "text",
    ["chat-stream-story", "chat-tool-parallel", "chat-refuse-me", "chat-think-first"],
)
@pytest.mark.parametrize("include_usage", [False, True])
def test_raw_stream_chunks_match_sdk_types_strictly(
    sdk_server: ServerProcess, text: str, include_usage: bool
) -> None:
    body: dict[str, Any] = {"model": MODEL, "messages": user(text), "stream": True}
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    payloads = raw_sse(sdk_server, body)
    assert payloads[-1] == "[DONE]", "the stream ends with [DONE] and nothing after it"
    assert payloads.count("[DONE]") == 1
    chunks = [json.loads(p) for p in payloads[:-1]]
    always = ALWAYS_WITH_USAGE if include_usage else ALWAYS
    for chunk in chunks:
        validate_strict(ChatCompletionChunk, chunk)
        assert_required_fields(ChatCompletionChunk, chunk, always)
    if include_usage:
        assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0
        assert all(c["usage"] is None for c in chunks[:-1])
    else:
        assert all("usage" not in c for c in chunks)


async def test_chunk_size_is_honoured(client: Client) -> None:
    chunks = await stream_chunks(client, "chat-small-chunks")
    pieces = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert pieces == ["abcde", "fghij", "klmno", "pqrst", "uvw"]


# -- tool calls ---------------------------------------------------------------------------


async def test_one_tool_call(client: Client) -> None:
    completion = await create(client, "chat-tool-single")
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    [call] = choice.message.tool_calls
    assert call.id == "call_single_1"
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments)["city"] == "Paris"


async def test_several_tool_calls_in_one_turn(client: Client) -> None:
    completion = await create(client, "chat-tool-parallel")
    calls = completion.choices[0].message.tool_calls
    assert [c.function.name for c in calls] == ["get_weather", "get_time", "get_news"]
    assert [c.id for c in calls[:2]] == ["call_many_1", "call_many_2"]
    assert calls[2].id.startswith("call_"), "an id the fixture omits is generated"
    assert json.loads(calls[1].function.arguments) == {
        "timezone": "Europe/Paris",
        "format": "24h with seconds please",
    }
    assert completion.choices[0].finish_reason == "tool_calls"


def tool_deltas(chunks: list[ChatCompletionChunk]) -> dict[int, list[Any]]:
    by_index: dict[int, list[Any]] = {}
    for chunk in chunks:
        for delta in chunk.choices[0].delta.tool_calls or ():
            by_index.setdefault(delta.index, []).append(delta)
    return by_index


async def test_streamed_tool_calls(client: Client) -> None:
    chunks = await stream_chunks(client, "chat-tool-parallel")
    by_index = tool_deltas(chunks)
    assert sorted(by_index) == [0, 1, 2]
    names = []
    for deltas in by_index.values():
        first, *rest = deltas
        assert first.id is not None and first.type == "function"
        assert first.function.name is not None
        names.append(first.function.name)
        # The SDK accumulator concatenates repeated strings: id and name come once per call.
        assert all(d.id is None and d.function.name is None for d in rest)
        arguments = "".join(d.function.arguments or "" for d in deltas)
        assert isinstance(json.loads(arguments), dict)
    assert names == ["get_weather", "get_time", "get_news"]
    assert len(by_index[1]) > 2, "long arguments stream in several fragments"
    assert by_index[0][0].id == "call_many_1"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


async def test_streamed_single_tool_call_arguments(client: Client) -> None:
    chunks = await stream_chunks(client, "chat-tool-single")
    [deltas] = tool_deltas(chunks).values()
    arguments = json.loads("".join(d.function.arguments or "" for d in deltas))
    assert arguments["city"] == "Paris"
    assert arguments["note"].startswith("a longer value")


# -- the SDK stream helper (its accumulator concatenates every repeated string) -----------


async def test_stream_helper_text(client: Client) -> None:
    events, final = await stream_helper(client, messages=user("chat-stream-story"))
    message = final.choices[0].message
    assert message.role == "assistant"
    assert message.content == STORY
    assert message.refusal is None
    assert final.choices[0].finish_reason == "stop"
    done = [e for e in events if e.type == "content.done"]
    assert [e.content for e in done] == [STORY]
    deltas = "".join(e.delta for e in events if e.type == "content.delta")
    assert deltas == STORY


async def test_stream_helper_tool_calls(client: Client) -> None:
    events, final = await stream_helper(client, messages=user("chat-tool-parallel"))
    message = final.choices[0].message
    assert message.role == "assistant"
    calls = message.tool_calls
    assert [c.id for c in calls[:2]] == ["call_many_1", "call_many_2"]
    assert [c.type for c in calls] == ["function"] * 3
    assert [c.function.name for c in calls] == ["get_weather", "get_time", "get_news"]
    assert json.loads(calls[0].function.arguments) == {"city": "Paris", "unit": "celsius"}
    done = [e for e in events if e.type == "tool_calls.function.arguments.done"]
    assert [e.name for e in done] == ["get_weather", "get_time", "get_news"]
    assert final.choices[0].finish_reason == "tool_calls"


async def test_stream_helper_usage(client: Client) -> None:
    _, final = await stream_helper(
        client, messages=user("chat-usage-counts"), stream_options={"include_usage": True}
    )
    assert final.usage.prompt_tokens == 11
    assert final.usage.completion_tokens == 22
    assert final.choices[0].message.content == "Counted."


# -- structured output --------------------------------------------------------------------


class City(BaseModel):
    name: str
    country: str
    population: int


async def test_parse_with_pydantic_model(client: Client) -> None:
    completion = await resolve(
        client.chat.completions.parse(
            model=MODEL, messages=user("chat-structured-city"), response_format=City
        )
    )
    message = completion.choices[0].message
    assert message.parsed == City(name="Paris", country="France", population=2102650)
    assert message.refusal is None


async def test_stream_helper_with_pydantic_model(client: Client) -> None:
    events, final = await stream_helper(
        client, messages=user("chat-structured-city"), response_format=City
    )
    assert final.choices[0].message.parsed == City(
        name="Paris", country="France", population=2102650
    )
    [done] = [e for e in events if e.type == "content.done"]
    assert done.parsed == final.choices[0].message.parsed


async def test_json_object_mode(client: Client) -> None:
    completion = await create(client, "chat-json-mode", response_format={"type": "json_object"})
    assert json.loads(completion.choices[0].message.content) == {
        "answer": "forty-two",
        "sure": True,
    }


async def test_json_schema_fixture_needs_json_schema_request(client: Client) -> None:
    """The structured fixture is scoped to `responseFormat: json_schema`: a plain request for
    the same text misses, proving the format reaches the matcher."""
    with pytest.raises(openai.NotFoundError):
        await create(client, "chat-structured-city")


async def test_refusal(client: Client) -> None:
    completion = await resolve(
        client.chat.completions.parse(
            model=MODEL, messages=user("chat-refuse-me"), response_format=City
        )
    )
    message = completion.choices[0].message
    assert message.parsed is None
    assert message.refusal == REFUSAL
    assert message.content is None
    assert completion.choices[0].finish_reason == "stop"


async def test_streamed_refusal(client: Client) -> None:
    events, final = await stream_helper(
        client, messages=user("chat-refuse-me"), response_format=City
    )
    message = final.choices[0].message
    assert message.refusal == REFUSAL
    assert message.parsed is None
    assert message.content is None, "a refusal stream carries no content, as the body does"
    assert [e.refusal for e in events if e.type == "refusal.done"] == [REFUSAL]


async def test_length_finish_reason_raises_in_parse(client: Client) -> None:
    with pytest.raises(openai.LengthFinishReasonError):
        await resolve(
            client.chat.completions.parse(
                model=MODEL, messages=user("chat-cut-short"), response_format=City
            )
        )
    completion = await create(client, "chat-cut-short")
    assert completion.choices[0].finish_reason == "length"
    assert completion.choices[0].message.content == '{"name": "Par'


async def test_length_finish_reason_raises_in_stream_helper(client: Client) -> None:
    with pytest.raises(openai.LengthFinishReasonError):
        await stream_helper(client, messages=user("chat-cut-short"), response_format=City)


async def test_content_filter_finish_reason_raises_in_parse(client: Client) -> None:
    with pytest.raises(openai.ContentFilterFinishReasonError):
        await resolve(
            client.chat.completions.parse(
                model=MODEL, messages=user("chat-filtered-out"), response_format=City
            )
        )
    completion = await create(client, "chat-filtered-out")
    assert completion.choices[0].finish_reason == "content_filter"


# -- reasoning ----------------------------------------------------------------------------


async def test_reasoning_content(client: Client) -> None:
    completion = await create(client, "chat-think-first")
    message = completion.choices[0].message
    assert message.content == "The answer is 4."
    assert message.model_extra["reasoning_content"] == REASONING
    details = completion.usage.completion_tokens_details
    assert details.reasoning_tokens > 0
    assert completion.usage.completion_tokens > details.reasoning_tokens


async def test_streamed_reasoning_content(client: Client) -> None:
    chunks = await stream_chunks(client, "chat-think-first")
    reasoning = "".join(
        (c.choices[0].delta.model_extra or {}).get("reasoning_content", "") for c in chunks
    )
    assert reasoning == REASONING
    assert content_of(chunks) == "The answer is 4."
    _, final = await stream_helper(client, messages=user("chat-think-first"))
    message = final.choices[0].message
    assert message.content == "The answer is 4."
    assert message.role == "assistant"
    assert (message.model_extra or {}).get("reasoning_content") == REASONING


# -- multi-turn tool loop -----------------------------------------------------------------


async def test_tool_loop(client: Client) -> None:
    messages: list[Any] = user("chat-loop-weather")
    first = await resolve(
        client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL])
    )
    assistant = first.choices[0].message
    [call] = assistant.tool_calls
    assert call.id == "call_loop_1"
    messages.append(assistant.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": '{"celsius": 18}'})
    second = await resolve(
        client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL])
    )
    assert second.choices[0].message.content == "It is 18 degrees and sunny in Paris."
    assert second.choices[0].finish_reason == "stop"


async def test_tool_result_for_another_call_id_misses(client: Client) -> None:
    messages: list[Any] = [
        *user("chat-loop-weather"),
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_other",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_other", "content": "{}"},
    ]
    with pytest.raises(openai.NotFoundError):
        await resolve(client.chat.completions.create(model=MODEL, messages=messages))


# -- usage and identity overrides ---------------------------------------------------------


async def test_usage_override(client: Client) -> None:
    completion = await create(client, "chat-usage-counts")
    usage = completion.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (11, 22, 33)
    assert usage.completion_tokens_details.reasoning_tokens == 5
    assert usage.prompt_tokens_details.cached_tokens == 3


async def test_streamed_usage_override(client: Client) -> None:
    chunks = await stream_chunks(
        client, "chat-usage-counts", stream_options={"include_usage": True}
    )
    usage = chunks[-1].usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (11, 22, 33)


async def test_id_model_created_fingerprint_overrides(client: Client) -> None:
    completion = await create(client, "chat-fixed-identity")
    assert completion.id == "chatcmpl-fixed-123"
    assert completion.model == "gpt-override-model"
    assert completion.created == 1700000123
    assert completion.system_fingerprint == "fp_custom_42"
    chunks = await stream_chunks(client, "chat-fixed-identity")
    assert {c.id for c in chunks} == {"chatcmpl-fixed-123"}
    assert {c.model for c in chunks} == {"gpt-override-model"}
    assert {c.system_fingerprint for c in chunks} == {"fp_custom_42"}


# -- sequences ----------------------------------------------------------------------------


async def ask_as(client: Client, text: str, test_id: str) -> str:
    completion = await create(client, text, extra_headers={"X-Test-Id": test_id})
    content: str = completion.choices[0].message.content
    return content


async def test_sequence_answers_in_turn_per_test_id(client: Client) -> None:
    test_id = f"chat-seq-{uuid.uuid4()}"
    answers = [await ask_as(client, "chat-sequence-steps", test_id) for _ in range(3)]
    assert answers == ["first answer", "second answer", "third answer"]
    with pytest.raises(openai.NotFoundError):
        await ask_as(client, "chat-sequence-steps", test_id)
    other = f"chat-seq-{uuid.uuid4()}"
    assert await ask_as(client, "chat-sequence-steps", other) == "first answer"


async def test_sequence_index_fixtures(client: Client) -> None:
    test_id = f"chat-seqindex-{uuid.uuid4()}"
    answers = [await ask_as(client, "chat-seqindex-steps", test_id) for _ in range(3)]
    assert answers == ["step zero", "step one", "step two"]
    with pytest.raises(openai.NotFoundError) as caught:
        await ask_as(client, "chat-seqindex-steps", test_id)
    assert caught.value.code == "no_fixture_match"
    assert await ask_as(client, "chat-seqindex-steps", f"chat-seqindex-{uuid.uuid4()}") == (
        "step zero"
    )


async def test_streamed_sequence_advances_too(client: Client) -> None:
    test_id = f"chat-seq-stream-{uuid.uuid4()}"
    headers = {"X-Test-Id": test_id}
    first = await stream_chunks(client, "chat-sequence-steps", extra_headers=headers)
    second = await stream_chunks(client, "chat-sequence-steps", extra_headers=headers)
    assert (content_of(first), content_of(second)) == ("first answer", "second answer")


# -- message shapes -----------------------------------------------------------------------


async def test_text_and_tool_calls_in_one_answer(client: Client) -> None:
    completion = await create(client, "chat-say-then-call")
    message = completion.choices[0].message
    assert message.content == "Let me look that up."
    assert [c.id for c in message.tool_calls] == ["call_both_1"]
    assert completion.choices[0].finish_reason == "tool_calls"
    _, final = await stream_helper(client, messages=user("chat-say-then-call"))
    streamed = final.choices[0].message
    assert streamed.content == "Let me look that up."
    assert [(c.id, c.function.name) for c in streamed.tool_calls] == [
        ("call_both_1", "search_docs")
    ]
    assert json.loads(streamed.tool_calls[0].function.arguments) == {"query": "aimock fixtures"}


async def test_content_parts_and_developer_role(client: Client) -> None:
    messages = [
        {"role": "developer", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "chat-plain-"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                {"type": "text", "text": "hello"},
            ],
        },
    ]
    completion = await resolve(client.chat.completions.create(model=MODEL, messages=messages))
    assert completion.choices[0].message.content == "Hello from the chat fixture."
