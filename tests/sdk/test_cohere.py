"""Cohere v2 chat and embeddings, driven by the official `cohere` SDK against a real server.

Fixtures: tests/sdk/fixtures/cohere.yaml (every one scoped to a Cohere surface and a "coh-"
message). Raw bodies and every raw SSE event are also checked strictly against the SDK's own
pydantic types, plus the fields the real API always sends although the SDK leaves them
optional.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import AsyncIterator, Iterator
from typing import Any

import cohere
import httpx
import pytest
from cohere import AsyncClientV2, ClientV2
from cohere.errors import (
    BadRequestError,
    InternalServerError,
    NotFoundError,
    ServiceUnavailableError,
    TooManyRequestsError,
)
from cohere.types import (
    AssistantMessageResponse,
    EmbedByTypeResponse,
    EmbedInput,
    JsonObjectResponseFormatV2,
    TextEmbedContent,
    Thinking,
    Usage,
    UsageBilledUnits,
    UsageTokens,
)
from cohere.types.embed_response import EmbeddingsFloatsEmbedResponse
from cohere.v2.types import V2ChatResponse, V2ChatStreamResponse
from pydantic import BaseModel, TypeAdapter

from aimock.providers.common import deterministic_vector
from tests.conftest import ServerProcess
from tests.sdk.helpers import CITY_SCHEMA, DESCRIBED_WEATHER_TOOL, TIME_TOOL, post, user
from tests.sdk.typecheck import assert_required_fields, validate_strict

MODEL = "command-a-03-2025"
EMBED_MODEL = "embed-v4.0"
HELLO = "Hello from Cohere's chat API."
# Fields the real API always sends that the SDK types leave optional.
ALWAYS: dict[type[BaseModel], tuple[str, ...]] = {
    V2ChatResponse: ("usage",),
    Usage: ("billed_units", "tokens"),
    UsageBilledUnits: ("input_tokens", "output_tokens"),
    UsageTokens: ("input_tokens", "output_tokens"),
}
EVENTS: TypeAdapter[Any] = TypeAdapter(V2ChatStreamResponse)


# --------------------------------------------------------------------------- plumbing


@pytest.fixture
def client(sdk_server: ServerProcess) -> Iterator[ClientV2]:
    # The SDK's clients have no close(); passing the httpx client lets the test close it.
    with httpx.Client(timeout=30) as http:
        yield ClientV2(api_key="test", base_url=sdk_server.url, max_retries=0, httpx_client=http)


@pytest.fixture
async def aclient(sdk_server: ServerProcess) -> AsyncIterator[AsyncClientV2]:
    async with httpx.AsyncClient(timeout=30) as http:
        yield AsyncClientV2(
            api_key="test", base_url=sdk_server.url, max_retries=0, httpx_client=http
        )


def chat_raw(server: ServerProcess, **body: Any) -> dict[str, Any]:
    """A plain chat body, checked against the SDK's type."""
    response = post(server, "/v2/chat", {"model": MODEL, **body}, api_key="test")
    assert response.status_code == 200, response.text
    raw: dict[str, Any] = response.json()
    validate_strict(V2ChatResponse, raw)
    assert_required_fields(V2ChatResponse, raw, ALWAYS)
    validate_strict(AssistantMessageResponse, raw["message"])
    return raw


def sse_events(server: ServerProcess, **body: Any) -> list[dict[str, Any]]:
    """A streamed chat's events, each named after its type and checked."""
    request = {"model": MODEL, **body, "stream": True}
    response = post(server, "/v2/chat", request, api_key="test")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    events = []
    for block in response.text.split("\n\n"):
        if not block.strip():
            continue
        name, data = block.split("\n")
        payload = json.loads(data.removeprefix("data: "))
        assert name == "event: " + payload["type"]
        event = EVENTS.validate_python(payload, strict=True)
        assert_required_fields(type(event), payload, ALWAYS)
        events.append(payload)
    return events


def kinds(events: list[dict[str, Any]]) -> list[str]:
    """Event types, each run of one delta type written once with a star."""
    out: list[str] = []
    for event in events:
        label = event["type"]
        if label.endswith("-delta"):
            label += "*"
        if not out or out[-1] != label or not label.endswith("*"):
            out.append(label)
    return out


def texts(message: Any) -> str:
    return "".join(item.text for item in message.content or () if item.type == "text")


# --------------------------------------------------------------------------- chat


