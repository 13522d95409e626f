"""OpenRouter's Chat Completions on its base `/api/v1`, driven by the official `openai` SDK.

OpenRouter answers with the OpenAI wire plus its own fields (a `gen-` id, the upstream
`provider`, `native_finish_reason`, `reasoning`/`reasoning_details`, usage accounting, usage
at the end of every stream, its error envelope, the `models` fallback list); OpenRouter-aware
clients read them through `model_extra`, and the SDK must still parse everything strictly.

Fixtures: tests/sdk/fixtures/openrouter.yaml (every one scoped to openai.chat, provider
openrouter, and an "or-" message).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai import OpenAI
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from tests.conftest import ServerProcess
from tests.sdk.helpers import WEATHER_TOOL, post, user
from tests.sdk.typecheck import assert_required_fields, validate_strict

BASE = "/api/v1"
MODEL = "openai/gpt-4o"
THINKER = "anthropic/claude-sonnet-4.6"
HELLO = "Hello through OpenRouter."
REASONING = "Two apples plus three apples."
GENERATION_ID = re.compile(r"^gen-\d+-[A-Za-z0-9]{20}$")


@pytest.fixture
def client(sdk_server: ServerProcess) -> Iterator[OpenAI]:
    with OpenAI(base_url=sdk_server.url + BASE, api_key="test", max_retries=0) as sdk:
        yield sdk


def sse_chunks(text: str) -> list[dict[str, Any]]:
    """The JSON chunks of a raw SSE body (comments and `[DONE]` left out)."""
    return [
        json.loads(line[len("data: ") :])
        for line in text.splitlines()
        if line.startswith("data: ") and line != "data: [DONE]"
    ]


# --------------------------------------------------------------------------- plain


def test_plain_body_is_openrouters(client: OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(model=MODEL, messages=user("or-hello"))
    body = json.loads(raw.text)
    assert GENERATION_ID.match(body["id"])
    assert body["provider"] == "OpenAI"
    assert body["system_fingerprint"] is None
    assert "service_tier" not in body
    choice = body["choices"][0]
    assert choice["native_finish_reason"] == "stop"
    assert choice["message"]["reasoning"] is None
    assert "reasoning_content" not in choice["message"]
    assert "reasoning_details" not in choice["message"]
    assert "cost" not in body["usage"]  # no cost in the fixture: none is invented
    assert body["usage"]["completion_tokens_details"]["reasoning_tokens"] == 0
    validate_strict(ChatCompletion, body)
    assert_required_fields(ChatCompletion, body)

    completion = raw.parse()
    assert completion.choices[0].message.content == HELLO
    assert completion.model == MODEL
    assert (completion.model_extra or {})["provider"] == "OpenAI"
    assert (completion.choices[0].model_extra or {})["native_finish_reason"] == "stop"


@pytest.mark.parametrize(
    ("model", "provider"),
    [
        ("anthropic/claude-sonnet-4.6", "Anthropic"),
        ("openai/gpt-4o", "OpenAI"),
        ("google/gemini-2.5-flash", "Google AI Studio"),
        ("x-ai/grok-4", "xAI"),
        ("acme/model-x", "Acme"),
        ("bare-model", "bare-model"),
    ],
)
def test_provider_follows_the_slug_author(client: OpenAI, model: str, provider: str) -> None:
    completion = client.chat.completions.create(model=model, messages=user("or-hello"))
    assert (completion.model_extra or {})["provider"] == provider


def test_reasoning_cost_and_fixture_overrides(client: OpenAI) -> None:
    completion = client.chat.completions.create(model=THINKER, messages=user("or-think"))
    extra = completion.model_extra or {}
    assert extra["provider"] == "Amazon Bedrock"  # the fixture's `provider`
    choice = completion.choices[0]
    assert (choice.model_extra or {})["native_finish_reason"] == "end_turn"
    assert choice.finish_reason == "stop"
    message = choice.message
    assert message.content == "Five apples."
    message_extra = message.model_extra or {}
    assert message_extra["reasoning"] == REASONING
    assert "reasoning_content" not in message_extra
    assert message_extra["reasoning_details"] == [
        {
            "type": "reasoning.text",
            "text": REASONING,
            "signature": "sig-or-think",
            "format": "anthropic-claude-v1",
            "index": 0,
        }
    ]
    usage = completion.usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (12, 30, 42)
    assert usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens == 10
    usage_extra = usage.model_extra or {}
    assert usage_extra["cost"] == 0.00042
    assert usage_extra["is_byok"] is False
    assert usage_extra["cost_details"] == {
        "upstream_inference_cost": 0.00042,
        "upstream_inference_prompt_cost": 0,
        "upstream_inference_completions_cost": 0,
    }


def test_tool_call(client: OpenAI) -> None:
    completion = client.chat.completions.create(
        model=MODEL, messages=user("or-weather"), tools=[WEATHER_TOOL]
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert (choice.model_extra or {})["native_finish_reason"] == "tool_calls"
    calls = choice.message.tool_calls or []
    functions = [(c.id, c.function) for c in calls if c.type == "function"]
    assert [(i, f.name, json.loads(f.arguments)) for i, f in functions] == [
        ("call_or_weather", "get_weather", {"city": "Rome"})
    ]


# --------------------------------------------------------------------------- streamed


def test_stream_ends_with_usage_without_include_usage(client: OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(model=MODEL, messages=user("or-hello"), stream=True)
    )
    ids = {chunk.id for chunk in chunks}
    assert len(ids) == 1 and GENERATION_ID.match(ids.pop())
    assert all((chunk.model_extra or {})["provider"] == "OpenAI" for chunk in chunks)
    pieces = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert len(pieces) > 1 and "".join(pieces) == HELLO
    finish = [c.choices[0] for c in chunks if c.choices and c.choices[0].finish_reason]
    assert [(f.finish_reason, (f.model_extra or {})["native_finish_reason"]) for f in finish] == [
        ("stop", "stop")
    ]
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert last.usage.total_tokens == last.usage.prompt_tokens + last.usage.completion_tokens


def test_raw_stream_chunks(sdk_server: ServerProcess) -> None:
    request = {"model": MODEL, "messages": user("or-hello"), "stream": True}
    response = post(sdk_server, BASE + "/chat/completions", request, timeout=10)
    assert response.headers["content-type"].startswith("text/event-stream")
    assert not response.text.startswith(":")  # no openRouterProcessing on this fixture
    assert response.text.endswith("data: [DONE]\n\n")
    chunks = sse_chunks(response.text)
    for chunk in chunks:
        validate_strict(ChatCompletionChunk, chunk)
        assert_required_fields(ChatCompletionChunk, chunk)
        assert chunk["system_fingerprint"] is None
        assert "service_tier" not in chunk
        for choice in chunk["choices"]:
            assert "native_finish_reason" in choice
    # `usage` appears once, in the final chunk (never OpenAI's `usage: null` on the others).
    assert ["usage" in chunk for chunk in chunks] == [False] * (len(chunks) - 1) + [True]


def test_stream_reasoning_and_processing_comment(client: OpenAI, sdk_server: ServerProcess) -> None:
    request = {"model": THINKER, "messages": user("or-think"), "stream": True}
    raw = post(sdk_server, BASE + "/chat/completions", request, timeout=10)
    assert raw.text.startswith(": OPENROUTER PROCESSING\n\ndata: ")

    chunks = list(
        client.chat.completions.create(model=THINKER, messages=user("or-think"), stream=True)
    )
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    reasoning = [(d.model_extra or {}).get("reasoning") for d in deltas]
    pieces = [piece for piece in reasoning if piece]
    assert len(pieces) > 1 and "".join(pieces) == REASONING
    details = [
        detail for d in deltas for detail in (d.model_extra or {}).get("reasoning_details") or []
    ]
    assert "".join(d["text"] for d in details) == REASONING
    assert {d["format"] for d in details} == {"anthropic-claude-v1"}
    assert [d.get("signature") for d in details][-1] == "sig-or-think"
    assert all("signature" not in d for d in details[:-1])
    assert all("reasoning_content" not in (d.model_extra or {}) for d in deltas)
    assert "".join(d.content or "" for d in deltas) == "Five apples."
    usage = chunks[-1].usage
    assert usage is not None and (usage.model_extra or {})["cost"] == 0.00042


def test_stream_helper_accumulates(client: OpenAI) -> None:
    with client.chat.completions.stream(
        model=MODEL, messages=user("or-weather"), tools=[WEATHER_TOOL]
    ) as stream:
        final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls or []
    assert [(c.function.name, json.loads(c.function.arguments)) for c in calls] == [
        ("get_weather", {"city": "Rome"})
    ]
    assert final.usage is not None


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("text", "status", "error_class"),
    [
        ("or-throttle", 429, openai.RateLimitError),
        ("or-down", 503, openai.InternalServerError),
        ("or-no-such-fixture", 404, openai.NotFoundError),
    ],
)
def test_errors_use_openrouters_envelope(
    client: OpenAI, text: str, status: int, error_class: type[openai.APIStatusError]
) -> None:
    for stream in (False, True):
        with pytest.raises(error_class) as caught:
            client.chat.completions.create(model=MODEL, messages=user(text), stream=stream)
        assert caught.value.status_code == status
        body = caught.value.response.json()
        assert set(body) == {"error"}
        assert body["error"]["code"] == status
        assert isinstance(body["error"]["message"], str)
        assert "type" not in body["error"]
        assert caught.value.code == str(status)


def test_error_metadata_and_retry_after(client: OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model=MODEL, messages=user("or-throttle"))
    assert caught.value.response.json() == {
        "error": {
            "code": 429,
            "message": "Rate limit exceeded: free-models-per-min.",
            "metadata": {"provider_name": "OpenAI", "raw": "upstream 429"},
        }
    }
    assert caught.value.response.headers["retry-after"] == "0"


def test_bad_request(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=MODEL, messages=[])
    error = caught.value.response.json()["error"]
    assert error["code"] == 400 and error["param"] == "messages"


def test_every_openrouter_route_answers_in_its_envelope(client: OpenAI) -> None:
    """Responses and embeddings under /api/v1 refuse bad input in OpenRouter's envelope too."""
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.create(model=MODEL, input="or-nothing-matches-this")
    assert caught.value.response.json()["error"]["code"] == 404
    with pytest.raises(openai.BadRequestError) as caught_bad:
        client.embeddings.create(model="openai/text-embedding-3-small", input=[])
    assert caught_bad.value.response.json()["error"]["code"] == 400


