"""OpenAI-compatible vendors: the openai SDK on each vendor's base path, and the mistralai SDK.

Built-in bases: OpenRouter `/api/v1` (provider "openrouter"), Fireworks `/inference/v1`
("fireworks"), Groq `/openai/v1`, Together/Mistral/vLLM/DeepSeek `/v1`, DeepSeek's bare host
(all "openai"); plus configured ones (`--openai-prefix`). Fixtures:
tests/sdk/fixtures/compatible.yaml ("compat-" messages).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from mistralai.client import Mistral, errors
from mistralai.client.models import (
    BaseModelCard,
    ChatCompletionResponse,
    CompletionChunk,
    ModelList,
    TextChunk,
    ThinkChunk,
)
from openai import OpenAI

from tests.conftest import ROOT, ServerProcess
from tests.sdk.helpers import WEATHER_TOOL, user
from tests.sdk.typecheck import assert_required_fields, validate_strict

HELLO = "Hello from an OpenAI-compatible endpoint."
# (base path, provider the journal and `match.provider` see, vendor)
BASES = [
    ("/api/v1", "openrouter", "openrouter"),
    ("/inference/v1", "fireworks", "fireworks"),
    ("/openai/v1", "openai", "groq"),
    ("/v1", "openai", "together-mistral-vllm"),
    ("", "openai", "deepseek"),
]


def openai_client(server: ServerProcess, prefix: str) -> OpenAI:
    return OpenAI(base_url=server.url + prefix, api_key="test", max_retries=0)


# --------------------------------------------------------------------------- openai SDK, bases


@pytest.mark.parametrize(("prefix", "provider", "vendor"), BASES, ids=[b[2] for b in BASES])
def test_chat_on_each_base(
    sdk_server: ServerProcess, prefix: str, provider: str, vendor: str
) -> None:
    with openai_client(sdk_server, prefix) as client:
        completion = client.chat.completions.create(model="m", messages=user("compat-hello"))
        assert completion.choices[0].message.content == HELLO
        entry = sdk_server.journal()[-1]
        assert entry["path"] == f"{prefix}/chat/completions"
        assert entry["provider"] == provider
        with client.chat.completions.stream(model="m", messages=user("compat-hello")) as stream:
            pieces = [e.delta for e in stream if e.type == "content.delta"]
        assert len(pieces) > 1 and "".join(pieces) == HELLO
        embedding = client.embeddings.create(
            model="e", input="compat-embed-me", encoding_format="float"
        )
        assert embedding.data[0].embedding == [0.1, 0.2, 0.3]
        assert [model.id for model in client.models.list()]
        assert sdk_server.journal()[-1]["path"] == f"{prefix}/models"
        response = client.responses.create(model="m", input="compat-respond")
        assert response.output_text == "Hello from a compatible Responses API."


@pytest.mark.parametrize(
    ("prefix", "answer"),
    [
        ("/api/v1", "You reached OpenRouter."),
        ("/inference/v1", "You reached Fireworks."),
        ("/v1", "You reached an OpenAI base."),
    ],
)
def test_match_provider_tells_vendors_apart(
    sdk_server: ServerProcess, prefix: str, answer: str
) -> None:
    with openai_client(sdk_server, prefix) as client:
        completion = client.chat.completions.create(model="m", messages=user("compat-which-vendor"))
    assert completion.choices[0].message.content == answer


def test_openrouter_request_fields_pass_through(sdk_server: ServerProcess) -> None:
    with openai_client(sdk_server, "/api/v1") as client:
        completion = client.chat.completions.create(
            model="openai/gpt-4o",
            messages=user("compat-hello"),
            extra_headers={"HTTP-Referer": "https://example.test", "X-Title": "aimock tests"},
            extra_body={
                "provider": {"order": ["OpenAI", "Azure"], "allow_fallbacks": False},
                "transforms": ["middle-out"],
                "models": ["openai/gpt-4o", "anthropic/claude-sonnet-4"],
                "route": "fallback",
                "reasoning": {"effort": "high", "exclude": False},
                "usage": {"include": True},
            },
        )
    assert completion.choices[0].message.content == HELLO


@pytest.mark.parametrize(
    "extra",
    [
        {"reasoning_format": "parsed"},  # Groq
        {"guided_json": {"type": "object"}, "top_k": 5, "repetition_penalty": 1.1},  # vLLM
        {"safe_prompt": True, "random_seed": 7},  # Mistral
    ],
    ids=["groq", "vllm", "mistral"],
)
def test_vendor_request_fields_pass_through(sdk_server: ServerProcess, extra: Any) -> None:
    with openai_client(sdk_server, "/v1") as client:
        completion = client.chat.completions.create(
            model="m", messages=user("compat-hello"), extra_body=extra
        )
    assert completion.choices[0].message.content == HELLO


def test_openai_sdk_still_gets_tool_call_fragments(sdk_server: ServerProcess) -> None:
    """Only Mistral's client gets whole tool calls; the openai SDK's stream is OpenAI's."""
    with openai_client(sdk_server, "/v1") as client:
        stream = client.chat.completions.create(
            model="m", messages=user("compat-weather"), tools=[WEATHER_TOOL], stream=True
        )
        fragments = [
            call
            for chunk in stream
            for call in (chunk.choices[0].delta.tool_calls or [] if chunk.choices else [])
        ]
    assert len(fragments) > 2
    assert all(f.function is not None and f.function.name is None for f in fragments if not f.id)


