"""The Anthropic Messages surface, driven by the official `anthropic` SDK against a real server.

Fixtures: tests/sdk/fixtures/anthropic.yaml (every one scoped to `anthropic.messages` and an
"anth-" message). Besides what the SDK reads, every raw body and every raw stream event is
checked against the SDK's own types, strictly, plus the fields the real API always sends
although the SDK declares them optional.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anthropic
import httpx
import pytest
from anthropic import Anthropic, AsyncAnthropic
from anthropic.types import Message, RawMessageStreamEvent, Usage
from pydantic import BaseModel, TypeAdapter

from tests.conftest import ServerProcess
from tests.sdk.helpers import CITY_PARAMETERS_REQUIRED, WEATHER_DESCRIPTION, post
from tests.sdk.typecheck import assert_required_fields, validate_strict

MODEL = "claude-sonnet-4-6"
HELLO = "Hello from the Messages API, in several slices."
WEATHER_TOOL: dict[str, Any] = {
    "name": "get_weather",
    "description": WEATHER_DESCRIPTION,
    "input_schema": CITY_PARAMETERS_REQUIRED,
}
TIME_TOOL: dict[str, Any] = {"name": "get_time", "input_schema": {"type": "object"}}
THINKING: Any = {"type": "enabled", "budget_tokens": 1024}

# Fields the real API always sends that the SDK types leave optional.
ALWAYS: dict[type[BaseModel], tuple[str, ...]] = {
    Message: ("stop_reason", "stop_sequence"),
    Usage: ("cache_creation_input_tokens", "cache_read_input_tokens"),
}
EVENTS: TypeAdapter[Any] = TypeAdapter(RawMessageStreamEvent)


# --------------------------------------------------------------------------- plumbing


@pytest.fixture
def client(sdk_server: ServerProcess) -> Iterator[Anthropic]:
    with Anthropic(base_url=sdk_server.url, api_key="test", max_retries=0) as sdk:
        yield sdk


@pytest.fixture
async def aclient(sdk_server: ServerProcess) -> AsyncIterator[AsyncAnthropic]:
    async with AsyncAnthropic(base_url=sdk_server.url, api_key="test", max_retries=0) as sdk:
        yield sdk


def check_message(raw: dict[str, Any]) -> Message:
    """A message body as the real API sends it, by the SDK's own type."""
    message = validate_strict(Message, raw)
    assert_required_fields(Message, raw, ALWAYS)
    return message


def create_raw(client: Anthropic, text: str, **kwargs: Any) -> tuple[Message, dict[str, Any]]:
    """Create through the SDK; return what it parsed and the raw body, checked."""
    kwargs.setdefault("max_tokens", 1024)
    kwargs.setdefault("messages", [{"role": "user", "content": text}])
    raw_response = client.messages.with_raw_response.create(model=MODEL, **kwargs)
    raw: dict[str, Any] = raw_response.http_response.json()
    check_message(raw)
    return raw_response.parse(), raw


def sse_events(server: ServerProcess, text: str, **body: Any) -> list[dict[str, Any]]:
    """POST a streamed request and return its events, each named and checked."""
    request = {
        "model": MODEL,
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": text}],
        **body,
        "stream": True,
    }
    with httpx.Client(timeout=30) as http:
        response = http.post(
            server.url + "/v1/messages",
            json=request,
            headers={"x-api-key": "test", "anthropic-version": "2023-06-01"},
        )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    events = []
    for block in response.text.split("\n\n"):
        if not block.strip():
            continue
        lines = block.split("\n")
        assert len(lines) == 2, block
        assert lines[0].startswith("event: ") and lines[1].startswith("data: "), block
        payload = json.loads(lines[1].removeprefix("data: "))
        assert payload["type"] == lines[0].removeprefix("event: ")
        if payload == {"type": "ping"}:
            continue  # keep-alive the SDK skips (test_stream_pings_after_message_start)
        event = EVENTS.validate_python(payload, strict=True)
        assert_required_fields(type(event), payload, ALWAYS)
        events.append(payload)
    return events


def shape(events: list[dict[str, Any]]) -> list[str]:
    """Event types, deltas written as their delta type, each run of one delta type once."""
    out: list[str] = []
    for event in events:
        label = event["type"]
        if label == "content_block_delta":
            label = event["delta"]["type"] + "*"
        if not out or out[-1] != label or not label.endswith("*"):
            out.append(label)
    return out


def error_body(exc: anthropic.APIStatusError) -> dict[str, Any]:
    body: dict[str, Any] = exc.response.json()
    assert set(body) == {"type", "error"}
    assert body["type"] == "error"
    return body["error"]  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- plain bodies