def test_chat_text(client: ClientV2, sdk_server: ServerProcess) -> None:
    response = client.chat(model=MODEL, messages=user("coh-hello"))  # type: ignore[arg-type]
    assert texts(response.message) == HELLO
    assert response.finish_reason == "COMPLETE"
    assert response.message.role == "assistant" and not response.message.tool_calls
    assert response.usage and response.usage.tokens and response.usage.billed_units
    assert response.usage.tokens.input_tokens == 9 and response.usage.tokens.output_tokens == 7
    raw = chat_raw(sdk_server, messages=user("coh-hello"))
    assert raw["message"] == {"role": "assistant", "content": [{"type": "text", "text": HELLO}]}
    assert raw["usage"]["billed_units"] == {"input_tokens": 9, "output_tokens": 7}


async def test_chat_async(aclient: AsyncClientV2) -> None:
    response = await aclient.chat(model=MODEL, messages=user("coh-hello"))  # type: ignore[arg-type]
    assert texts(response.message) == HELLO


def test_system_and_content_items(client: ClientV2) -> None:
    messages: Any = [
        {"role": "system", "content": [{"type": "text", "text": "You are a coh-pirate."}]},
        {"role": "user", "content": [{"type": "text", "text": "coh-greet"}]},
    ]
    assert texts(client.chat(model=MODEL, messages=messages).message) == (
        "Ahoy from the system prompt."
    )


def test_chat_stream(client: ClientV2) -> None:
    events = list(client.chat_stream(model=MODEL, messages=user("coh-hello")))  # type: ignore[arg-type]
    assert [e.type for e in events][:2] == ["message-start", "content-start"]
    pieces = [e.delta.message.content.text for e in events if e.type == "content-delta"]  # type: ignore[union-attr]
    assert len(pieces) > 1 and "".join(pieces) == HELLO  # type: ignore[arg-type]
    end = events[-1]
    assert end.type == "message-end" and end.delta and end.delta.finish_reason == "COMPLETE"
    assert end.delta.usage and end.delta.usage.tokens
    assert end.delta.usage.tokens.output_tokens == 7


async def test_chat_stream_async(aclient: AsyncClientV2) -> None:
    stream = aclient.chat_stream(model=MODEL, messages=user("coh-hello"))  # type: ignore[arg-type]
    pieces = [e.delta.message.content.text async for e in stream if e.type == "content-delta"]  # type: ignore[union-attr]
    assert "".join(pieces) == HELLO  # type: ignore[arg-type]


def test_raw_stream_text_order(sdk_server: ServerProcess) -> None:
    events = sse_events(sdk_server, messages=user("coh-hello"))
    assert kinds(events) == [
        "message-start",
        "content-start",
        "content-delta*",
        "content-end",
        "message-end",
    ]
    assert events[0]["delta"]["message"]["role"] == "assistant" and events[0]["id"]
    assert events[1]["delta"]["message"]["content"] == {"type": "text", "text": ""}
    assert max(len(e["delta"]["message"]["content"]["text"]) for e in events[2:-2]) <= 6
    assert events[-1]["delta"]["finish_reason"] == "COMPLETE"


def test_length_is_max_tokens(client: ClientV2, sdk_server: ServerProcess) -> None:
    response = client.chat(model=MODEL, messages=user("coh-truncated"))  # type: ignore[arg-type]
    assert response.finish_reason == "MAX_TOKENS"
    events = sse_events(sdk_server, messages=user("coh-truncated"))
    assert events[-1]["delta"]["finish_reason"] == "MAX_TOKENS"


# --------------------------------------------------------------------------- tools


def test_tool_call(client: ClientV2, sdk_server: ServerProcess) -> None:
    response = client.chat(
        model=MODEL,
        messages=user("coh-weather"),
        tools=[DESCRIBED_WEATHER_TOOL],  # type: ignore[arg-type, list-item]
    )
    assert response.finish_reason == "TOOL_CALL"
    assert response.message.tool_plan == "I will look up the weather in Paris."
    assert not response.message.content
    [call] = response.message.tool_calls or []
    assert call.id == "get_weather_coh_1" and call.type == "function"
    assert call.function and call.function.name == "get_weather"
    assert json.loads(call.function.arguments or "") == {"city": "Paris"}
    raw = chat_raw(sdk_server, messages=user("coh-weather"), tools=[DESCRIBED_WEATHER_TOOL])
    assert isinstance(raw["message"]["tool_calls"][0]["function"]["arguments"], str)