def test_errors_raise_the_sdk_classes(sdk_server: ServerProcess) -> None:
    with openai_client(sdk_server, "/api/v1") as client:
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="m", messages=user("compat-throttle"))
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(model="m", messages=user("compat-down"))
        with pytest.raises(openai.BadRequestError) as caught:
            client.chat.completions.create(model="m", messages=[])
    assert caught.value.param == "messages"


# --------------------------------------------------------------------------- configured prefixes


@pytest.fixture(scope="module")
def gateway(server_factory: Any, tmp_path_factory: pytest.TempPathFactory) -> ServerProcess:
    """A server with two prefixes from flags and one from a MockStack document."""
    folder: Path = tmp_path_factory.mktemp("stack")
    (folder / "stack.yaml").write_text(
        "apiVersion: aimock.dev/v1alpha1\nkind: MockStack\nmetadata: {name: gw}\n"
        "spec: {openaiPrefixes: [/from-spec/openai]}\n"
    )
    fixtures = str(ROOT / "tests" / "sdk" / "fixtures" / "compatible.yaml")
    server: ServerProcess = server_factory.start(
        "-f",
        fixtures,
        "-f",
        str(folder),
        "--openai-prefix",
        "/my-gateway/v1",
        "--openai-prefix",
        "/llm",
    )
    return server


@pytest.mark.parametrize("prefix", ["/my-gateway/v1", "/llm", "/from-spec/openai"])
def test_configured_prefixes(gateway: ServerProcess, prefix: str) -> None:
    with openai_client(gateway, prefix) as client:
        completion = client.chat.completions.create(model="m", messages=user("compat-hello"))
        assert completion.choices[0].message.content == HELLO
        assert gateway.journal()[-1]["provider"] == "openai"
        response = client.responses.create(model="m", input="compat-respond")
        assert response.output_text == "Hello from a compatible Responses API."
        assert client.embeddings.create(model="e", input="anything").data[0].embedding
        assert [model.id for model in client.models.list()]


def test_unconfigured_prefix_is_unknown(gateway: ServerProcess) -> None:
    with openai_client(gateway, "/other/v1") as client, pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="m", messages=user("compat-hello"))


# --------------------------------------------------------------------------- mistralai SDK


@pytest.fixture
def mistral(sdk_server: ServerProcess) -> Iterator[Mistral]:
    with Mistral(api_key="test", server_url=sdk_server.url) as client:
        yield client


def test_mistral_complete(mistral: Mistral) -> None:
    response = mistral.chat.complete(
        model="mistral-large-latest",
        messages=user("compat-hello"),
        safe_prompt=True,
        random_seed=7,
    )
    assert response.choices[0].message.content == HELLO
    assert response.choices[0].finish_reason == "stop"
    assert response.usage.prompt_tokens and response.usage.completion_tokens
    assert response.object == "chat.completion" and response.model == "mistral-large-latest"