def test_text_reply(client: Anthropic) -> None:
    message, raw = create_raw(client, "anth-hello")
    assert raw["content"] == [{"type": "text", "text": HELLO}]
    assert message.id.startswith("msg_")
    assert message.type == "message" and message.role == "assistant"
    assert message.model == MODEL
    assert message.stop_reason == "end_turn"
    assert message.stop_sequence is None
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    assert raw["usage"]["cache_creation_input_tokens"] == 0
    assert raw["usage"]["cache_read_input_tokens"] == 0


async def test_text_reply_async(aclient: AsyncAnthropic) -> None:
    message = await aclient.messages.create(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "anth-hello"}]
    )
    [block] = message.content
    assert block.type == "text" and block.text == HELLO
    assert message._request_id is not None and message._request_id.startswith("req_")


def test_block_content_and_system_blocks(client: Anthropic) -> None:
    _, raw = create_raw(
        client,
        "",
        system=[{"type": "text", "text": "You are an anth-pirate."}],
        messages=[{"role": "user", "content": [{"type": "text", "text": "anth-greet"}]}],
    )
    assert raw["content"] == [{"type": "text", "text": "Ahoy from the system prompt."}]


def test_system_string(client: Anthropic) -> None:
    _, raw = create_raw(client, "anth-greet", system="You are an anth-pirate.")
    assert raw["content"][0]["text"] == "Ahoy from the system prompt."


def test_image_block_carries_no_text(client: Anthropic) -> None:
    image = {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
    }
    content = [image, {"type": "text", "text": "anth-describe-image"}]
    _, raw = create_raw(client, "", messages=[{"role": "user", "content": content}])
    assert raw["content"][0]["text"] == "A red square."


def test_tool_use(client: Anthropic) -> None:
    message, raw = create_raw(client, "anth-weather", tools=[WEATHER_TOOL])
    assert raw["content"] == [
        {
            "type": "tool_use",
            "id": "toolu_anth_weather_1",
            "name": "get_weather",
            "input": {"city": "Paris"},
        }
    ]
    assert message.stop_reason == "tool_use"


def test_two_tool_uses_after_text(client: Anthropic) -> None:
    message, _ = create_raw(client, "anth-two-tools", tools=[WEATHER_TOOL, TIME_TOOL])
    text, *calls = message.content
    assert text.type == "text" and text.text == "Checking both."
    uses = [c for c in calls if c.type == "tool_use"]
    assert [(c.name, c.input) for c in uses] == [
        ("get_weather", {"city": "Paris"}),
        ("get_time", {"zone": "Europe/Paris"}),
    ]
    assert all(c.id.startswith("toolu_") for c in uses)
    assert len({c.id for c in uses}) == 2
    assert message.stop_reason == "tool_use"


@pytest.mark.parametrize(
    "result_content",
    ['{"temp": 18}', [{"type": "text", "text": '{"temp": 18}'}]],
    ids=["string", "text-blocks"],
)
def test_tool_result_turn(client: Anthropic, result_content: Any) -> None:
    first = client.messages.create(
        model=MODEL,
        max_tokens=256,
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
        messages=[{"role": "user", "content": "anth-weather"}],
    )
    [call] = first.content
    assert call.type == "tool_use"
    conversation: list[Any] = [
        {"role": "user", "content": "anth-weather"},
        {"role": "assistant", "content": first.content},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call.id, "content": result_content}],
        },
    ]
    second, _ = create_raw(client, "", messages=conversation, tools=[WEATHER_TOOL])
    assert second.content[0].type == "text"
    assert second.content[0].text == "It is 18 degrees and sunny in Paris."
    assert second.stop_reason == "end_turn"


def test_history_with_thinking_and_tool_use(client: Anthropic) -> None:
    """A hand-written history (thinking and tool_use blocks, then the tool_result) matches by
    the tool_use id, as the SDK-built one does."""
    conversation: list[Any] = [
        {"role": "user", "content": "anth-weather"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "hm", "signature": "sig"},
                {
                    "type": "tool_use",
                    "id": "toolu_anth_weather_1",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_anth_weather_1", "content": "18C"},
            ],
        },
    ]
    _, raw = create_raw(client, "", messages=conversation, tools=[WEATHER_TOOL])
    assert raw["content"] == [{"type": "text", "text": "It is 18 degrees and sunny in Paris."}]


