"""Cohere rerank (`/v2/rerank` and the v1 client's `/v1/rerank`), driven by the official
`cohere` SDK against a real server.

Fixtures: tests/sdk/fixtures/rerank.yaml (every one scoped to `cohere.rerank` and an "rr-"
query). Raw bodies are also checked strictly against the SDK's pydantic types.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import cohere
import httpx
import pytest
from cohere import AsyncClientV2, ClientV2
from cohere.errors import (
    BadRequestError,
    InternalServerError,
    ServiceUnavailableError,
    TooManyRequestsError,
)
from cohere.types import ApiMeta, ApiMetaBilledUnits, RerankResponse
from cohere.v2.types import V2RerankResponse
from pydantic import BaseModel

from aimock.providers.cohere import overlap_score
from tests.conftest import ServerProcess
from tests.sdk.helpers import post
from tests.sdk.typecheck import assert_required_fields, validate_strict

MODEL = "rerank-v3.5"
FRANCE = [
    "Berlin is the capital of Germany.",
    "France is a country in Europe.",
    "Paris is the capital of France.",
]
# Fields the real API always sends that the SDK types leave optional.
ALWAYS: dict[type[BaseModel], tuple[str, ...]] = {
    V2RerankResponse: ("id", "meta"),
    RerankResponse: ("id", "meta"),
    ApiMeta: ("api_version", "billed_units"),
    ApiMetaBilledUnits: ("search_units",),
}


@pytest.fixture
def client(sdk_server: ServerProcess) -> Iterator[ClientV2]:
    with httpx.Client(timeout=30) as http:
        yield ClientV2(api_key="test", base_url=sdk_server.url, max_retries=0, httpx_client=http)


@pytest.fixture
def v1(sdk_server: ServerProcess) -> Iterator[cohere.Client]:
    with httpx.Client(timeout=30) as http:
        yield cohere.Client(
            api_key="test", base_url=sdk_server.url, max_retries=0, httpx_client=http
        )


@pytest.fixture
async def aclient(sdk_server: ServerProcess) -> AsyncIterator[AsyncClientV2]:
    async with httpx.AsyncClient(timeout=30) as http:
        yield AsyncClientV2(
            api_key="test", base_url=sdk_server.url, max_retries=0, httpx_client=http
        )


def raw_v2(server: ServerProcess, **body: Any) -> dict[str, Any]:
    response = post(server, "/v2/rerank", {"model": MODEL, **body}, api_key="test")
    assert response.status_code == 200, response.text
    raw: dict[str, Any] = response.json()
    validate_strict(V2RerankResponse, raw)
    assert_required_fields(V2RerankResponse, raw, ALWAYS)
    return raw


def order(results: Any) -> list[int]:
    return [r.index for r in results]


# --------------------------------------------------------------------------- fixtures


def test_fixture_results_sorted(client: ClientV2, sdk_server: ServerProcess) -> None:
    response = client.rerank(model=MODEL, query="rr-capital of france", documents=FRANCE)
    assert order(response.results) == [2, 1, 0]
    assert [r.relevance_score for r in response.results] == [0.98, 0.45, 0.12]
    assert response.id == "rr-fixed-id"
    raw = raw_v2(sdk_server, query="rr-capital of france", documents=FRANCE)
    assert raw["meta"] == {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}}
    assert set(raw["results"][0]) == {"index", "relevance_score"}


def test_fixture_top_n_and_regex(client: ClientV2) -> None:
    top = client.rerank(model=MODEL, query="rr-capital of france", documents=FRANCE, top_n=1)
    assert order(top.results) == [2]
    picked = client.rerank(model=MODEL, query="rr-pick 7", documents=["a", "b"])
    assert order(picked.results) == [1] and picked.results[0].relevance_score == 0.9


async def test_async(aclient: AsyncClientV2) -> None:
    response = await aclient.rerank(model=MODEL, query="rr-capital of france", documents=FRANCE)
    assert order(response.results) == [2, 1, 0]


def test_v1_client_fixture_and_documents(v1: cohere.Client, sdk_server: ServerProcess) -> None:
    response = v1.rerank(
        query="rr-capital of france", documents=FRANCE, model=MODEL, return_documents=True
    )
    assert order(response.results) == [2, 1, 0]
    first = response.results[0]
    assert first.document is not None and first.document.text == FRANCE[2]
    request = {"query": "rr-capital of france", "documents": FRANCE}
    raw = post(sdk_server, "/v1/rerank", request, api_key="test")
    body = raw.json()
    validate_strict(RerankResponse, body)
    assert_required_fields(RerankResponse, body, ALWAYS)
    assert body["meta"]["api_version"] == {"version": "1"}
    assert "document" not in body["results"][0]


# --------------------------------------------------------------------------- fallback


def test_fallback_orders_by_overlap(client: ClientV2, sdk_server: ServerProcess) -> None:
    query = "rr-miss what is the capital of france"
    response = client.rerank(model=MODEL, query=query, documents=FRANCE)
    assert order(response.results) == [2, 0, 1]
    scores = [r.relevance_score for r in response.results]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert scores[0] == overlap_score(query, FRANCE[2])
    again = raw_v2(sdk_server, query=query, documents=FRANCE)
    assert [r["relevance_score"] for r in again["results"]] == scores


def test_fallback_top_n_and_ties(client: ClientV2) -> None:
    documents = ["nothing here", "apples and pears", "also nothing", "apples"]
    response = client.rerank(model=MODEL, query="rr-miss apples", documents=documents, top_n=3)
    assert order(response.results) == [3, 1, 0]  # zero scores tie: the documents' order
    assert response.results[2].relevance_score == 0.0


def test_v1_fallback_objects_and_rank_fields(v1: cohere.Client) -> None:
    documents: Any = [
        {"title": "Pears", "text": "Pears grow on trees.", "id": "a"},
        {"title": "Rust async", "text": "Tokio is a runtime.", "id": "b"},
    ]
    response = v1.rerank(
        query="rr-miss rust async runtime",
        documents=documents,
        rank_fields=["title", "text"],
        return_documents=True,
    )
    assert order(response.results) == [1, 0]
    document = response.results[0].document
    assert document is not None and document.text == "Tokio is a runtime."
    assert document.model_extra == {"title": "Rust async", "id": "b"}


# --------------------------------------------------------------------------- errors


def test_error_fixture(client: ClientV2) -> None:
    with pytest.raises(TooManyRequestsError) as caught:
        client.rerank(model=MODEL, query="rr-rate-limit", documents=["a"])
    assert caught.value.body["message"] == "too many rerank calls"


def test_fixture_index_out_of_range(client: ClientV2) -> None:
    with pytest.raises(InternalServerError) as caught:
        client.rerank(model=MODEL, query="rr-out-of-range", documents=["a", "b"])
    assert "out of range" in caught.value.body["message"]


def test_strict_miss(sdk_server: ServerProcess) -> None:
    with httpx.Client(timeout=30, headers={"x-aimock-strict": "true"}) as http:
        strict = ClientV2(api_key="t", base_url=sdk_server.url, max_retries=0, httpx_client=http)
        with pytest.raises(ServiceUnavailableError) as caught:
            strict.rerank(model=MODEL, query="rr-miss strict", documents=["a"])
    assert "no fixture matched" in caught.value.body["message"]


def test_sdk_bad_request(client: ClientV2) -> None:
    with pytest.raises(BadRequestError) as caught:
        client.rerank(model=MODEL, query="rr-x", documents=[])
    assert caught.value.body["message"].startswith("invalid request: ")


@pytest.mark.parametrize(
    ("path", "body", "needle"),
    [
        ("/v2/rerank", {"query": "q", "documents": ["a"]}, "model"),
        ("/v2/rerank", {"model": MODEL, "documents": ["a"]}, "query"),
        ("/v2/rerank", {"model": MODEL, "query": "", "documents": ["a"]}, "query"),
        ("/v2/rerank", {"model": MODEL, "query": "q"}, "documents"),
        ("/v2/rerank", {"model": MODEL, "query": "q", "documents": "a"}, "documents"),
        ("/v2/rerank", {"model": MODEL, "query": "q", "documents": [{"text": "a"}]}, "documents"),
        ("/v2/rerank", {"model": MODEL, "query": "q", "documents": ["a"], "top_n": 0}, "top_n"),
        ("/v2/rerank", {"model": MODEL, "query": "q", "documents": ["a"], "top_n": "2"}, "top_n"),
        ("/v1/rerank", {"query": "q", "documents": [{"title": "x"}]}, "rank fields"),
        ("/v1/rerank", {"query": "q", "documents": [3]}, "documents"),
    ],
)
def test_bad_requests(sdk_server: ServerProcess, path: str, body: Any, needle: str) -> None:
    response = post(sdk_server, path, body, api_key="test")
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"id", "message"}
    assert needle in response.json()["message"]