def test_tool_result_turn(client: ClientV2) -> None:
    first = client.chat(model=MODEL, messages=user("coh-weather"), tools=[DESCRIBED_WEATHER_TOOL])  # type: ignore[arg-type, list-item]
    [call] = first.message.tool_calls or []
    conversation: Any = [
        *user("coh-weather"),
        {"role": "assistant", "tool_plan": first.message.tool_plan, "tool_calls": [call]},
        {
            "role": "tool",
            "tool_call_id": call.id,
            "content": [{"type": "document", "document": {"data": {"temperature": 18}}}],
        },
    ]
    second = client.chat(model=MODEL, messages=conversation, tools=[DESCRIBED_WEATHER_TOOL])  # type: ignore[list-item]
    assert texts(second.message) == "It is 18 degrees in Paris."
    assert second.finish_reason == "COMPLETE"


async def test_tool_result_turn_stream_async(aclient: AsyncClientV2) -> None:
    conversation: Any = [
        *user("coh-weather"),
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "get_weather_coh_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "get_weather_coh_1", "content": "18C"},
    ]
    stream = aclient.chat_stream(model=MODEL, messages=conversation)
    pieces = [e.delta.message.content.text async for e in stream if e.type == "content-delta"]  # type: ignore[union-attr]
    assert "".join(pieces) == "It is 18 degrees in Paris."  # type: ignore[arg-type]


def test_raw_stream_tool_calls(sdk_server: ServerProcess) -> None:
    events = sse_events(sdk_server, messages=user("coh-weather"), tools=[DESCRIBED_WEATHER_TOOL])
    assert kinds(events) == [
        "message-start",
        "tool-plan-delta*",
        "tool-call-start",
        "tool-call-delta*",
        "tool-call-end",
        "message-end",
    ]
    plan = "".join(e["delta"]["message"]["tool_plan"] for e in events if "plan" in e["type"])
    assert plan == "I will look up the weather in Paris."
    start = next(e for e in events if e["type"] == "tool-call-start")
    assert start["delta"]["message"]["tool_calls"] == {
        "id": "get_weather_coh_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    arguments = "".join(
        e["delta"]["message"]["tool_calls"]["function"]["arguments"]
        for e in events
        if e["type"] == "tool-call-delta"
    )
    assert json.loads(arguments) == {"city": "Paris"}
    assert events[-1]["delta"]["finish_reason"] == "TOOL_CALL"


def test_two_tool_calls_stream(client: ClientV2) -> None:
    events = list(
        client.chat_stream(
            model=MODEL,
            messages=user("coh-both-tools"),  # type: ignore[arg-type]
            tools=[DESCRIBED_WEATHER_TOOL, TIME_TOOL],  # type: ignore[list-item]
        )
    )
    starts = [e for e in events if e.type == "tool-call-start"]
    assert [e.index for e in starts] == [0, 1]
    names = [e.delta.message.tool_calls.function.name for e in starts]  # type: ignore[union-attr]
    assert names == ["get_weather", "get_time"]
    arguments: dict[int, str] = {0: "", 1: ""}
    for event in events:
        if event.type == "tool-call-delta":
            arguments[event.index or 0] += event.delta.message.tool_calls.function.arguments  # type: ignore[union-attr, operator]
    assert json.loads(arguments[1]) == {"zone": "Europe/Paris"}
    assert not any(e.type == "tool-plan-delta" for e in events)


# --------------------------------------------------------------------------- thinking, format


def test_thinking(client: ClientV2, sdk_server: ServerProcess) -> None:
    response = client.chat(
        model=MODEL,
        messages=user("coh-think"),  # type: ignore[arg-type]
        thinking=Thinking(type="enabled", token_budget=512),
    )
    thinking, text = response.message.content or []
    assert thinking.type == "thinking" and thinking.thinking == "Two plus two is four."
    assert text.type == "text" and text.text == "4"
    events = sse_events(sdk_server, messages=user("coh-think"), thinking={"type": "enabled"})
    assert kinds(events) == [
        "message-start",
        "content-start",
        "content-delta*",
        "content-end",
        "content-start",
        "content-delta*",
        "content-end",
        "message-end",
    ]
    assert events[1]["delta"]["message"]["content"] == {"type": "thinking", "thinking": ""}
    assert events[1]["index"] == 0 and events[-2]["index"] == 1


