"""Prometheus metrics after real requests."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.server.conftest import ClientFactory, chat

FIXTURES = """
fixtures:
  - match: {userMessage: hit}
    response: {content: ok}
  - match: {userMessage: fail}
    response: {error: {message: nope}, status: 429}
"""


async def scrape(
    client: TestClient[Any, Any],
) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Samples by name, keyed by their sorted labels."""
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(await response.text()):
        for sample in family.samples:
            labels = tuple(sorted(sample.labels.items()))
            samples.setdefault(sample.name, {})[labels] = sample.value
    return samples


def requests_label(surface: str, status: str, matched: str) -> tuple[tuple[str, str], ...]:
    return tuple(
        sorted(
            {"surface": surface, "provider": "openai", "status": status, "matched": matched}.items()
        )
    )


async def test_request_counters_by_surface_status_and_match(make_client: ClientFactory) -> None:
    client = await make_client(FIXTURES)
    await chat(client, "hit")
    await chat(client, "hit")
    await chat(client, "fail")
    await chat(client, "miss")
    await client.post("/v1/embeddings", json={"model": "m", "input": "x"})
    samples = await scrape(client)
    requests = samples["aimock_requests_total"]
    assert requests[requests_label("openai.chat", "200", "true")] == 2
    assert requests[requests_label("openai.chat", "429", "true")] == 1
    assert requests[requests_label("openai.chat", "404", "false")] == 1
    assert requests[requests_label("openai.embeddings", "200", "false")] == 1
    assert samples["aimock_unmatched_requests_total"] == {(("surface", "openai.chat"),): 1}


async def test_latency_histogram_counts_every_request(make_client: ClientFactory) -> None:
    client = await make_client(FIXTURES)
    for _ in range(3):
        await chat(client, "hit")
    samples = await scrape(client)
    chat_label = (("surface", "openai.chat"),)
    assert samples["aimock_request_duration_seconds_count"][chat_label] == 3
    buckets = samples["aimock_request_duration_seconds_bucket"]
    assert buckets[(("le", "+Inf"), ("surface", "openai.chat"))] == 3
    assert samples["aimock_request_duration_seconds_sum"][chat_label] >= 0


async def test_the_fixture_gauge_follows_the_serving_set(make_client: ClientFactory) -> None:
    client = await make_client(FIXTURES)
    assert (await scrape(client))["aimock_fixtures_loaded"][()] == 2
    added = {"fixtures": [{"match": {}, "response": {"content": "x"}}]}
    await client.post("/__aimock/fixtures", json=added)
    assert (await scrape(client))["aimock_fixtures_loaded"][()] == 3
    await client.delete("/__aimock/fixtures")
    assert (await scrape(client))["aimock_fixtures_loaded"][()] == 0


async def test_chaos_and_reloads_are_counted(make_client: ClientFactory) -> None:
    client = await make_client(FIXTURES)
    await chat(client, "hit", headers={"x-aimock-chaos-drop": "1"})
    await client.post("/__aimock/reload")
    samples = await scrape(client)
    chaos = samples["aimock_chaos_triggered_total"]
    assert chaos[(("action", "drop"), ("surface", "openai.chat"))] == 1
    assert samples["aimock_reloads_total"][(("result", "ok"),)] == 1
    # A dropped request counts with its status, as matched.
    requests = samples["aimock_requests_total"]
    assert requests[requests_label("openai.chat", "500", "true")] == 1