async def test_mistral_complete_async(sdk_server: ServerProcess) -> None:
    async with Mistral(api_key="test", server_url=sdk_server.url) as client:
        response = await client.chat.complete_async(
            model="mistral-small-latest", messages=user("compat-hello")
        )
    assert response.choices[0].message.content == HELLO


def test_mistral_stream(mistral: Mistral) -> None:
    pieces = []
    for event in mistral.chat.stream(model="mistral-large-latest", messages=user("compat-hello")):
        for choice in event.data.choices:
            if isinstance(choice.delta.content, str):
                pieces.append(choice.delta.content)
    assert len([p for p in pieces if p]) > 1 and "".join(pieces) == HELLO


def test_mistral_tool_calls(mistral: Mistral) -> None:
    response = mistral.chat.complete(
        model="mistral-large-latest", messages=user("compat-weather"), tools=[WEATHER_TOOL]
    )
    calls = response.choices[0].message.tool_calls or []
    assert [(c.id, c.function.name) for c in calls] == [
        ("call_compat_1", "get_weather"),
        ("call_compat_2", "get_time"),
    ]
    assert json.loads(str(calls[0].function.arguments)) == {"city": "Lyon", "unit": "celsius"}
    assert response.choices[0].finish_reason == "tool_calls"
    follow_up = mistral.chat.complete(
        model="mistral-large-latest",
        tools=[WEATHER_TOOL],
        messages=[
            *user("compat-weather"),
            {"role": "assistant", "content": "", "tool_calls": [c.model_dump() for c in calls]},
            {
                "role": "tool",
                "tool_call_id": "call_compat_1",
                "name": "get_weather",
                "content": "21",
            },
        ],
    )
    assert follow_up.choices[0].message.content == "It is 21 degrees in Lyon."


def test_mistral_tool_calls_streamed_whole(mistral: Mistral) -> None:
    """Mistral streams each tool call in one delta: name and full arguments together."""
    calls = []
    for event in mistral.chat.stream(
        model="mistral-large-latest", messages=user("compat-weather"), tools=[WEATHER_TOOL]
    ):
        for choice in event.data.choices:
            calls.extend(choice.delta.tool_calls or [])
    assert [(c.index, c.function.name) for c in calls] == [(0, "get_weather"), (1, "get_time")]
    assert json.loads(str(calls[1].function.arguments)) == {"zone": "Europe/Paris"}


def test_mistral_structured_output(mistral: Mistral) -> None:
    response = mistral.chat.complete(
        model="mistral-large-latest",
        messages=user("compat-city"),
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "city", "schema": {"type": "object"}, "strict": True},
        },
    )
    assert json.loads(str(response.choices[0].message.content)) == {
        "city": "Lyon",
        "country": "France",
    }


@pytest.mark.parametrize(("text", "status"), [("compat-throttle", 429), ("compat-down", 503)])
def test_mistral_errors(mistral: Mistral, text: str, status: int) -> None:
    with pytest.raises(errors.SDKError) as caught:
        mistral.chat.complete(model="mistral-large-latest", messages=user(text))
    assert caught.value.status_code == status


def test_mistral_embeddings(mistral: Mistral) -> None:
    response = mistral.embeddings.create(model="mistral-embed", inputs=["compat-embed-me"])
    assert response.data[0].embedding == [0.1, 0.2, 0.3]


# --------------------------------------------------------------------------- mistralai: reasoning

THOUGHT = "The user wants a sum: two plus two."
THOUGHT_ANSWER = "Two plus two is four."
MISTRAL_AGENT = {"User-Agent": "mistral-client-python/test"}  # what the SDK sends, by prefix


def mistral_post(server: ServerProcess, body: dict[str, Any]) -> dict[str, Any]:
    """A raw Mistral-client request's decoded answer (Mistral's shapes hinge on the agent)."""
    response = httpx.post(
        server.url + "/v1/chat/completions", json=body, headers=MISTRAL_AGENT, timeout=10
    )
    response.raise_for_status()
    decoded: dict[str, Any] = response.json()
    return decoded


