"""OpenAI embeddings driven by the official `openai` SDK against a real aimock process.

The SDK asks for base64 when the caller names no encoding and decodes little-endian float32;
both encodings must carry the same vector. Fixtures: tests/sdk/fixtures/embeddings.yaml.
"""

from __future__ import annotations

import base64
import inspect
import struct
import uuid
from typing import Any

import httpx
import openai
import pytest
from openai.types import CreateEmbeddingResponse

from tests.conftest import ServerProcess
from tests.sdk.clients import Client
from tests.sdk.typecheck import assert_required_fields, validate_strict

MODEL = "text-embedding-3-small"
FIXED = [0.1, -0.2, 0.3, -0.4, 0.5, 0.25]


async def embed(client: Client, text: Any, **kwargs: Any) -> CreateEmbeddingResponse:
    result = client.embeddings.create(model=MODEL, input=text, **kwargs)
    response: CreateEmbeddingResponse = await result if inspect.isawaitable(result) else result
    return response


async def vectors(client: Client, text: Any, **kwargs: Any) -> list[list[float]]:
    return [item.embedding for item in (await embed(client, text, **kwargs)).data]


def as_float32(values: list[float]) -> list[float]:
    """What a float32 round trip (the base64 encoding) makes of these values."""
    return list(struct.unpack(f"<{len(values)}f", struct.pack(f"<{len(values)}f", *values)))


def unique(prefix: str) -> str:
    return f"emb-{prefix}-{uuid.uuid4()}"


async def test_explicit_fixture_vector_as_floats(client: Client) -> None:
    response = await embed(client, "emb-fixed-vector", encoding_format="float")
    assert response.object == "list"
    assert response.model == MODEL
    [item] = response.data
    assert item.object == "embedding" and item.index == 0
    assert item.embedding == FIXED
    assert response.usage.prompt_tokens > 0
    assert response.usage.total_tokens == response.usage.prompt_tokens


async def test_sdk_default_base64_decodes_to_the_float_vector(client: Client) -> None:
    [decoded] = await vectors(client, "emb-fixed-vector")  # the SDK sends base64
    [floats] = await vectors(client, "emb-fixed-vector", encoding_format="float")
    assert decoded == as_float32(floats)
    text = unique("b64")
    [decoded_fallback] = await vectors(client, text)
    [float_fallback] = await vectors(client, text, encoding_format="float")
    assert decoded_fallback == as_float32(float_fallback)


def test_base64_is_little_endian_float32_on_the_wire(sdk_server: ServerProcess) -> None:
    body = {"model": MODEL, "input": "emb-fixed-vector", "encoding_format": "base64"}
    response = httpx.post(sdk_server.base_url + "/embeddings", json=body)
    encoded = response.json()["data"][0]["embedding"]
    assert isinstance(encoded, str)
    raw = base64.b64decode(encoded)
    assert len(raw) == 4 * len(FIXED)
    assert list(struct.unpack(f"<{len(FIXED)}f", raw)) == as_float32(FIXED)


async def test_dimensions_are_honoured(client: Client) -> None:
    [derived] = await vectors(client, unique("dims"), dimensions=256, encoding_format="float")
    assert len(derived) == 256
    [fixed] = await vectors(client, "emb-fixed-vector", dimensions=3, encoding_format="float")
    assert fixed == FIXED[:3]
    [decoded] = await vectors(client, unique("dims-b64"), dimensions=64)
    assert len(decoded) == 64


async def test_deterministic_fallback(client: Client) -> None:
    text = unique("same")
    [first] = await vectors(client, text, encoding_format="float")
    [again] = await vectors(client, text, encoding_format="float")
    [other] = await vectors(client, unique("other"), encoding_format="float")
    assert len(first) == 1536, "the default dimension is text-embedding-3-small's"
    assert first == again
    assert first != other
    assert all(-1.0 <= value <= 1.0 for value in first)
    assert len(set(first)) > 100, "a vector, not a constant"


async def test_shorter_dimensions_are_a_prefix_of_the_full_vector(client: Client) -> None:
    text = unique("prefix")
    [full] = await vectors(client, text, encoding_format="float")
    [short] = await vectors(client, text, dimensions=100, encoding_format="float")
    assert short == full[:100]


async def test_list_input_gives_one_vector_each_in_order(client: Client) -> None:
    texts = [unique("a"), unique("b"), unique("c")]
    response = await embed(client, texts, encoding_format="float")
    assert [item.index for item in response.data] == [0, 1, 2]
    singles = [(await vectors(client, text, encoding_format="float"))[0] for text in texts]
    assert [item.embedding for item in response.data] == singles
    assert len({tuple(v) for v in singles}) == 3


async def test_token_array_input(client: Client) -> None:
    [single] = await vectors(client, [101, 2023, 2003], encoding_format="float")
    assert len(single) == 1536
    batch = await embed(client, [[101, 2023], [2003, 102], [101, 2023]], encoding_format="float")
    assert [item.index for item in batch.data] == [0, 1, 2]
    first, second, third = (item.embedding for item in batch.data)
    assert first == third, "the same tokens give the same vector"
    assert first != second


async def test_fixture_vector_is_answered_for_every_input_of_a_list(client: Client) -> None:
    # A list's inputs are matched joined by one space; a fixture answers each with its vector.
    response = await embed(client, ["emb-fixed-vector", "again"], encoding_format="float")
    assert [item.embedding for item in response.data] == [FIXED, FIXED]


@pytest.mark.parametrize("text", ["emb-fixed-vector", "emb-raw-fallback", ["emb-x", "emb-y"]])
async def test_raw_body_matches_sdk_types_strictly(client: Client, text: Any) -> None:
    result = client.embeddings.with_raw_response.create(
        model=MODEL, input=text, encoding_format="float"
    )
    raw_response = await result if inspect.isawaitable(result) else result
    raw = raw_response.http_response.json()
    validate_strict(CreateEmbeddingResponse, raw)
    assert_required_fields(CreateEmbeddingResponse, raw)


async def test_error_fixture_speaks_openai(client: Client) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        await embed(client, "emb-over-quota")
    assert caught.value.code == "insufficient_quota"
    assert caught.value.type == "insufficient_quota"
    assert caught.value.response.headers["retry-after"] == "2"


async def test_strict_header_turns_the_fallback_into_503(client: Client) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        await embed(client, unique("strict"), extra_headers={"X-AIMock-Strict": "true"})
    assert caught.value.status_code == 503
    assert caught.value.code == "no_fixture_match"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": MODEL}, "input"),
        ({"model": MODEL, "input": []}, "input"),
        ({"model": MODEL, "input": ""}, "input"),
        ({"model": MODEL, "input": ["fine", ""]}, "input[1]"),
        ({"model": MODEL, "input": "x", "dimensions": 0}, "dimensions"),
        ({"model": MODEL, "input": "x", "encoding_format": "int8"}, "encoding_format"),
        ({"input": "x"}, "model"),
    ],
)
async def test_invalid_requests_are_400s(client: Client, body: dict[str, Any], param: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        result = client.post("/embeddings", body=body, cast_to=CreateEmbeddingResponse)
        await result if inspect.isawaitable(result) else result
    assert caught.value.param == param
    assert caught.value.type == "invalid_request_error"
