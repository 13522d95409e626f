"""Tavily search and extract, driven by the official `tavily-python` SDK against a real server.

Fixtures: tests/sdk/fixtures/tavily.yaml (every one scoped to a Tavily surface and a "tav-"
query). The SDK returns plain dicts, so raw bodies are also checked field by field against the
shape the SDK's callers read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
from tavily import (
    AsyncTavilyClient,
    BadRequestError,
    InvalidAPIKeyError,
    TavilyClient,
    UsageLimitExceededError,
)
from tavily.errors import ForbiddenError

from tests.conftest import ServerProcess
from tests.sdk.helpers import post

SEARCH_KEYS = {
    "query",
    "follow_up_questions",
    "answer",
    "images",
    "results",
    "response_time",
    "request_id",
}
RESULT_KEYS = {"url", "title", "content", "score", "raw_content"}


@pytest.fixture
def client(sdk_server: ServerProcess) -> Iterator[TavilyClient]:
    with TavilyClient(api_key="tvly-test", api_base_url=sdk_server.url) as tavily:
        yield tavily


def check_search_body(body: dict[str, Any]) -> None:
    """The shape every search answer has, with JSON types as the real API sends them."""
    assert set(body) - {"usage"} == SEARCH_KEYS
    assert isinstance(body["query"], str) and isinstance(body["results"], list)
    assert isinstance(body["response_time"], float) and isinstance(body["request_id"], str)
    assert body["answer"] is None or isinstance(body["answer"], str)
    for result in body["results"]:
        assert set(result) - {"favicon"} == RESULT_KEYS
        assert all(isinstance(result[k], str) for k in ("url", "title", "content"))
        assert isinstance(result["score"], float) and 0 <= result["score"] <= 1
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)


# --------------------------------------------------------------------------- search fixtures


def test_search_fixture_by_substring(client: TavilyClient) -> None:
    body = client.search("what is the tav-weather in paris today?")
    check_search_body(body)
    assert [r["url"] for r in body["results"]] == [
        "https://weather.example.com/paris",
        "https://forecast.example.org/paris",
        "https://meteo.example.fr/",
    ]
    first, second, third = body["results"]
    assert first["score"] == 0.97 and first["raw_content"] is None
    assert second["score"] > third["score"]  # no score given: decreasing with the position
    assert body["answer"] is None and body["images"] == []


def test_search_fixture_options(client: TavilyClient) -> None:
    body = client.search(
        "tav-weather in paris",
        include_answer=True,
        include_images=True,
        include_raw_content="text",
        include_favicon=True,
        include_usage=True,
        max_results=2,
    )
    check_search_body(body)
    assert body["answer"] == "It is 18 degrees and sunny in Paris."
    assert body["images"] == ["https://img.example.com/paris.jpg"]
    assert len(body["results"]) == 2
    assert body["results"][0]["raw_content"].startswith("Paris: sunny all day")
    assert body["results"][1]["raw_content"] == "The week ahead in Paris."  # content stands in
    assert body["results"][0]["favicon"] == "https://weather.example.com/favicon.ico"
    assert body["usage"] == {"credits": 1}


def test_search_regex_and_first_match_wins(client: TavilyClient) -> None:
    assert client.search("tav-first python")["results"][0]["title"] == "First"
    # The regex needs one word after the prefix; this one only the substring fixture matches.
    assert client.search("tav-first two words")["results"][0]["title"] == "Second"


def test_search_ignore_case_and_empty_results(client: TavilyClient) -> None:
    body = client.search("Tav-Case matters")
    check_search_body(body)
    assert body["results"] == []


async def test_async_search(sdk_server: ServerProcess) -> None:
    tavily = AsyncTavilyClient(api_key="tvly-test", api_base_url=sdk_server.url)
    try:
        body = await tavily.search("tav-weather in paris", include_answer="advanced")
        assert body["answer"] == "It is 18 degrees and sunny in Paris."
        assert len(body["results"]) == 3
        fallback = await tavily.search("tav-async fallback query", max_results=3)
        assert len(fallback["results"]) == 3
    finally:
        await tavily.close()


def test_journal_records_search(client: TavilyClient, sdk_server: ServerProcess) -> None:
    sdk_server.reset()
    client.search("tav-weather in paris")
    entry = sdk_server.journal()[-1]
    assert entry["surface"] == "tavily.search" and entry["response"]["source"] == "fixture"


# --------------------------------------------------------------------------- fallback


def test_fallback_is_deterministic_and_plausible(client: TavilyClient) -> None:
    once = client.search("tav-unmatched quantum computing basics")
    again = client.search("tav-unmatched quantum computing basics")
    check_search_body(once)
    assert len(once["results"]) == 5  # the API's default max_results
    assert once["results"] == again["results"]
    assert len({r["url"] for r in once["results"]}) == 5
    for result in once["results"]:
        assert result["url"].startswith("https://")
        assert "quantum computing basics" in result["content"]
    other = client.search("tav-unmatched sourdough bread")
    assert other["results"] != once["results"]


def test_fallback_options(client: TavilyClient) -> None:
    body = client.search(
        "tav-unmatched rust async runtimes",
        max_results=3,
        include_answer=True,
        include_images=True,
        include_raw_content=True,
        include_domains=["docs.rs"],
        search_depth="advanced",
        include_usage=True,
    )
    check_search_body(body)
    assert len(body["results"]) == 3
    assert all(r["url"].startswith("https://docs.rs/") for r in body["results"])
    assert all("rust async runtimes" in r["raw_content"] for r in body["results"])
    assert isinstance(body["answer"], str) and "rust async runtimes" in body["answer"]
    assert len(body["images"]) == 3 and all(isinstance(i, str) for i in body["images"])
    assert body["usage"] == {"credits": 2}
    assert client.search("tav-unmatched none", max_results=0)["results"] == []


def test_fallback_answer_and_image_descriptions(client: TavilyClient) -> None:
    body = client.search("tav-unmatched who wrote hamlet", include_answer="basic")
    assert isinstance(body["answer"], str) and "who wrote hamlet" in body["answer"]
    described = client.search(
        "tav-unmatched tide tables", include_images=True, include_image_descriptions=True
    )
    assert all(set(image) == {"url", "description"} for image in described["images"])


def test_strict_miss_is_503(sdk_server: ServerProcess) -> None:
    headers = {"x-aimock-strict": "true"}
    response = httpx.post(
        sdk_server.url + "/search", json={"query": "tav-strict miss"}, headers=headers
    )
    assert response.status_code == 503
    assert "no fixture matched" in response.json()["detail"]["error"]


# --------------------------------------------------------------------------- extract


def test_extract_fixture(client: TavilyClient) -> None:
    body = client.extract(
        ["https://tav-docs.example.com/intro", "https://tav-docs.example.com/missing"]
    )
    assert body["results"] == [
        {
            "url": "https://tav-docs.example.com/intro",
            "raw_content": "# Intro\n\nThe full introduction page.",
        }
    ]
    assert [f["url"] for f in body["failed_results"]] == ["https://tav-docs.example.com/missing"]
    assert isinstance(body["failed_results"][0]["error"], str)


def test_extract_fallback(client: TavilyClient) -> None:
    urls = ["https://blog.example.com/tav-sourdough-starter", "not a url"]
    once = client.extract(urls, include_images=True, include_usage=True)
    again = client.extract(urls, include_images=True, include_usage=True)
    assert once["results"] == again["results"]
    (page,) = once["results"]
    assert page["url"] == urls[0] and "sourdough starter" in page["raw_content"]
    assert page["images"] == []
    assert once["failed_results"] == [{"url": "not a url", "error": "Failed to fetch url"}]
    assert once["usage"] == {"credits": 1}
    assert isinstance(once["response_time"], float) and isinstance(once["request_id"], str)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("query", "error", "message"),
    [
        ("tav-rate-limit", UsageLimitExceededError, "excessive requests"),
        ("tav-bad-key", InvalidAPIKeyError, "invalid API key"),
        ("tav-forbidden", ForbiddenError, "usage limit"),
        ("tav-bad-request", BadRequestError, "too long"),
    ],
)
def test_error_fixtures_raise_sdk_classes(
    client: TavilyClient, query: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as caught:
        client.search(query)
    assert message in str(caught.value)


async def test_async_error(sdk_server: ServerProcess) -> None:
    tavily = AsyncTavilyClient(api_key="tvly-test", api_base_url=sdk_server.url)
    try:
        with pytest.raises(UsageLimitExceededError, match="excessive requests"):
            await tavily.search("tav-rate-limit")
    finally:
        await tavily.close()


def test_other_status_is_http_error(client: TavilyClient, sdk_server: ServerProcess) -> None:
    with pytest.raises(requests.HTTPError) as caught:
        client.search("tav-unavailable")
    assert caught.value.response is not None and caught.value.response.status_code == 503
    response = post(sdk_server, "/search", {"query": "tav-rate-limit"}, api_key="tvly-test")
    assert response.json() == {
        "detail": {"error": "Your request has been blocked due to excessive requests."}
    }
    assert response.headers["retry-after"] == "1"


def test_sdk_bad_request(client: TavilyClient) -> None:
    with pytest.raises(BadRequestError, match="max_results"):
        client.search("tav-x", max_results=50)


@pytest.mark.parametrize(
    ("path", "body", "needle"),
    [
        ("/search", {}, "Query"),
        ("/search", {"query": ""}, "Query"),
        ("/search", {"query": 3}, "Query"),
        ("/search", {"query": "x", "max_results": "5"}, "max_results"),
        ("/search", {"query": "x", "max_results": -1}, "max_results"),
        ("/search", {"query": "x", "search_depth": "deep"}, "search_depth"),
        ("/search", {"query": "x", "topic": "sports"}, "topic"),
        ("/search", {"query": "x", "include_answer": "long"}, "include_answer"),
        ("/search", {"query": "x", "include_images": "yes"}, "include_images"),
        ("/search", {"query": "x", "include_domains": "a.com"}, "include_domains"),
        ("/search", [], "JSON object"),
        ("/extract", {}, "urls"),
        ("/extract", {"urls": []}, "urls"),
        ("/extract", {"urls": ["https://a.example"], "extract_depth": "deep"}, "extract_depth"),
    ],
)
def test_bad_requests(sdk_server: ServerProcess, path: str, body: Any, needle: str) -> None:
    response = post(sdk_server, path, body, api_key="tvly-test")
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"detail"}
    assert needle in response.json()["detail"]["error"]


def test_bad_json(sdk_server: ServerProcess) -> None:
    response = httpx.post(sdk_server.url + "/search", content=b"{nope", timeout=30)
    assert response.status_code == 400 and set(response.json()["detail"]) == {"error"}
