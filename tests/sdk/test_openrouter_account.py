"""OpenRouter's own routes through its official SDK (`openrouter`): the model list, the
calling key and the credits, parsed by the SDK's own models; and the model list as an OpenAI
client pointed at OpenRouter reads it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openrouter import OpenRouter

from tests.conftest import ServerProcess, serving_fixtures

FIXTURES: list[dict[str, Any]] = [
    {"match": {"model": "meta-llama/llama-3.1-8b-instruct"}, "response": {"content": "hi"}},
    {"match": {"model": "openai/gpt-4o"}, "response": {"content": "hello"}},
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with serving_fixtures(tmp_path_factory.mktemp("openrouter"), FIXTURES) as running:
        yield running


@pytest.fixture
def client(server: ServerProcess) -> Iterator[OpenRouter]:
    with OpenRouter(api_key="sk-or-test", server_url=server.url + "/api/v1") as sdk:
        yield sdk


def test_the_model_list_is_the_fixtures_models(client: OpenRouter) -> None:
    listed = client.models.list().result
    ids = [model.id for model in listed.data]
    assert ids == ["meta-llama/llama-3.1-8b-instruct", "openai/gpt-4o"]
    assert listed.total_count == 2
    first = listed.data[0]
    assert first.architecture.output_modalities == ["text"]
    assert first.pricing.prompt == "0"
    assert first.top_provider.is_moderated is False


# The SDK still requires the key's `is_provisioning_key` and `rate_limit` and warns that they
# are deprecated whenever it reads them, real service or mock.
@pytest.mark.filterwarnings("ignore:.*DEPRECATED.*:DeprecationWarning")
def test_the_key_and_the_credits(client: OpenRouter) -> None:
    key = client.api_keys.get_current_key_metadata()
    assert key.data.label == "sk-or-v1-aimock"
    assert key.data.limit is None
    assert key.data.usage == 0
    credits = client.credits.get_credits()
    assert credits.data.total_credits == 0
    assert credits.data.total_usage == 0


def test_an_openai_client_on_openrouter_lists_the_same_models(server: ServerProcess) -> None:
    sdk = openai.OpenAI(base_url=server.url + "/api/v1", api_key="sk-or-test", max_retries=0)
    assert [model.id for model in sdk.models.list()] == [
        "meta-llama/llama-3.1-8b-instruct",
        "openai/gpt-4o",
    ]


def test_the_routes_are_journaled(server: ServerProcess, client: OpenRouter) -> None:
    client.credits.get_credits()
    assert server.journal()[-1]["path"] == "/api/v1/credits"