# --------------------------------------------------------------------------- models fallback


def test_models_fallback_answers_with_the_first_working_model(
    client: OpenAI, sdk_server: ServerProcess
) -> None:
    request: Any = {
        "model": "anthropic/or-primary",
        "messages": user("or-fallback"),
        "extra_body": {"models": ["anthropic/or-primary", "openai/or-backup"]},
    }
    completion = client.chat.completions.create(**request)
    assert completion.choices[0].message.content == "Answered by the backup model."
    assert completion.model == "openai/or-backup"
    assert (completion.model_extra or {})["provider"] == "OpenAI"
    entry = sdk_server.journal()[-1]
    assert entry["model"] == "anthropic/or-primary"  # the journal keeps what was asked
    chunks = list(client.chat.completions.create(**request, stream=True))
    assert {chunk.model for chunk in chunks} == {"openai/or-backup"}


def test_models_fallback_stops_at_a_terminal_error(client: OpenAI) -> None:
    with pytest.raises(openai.PermissionDeniedError):
        client.chat.completions.create(
            model="anthropic/or-terminal",
            messages=user("or-fallback"),
            extra_body={"models": ["openai/or-backup"]},
        )


def test_models_fallback_disabled_by_allow_fallbacks(client: OpenAI) -> None:
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(
            model="anthropic/or-primary",
            messages=user("or-fallback"),
            extra_body={
                "models": ["openai/or-backup"],
                "provider": {"allow_fallbacks": False},
            },
        )


def test_models_fallback_answers_the_last_error_when_all_fail(client: OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(
            model="anthropic/or-primary",
            messages=user("or-fallback"),
            extra_body={"models": ["meta-llama/or-missing"]},
        )
    assert caught.value.response.json()["error"]["message"] == "Primary model is down."


def test_openai_base_is_unchanged(sdk_server: ServerProcess) -> None:
    """The same fixture scope on `/v1` misses: the shaping lives on OpenRouter's base only."""
    request = {"model": MODEL, "messages": user("compat-hello")}
    response = post(sdk_server, "/v1/chat/completions", request, timeout=10)
    body = response.json()
    assert body["id"].startswith("chatcmpl-") and "provider" not in body
    assert body["system_fingerprint"] == "fp_aimock"
