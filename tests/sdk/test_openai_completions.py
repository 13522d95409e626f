"""Legacy Completions (`POST /v1/completions`) through the official `openai` SDK against a real
server process: plain and streamed, matched on the prompt, `echo`, `n`, a list of prompts,
`logprobs`, `suffix`, usage in the stream, and errors in OpenAI's envelope. Every body and
chunk is also checked strictly against the SDK's `Completion` type."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import orjson
import pytest
from openai import OpenAI
from openai.types import Completion

from tests.conftest import ServerProcess, serving_fixtures
from tests.sdk.typecheck import validate_strict

MODEL = "gpt-3.5-turbo-instruct"
ANSWER = " a lazy dog, in several slices."
FIXTURES: list[dict[str, Any]] = [
    {
        "match": {"surface": "openai.completions", "userMessage": "The quick brown fox jumps"},
        "response": {"content": ANSWER},
        "chunkSize": 6,
    },
    {"match": {"userMessage": "Say hi"}, "response": {"content": "Hi there."}},
    {
        "match": {"userMessage": "too long"},
        "response": {"content": "cut", "finishReason": "length"},
    },
    {
        "match": {"userMessage": "rate me"},
        "response": {"status": 429, "error": {"message": "Slow down."}},
    },
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with serving_fixtures(tmp_path_factory.mktemp("completions"), FIXTURES) as running:
        yield running


@pytest.fixture
def client(server: ServerProcess) -> Iterator[OpenAI]:
    with OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as sdk:
        yield sdk


def create_raw(client: OpenAI, **kwargs: Any) -> tuple[Completion, dict[str, Any]]:
    raw_response = client.completions.with_raw_response.create(**kwargs)
    raw: dict[str, Any] = raw_response.http_response.json()
    validate_strict(Completion, raw)
    return raw_response.parse(), raw


def test_a_prompt_is_answered_by_its_fixture(client: OpenAI) -> None:
    completion, raw = create_raw(client, model=MODEL, prompt="The quick brown fox jumps")
    assert completion.object == "text_completion"
    assert completion.id.startswith("cmpl-")
    assert completion.model == MODEL
    (choice,) = completion.choices
    assert (choice.text, choice.index, choice.finish_reason) == (ANSWER, 0, "stop")
    assert choice.logprobs is None
    assert completion.usage is not None
    assert completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    )
    assert raw["choices"][0]["logprobs"] is None


def test_a_chat_fixture_answers_a_prompt_too(client: OpenAI) -> None:
    """A fixture without `surface:` answers chat and completions alike (endpoint `chat`)."""
    completion = client.completions.create(model=MODEL, prompt="Say hi")
    assert completion.choices[0].text == "Hi there."
    chat = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "Say hi"}]
    )
    assert chat.choices[0].message.content == "Hi there."


def test_streamed_in_slices_ending_with_done(client: OpenAI, server: ServerProcess) -> None:
    chunks = list(
        client.completions.create(
            model=MODEL,
            prompt="The quick brown fox jumps",
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    texts = [c.choices[0].text for c in chunks if c.choices]
    assert "".join(texts) == ANSWER
    assert len([t for t in texts if t]) > 1
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    with httpx.stream(
        "POST",
        f"{server.base_url}/completions",
        json={"model": MODEL, "prompt": "The quick brown fox jumps", "stream": True},
    ) as response:
        lines = [line for line in response.iter_lines() if line]
    assert response.headers["content-type"].startswith("text/event-stream")
    assert lines[-1] == "data: [DONE]"
    chunks_json = [orjson.loads(line[len("data: ") :]) for line in lines[:-1]]
    for chunk in chunks_json:
        # As the API streams them: `finish_reason` null until each choice's last chunk (the
        # SDK types it as always set), every other field as in a whole answer.
        choice = chunk["choices"][0]
        finish = choice["finish_reason"] or "stop"
        validate_strict(Completion, {**chunk, "choices": [{**choice, "finish_reason": finish}]})


def test_echo_n_and_several_prompts(client: OpenAI) -> None:
    echoed = client.completions.create(model=MODEL, prompt="Say hi", echo=True, n=2)
    assert [c.text for c in echoed.choices] == ["Say hiHi there."] * 2
    assert [c.index for c in echoed.choices] == [0, 1]
    several = client.completions.create(model=MODEL, prompt=["first", "Say hi"], n=2)
    assert [c.index for c in several.choices] == [0, 1, 2, 3]
    assert {c.text for c in several.choices} == {"Hi there."}  # matched on the last prompt
    streamed = client.completions.create(model=MODEL, prompt="Say hi", echo=True, stream=True)
    assert "".join(c.choices[0].text for c in streamed if c.choices) == "Say hiHi there."


def test_logprobs_suffix_and_length(client: OpenAI) -> None:
    completion, raw = create_raw(client, model=MODEL, prompt="Say hi", logprobs=2, suffix="!")
    logprobs = completion.choices[0].logprobs
    assert logprobs is not None and logprobs.tokens is not None
    assert "".join(logprobs.tokens) == "Hi there."
    assert logprobs.text_offset == [0, 2]
    assert len(logprobs.token_logprobs or []) == len(logprobs.tokens)
    assert raw["choices"][0]["logprobs"]["top_logprobs"][0] == {"Hi": -0.03}
    cut = client.completions.create(model=MODEL, prompt="too long")
    assert cut.choices[0].finish_reason == "length"


def test_errors_in_openai_envelope(client: OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as limited:
        client.completions.create(model=MODEL, prompt="rate me")
    assert limited.value.body == {
        "message": "Slow down.",
        "type": "rate_limit_error",
        "param": None,
        "code": None,
    }
    with pytest.raises(openai.BadRequestError) as bad:
        client.completions.create(model=MODEL, prompt=[])
    assert bad.value.param == "prompt"
    with pytest.raises(openai.BadRequestError) as bad_n:
        client.completions.create(model=MODEL, prompt="Say hi", n=500)
    assert bad_n.value.param == "n"
    with pytest.raises(openai.BadRequestError) as no_prompt:
        client.post("/completions", body={"model": MODEL}, cast_to=httpx.Response)
    assert no_prompt.value.param == "prompt"
    with pytest.raises(openai.NotFoundError) as miss:
        client.completions.create(model=MODEL, prompt="nothing matches this")
    assert miss.value.code == "no_fixture_match"
