"""Azure OpenAI's classic API, driven by the official `openai.AzureOpenAI` clients.

`AzureOpenAI(azure_endpoint=origin, api_version=..., api_key=...)` posts chat and embeddings to
`/openai/deployments/{deployment}/...?api-version=...` (the deployment is `azure_deployment=`
or the request's `model`) and Responses to `/openai/responses?api-version=...` either way.
Fixtures: tests/sdk/fixtures/azure.yaml (`provider: azure`, "azr-" messages).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncAzureOpenAI, AzureOpenAI
from openai.types import CreateEmbeddingResponse
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from tests.conftest import ServerProcess
from tests.sdk.helpers import WEATHER_TOOL, user
from tests.sdk.typecheck import validate_strict

API_VERSION = "2024-10-21"
DEPLOYMENT = "gpt-4o-prod"
HELLO = "Hello from an Azure OpenAI deployment."


def _client(server: ServerProcess, **kwargs: Any) -> AzureOpenAI:
    kwargs.setdefault("api_key", "test")
    return AzureOpenAI(azure_endpoint=server.url, api_version=API_VERSION, max_retries=0, **kwargs)


@pytest.fixture
def client(sdk_server: ServerProcess) -> Iterator[AzureOpenAI]:
    with _client(sdk_server) as sdk:
        yield sdk


@pytest.fixture
async def aclient(sdk_server: ServerProcess) -> AsyncIterator[AsyncAzureOpenAI]:
    async with AsyncAzureOpenAI(
        azure_endpoint=sdk_server.url,
        api_version=API_VERSION,
        api_key="test",
        azure_deployment=DEPLOYMENT,
        max_retries=0,
    ) as sdk:
        yield sdk


def last_entry(server: ServerProcess) -> dict[str, Any]:
    return server.journal()[-1]


# --------------------------------------------------------------------------- chat


def test_chat_plain(client: AzureOpenAI, sdk_server: ServerProcess) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model=DEPLOYMENT, messages=user("azr-hello")
    )
    body = raw.http_response.json()
    validate_strict(ChatCompletion, {k: v for k, v in body.items() if k != "prompt_filter_results"})
    completion = raw.parse()
    assert completion.choices[0].message.content == HELLO
    assert completion.model == DEPLOYMENT
    # Azure's content-filter verdicts, as Azure-aware clients read them.
    [prompt_results] = body["prompt_filter_results"]
    assert prompt_results["prompt_index"] == 0
    assert prompt_results["content_filter_results"]["hate"] == {
        "filtered": False,
        "severity": "safe",
    }
    assert body["choices"][0]["content_filter_results"]["violence"]["filtered"] is False
    entry = last_entry(sdk_server)
    assert (
        entry["path"]
        == f"/openai/deployments/{DEPLOYMENT}/chat/completions?api-version={API_VERSION}"
    )
    assert entry["provider"] == "azure" and entry["surface"] == "openai.chat"
    assert "api-key" in entry["headers"]  # type: ignore[operator]


async def test_chat_async_with_deployment(aclient: AsyncAzureOpenAI) -> None:
    completion = await aclient.chat.completions.create(model="ignored", messages=user("azr-hello"))
    assert completion.choices[0].message.content == HELLO
    assert completion.model == DEPLOYMENT  # the deployment in the path wins over the body


def test_deployment_name_is_the_model(sdk_server: ServerProcess) -> None:
    with _client(sdk_server, azure_deployment="azr-special-deployment") as sdk:
        completion = sdk.chat.completions.create(
            model="gpt-4o", messages=user("azr-which-deployment")
        )
    assert completion.choices[0].message.content == "Matched by deployment name."


def test_chat_stream_helper(client: AzureOpenAI) -> None:
    with client.chat.completions.stream(model=DEPLOYMENT, messages=user("azr-hello")) as stream:
        pieces = [e.delta for e in stream if e.type == "content.delta"]
        final = stream.get_final_completion()
    assert len(pieces) > 1 and "".join(pieces) == HELLO
    assert final.choices[0].message.content == HELLO


async def test_chat_stream_opens_with_prompt_filter_chunk(aclient: AsyncAzureOpenAI) -> None:
    """Azure's first chunk has no choices, only the prompt's filter verdicts."""
    stream = await aclient.chat.completions.create(
        model=DEPLOYMENT, messages=user("azr-hello"), stream=True
    )
    chunks = [chunk async for chunk in stream]
    first, *rest = chunks
    assert first.choices == []
    assert (first.model_extra or {})["prompt_filter_results"][0]["prompt_index"] == 0
    for chunk in rest:
        validate_strict(ChatCompletionChunk, chunk.model_dump(exclude_unset=True))
    assert "".join(c.choices[0].delta.content or "" for c in rest) == HELLO
    assert rest[-1].choices[0].finish_reason == "stop"


def test_tool_call_and_result(client: AzureOpenAI) -> None:
    first = client.chat.completions.create(
        model=DEPLOYMENT, messages=user("azr-weather"), tools=[WEATHER_TOOL]
    )
    [call] = first.choices[0].message.tool_calls or []
    assert call.type == "function"
    assert call.id == "call_azr_weather" and json.loads(call.function.arguments) == {
        "city": "Seattle"
    }
    assert first.choices[0].finish_reason == "tool_calls"
    second = client.chat.completions.create(
        model=DEPLOYMENT,
        tools=[WEATHER_TOOL],
        messages=[
            *user("azr-weather"),
            first.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "12C, rain"},
        ],
    )
    assert second.choices[0].message.content == "It is 12 degrees and raining in Seattle."


def test_tool_call_streamed(client: AzureOpenAI) -> None:
    with client.chat.completions.stream(
        model=DEPLOYMENT, messages=user("azr-weather"), tools=[WEATHER_TOOL]
    ) as stream:
        final = stream.get_final_completion()
    [call] = final.choices[0].message.tool_calls or []
    assert call.type == "function" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Seattle"}


# --------------------------------------------------------------------------- other routes


def test_embeddings(client: AzureOpenAI, sdk_server: ServerProcess) -> None:
    raw = client.embeddings.with_raw_response.create(
        model="text-embedding-3-small", input="azr-embed-me", encoding_format="float"
    )
    validate_strict(CreateEmbeddingResponse, raw.http_response.json())
    assert raw.parse().data[0].embedding == [0.5, -0.5, 0.25, -0.25]
    entry = last_entry(sdk_server)
    assert str(entry["path"]).startswith("/openai/deployments/text-embedding-3-small/embeddings?")
    assert entry["provider"] == "azure"


async def test_embeddings_base64_default(aclient: AsyncAzureOpenAI) -> None:
    """The SDK asks for base64 unless told; a miss gets the deterministic vector."""
    result = await aclient.embeddings.create(model="ignored", input="azr-any-text", dimensions=8)
    assert len(result.data[0].embedding) == 8


@pytest.mark.parametrize("deployment", [None, DEPLOYMENT])
def test_responses(sdk_server: ServerProcess, deployment: str | None) -> None:
    with _client(sdk_server, azure_deployment=deployment) as sdk:
        response = sdk.responses.create(model="gpt-4o", input="azr-respond")
        assert response.output_text == "Hello from the Azure Responses API."
        entry = last_entry(sdk_server)
        assert entry["path"] == f"/openai/responses?api-version={API_VERSION}"
        assert entry["provider"] == "azure" and entry["surface"] == "openai.responses"
        with sdk.responses.stream(model="gpt-4o", input="azr-respond") as stream:
            deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
            final = stream.get_final_response()
    assert len(deltas) > 1 and final.output_text == "Hello from the Azure Responses API."


def test_models(client: AzureOpenAI, sdk_server: ServerProcess) -> None:
    ids = [model.id for model in client.models.list()]
    assert "azr-special-deployment" in ids
    assert last_entry(sdk_server)["provider"] == "azure"


# --------------------------------------------------------------------------- auth, environment


def test_entra_token_is_accepted(sdk_server: ServerProcess) -> None:
    with AzureOpenAI(
        azure_endpoint=sdk_server.url,
        api_version=API_VERSION,
        azure_ad_token_provider=lambda: "entra-token",
        max_retries=0,
    ) as sdk:
        completion = sdk.chat.completions.create(model=DEPLOYMENT, messages=user("azr-hello"))
    assert completion.choices[0].message.content == HELLO
    assert "authorization" in last_entry(sdk_server)["headers"]  # type: ignore[operator]


def test_environment_variables(sdk_server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    from aimock.providers.registry import environment

    published = environment(sdk_server.url)
    for name in ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "OPENAI_API_VERSION"):
        monkeypatch.setenv(name, published[name])
    with AzureOpenAI(max_retries=0) as sdk:
        completion = sdk.chat.completions.create(model=DEPLOYMENT, messages=user("azr-hello"))
    assert completion.choices[0].message.content == HELLO


# --------------------------------------------------------------------------- errors


def test_rate_limit(client: AzureOpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model=DEPLOYMENT, messages=user("azr-throttle"))
    error = caught.value.response.json()["error"]
    assert error["code"] == "429" and "exceeded call rate limit" in error["message"]


async def test_content_filter_error_has_innererror(aclient: AsyncAzureOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await aclient.chat.completions.create(model=DEPLOYMENT, messages=user("azr-filtered"))
    assert caught.value.code == "content_filter" and caught.value.param == "prompt"
    inner = caught.value.response.json()["error"]["innererror"]
    assert inner["code"] == "ResponsibleAIPolicyViolation"
    assert inner["content_filter_result"]["violence"] == {"filtered": True, "severity": "medium"}


def test_miss_is_not_found(client: AzureOpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model=DEPLOYMENT, messages=user("azr-nothing-matches"))
    assert caught.value.code == "no_fixture_match"


def test_invalid_input_is_bad_request(client: AzureOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=DEPLOYMENT, messages=[])
    assert caught.value.param == "messages"
    assert set(caught.value.response.json()["error"]) >= {"message", "type", "param", "code"}


@pytest.mark.parametrize(
    "path",
    [f"/openai/deployments/{DEPLOYMENT}/chat/completions", "/openai/responses"],
)
def test_missing_api_version_is_resource_not_found(sdk_server: ServerProcess, path: str) -> None:
    """As Azure answers: 404 "Resource not found" without `?api-version=`."""
    body = {"model": "gpt-4o", "messages": user("azr-hello"), "input": "azr-respond"}
    response = httpx.post(sdk_server.url + path, json=body, headers={"api-key": "x"}, timeout=30)
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Resource not found"
    assert response.json()["error"]["code"] == "404"
    ok = httpx.post(
        sdk_server.url + path, params={"api-version": "any-value"}, json=body, timeout=30
    )
    assert ok.status_code == 200, ok.text


def test_malformed_body_envelope(sdk_server: ServerProcess) -> None:
    response = httpx.post(
        sdk_server.url + f"/openai/deployments/{DEPLOYMENT}/embeddings",
        params={"api-version": API_VERSION},
        content=b"{not json",
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
