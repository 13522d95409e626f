"""OpenAI moderations driven by the official `openai` SDK against a real aimock process.

Fixtures: tests/sdk/fixtures/moderations.yaml (match by `inputText`; a miss is unflagged).
"""

from __future__ import annotations

import inspect
import uuid
from typing import Any

import openai
import pytest
from openai.types import ModerationCreateResponse
from openai.types.moderation import Categories, CategoryAppliedInputTypes, CategoryScores
from pydantic import BaseModel

from tests.sdk.clients import Client
from tests.sdk.typecheck import assert_required_fields, validate_strict


def wire_keys(model: type[BaseModel]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


SDK_CATEGORIES = wire_keys(Categories)


async def moderate(client: Client, text: Any, **kwargs: Any) -> ModerationCreateResponse:
    result = client.moderations.create(input=text, **kwargs)
    response: ModerationCreateResponse = await result if inspect.isawaitable(result) else result
    return response


async def raw_moderation(client: Client, text: Any) -> dict[str, Any]:
    result = client.moderations.with_raw_response.create(input=text)
    raw_response = await result if inspect.isawaitable(result) else result
    raw: dict[str, Any] = raw_response.http_response.json()
    return raw


async def test_unmatched_input_is_not_flagged(client: Client) -> None:
    response = await moderate(client, f"mod-harmless-{uuid.uuid4()}")
    assert response.id.startswith("modr-")
    assert response.model == "omni-moderation-latest"
    [result] = response.results
    assert result.flagged is False
    assert not any(result.categories.model_dump().values())
    assert all(score < 0.01 for score in result.category_scores.model_dump().values())


async def test_fixture_flags_its_categories(client: Client) -> None:
    response = await moderate(
        client, "mod-violent-text about a fight", model="omni-moderation-latest"
    )
    [result] = response.results
    assert result.flagged is True
    flagged = {name for name, value in result.categories.model_dump(by_alias=True).items() if value}
    assert flagged == {"violence", "violence/graphic"}
    assert result.categories.violence_graphic is True
    assert result.category_scores.violence > 0.5
    assert result.category_scores.hate < 0.01
    assert result.category_applied_input_types.violence == ["text"]
    assert result.category_applied_input_types.hate == []


async def test_flagged_without_categories_still_names_one(client: Client) -> None:
    [result] = (await moderate(client, "mod-flag-only")).results
    assert result.flagged is True
    assert any(result.categories.model_dump().values()), "a flagged verdict has a reason"


async def test_list_input_gives_one_result_each(client: Client) -> None:
    response = await moderate(client, [f"mod-one-{uuid.uuid4()}", f"mod-two-{uuid.uuid4()}"])
    assert [r.flagged for r in response.results] == [False, False]


async def test_requested_model_is_echoed(client: Client) -> None:
    response = await moderate(client, "mod-model-echo", model="text-moderation-stable")
    assert response.model == "text-moderation-stable"


@pytest.mark.parametrize("text", ["mod-violent-text", "mod-plain-words"])
async def test_result_keys_are_exactly_the_sdk_categories(client: Client, text: str) -> None:
    raw = await raw_moderation(client, text)
    [result] = raw["results"]
    assert set(result["categories"]) == SDK_CATEGORIES
    assert set(result["category_scores"]) == wire_keys(CategoryScores) == SDK_CATEGORIES
    assert set(result["category_applied_input_types"]) == wire_keys(CategoryAppliedInputTypes)


@pytest.mark.parametrize("text", ["mod-violent-text", "mod-flag-only", ["mod-a", "mod-b"]])
async def test_raw_body_matches_sdk_types_strictly(client: Client, text: Any) -> None:
    raw = await raw_moderation(client, text)
    validate_strict(ModerationCreateResponse, raw)
    assert_required_fields(ModerationCreateResponse, raw)


@pytest.mark.parametrize(
    ("body", "param"),
    [({"model": "x"}, "input"), ({"input": ""}, "input"), ({"input": ["a", ""]}, "input[1]")],
)
async def test_a_missing_or_empty_input_is_a_400(
    client: Client, body: dict[str, Any], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        result = client.post("/moderations", body=body, cast_to=ModerationCreateResponse)
        await result if inspect.isawaitable(result) else result
    assert caught.value.param == param
    assert caught.value.type == "invalid_request_error"
