"""OpenAI model listing driven by the official `openai` SDK against a real aimock process.

`GET /v1/models` lists the model ids fixtures name (tests/sdk/fixtures/models.yaml names two),
or a default set when no fixture names one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from openai.types import Model

from tests.conftest import ServerProcess
from tests.sdk.clients import Client, resolve
from tests.sdk.typecheck import assert_required_fields, validate_strict

SLASHED = "meta-llama/Llama-3-8b"
DEFAULTS = [
    "gpt-4",
    "gpt-4o",
    "gpt-4o-mini",
    "claude-3-5-sonnet-20241022",
    "gemini-2.0-flash",
    "text-embedding-3-small",
]


async def list_ids(client: Client) -> list[str]:
    page = await resolve(client.models.list())
    return [model.id for model in page.data]


async def test_list_holds_the_models_fixtures_name(client: Client) -> None:
    ids = await list_ids(client)
    assert {"gpt-mock-1", SLASHED} <= set(ids)
    assert len(ids) == len(set(ids)), "each id once"


async def test_list_pages_iterate(client: Client) -> None:
    page = await resolve(client.models.list())
    if isinstance(client, AsyncOpenAI):
        ids = [model.id async for model in page]
    else:
        ids = [model.id for model in page]
    assert "gpt-mock-1" in ids


@pytest.mark.parametrize("model_id", ["gpt-mock-1", SLASHED])
async def test_retrieve_one(client: Client, model_id: str) -> None:
    model = await resolve(client.models.retrieve(model_id))
    assert model.id == model_id
    assert model.object == "model"
    assert model.owned_by == "aimock"
    assert model.created > 0


def test_slashed_id_unencoded_path(sdk_server: ServerProcess) -> None:
    """Clients that do not percent-encode the slash reach the same model."""
    response = httpx.get(f"{sdk_server.base_url}/models/{SLASHED}")
    assert response.status_code == 200
    assert response.json()["id"] == SLASHED


async def test_unknown_model_is_not_found(client: Client) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        await resolve(client.models.retrieve("gpt-does-not-exist"))
    assert caught.value.code == "model_not_found"
    assert caught.value.type == "invalid_request_error"
    assert caught.value.param == "model"
    body = caught.value.response.json()
    assert set(body["error"]) >= {"message", "type", "param", "code"}


async def test_unknown_slashed_model_is_not_found(client: Client) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        await resolve(client.models.retrieve("meta-llama/Nope-1b"))
    assert caught.value.code == "model_not_found"


def test_raw_bodies_match_sdk_types_strictly(sdk_server: ServerProcess) -> None:
    listing = httpx.get(sdk_server.base_url + "/models").json()
    assert listing["object"] == "list"
    for item in listing["data"]:
        validate_strict(Model, item)
        assert_required_fields(Model, item)
    one = httpx.get(sdk_server.base_url + "/models/gpt-mock-1").json()
    validate_strict(Model, one)
    assert_required_fields(Model, one)


def test_defaults_when_no_fixture_names_a_model(server_factory: Any, tmp_path: Path) -> None:
    fixtures = tmp_path / "no-models.yaml"
    fixtures.write_text(
        "fixtures:\n  - match: { userMessage: models-no-model }\n    response: { content: hi }\n"
    )
    server = server_factory.start("-f", str(fixtures))
    with OpenAI(base_url=server.base_url, api_key="test", max_retries=0) as sync:
        assert [m.id for m in sync.models.list().data] == DEFAULTS
        assert sync.models.retrieve("gpt-4o").id == "gpt-4o"
