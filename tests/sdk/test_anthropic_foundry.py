"""Claude on Azure AI Foundry, driven by the official `anthropic.AnthropicFoundry` client.

The client's base is `https://{resource}.services.ai.azure.com/anthropic/`; pointed at the mock
it is `{origin}/anthropic`, and it posts the Messages wire to `/anthropic/v1/messages` with
both `x-api-key` and `api-key` headers. Fixtures: the Foundry ones in
tests/sdk/fixtures/anthropic.yaml (`provider: foundry`), and every fixture scoped only to the
`anthropic.messages` surface, which answers both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import anthropic
import httpx
import pytest
from anthropic import AnthropicFoundry, AsyncAnthropicFoundry

from tests.conftest import ServerProcess

MODEL = "claude-sonnet-4-6"
FOUNDRY_TEXT = "Hello from Claude on Azure AI Foundry."


@pytest.fixture
def client(sdk_server: ServerProcess) -> Iterator[AnthropicFoundry]:
    with AnthropicFoundry(
        base_url=sdk_server.url + "/anthropic", api_key="test", max_retries=0
    ) as sdk:
        yield sdk


@pytest.fixture
async def aclient(sdk_server: ServerProcess) -> AsyncIterator[AsyncAnthropicFoundry]:
    async with AsyncAnthropicFoundry(
        base_url=sdk_server.url + "/anthropic", api_key="test", max_retries=0
    ) as sdk:
        yield sdk


def test_text(client: AnthropicFoundry, sdk_server: ServerProcess) -> None:
    message = client.messages.create(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "anth-foundry-salute"}]
    )
    [block] = message.content
    assert block.type == "text" and block.text == FOUNDRY_TEXT
    assert message.stop_reason == "end_turn" and message.usage.output_tokens > 0
    [entry] = [e for e in sdk_server.journal() if e["path"] == "/anthropic/v1/messages"][-1:]
    assert entry["provider"] == "foundry" and entry["surface"] == "anthropic.messages"
    headers = entry["headers"]
    assert isinstance(headers, dict)
    assert "x-api-key" in headers and "api-key" in headers  # values are redacted


async def test_stream_async(aclient: AsyncAnthropicFoundry) -> None:
    async with aclient.messages.stream(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "anth-foundry-salute"}]
    ) as stream:
        pieces = [piece async for piece in stream.text_stream]
        final = await stream.get_final_message()
    assert len(pieces) > 1 and "".join(pieces) == FOUNDRY_TEXT
    assert final.stop_reason == "end_turn"


def test_tool_use(client: AnthropicFoundry) -> None:
    message = client.messages.create(
        model=MODEL,
        max_tokens=64,
        tools=[{"name": "get_weather", "input_schema": {"type": "object"}}],
        messages=[{"role": "user", "content": "anth-foundry-forecast"}],
    )
    [call] = message.content
    assert call.type == "tool_use" and call.input == {"city": "Dublin"}
    assert call.id == "toolu_anth_foundry_1" and message.stop_reason == "tool_use"


def test_surface_scoped_fixtures_answer_foundry_too(client: AnthropicFoundry) -> None:
    message = client.messages.create(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "anth-hello"}]
    )
    assert message.content[0].type == "text"
    assert message.content[0].text == "Hello from the Messages API, in several slices."


def test_foundry_fixtures_do_not_answer_the_anthropic_api(sdk_server: ServerProcess) -> None:
    with (
        anthropic.Anthropic(base_url=sdk_server.url, api_key="test", max_retries=0) as direct,
        pytest.raises(anthropic.NotFoundError),
    ):
        direct.messages.create(
            model=MODEL,
            max_tokens=64,
            messages=[{"role": "user", "content": "anth-foundry-salute"}],
        )


def test_count_tokens(client: AnthropicFoundry) -> None:
    counted = client.messages.count_tokens(
        model=MODEL, messages=[{"role": "user", "content": "anth-foundry-salute"}]
    )
    assert counted.input_tokens == 5


def test_overloaded(client: AnthropicFoundry) -> None:
    with pytest.raises(anthropic.OverloadedError) as caught:
        client.messages.create(
            model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "anth-foundry-busy"}]
        )
    assert caught.value.status_code == 529
    assert caught.value.response.json()["error"]["type"] == "overloaded_error"


def test_bad_request_envelope(sdk_server: ServerProcess) -> None:
    response = httpx.post(
        sdk_server.url + "/anthropic/v1/messages",
        json={"model": MODEL, "messages": [{"role": "user", "content": "anth-foundry-salute"}]},
        headers={"api-key": "test"},
        timeout=30,
    )
    assert response.status_code == 400
    assert response.json()["type"] == "error"
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_environment_variables(sdk_server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the operator publishes (registry.environment) is enough for the client."""
    from aimock.providers.registry import environment

    monkeypatch.delenv("ANTHROPIC_FOUNDRY_RESOURCE", raising=False)
    for name, value in environment(sdk_server.url).items():
        if name.startswith("ANTHROPIC_FOUNDRY_"):
            monkeypatch.setenv(name, value)
    with AnthropicFoundry(max_retries=0) as sdk:
        message = sdk.messages.create(
            model=MODEL,
            max_tokens=64,
            messages=[{"role": "user", "content": "anth-foundry-salute"}],
        )
    assert message.content[0].type == "text" and message.content[0].text == FOUNDRY_TEXT