def mistral_sse(server: ServerProcess, body: dict[str, Any]) -> list[Any]:
    """The decoded `data:` payloads of a raw Mistral-client stream, `[DONE]` left out."""
    url = server.url + "/v1/chat/completions"
    body = {**body, "stream": True}
    with httpx.stream("POST", url, json=body, headers=MISTRAL_AGENT, timeout=10) as response:
        lines = [line.removeprefix("data: ") for line in response.iter_lines()]
    data = [line for line in lines if line and not line.startswith(":")]
    assert data[-1] == "[DONE]"
    return [json.loads(line) for line in data[:-1]]


def thinking_text(chunk: ThinkChunk) -> str:
    return "".join(inner.text for inner in chunk.thinking if isinstance(inner, TextChunk))


def test_mistral_thinking_chunks(mistral: Mistral) -> None:
    """Mistral's reasoning is content: a closed ThinkChunk, then the answer's TextChunk."""
    response = mistral.chat.complete(
        model="magistral-medium-latest", messages=user("compat-magistral-sum")
    )
    content = response.choices[0].message.content
    assert isinstance(content, list) and len(content) == 2
    think, text = content
    assert isinstance(think, ThinkChunk) and thinking_text(think) == THOUGHT
    assert think.closed is True
    assert isinstance(text, TextChunk) and text.text == THOUGHT_ANSWER
    assert response.choices[0].finish_reason == "stop"
    # The chunks go back as the next turn's assistant message, as Mistral's docs replay them.
    follow_up = mistral.chat.complete(
        model="magistral-medium-latest",
        messages=[
            *user("compat-magistral-sum"),
            {"role": "assistant", "content": [c.model_dump() for c in content]},
            *user("compat-hello"),
        ],
    )
    assert follow_up.choices[0].message.content == HELLO


def test_mistral_thinking_body_is_mistral_typed(sdk_server: ServerProcess) -> None:
    raw = mistral_post(
        sdk_server, {"model": "mistral-small-latest", "messages": user("compat-magistral-sum")}
    )
    validate_strict(ChatCompletionResponse, raw)
    assert_required_fields(ChatCompletionResponse, raw)
    message = raw["choices"][0]["message"]
    assert message["content"] == [
        {"type": "thinking", "thinking": [{"type": "text", "text": THOUGHT}], "closed": True},
        {"type": "text", "text": THOUGHT_ANSWER},
    ]
    assert "reasoning_content" not in message  # Mistral has no such field


def test_mistral_thinking_stream_order(mistral: Mistral) -> None:
    """Thinking pieces as ThinkChunk lists, then one delta that closes the thinking and opens
    the answer with a TextChunk, then the answer as plain strings (Mistral's documented order)."""
    forms: list[tuple[str, str]] = []  # (form, text) in arrival order
    closed = []
    for event in mistral.chat.stream(
        model="magistral-medium-latest", messages=user("compat-magistral-sum")
    ):
        for choice in event.data.choices:
            content = choice.delta.content
            if isinstance(content, str):
                if content:
                    forms.append(("string", content))
                continue
            for chunk in content or []:
                if isinstance(chunk, ThinkChunk):
                    forms.append(("think", thinking_text(chunk)))
                    closed.append(chunk.closed)
                else:
                    assert isinstance(chunk, TextChunk)
                    forms.append(("text", chunk.text))
    kinds = [kind for kind, _ in forms]
    first_text = kinds.index("text")
    assert set(kinds[:first_text]) == {"think"} and first_text > 1
    assert kinds[first_text + 1 :] and set(kinds[first_text + 1 :]) == {"string"}
    assert closed == [None] * (first_text - 1) + [True]  # only the last thinking piece closes
    assert "".join(t for kind, t in forms if kind == "think") == THOUGHT
    assert "".join(t for kind, t in forms if kind != "think") == THOUGHT_ANSWER


def test_mistral_thinking_chunks_are_mistral_typed(sdk_server: ServerProcess) -> None:
    chunks = mistral_sse(
        sdk_server, {"model": "magistral-small-latest", "messages": user("compat-magistral-sum")}
    )
    for chunk in chunks:
        validate_strict(CompletionChunk, chunk)
        assert_required_fields(CompletionChunk, chunk)
        assert "reasoning_content" not in chunk["choices"][0]["delta"]
    transition = next(
        c["choices"][0]["delta"]["content"]
        for c in chunks
        if isinstance(c["choices"][0]["delta"].get("content"), list)
        and c["choices"][0]["delta"]["content"][-1]["type"] == "text"
    )
    assert transition == [
        {"type": "thinking", "thinking": [{"type": "text", "text": " two."}], "closed": True},
        {"type": "text", "text": "Two pl"},
    ]