def test_thinking_block_comes_first(client: Anthropic) -> None:
    message, raw = create_raw(client, "anth-think", thinking=THINKING)
    assert raw["content"] == [
        {
            "type": "thinking",
            "thinking": "The user asks for a sum: two plus two.",
            "signature": "c2lnbmF0dXJlLWFudGg=",
        },
        {"type": "text", "text": "4"},
    ]
    assert message.usage.input_tokens == 11 and message.usage.output_tokens == 10


def test_thinking_without_signature_gets_a_placeholder(client: Anthropic) -> None:
    message, _ = create_raw(client, "anth-ponder", thinking=THINKING)
    thinking = message.content[0]
    assert thinking.type == "thinking"
    assert thinking.thinking == "Pondering." and thinking.signature


def test_refusal(client: Anthropic) -> None:
    message, raw = create_raw(client, "anth-refuse")
    assert message.stop_reason == "refusal"
    assert raw["content"] == [{"type": "text", "text": "I can't help with that."}]


def test_length_is_max_tokens(client: Anthropic) -> None:
    message, _ = create_raw(client, "anth-truncated")
    assert message.stop_reason == "max_tokens"


# --------------------------------------------------------------------------- streams


def test_stream_helper_text(client: Anthropic) -> None:
    with client.messages.stream(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "anth-hello"}]
    ) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(pieces) > 1
    assert "".join(pieces) == HELLO
    assert [b.model_dump(exclude_none=True) for b in final.content] == [
        {"type": "text", "text": HELLO}
    ]
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens > 0


async def test_stream_helper_async_tools(aclient: AsyncAnthropic) -> None:
    async with aclient.messages.stream(
        model=MODEL,
        max_tokens=64,
        tools=[WEATHER_TOOL, TIME_TOOL],  # type: ignore[list-item]
        messages=[{"role": "user", "content": "anth-two-tools"}],
    ) as stream:
        final = await stream.get_final_message()
    text, first, second = final.content
    assert text.type == "text" and text.text == "Checking both."
    assert first.type == "tool_use" and first.input == {"city": "Paris"}
    assert second.type == "tool_use" and second.input == {"zone": "Europe/Paris"}
    assert final.stop_reason == "tool_use"


def test_stream_helper_thinking(client: Anthropic) -> None:
    with client.messages.stream(
        model=MODEL,
        max_tokens=2048,
        thinking=THINKING,
        messages=[{"role": "user", "content": "anth-think"}],
    ) as stream:
        final = stream.get_final_message()
    thinking, text = final.content
    assert thinking.type == "thinking"
    assert thinking.thinking == "The user asks for a sum: two plus two."
    assert thinking.signature == "c2lnbmF0dXJlLWFudGg="
    assert text.type == "text" and text.text == "4"
    assert final.usage.output_tokens == 10


def test_raw_stream_text_order(sdk_server: ServerProcess) -> None:
    events = sse_events(sdk_server, "anth-hello")
    assert shape(events) == [
        "message_start",
        "content_block_start",
        "text_delta*",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start = events[0]["message"]
    assert start["content"] == [] and start["stop_reason"] is None
    assert start["id"].startswith("msg_")
    deltas = [e["delta"]["text"] for e in events if e["type"] == "content_block_delta"]
    assert "".join(deltas) == HELLO and max(len(d) for d in deltas) <= 7
    assert events[-2]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert events[-2]["usage"]["output_tokens"] > 0


def test_raw_stream_thinking_then_tools(sdk_server: ServerProcess) -> None:
    think = sse_events(sdk_server, "anth-think", thinking=THINKING)
    assert shape(think) == [
        "message_start",
        "content_block_start",
        "thinking_delta*",
        "signature_delta*",
        "content_block_stop",
        "content_block_start",
        "text_delta*",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert think[1]["content_block"] == {"type": "thinking", "thinking": "", "signature": ""}
    signatures = [e for e in think if e.get("delta", {}).get("type") == "signature_delta"]
    assert len(signatures) == 1

    tools = sse_events(sdk_server, "anth-two-tools", tools=[WEATHER_TOOL, TIME_TOOL])
    starts = [e for e in tools if e["type"] == "content_block_start"]
    assert [e["index"] for e in starts] == [0, 1, 2]
    assert starts[1]["content_block"]["input"] == {}
    partial = "".join(
        e["delta"]["partial_json"]
        for e in tools
        if e["type"] == "content_block_delta" and e["index"] == 2
    )
    assert json.loads(partial) == {"zone": "Europe/Paris"}
    assert tools[-2]["delta"]["stop_reason"] == "tool_use"


def test_raw_stream_through_sdk(client: Anthropic) -> None:
    stream = client.messages.create(
        model=MODEL,
        max_tokens=64,
        stream=True,
        messages=[{"role": "user", "content": "anth-weather"}],
    )
    kinds = [event.type for event in stream]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert kinds.count("content_block_start") == 1


# --------------------------------------------------------------------------- errors


def test_rate_limit(client: Anthropic) -> None:
    with pytest.raises(anthropic.RateLimitError) as caught:
        create_raw(client, "anth-rate-limit")
    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "3"
    assert error_body(caught.value) == {
        "type": "rate_limit_error",
        "message": "Number of requests has exceeded your rate limit",
    }


async def test_overloaded(aclient: AsyncAnthropic) -> None:
    with pytest.raises(anthropic.OverloadedError) as caught:
        await aclient.messages.create(
            model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "anth-overloaded"}]
        )
    assert caught.value.status_code == 529
    assert error_body(caught.value)["type"] == "overloaded_error"