def test_thinking_disabled_drops_it(client: ClientV2) -> None:
    response = client.chat(
        model=MODEL,
        messages=user("coh-think"),  # type: ignore[arg-type]
        thinking=Thinking(type="disabled"),
    )
    assert [item.type for item in response.message.content or ()] == ["text"]


def test_thinking_stream_through_sdk(client: ClientV2) -> None:
    events = list(
        client.chat_stream(
            model=MODEL,
            messages=user("coh-think"),  # type: ignore[arg-type]
            thinking=Thinking(type="enabled"),
        )
    )
    deltas = [e.delta.message.content for e in events if e.type == "content-delta"]  # type: ignore[union-attr]
    assert "".join(d.thinking or "" for d in deltas) == "Two plus two is four."  # type: ignore[union-attr]
    assert "".join(d.text or "" for d in deltas) == "4"  # type: ignore[union-attr]


def test_json_object(client: ClientV2) -> None:
    response = client.chat(
        model=MODEL,
        messages=user("coh-city"),  # type: ignore[arg-type]
        response_format=JsonObjectResponseFormatV2(),
    )
    assert json.loads(texts(response.message)) == {"city": "Paris"}


def test_json_schema(client: ClientV2) -> None:
    response = client.chat(
        model=MODEL,
        messages=user("coh-city"),  # type: ignore[arg-type]
        response_format=JsonObjectResponseFormatV2(json_schema=CITY_SCHEMA),
    )
    assert json.loads(texts(response.message)) == {"city": "Paris", "temperature": 18}


# --------------------------------------------------------------------------- embeddings


def test_embed_v2(client: ClientV2, sdk_server: ServerProcess) -> None:
    response = client.embed(
        model=EMBED_MODEL,
        texts=["coh-alpha", "coh-beta"],
        input_type="search_document",
        embedding_types=["float"],
    )
    assert response.embeddings.float_ is not None
    assert [len(v) for v in response.embeddings.float_] == [1536, 1536]
    assert response.embeddings.float_[0] == deterministic_vector("coh-alpha", 1536)
    assert response.texts == ["coh-alpha", "coh-beta"]
    raw = post(
        sdk_server,
        "/v2/embed",
        {"model": EMBED_MODEL, "texts": ["coh-alpha"], "input_type": "search_query"},
        api_key="test",
    ).json()
    validate_strict(EmbedByTypeResponse, raw)
    assert raw["response_type"] == "embeddings_by_type"
    assert set(raw["embeddings"]) == {"float"}
    assert raw["meta"]["api_version"] == {"version": "2"}


async def test_embed_types_and_fixture(aclient: AsyncClientV2) -> None:
    response = await aclient.embed(
        model="embed-english-v3.0",
        texts=["coh-fixed-vector"],
        input_type="classification",
        embedding_types=["float", "int8", "uint8", "binary", "ubinary", "base64"],
    )
    embeddings = response.embeddings
    assert embeddings.float_ == [[0.5, -0.25, 0.125, 1.0]]
    assert embeddings.int8 == [[64, -32, 16, 127]]
    assert embeddings.uint8 == [[191, 96, 143, 255]]
    assert embeddings.ubinary == [[0b10110000]] and embeddings.binary == [[0b10110000 - 128]]
    decoded = struct.unpack("<4f", base64.b64decode((embeddings.base64 or [""])[0]))
    assert list(decoded) == [0.5, -0.25, 0.125, 1.0]


def test_embed_output_dimension_and_inputs(client: ClientV2) -> None:
    response = client.embed(
        model=EMBED_MODEL,
        inputs=[EmbedInput(content=[TextEmbedContent(text="coh-gamma")])],
        input_type="search_document",
        embedding_types=["float"],
        output_dimension=256,
    )
    assert response.embeddings.float_ == [deterministic_vector("coh-gamma", 256)]


def test_embed_v1_client(sdk_server: ServerProcess) -> None:
    with httpx.Client(timeout=30) as http:
        v1 = cohere.Client(
            api_key="test", base_url=sdk_server.url, max_retries=0, httpx_client=http
        )
        response = v1.embed(
            texts=["coh-delta"], model="embed-english-v3.0", input_type="clustering"
        )
    assert response.response_type == "embeddings_floats"
    assert response.embeddings == [deterministic_vector("coh-delta", 1024)]
    raw = post(sdk_server, "/v1/embed", {"texts": ["coh-delta"]}, api_key="test").json()
    validate_strict(EmbeddingsFloatsEmbedResponse, raw)
    request = {"texts": ["x"], "embedding_types": ["int8"]}
    typed = post(sdk_server, "/v1/embed", request, api_key="test").json()
    assert typed["response_type"] == "embeddings_by_type" and set(typed["embeddings"]) == {"int8"}