def test_mistral_thinking_then_tool_call_stream(sdk_server: ServerProcess) -> None:
    """No answer text: the last thinking piece closes on its own, then the whole tool call."""
    chunks = mistral_sse(
        sdk_server,
        {
            "model": "magistral-medium-latest",
            "messages": user("compat-magistral-lookup"),
            "tools": [WEATHER_TOOL],
        },
    )
    deltas = [c["choices"][0]["delta"] for c in chunks]
    thinking = [d["content"][0] for d in deltas if isinstance(d.get("content"), list)]
    assert "".join(t["thinking"][0]["text"] for t in thinking) == "I should look up the weather."
    assert [t.get("closed") for t in thinking][-2:] == [None, True]
    calls = [call for d in deltas for call in d.get("tool_calls") or []]
    assert [(c["id"], c["function"]["name"]) for c in calls] == [
        ("call_compat_think", "get_weather")
    ]
    for chunk in chunks:
        validate_strict(CompletionChunk, chunk)


def test_mistral_reasoning_effort_none_omits_thinking(mistral: Mistral) -> None:
    response = mistral.chat.complete(
        model="mistral-small-latest",
        messages=user("compat-magistral-sum"),
        reasoning_effort="none",
    )
    assert response.choices[0].message.content == THOUGHT_ANSWER


def test_openai_clients_keep_reasoning_content(sdk_server: ServerProcess) -> None:
    """Only Mistral's own client gets thinking chunks; the openai SDK on the same base and
    fixture still reads OpenAI-compatible `reasoning_content` and a string answer."""
    with openai_client(sdk_server, "/v1") as client:
        completion = client.chat.completions.create(
            model="magistral-medium-latest", messages=user("compat-magistral-sum")
        )
        message = completion.choices[0].message
        assert message.content == THOUGHT_ANSWER
        assert (message.model_extra or {}).get("reasoning_content") == THOUGHT
        stream = client.chat.completions.create(
            model="magistral-medium-latest", messages=user("compat-magistral-sum"), stream=True
        )
        deltas = [chunk.choices[0].delta for chunk in stream if chunk.choices]
    assert "".join(d.content or "" for d in deltas) == THOUGHT_ANSWER
    assert "".join((d.model_extra or {}).get("reasoning_content") or "" for d in deltas) == THOUGHT


# --------------------------------------------------------------------------- mistralai: models


def test_mistral_models(mistral: Mistral) -> None:
    """Mistral's cards are typed (`type: base`) and carry `capabilities`; the SDK needs both."""
    listed = mistral.models.list()
    cards = listed.data or []
    assert cards and all(isinstance(card, BaseModelCard) for card in cards)
    assert cards[0].capabilities.completion_chat
    retrieved = mistral.models.retrieve(model_id=cards[0].id)
    assert isinstance(retrieved, BaseModelCard) and retrieved.id == cards[0].id


def test_mistral_model_list_is_mistral_typed(sdk_server: ServerProcess) -> None:
    raw = httpx.get(sdk_server.url + "/v1/models", headers=MISTRAL_AGENT, timeout=10).json()
    validate_strict(ModelList, raw)
    for card in raw["data"]:
        validate_strict(BaseModelCard, card)
        assert_required_fields(BaseModelCard, card)
    # Other clients keep OpenAI's card, byte for byte.
    plain = httpx.get(sdk_server.url + "/v1/models", timeout=10).json()
    assert set(plain["data"][0]) == {"id", "object", "created", "owned_by"}


def test_mistral_embeddings_batch(mistral: Mistral) -> None:
    response = mistral.embeddings.create(
        model="mistral-embed", inputs=["compat-embed-me", "compat-embed-me"]
    )
    assert response.id and response.model == "mistral-embed"
    assert [d.index for d in response.data] == [0, 1]
    assert response.usage.prompt_tokens