def test_server_error_is_api_error(client: Anthropic) -> None:
    with pytest.raises(anthropic.InternalServerError) as caught:
        create_raw(client, "anth-boom")
    assert error_body(caught.value) == {"type": "api_error", "message": "Internal server error"}


def test_miss_is_not_found(client: Anthropic) -> None:
    with pytest.raises(anthropic.NotFoundError) as caught:
        create_raw(client, "anth-nothing-matches-this")
    assert error_body(caught.value)["type"] == "not_found_error"


def test_missing_max_tokens_is_bad_request(sdk_server: ServerProcess) -> None:
    """The SDK types demand max_tokens, so the body goes through the client's raw post."""
    sdk = Anthropic(base_url=sdk_server.url, api_key="test", max_retries=0)
    with sdk, pytest.raises(anthropic.BadRequestError) as caught:
        sdk.post(
            "/v1/messages",
            body={"model": MODEL, "messages": [{"role": "user", "content": "anth-hello"}]},
            cast_to=httpx.Response,
        )
    error = error_body(caught.value)
    assert error["type"] == "invalid_request_error"
    assert "max_tokens" in error["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"max_tokens": 8, "messages": []},
        {"model": MODEL, "max_tokens": "8", "messages": []},
        {"model": MODEL, "max_tokens": 8, "messages": [{"role": "system", "content": "x"}]},
        {"model": MODEL, "max_tokens": 8, "messages": [{"role": "user", "content": 3}]},
        {"model": MODEL, "max_tokens": 8, "messages": [], "tools": [{"description": "x"}]},
        {
            "model": MODEL,
            "max_tokens": 8,
            "messages": [{"role": "user", "content": [{"type": "tool_result", "content": "x"}]}],
        },
    ],
    ids=["no-model", "max-tokens-type", "bad-role", "bad-content", "nameless-tool", "no-use-id"],
)
def test_malformed_requests_are_bad_requests(sdk_server: ServerProcess, body: Any) -> None:
    response = post(sdk_server, "/v1/messages", body)
    assert response.status_code == 400, response.text
    assert response.json()["type"] == "error"
    assert response.json()["error"]["type"] == "invalid_request_error"


# --------------------------------------------------------------------------- ping, redacted
# thinking, count_tokens


def test_stream_pings_after_message_start(sdk_server: ServerProcess) -> None:
    """The API sends one `ping` right after `message_start`; the SDK skips it."""
    with httpx.Client(timeout=30) as http:
        response = http.post(
            sdk_server.url + "/v1/messages",
            json={
                "model": MODEL,
                "max_tokens": 64,
                "stream": True,
                "messages": [{"role": "user", "content": "anth-hello"}],
            },
        )
    names = [
        line.removeprefix("event: ") for line in response.text.splitlines() if line[:6] == "event:"
    ]
    assert names[:3] == ["message_start", "ping", "content_block_start"]
    assert names.count("ping") == 1
    assert 'event: ping\ndata: {"type":"ping"}\n\n' in response.text


REDACTED = "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"


def test_redacted_thinking_follows_thinking(client: Anthropic) -> None:
    message, raw = create_raw(client, "anth-redacted-reasoning", thinking=THINKING)
    kinds = [block["type"] for block in raw["content"]]
    assert kinds == ["thinking", "redacted_thinking", "text", "tool_use"]
    assert raw["content"][1] == {"type": "redacted_thinking", "data": REDACTED}
    redacted = message.content[1]
    assert redacted.type == "redacted_thinking" and redacted.data == REDACTED
    assert message.stop_reason == "tool_use"


def test_redacted_thinking_without_visible_thinking(client: Anthropic) -> None:
    _, raw = create_raw(client, "anth-sealed-mind", thinking=THINKING)
    assert raw["content"] == [
        {"type": "redacted_thinking", "data": "first-sealed-blob"},
        {"type": "redacted_thinking", "data": "second-sealed-blob"},
        {"type": "text", "text": "Only redacted thinking before me."},
    ]