def test_embed_error(client: ClientV2) -> None:
    with pytest.raises(TooManyRequestsError) as caught:
        client.embed(
            model=EMBED_MODEL,
            texts=["coh-embed-rate-limit"],
            input_type="search_query",
            embedding_types=["float"],
        )
    assert caught.value.status_code == 429
    assert caught.value.body["message"] == "too many embed calls"


# --------------------------------------------------------------------------- errors


def test_rate_limit(client: ClientV2) -> None:
    with pytest.raises(TooManyRequestsError) as caught:
        client.chat(model=MODEL, messages=user("coh-rate-limit"))  # type: ignore[arg-type]
    assert caught.value.status_code == 429
    body = caught.value.body
    assert set(body) == {"id", "message"} and body["message"].startswith("You are using")
    assert caught.value.headers and caught.value.headers["retry-after"] == "1"


async def test_unavailable_in_stream(aclient: AsyncClientV2) -> None:
    with pytest.raises(ServiceUnavailableError) as caught:
        async for _ in aclient.chat_stream(model=MODEL, messages=user("coh-unavailable")):  # type: ignore[arg-type]
            pass
    assert caught.value.status_code == 503


def test_server_error(client: ClientV2) -> None:
    with pytest.raises(InternalServerError) as caught:
        list(client.chat_stream(model=MODEL, messages=user("coh-boom")))  # type: ignore[arg-type]
    assert caught.value.body["message"] == "internal server error"


def test_miss_is_not_found(client: ClientV2) -> None:
    with pytest.raises(NotFoundError) as caught:
        client.chat(model=MODEL, messages=user("coh-nothing-matches-this"))  # type: ignore[arg-type]
    assert "No fixture matched" in caught.value.body["message"]


def test_sdk_bad_request(client: ClientV2) -> None:
    with pytest.raises(BadRequestError) as caught:
        client.chat(model=MODEL, messages=[])
    assert caught.value.body["message"].startswith("invalid request: ")


@pytest.mark.parametrize(
    ("path", "body", "needle"),
    [
        ("/v2/chat", {"messages": user("coh-hello")}, "model"),
        ("/v2/chat", {"model": MODEL}, "messages"),
        ("/v2/chat", {"model": MODEL, "messages": "hi"}, "messages"),
        ("/v2/chat", {"model": MODEL, "messages": [{"role": "bot", "content": "x"}]}, "role"),
        ("/v2/chat", {"model": MODEL, "messages": [{"role": "user", "content": 3}]}, "content"),
        ("/v2/chat", {"model": MODEL, "messages": [{"role": "user"}]}, "content"),
        ("/v2/chat", {"model": MODEL, "messages": [{"role": "tool", "content": "x"}]}, "tool_call"),
        (
            "/v2/chat",
            {"model": MODEL, "messages": user("x"), "response_format": {"type": "xml"}},
            "response_format",
        ),
        (
            "/v2/chat",
            {"model": MODEL, "messages": user("x"), "thinking": {"type": "maybe"}},
            "thinking",
        ),
        ("/v2/chat", {"model": MODEL, "messages": user("x"), "tools": [{}]}, "tools"),
        ("/v2/chat", {"model": MODEL, "messages": user("x"), "stream": "yes"}, "stream"),
        ("/v2/embed", {"texts": ["x"]}, "model"),
        ("/v2/embed", {"model": EMBED_MODEL}, "texts"),
        ("/v2/embed", {"model": EMBED_MODEL, "texts": [1]}, "texts"),
        ("/v2/embed", {"model": EMBED_MODEL, "texts": ["x"], "input_type": "poem"}, "input_type"),
        (
            "/v2/embed",
            {"model": EMBED_MODEL, "texts": ["x"], "embedding_types": ["fp16"]},
            "embedding_types",
        ),
    ],
)
def test_bad_requests(sdk_server: ServerProcess, path: str, body: Any, needle: str) -> None:
    response = post(sdk_server, path, body, api_key="test")
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"id", "message"}
    assert needle in response.json()["message"]


def test_bad_json(sdk_server: ServerProcess) -> None:
    response = httpx.post(sdk_server.url + "/v2/chat", content=b"{nope", timeout=30)
    assert response.status_code == 400 and set(response.json()) == {"id", "message"}
