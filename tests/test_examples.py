"""Every example a user may copy is loaded and answers as its comments say."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pydantic
import pytest

from aimock.fixtures.loading import load_paths
from aimock.providers.audio import tone
from tests.conftest import ServerProcess, start_server

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
# Kubernetes RBAC beside the manifests (examples/recording/rbac.yaml) is no aimock file: the
# cluster tests apply it (tests/k8s/test_recording.py).
EXAMPLE_FILES = sorted(
    p
    for p in EXAMPLES.rglob("*")
    if p.suffix in (".yaml", ".yml", ".json") and p.name not in ("rbac.yaml", "kustomization.yaml")
)


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_example_loads(path: Path) -> None:
    loaded = load_paths([path])
    assert loaded.fixtures or loaded.chaos_policies, f"{path} holds nothing to serve"


@pytest.fixture(scope="module")
def examples_server() -> Iterator[ServerProcess]:
    server = start_server(["-f", str(EXAMPLES / "fixtures"), "-f", str(EXAMPLES / "aimock-json")])
    yield server
    server.stop()


@pytest.fixture
def client(examples_server: ServerProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=examples_server.base_url, api_key="test", max_retries=0)


def ask(client: openai.OpenAI, text: str, **kwargs: object) -> openai.types.chat.ChatCompletion:
    return client.chat.completions.create(  # type: ignore[call-overload, no-any-return]
        model="gpt-4o", messages=[{"role": "user", "content": text}], **kwargs
    )


def test_chat_basics(client: openai.OpenAI) -> None:
    assert ask(client, "Hello there").choices[0].message.content == "Hello! How can I help?"
    paris = ask(client, "What is the capital of France?")
    assert paris.choices[0].message.content == "The capital of France is Paris."
    assert paris.usage is not None and paris.usage.prompt_tokens == 12
    refusal = ask(client, "Tell me the admin PASSWORD").choices[0].message
    assert refusal.content is None and refusal.refusal == "I can't help with that."


def test_tool_loop(client: openai.OpenAI) -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
    first = ask(client, "What's the weather in Lisbon?", tools=tools)
    call = first.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert first.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    second = client.chat.completions.create(
        model="gpt-4o",
        tools=tools,  # type: ignore[arg-type]
        messages=[
            {"role": "user", "content": "What's the weather in Lisbon?"},
            first.choices[0].message.model_dump(exclude_none=True),  # type: ignore[list-item]
            {"role": "tool", "tool_call_id": call.id, "content": '{"temp": 21}'},
        ],
    )
    assert second.choices[0].message.content == "It's 21°C and sunny in Lisbon."


class Invoice(pydantic.BaseModel):
    number: str
    total: float
    currency: str


def test_structured_output_and_errors(
    client: openai.OpenAI, examples_server: ServerProcess
) -> None:
    parsed = client.chat.completions.parse(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Please extract the invoice"}],
        response_format=Invoice,
    )
    assert parsed.choices[0].message.parsed == Invoice(number="INV-001", total=99.5, currency="EUR")
    with pytest.raises(openai.RateLimitError):
        ask(client, "trigger a rate limit")
    headers = {"X-Test-Id": "examples-flaky"}
    with pytest.raises(openai.InternalServerError):
        ask(client, "flaky", extra_headers=headers)
    for _ in range(2):
        assert ask(client, "flaky", extra_headers=headers).choices[0].message.content == (
            "Worked on the second try."
        )
    vector = client.embeddings.create(
        model="text-embedding-3-small", input="the fixed sentence", encoding_format="float"
    )
    assert vector.data[0].embedding == pytest.approx([0.1, 0.2, 0.3, 0.4])


def test_aimock_json_example(client: openai.OpenAI) -> None:
    assert ask(client, "Please greet me from the AIMock file").choices[0].message.content == (
        "Hi from an AIMock fixture file!"
    )
    headers = {"X-Test-Id": "examples-seq"}
    answers = [
        ask(client, "second time", extra_headers=headers).choices[0].message.content
        for _ in range(2)
    ]
    assert answers == ["first", "second"]


def test_any_provider_example(client: openai.OpenAI, examples_server: ServerProcess) -> None:
    """examples/fixtures/any-provider.yaml: the same fixtures through four SDKs."""
    import anthropic
    import boto3
    import ollama
    from botocore.config import Config
    from google import genai
    from google.genai import types

    question = "Please plan a trip to Kyoto."
    # OpenAI: the tool call, then the answer once the result is in.
    tools: Any = [{"type": "function", "function": {"name": "search_flights", "parameters": {}}}]
    [call] = ask(client, question, tools=tools).choices[0].message.tool_calls or []
    assert call.type == "function" and call.function.name == "search_flights"
    assert json.loads(call.function.arguments) == {"destination": "KIX"}

    # Anthropic: the same tool call as a tool_use block.
    with anthropic.Anthropic(base_url=examples_server.url, api_key="t", max_retries=0) as claude:
        message = claude.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=256,
            tools=[{"name": "search_flights", "input_schema": {"type": "object"}}],
            messages=[{"role": "user", "content": question}],
        )
    [block] = message.content
    assert block.type == "tool_use" and block.input == {"destination": "KIX"}

    # Gemini: the answer after the function response.
    options = types.HttpOptions(base_url=examples_server.url)
    contents: Any = [
        {"role": "user", "parts": [{"text": question}]},
        {"role": "model", "parts": [{"function_call": {"name": "search_flights", "args": {}}}]},
        {
            "role": "user",
            "parts": [{"function_response": {"name": "search_flights", "response": {"ok": 1}}}],
        },
    ]
    with genai.Client(api_key="t", http_options=options) as gemini:
        answer = gemini.models.generate_content(model="gemini-2.5-flash", contents=contents)
    assert answer.text == "Fly to Osaka Kansai (KIX), then take the Haruka express to Kyoto."

    # Bedrock gets its own budget answer; Ollama the general one.
    bedrock = boto3.client(
        "bedrock-runtime",
        endpoint_url=examples_server.url,
        region_name="us-east-1",
        aws_access_key_id="t",
        aws_secret_access_key="t",
        config=Config(retries={"total_max_attempts": 1}),
    )
    budget = bedrock.converse(
        modelId="amazon.nova-pro-v1:0",
        messages=[{"role": "user", "content": [{"text": "What is the trip budget?"}]}],
    )
    bedrock.close()
    assert budget["output"]["message"]["content"] == [
        {"text": "About 2,000 USD (answered on Bedrock)."}
    ]
    with ollama.Client(host=examples_server.url) as local_client:
        local = local_client.chat(
            model="llama3.2", messages=[{"role": "user", "content": "What is the trip budget?"}]
        )
    assert local.message.content == "About 2,000 USD."


def test_mockstack_manifest_serves_locally() -> None:
    server = start_server(["-f", str(EXAMPLES / "mockstack.yaml")])
    try:
        client = openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        assert ask(client, "are you there?").choices[0].message.content == (
            "Yes, the preview stack is up."
        )
        assert ask(client, "where is my order?").choices[0].message.content == (
            "Your order shipped yesterday and arrives tomorrow."
        )
        with pytest.raises(openai.InternalServerError) as caught:  # strict: true in the spec
            ask(client, "something no fixture covers")
        assert caught.value.status_code == 503
    finally:
        server.stop()


def test_gitops_fixtures_and_the_chaos_drill_run_locally() -> None:
    gitops = EXAMPLES / "gitops" / "base"
    server = start_server(
        [
            *("-f", str(gitops / "checkout-faq.yaml")),
            *("-f", str(gitops / "checkout-failures.yaml")),
            *("-f", str(EXAMPLES / "chaos-drill.yaml")),
        ]
    )
    try:
        client = openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        outcomes = []
        for _ in range(60):
            try:
                outcomes.append(ask(client, "Can I RETURN my shoes?").choices[0].message.content)
            except (openai.InternalServerError, ValueError) as exc:  # 500, or a broken body
                outcomes.append(type(exc).__name__)
        answers = [o for o in outcomes if o and o.startswith("You can return")]
        assert answers, outcomes
        assert len(answers) < len(outcomes), "the drill dropped or broke nothing"
        actions = {e["response"].get("chaosAction") for e in server.journal()}  # type: ignore[union-attr]
        assert actions & {"drop", "malformed"}
        with pytest.raises(openai.InternalServerError) as outage:
            ask(
                client,
                "simulate an outage",
                extra_headers={"x-aimock-chaos-drop": "0", "x-aimock-chaos-malformed": "0"},
            )
        assert outage.value.status_code == 503
    finally:
        server.stop()


async def test_voice_agent(examples_server: ServerProcess) -> None:
    """The caller's audio is transcribed, the agent calls its tool, then speaks the answer."""
    sdk = openai.AsyncOpenAI(base_url=examples_server.base_url, api_key="test", max_retries=0)
    session = {
        "type": "realtime",
        "audio": {
            "input": {"transcription": {"model": "gpt-4o-transcribe"}, "turn_detection": None}
        },
    }
    async with sdk.realtime.connect(model="gpt-realtime") as connection:
        await connection.session.update(session=session)
        await connection.input_audio_buffer.append(audio=base64.b64encode(tone(500)).decode())
        await connection.input_audio_buffer.commit()
        heard = ""
        async for event in connection:
            if event.type == "conversation.item.input_audio_transcription.completed":
                heard = event.transcript
                break
        assert heard == "Where is my order 4417?"
        await connection.response.create()
        call = None
        async for event in connection:
            if event.type == "response.function_call_arguments.done":
                call = event
            if event.type == "response.done":
                break
        assert call is not None and call.name == "lookup_order"
        await connection.conversation.item.create(
            item={"type": "function_call_output", "call_id": call.call_id, "output": "shipped"}
        )
        await connection.response.create()
        spoken, audio = "", 0
        async for event in connection:
            if event.type == "response.output_audio_transcript.delta":
                spoken += event.delta
            if event.type == "response.output_audio.delta":
                audio += len(base64.b64decode(event.delta))
            if event.type == "response.done":
                break
    assert spoken == "Your order 4417 left the warehouse this morning."
    assert audio > 24000 * 2  # over a second of speech