def test_redacted_thinking_streamed(client: Anthropic, sdk_server: ServerProcess) -> None:
    """Redacted blocks arrive whole in content_block_start, with no delta; later blocks move
    up so indexes stay 0, 1, 2, ... in start order (the SDK appends on start)."""
    events = sse_events(sdk_server, "anth-redacted-reasoning", thinking=THINKING)
    starts = [e for e in events if e["type"] == "content_block_start"]
    assert [e["index"] for e in starts] == [0, 1, 2, 3]
    assert starts[1]["content_block"] == {"type": "redacted_thinking", "data": REDACTED}
    assert not [e for e in events if e["type"] == "content_block_delta" and e["index"] == 1]
    stops = [e["index"] for e in events if e["type"] == "content_block_stop"]
    assert stops == [0, 1, 2, 3]
    deltas = [e["index"] for e in events if e["type"] == "content_block_delta"]
    assert deltas == sorted(deltas)

    with client.messages.stream(
        model=MODEL,
        max_tokens=2048,
        thinking=THINKING,
        messages=[{"role": "user", "content": "anth-redacted-reasoning"}],
    ) as stream:
        final = stream.get_final_message()
    thinking, redacted, text, tool = final.content
    assert thinking.type == "thinking" and thinking.thinking == "Visible part of the reasoning."
    assert redacted.type == "redacted_thinking" and redacted.data == REDACTED
    assert text.type == "text" and text.text == "Answer after redacted thinking."
    assert tool.type == "tool_use" and tool.input == {"city": "Oslo"}


def test_redacted_only_streamed(sdk_server: ServerProcess) -> None:
    events = sse_events(sdk_server, "anth-sealed-mind", thinking=THINKING)
    starts = [e for e in events if e["type"] == "content_block_start"]
    assert [(e["index"], e["content_block"]["type"]) for e in starts] == [
        (0, "redacted_thinking"),
        (1, "redacted_thinking"),
        (2, "text"),
    ]


def test_count_tokens(client: Anthropic) -> None:
    short = client.messages.count_tokens(
        model=MODEL, messages=[{"role": "user", "content": "anth-hello"}]
    )
    long = client.messages.count_tokens(
        model=MODEL,
        system="You are a careful assistant who counts every token.",
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
        messages=[{"role": "user", "content": "anth-hello " * 40}],
    )
    assert short.input_tokens > 0
    assert long.input_tokens > short.input_tokens
    # The same estimate the message's usage reports.
    message = client.messages.create(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "anth-hello"}]
    )
    assert message.usage.input_tokens == short.input_tokens


async def test_count_tokens_async(aclient: AsyncAnthropic) -> None:
    counted = await aclient.messages.count_tokens(
        model=MODEL, messages=[{"role": "user", "content": "anything, no fixture needed"}]
    )
    assert counted.input_tokens == 7


def test_count_tokens_is_not_a_conversation_turn(sdk_server: ServerProcess) -> None:
    """count_tokens never consults fixtures: an error fixture's message still counts."""
    request = {"model": MODEL, "messages": [{"role": "user", "content": "anth-rate-limit"}]}
    response = post(sdk_server, "/v1/messages/count_tokens", request)
    assert response.status_code == 200
    assert response.json() == {"input_tokens": 4}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"messages": [{"role": "user", "content": "x"}]}, 400),
        ({"model": MODEL, "messages": [{"role": "robot", "content": "x"}]}, 400),
        ([1, 2], 400),
        ("not json", 400),
    ],
    ids=["no-model", "bad-role", "array", "malformed"],
)
def test_count_tokens_bad_requests(sdk_server: ServerProcess, body: Any, status: int) -> None:
    content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    response = httpx.post(
        sdk_server.url + "/v1/messages/count_tokens",
        content=content,
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert response.status_code == status, response.text
    assert response.json()["type"] == "error"
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_count_tokens_refuses_an_oversized_body(sdk_server: ServerProcess) -> None:
    """Plain routes read bodies under the same 10 MiB limit as the pipeline, in their envelope."""
    huge = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "x" * 11_000_000}]})
    response = httpx.post(
        sdk_server.url + "/v1/messages/count_tokens",
        content=huge.encode(),
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 413, response.text
    assert response.json()["error"]["type"] == "request_too_large"


def test_count_tokens_error_class(client: Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError):
        client.messages.count_tokens(model=MODEL, messages=[{"role": "system", "content": "x"}])  # type: ignore[misc, list-item]
