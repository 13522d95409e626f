"""The Ollama native API, driven by the official `ollama` SDK against a real server.

Fixtures: tests/sdk/fixtures/ollama.yaml (every one scoped to an Ollama surface and an "oll-"
message). Raw bodies and every raw NDJSON record are also checked strictly against the SDK's
own pydantic types, plus the fields the real server always sends although the SDK leaves
them optional.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any

import httpx
import ollama
import pytest
from ollama import AsyncClient, ChatResponse, Client, GenerateResponse, ResponseError
from ollama._types import EmbeddingsResponse, EmbedResponse, ListResponse, ShowResponse
from pydantic import BaseModel

from aimock.providers.common import deterministic_vector
from tests.conftest import ServerProcess
from tests.sdk.helpers import CITY_SCHEMA, DESCRIBED_WEATHER_TOOL, TIME_TOOL, post, user
from tests.sdk.typecheck import assert_required_fields, validate_strict

MODEL = "llama3.2"
HELLO = "Hello from the Ollama chat API."
METRICS = (
    "done_reason",
    "total_duration",
    "load_duration",
    "prompt_eval_count",
    "prompt_eval_duration",
    "eval_count",
    "eval_duration",
)
RECORD = ("model", "created_at", "done")
# Fields the real server always sends that the SDK types leave optional.
FINAL: dict[type[BaseModel], tuple[str, ...]] = {
    ChatResponse: RECORD + METRICS,
    GenerateResponse: RECORD + METRICS + ("response",),
    ollama.Message: ("content",),
}
PARTIAL: dict[type[BaseModel], tuple[str, ...]] = {
    ChatResponse: RECORD,
    GenerateResponse: (*RECORD, "response"),
    ollama.Message: ("content",),
}


# --------------------------------------------------------------------------- plumbing


@pytest.fixture
def client(sdk_server: ServerProcess) -> Iterator[Client]:
    with Client(host=sdk_server.url) as sdk:
        yield sdk


@pytest.fixture
async def aclient(sdk_server: ServerProcess) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(host=sdk_server.url) as sdk:
        yield sdk


def check(model_cls: type[BaseModel], raw: dict[str, Any], final: bool = True) -> None:
    validate_strict(model_cls, raw)
    assert_required_fields(model_cls, raw, FINAL if final else PARTIAL)
    if not final:
        assert "done_reason" not in raw and "eval_count" not in raw


def plain(server: ServerProcess, path: str, **body: Any) -> dict[str, Any]:
    """A non-streamed answer, checked against the SDK type for its route."""
    response = post(server, path, {"model": MODEL, **body, "stream": False})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    raw: dict[str, Any] = response.json()
    check(ChatResponse if path == "/api/chat" else GenerateResponse, raw)
    assert raw["done"] is True
    return raw


def records(server: ServerProcess, path: str, **body: Any) -> list[dict[str, Any]]:
    """A streamed answer's NDJSON records, each checked; `stream` stays as given (absent
    means the server default, which streams)."""
    response = post(server, path, {"model": MODEL, **body})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = response.text.split("\n")
    assert lines[-1] == "" and all(lines[:-1]), "one record per line, no blank lines"
    out = [json.loads(line) for line in lines[:-1]]
    model_cls = ChatResponse if path == "/api/chat" else GenerateResponse
    for record in out[:-1]:
        check(model_cls, record, final=False)
        assert record["done"] is False
    check(model_cls, out[-1])
    assert out[-1]["done"] is True
    return out


def message_pieces(out: list[dict[str, Any]], field: str) -> list[str]:
    return [r["message"][field] for r in out[:-1] if r["message"].get(field)]


# --------------------------------------------------------------------------- chat


def test_chat_text(client: Client) -> None:
    response = client.chat(model=MODEL, messages=user("oll-hello"))
    assert response.message.role == "assistant"
    assert response.message.content == HELLO
    assert response.message.thinking is None and response.message.tool_calls is None
    assert response.done is True and response.done_reason == "stop"
    assert response.model == MODEL
    assert response.prompt_eval_count == 12 and response.eval_count == 8
    assert response.total_duration and response.eval_duration


def test_chat_raw_body(sdk_server: ServerProcess) -> None:
    raw = plain(sdk_server, "/api/chat", messages=user("oll-hello"))
    assert raw["message"] == {"role": "assistant", "content": HELLO}
    assert raw["created_at"].endswith("Z") and "T" in raw["created_at"]
    assert raw["total_duration"] == (
        raw["load_duration"] + raw["prompt_eval_duration"] + raw["eval_duration"]
    )


async def test_chat_async(aclient: AsyncClient) -> None:
    response = await aclient.chat(model=MODEL, messages=user("oll-hello"))
    assert response.message.content == HELLO


def test_system_message(client: Client) -> None:
    messages = [{"role": "system", "content": "You are an oll-pirate."}, *user("oll-greet")]
    assert client.chat(model=MODEL, messages=messages).message.content == (
        "Ahoy from the system prompt."
    )


def test_chat_stream(client: Client) -> None:
    parts = list(client.chat(model=MODEL, messages=user("oll-hello"), stream=True))
    pieces = [p.message.content for p in parts if not p.done]
    assert len(pieces) > 1 and max(len(p or "") for p in pieces) <= 6
    assert "".join(p or "" for p in pieces) == HELLO
    final = parts[-1]
    assert final.done is True and final.done_reason == "stop"
    assert final.message.content == ""
    assert final.eval_count == 8
    assert all(not p.done and p.done_reason is None for p in parts[:-1])


async def test_chat_stream_async(aclient: AsyncClient) -> None:
    stream = await aclient.chat(model=MODEL, messages=user("oll-hello"), stream=True)
    parts = [part async for part in stream]
    assert "".join(p.message.content or "" for p in parts) == HELLO
    assert parts[-1].done_reason == "stop"


def test_stream_is_the_server_default(sdk_server: ServerProcess) -> None:
    out = records(sdk_server, "/api/chat", messages=user("oll-hello"))
    assert "".join(message_pieces(out, "content")) == HELLO
    assert len(out) > 2


def test_length_is_done_reason_length(sdk_server: ServerProcess, client: Client) -> None:
    assert client.chat(model=MODEL, messages=user("oll-truncated")).done_reason == "length"
    out = records(sdk_server, "/api/chat", messages=user("oll-truncated"))
    assert out[-1]["done_reason"] == "length"


# --------------------------------------------------------------------------- tools


def test_tool_call(client: Client, sdk_server: ServerProcess) -> None:
    response = client.chat(
        model=MODEL, messages=user("oll-weather"), tools=[DESCRIBED_WEATHER_TOOL]
    )
    [call] = response.message.tool_calls or []
    assert call.function.name == "get_weather"
    assert call.function.arguments == {"city": "Paris"}
    assert response.message.content == ""
    assert response.done_reason == "stop"
    raw = plain(
        sdk_server, "/api/chat", messages=user("oll-weather"), tools=[DESCRIBED_WEATHER_TOOL]
    )
    assert raw["message"]["tool_calls"] == [
        {
            "id": "call_oll_weather",
            "function": {"index": 0, "name": "get_weather", "arguments": {"city": "Paris"}},
        }
    ]


def test_tool_result_turn(client: Client) -> None:
    """The loop as the SDK writes it: the assistant message back, then a tool message that
    names the tool (the SDK keeps no call ids)."""
    first = client.chat(model=MODEL, messages=user("oll-weather"), tools=[DESCRIBED_WEATHER_TOOL])
    conversation: list[Any] = [
        *user("oll-weather"),
        first.message,
        {"role": "tool", "content": '{"temperature": 18}', "tool_name": "get_weather"},
    ]
    second = client.chat(model=MODEL, messages=conversation, tools=[DESCRIBED_WEATHER_TOOL])
    assert second.message.content == "It is 18 degrees in Paris."
    assert not second.message.tool_calls


def test_tool_result_stream(client: Client) -> None:
    conversation: list[Any] = [
        *user("oll-weather"),
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}],
        },
        {"role": "tool", "content": "18C", "tool_name": "get_weather"},
    ]
    parts = list(client.chat(model=MODEL, messages=conversation, stream=True))
    assert "".join(p.message.content or "" for p in parts) == "It is 18 degrees in Paris."


@pytest.mark.parametrize("by", ["tool_call_id", "tool_name"])
def test_tool_result_matches_call_id(sdk_server: ServerProcess, by: str) -> None:
    """A client that keeps ids (raw HTTP, the JS SDK) is matched by `toolCallId`; a tool
    message naming only the tool gets the id of the call it answers."""
    tool_message: dict[str, Any] = {"role": "tool", "content": "found"}
    tool_message[by] = "call_oll_lookup" if by == "tool_call_id" else "lookup"
    messages = [
        *user("which record?"),
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": "call_other", "function": {"name": "other", "arguments": {}}},
                {"id": "call_oll_lookup", "function": {"name": "lookup", "arguments": {}}},
            ],
        },
        tool_message,
    ]
    raw = plain(sdk_server, "/api/chat", messages=messages)
    assert raw["message"]["content"] == "Matched by the call id."


def test_two_tools_stream_whole(sdk_server: ServerProcess, client: Client) -> None:
    out = records(
        sdk_server,
        "/api/chat",
        messages=user("oll-both-tools"),
        tools=[DESCRIBED_WEATHER_TOOL, TIME_TOOL],
    )
    carrying = [r for r in out if r["message"].get("tool_calls")]
    assert len(carrying) == 1 and carrying[0]["done"] is False
    calls = carrying[0]["message"]["tool_calls"]
    assert [(c["function"]["index"], c["function"]["name"]) for c in calls] == [
        (0, "get_weather"),
        (1, "get_time"),
    ]
    assert len({c["id"] for c in calls}) == 2
    assert out.index(carrying[0]) > 0, "text comes before the calls"

    parts = list(
        client.chat(
            model=MODEL,
            messages=user("oll-both-tools"),
            tools=[DESCRIBED_WEATHER_TOOL, TIME_TOOL],
            stream=True,
        )
    )
    streamed = [c for p in parts for c in p.message.tool_calls or ()]
    assert [c.function.arguments for c in streamed] == [
        {"city": "Paris"},
        {"zone": "Europe/Paris"},
    ]


# --------------------------------------------------------------------------- thinking, format


def test_thinking(client: Client) -> None:
    response = client.chat(model=MODEL, messages=user("oll-think"), think=True)
    assert response.message.thinking == "Two plus two is four."
    assert response.message.content == "4"


def test_thinking_off_drops_it(client: Client) -> None:
    response = client.chat(model=MODEL, messages=user("oll-think"), think=False)
    assert response.message.thinking is None
    assert response.message.content == "4"


def test_thinking_stream_comes_first(sdk_server: ServerProcess, client: Client) -> None:
    out = records(sdk_server, "/api/chat", messages=user("oll-think"), think="high")
    kinds = ["thinking" if r["message"].get("thinking") else "content" for r in out[:-1]]
    assert kinds == sorted(kinds, key=lambda k: k != "thinking") and kinds[0] == "thinking"
    assert "".join(message_pieces(out, "thinking")) == "Two plus two is four."

    parts = list(client.chat(model=MODEL, messages=user("oll-think"), think=True, stream=True))
    assert "".join(p.message.thinking or "" for p in parts) == "Two plus two is four."
    assert "".join(p.message.content or "" for p in parts) == "4"


def test_format_json(client: Client) -> None:
    response = client.chat(model=MODEL, messages=user("oll-city"), format="json")
    assert json.loads(response.message.content or "") == {"city": "Paris"}


def test_format_schema(client: Client) -> None:
    response = client.chat(model=MODEL, messages=user("oll-city"), format=CITY_SCHEMA)
    assert json.loads(response.message.content or "") == {"city": "Paris", "temperature": 18}
    parts = list(
        client.chat(model=MODEL, messages=user("oll-city"), format=CITY_SCHEMA, stream=True)
    )
    assert len(parts) > 2
    assert json.loads("".join(p.message.content or "" for p in parts))["temperature"] == 18


# --------------------------------------------------------------------------- generate


def test_generate(client: Client, sdk_server: ServerProcess) -> None:
    response = client.generate(model=MODEL, prompt="oll-complete")
    assert response.response == "Once upon a time."
    assert response.done is True and response.done_reason == "stop"
    assert response.context and all(isinstance(t, int) for t in response.context)
    raw = plain(sdk_server, "/api/generate", prompt="oll-complete")
    assert raw["response"] == "Once upon a time." and "message" not in raw


def test_generate_stream(client: Client, sdk_server: ServerProcess) -> None:
    parts = list(client.generate(model=MODEL, prompt="oll-complete", stream=True))
    pieces = [p.response or "" for p in parts[:-1]]
    assert len(pieces) > 1 and "".join(pieces) == "Once upon a time."
    assert parts[-1].done is True and parts[-1].response == "" and parts[-1].context
    out = records(sdk_server, "/api/generate", prompt="oll-complete")
    assert "".join(r["response"] for r in out) == "Once upon a time."


async def test_generate_system_and_thinking_async(aclient: AsyncClient) -> None:
    response = await aclient.generate(
        model=MODEL, prompt="oll-rhyme", system="You are an oll-poet.", think=True
    )
    assert response.thinking == "Find a rhyme." and response.response == "Moon, June."
    stream = await aclient.generate(
        model=MODEL, prompt="oll-rhyme", system="You are an oll-poet.", stream=True
    )
    parts = [part async for part in stream]
    assert "".join(p.thinking or "" for p in parts) == "Find a rhyme."
    assert "".join(p.response or "" for p in parts) == "Moon, June."


def test_fixture_model_matches(client: Client) -> None:
    assert client.generate(model="oll-model-tag", prompt="oll-tagged").response == "tagged"


# --------------------------------------------------------------------------- embeddings


def test_embed_deterministic(client: Client, sdk_server: ServerProcess) -> None:
    response = client.embed(model="nomic-embed-text", input=["oll-alpha", "oll-beta"])
    assert [len(v) for v in response.embeddings] == [768, 768]
    assert list(response.embeddings[0]) == deterministic_vector("oll-alpha", 768)
    again = client.embed(model="nomic-embed-text", input="oll-alpha")
    assert list(again.embeddings[0]) == list(response.embeddings[0])
    raw = post(sdk_server, "/api/embed", {"model": "nomic-embed-text", "input": "oll-alpha"})
    body = raw.json()
    validate_strict(EmbedResponse, body)
    assert body["model"] == "nomic-embed-text" and body["prompt_eval_count"] > 0


async def test_embed_fixture_and_dimensions(aclient: AsyncClient) -> None:
    fixed = await aclient.embed(model="nomic-embed-text", input="oll-fixed-vector")
    assert list(fixed.embeddings[0]) == [0.5, -0.25, 0.125, 1.0]
    cut = await aclient.embed(model="nomic-embed-text", input="oll-gamma", dimensions=32)
    assert list(cut.embeddings[0]) == deterministic_vector("oll-gamma", 32)


def test_legacy_embeddings(client: Client, sdk_server: ServerProcess) -> None:
    response = client.embeddings(model="nomic-embed-text", prompt="oll-fixed-vector")
    assert list(response.embedding) == [0.5, -0.25, 0.125, 1.0]
    raw = post(sdk_server, "/api/embeddings", {"model": "m", "prompt": "oll-delta"}).json()
    validate_strict(EmbeddingsResponse, raw)
    assert raw == {"embedding": deterministic_vector("oll-delta", 768)}


# --------------------------------------------------------------------------- model routes


def test_list_tags(client: Client, sdk_server: ServerProcess) -> None:
    names = [m.model for m in client.list().models]
    assert "oll-model-tag:latest" in names
    raw = httpx.get(sdk_server.url + "/api/tags", timeout=30).json()
    # Strict validation takes no datetime from a string, so the timestamp is checked apart.
    ListResponse.model_validate(raw)
    assert datetime.fromisoformat(raw["models"][0]["modified_at"]).tzinfo is not None
    first = raw["models"][0]
    assert set(first) == {"name", "model", "modified_at", "size", "digest", "details"}
    assert first["name"] == first["model"] and len(first["digest"]) == 64


def test_show(client: Client) -> None:
    shown = client.show("oll-model-tag")
    assert shown.details and shown.details.format == "gguf"
    assert shown.capabilities and "completion" in shown.capabilities
    assert isinstance(shown, ShowResponse) and shown.modelinfo is not None
    with pytest.raises(ResponseError) as caught:
        client.show("oll-not-pulled")
    assert caught.value.status_code == 404


def test_version(sdk_server: ServerProcess) -> None:
    raw = httpx.get(sdk_server.url + "/api/version", timeout=30).json()
    assert set(raw) == {"version"} and raw["version"].count(".") == 2


# --------------------------------------------------------------------------- errors


def test_rate_limit(client: Client) -> None:
    with pytest.raises(ResponseError) as caught:
        client.chat(model=MODEL, messages=user("oll-rate-limit"))
    assert caught.value.status_code == 429
    assert caught.value.error == "Too many requests"


def test_server_error_in_stream(client: Client) -> None:
    """An error fixture answers before the stream starts; the SDK raises on the status."""
    with pytest.raises(ResponseError) as caught:
        list(client.chat(model=MODEL, messages=user("oll-boom"), stream=True))
    assert caught.value.status_code == 500
    assert caught.value.error == "llama runner process has terminated"


async def test_miss_is_not_found(aclient: AsyncClient) -> None:
    with pytest.raises(ResponseError) as caught:
        await aclient.chat(model=MODEL, messages=user("oll-nothing-matches-this"))
    assert caught.value.status_code == 404
    assert "No fixture matched" in caught.value.error


@pytest.mark.parametrize(
    ("path", "body", "needle"),
    [
        ("/api/chat", {"messages": user("oll-hello")}, "model is required"),
        ("/api/chat", {"model": 3, "messages": []}, "model"),
        ("/api/chat", {"model": MODEL, "messages": "hi"}, "messages"),
        ("/api/chat", {"model": MODEL, "messages": [{"role": "bot", "content": "x"}]}, "role"),
        ("/api/chat", {"model": MODEL, "messages": [{"role": "user", "content": 3}]}, "content"),
        ("/api/chat", {"model": MODEL, "messages": [], "format": "xml"}, "format"),
        ("/api/chat", {"model": MODEL, "messages": [], "think": "max"}, "think"),
        ("/api/chat", {"model": MODEL, "messages": [], "tools": [{"type": "function"}]}, "tools"),
        ("/api/chat", {"model": MODEL, "messages": [], "stream": "yes"}, "stream"),
        ("/api/generate", {"prompt": "x"}, "model is required"),
        ("/api/generate", {"model": MODEL, "prompt": ["x"]}, "prompt"),
        ("/api/embed", {"model": MODEL, "input": [1, 2]}, "input"),
        ("/api/embed", {"model": MODEL, "input": "x", "dimensions": 0}, "dimensions"),
    ],
)
def test_bad_requests(sdk_server: ServerProcess, path: str, body: Any, needle: str) -> None:
    response = post(sdk_server, path, body)
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"error"}
    assert needle in response.json()["error"]


def test_bad_json_and_bad_show(sdk_server: ServerProcess) -> None:
    response = httpx.post(sdk_server.url + "/api/chat", content=b"{nope", timeout=30)
    assert response.status_code == 400 and set(response.json()) == {"error"}
    response = httpx.post(sdk_server.url + "/api/show", content=b"{nope", timeout=30)
    assert response.status_code == 400 and set(response.json()) == {"error"}
    response = post(sdk_server, "/api/show", {})
    assert response.status_code == 400 and response.json() == {"error": "model is required"}
