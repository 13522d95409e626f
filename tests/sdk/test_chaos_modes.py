"""Chaos through the official SDKs: every mode as the `openai` and `anthropic` clients see it,
rates within binomial bounds, reproducible seeds, per-test runtime chaos, composed drills."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.conftest import ServerProcess, start_server

FIXTURES = Path(__file__).parent / "fixtures" / "chaos.yaml"
CHAT = [{"role": "user", "content": "chaos"}]


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    running = start_server(["-f", str(FIXTURES)])
    yield running
    running.stop()


def _openai(server: ServerProcess, action: str, **options: Any) -> openai.OpenAI:
    headers = {f"x-aimock-chaos-{action}": "1"}
    return openai.OpenAI(
        base_url=server.base_url, api_key="k", max_retries=0, default_headers=headers, **options
    )


def _anthropic(server: ServerProcess, action: str, **options: Any) -> anthropic.Anthropic:
    headers = {f"x-aimock-chaos-{action}": "1"}
    return anthropic.Anthropic(
        base_url=server.url, api_key="k", max_retries=0, default_headers=headers, **options
    )


def _ask_openai(client: openai.OpenAI, stream: bool = False) -> str:
    if stream:
        pieces = client.chat.completions.create(model="gpt-4o", messages=CHAT, stream=True)
        return "".join(c.choices[0].delta.content or "" for c in pieces if c.choices)
    answer = client.chat.completions.create(model="gpt-4o", messages=CHAT)
    return answer.choices[0].message.content or ""


def _ask_anthropic(client: anthropic.Anthropic) -> str:
    answer = client.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=CHAT)
    return "".join(block.text for block in answer.content if block.type == "text")


OPENAI_ERRORS = {
    "drop": openai.InternalServerError,
    "ratelimit": openai.RateLimitError,
    "overloaded": openai.InternalServerError,
    "disconnect": openai.APIConnectionError,
}
ANTHROPIC_ERRORS = {
    "drop": anthropic.InternalServerError,
    "ratelimit": anthropic.RateLimitError,
    "overloaded": anthropic.APIStatusError,
    "disconnect": anthropic.APIConnectionError,
}
STATUSES = {"drop": 500, "ratelimit": 429, "overloaded": (503, 529), "disconnect": None}


@pytest.mark.parametrize("action", sorted(OPENAI_ERRORS))
def test_each_fault_raises_the_sdks_own_error(server: ServerProcess, action: str) -> None:
    with pytest.raises(OPENAI_ERRORS[action]) as from_openai:
        _ask_openai(_openai(server, action))
    with pytest.raises(ANTHROPIC_ERRORS[action]) as from_anthropic:
        _ask_anthropic(_anthropic(server, action))
    if action == "overloaded":  # each wire's own word for it
        assert getattr(from_openai.value, "status_code", None) == 503
        assert getattr(from_anthropic.value, "status_code", None) == 529
        assert "overloaded_error" in str(from_anthropic.value)
    elif STATUSES[action] is not None:
        assert getattr(from_openai.value, "status_code", None) == STATUSES[action]
        assert getattr(from_anthropic.value, "status_code", None) == STATUSES[action]


def test_a_rate_limit_is_retried_after_its_retry_after(server: ServerProcess) -> None:
    test_id = "retry-after"
    with httpx.Client(base_url=server.url) as control:
        control.post("/__aimock/chaos", json={"rateLimitRate": 1}, headers={"X-Test-Id": test_id})
    client = openai.OpenAI(
        base_url=server.base_url, api_key="k", max_retries=1, default_headers={"X-Test-Id": test_id}
    )
    started = time.monotonic()
    with pytest.raises(openai.RateLimitError):
        _ask_openai(client)
    assert time.monotonic() - started >= 0.9  # the SDK waited the Retry-After second
    statuses = [e["response"]["status"] for e in server.journal(testId=test_id)]
    assert statuses == [429, 429]


def test_malformed_bodies_break_the_sdks_parsing(server: ServerProcess) -> None:
    with pytest.raises(json.JSONDecodeError):
        _ask_openai(_openai(server, "malformed"))
    with pytest.raises(json.JSONDecodeError):
        _ask_anthropic(_anthropic(server, "malformed"))


def test_a_stall_answers_nothing_until_the_client_gives_up(server: ServerProcess) -> None:
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        _ask_openai(_openai(server, "stall", timeout=0.5))
    assert 0.4 < time.monotonic() - started < 10
    # The server kept serving while that request stalled.
    assert _ask_openai(openai.OpenAI(base_url=server.base_url, api_key="k")).startswith("A calm")


def test_a_truncated_stream_ends_without_its_terminator(server: ServerProcess) -> None:
    headers = {"x-aimock-chaos-truncate": "1"}
    body = {"model": "gpt-4o", "messages": CHAT, "stream": True}
    received = b""
    url = server.base_url + "/chat/completions"
    with (
        pytest.raises(httpx.RemoteProtocolError),  # the socket drops mid-stream
        httpx.stream("POST", url, json=body, headers=headers, timeout=10) as response,
    ):
        for piece in response.iter_raw():
            received += piece
    assert received.startswith(b"data: ") and b"[DONE]" not in received
    with pytest.raises(openai.APIConnectionError):
        _ask_openai(_openai(server, "truncate"))  # half a JSON body, then the socket drops


def test_latency_is_added_before_the_answer(server: ServerProcess) -> None:
    client = openai.OpenAI(
        base_url=server.base_url, api_key="k", default_headers={"x-aimock-chaos-latency": "300"}
    )
    started = time.monotonic()
    assert _ask_openai(client).startswith("A calm")
    assert time.monotonic() - started >= 0.3


def test_rates_fall_within_binomial_bounds(server: ServerProcess) -> None:
    requests, rate = 2000, 0.3
    body = {"model": "gpt-4o", "messages": CHAT}
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        dropped = sum(
            client.post(
                "/chat/completions", json=body, headers={"x-aimock-chaos-drop": "0.3"}
            ).status_code
            == 500
            for _ in range(requests)
        )
    mean, spread = requests * rate, math.sqrt(requests * rate * (1 - rate))
    assert abs(dropped - mean) < 5 * spread, dropped


def _statuses(seed: int, count: int = 60) -> list[int]:
    server = start_server(["-f", str(FIXTURES), "--chaos-drop", "0.5", "--chaos-seed", str(seed)])
    body = {"model": "gpt-4o", "messages": CHAT}
    try:
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            statuses = [
                client.post("/chat/completions", json=body).status_code for _ in range(count)
            ]
        seeds = {
            e["response"].get("chaosSeed")
            for e in server.journal()
            if e["response"].get("chaosAction")
        }
    finally:
        server.stop()
    assert seeds == {seed}  # the journal names the seed that drew each fault
    return statuses


def test_the_same_seed_gives_the_same_faults() -> None:
    first, again, other = _statuses(42), _statuses(42), _statuses(7)
    assert first == again
    assert set(first) == {200, 500}
    assert first != other


def test_runtime_chaos_is_scoped_to_the_callers_test_id(server: ServerProcess) -> None:
    body = {"model": "gpt-4o", "messages": CHAT}
    with httpx.Client(base_url=server.url, timeout=10) as client:
        mine, other = {"X-Test-Id": "scoped-a"}, {"X-Test-Id": "scoped-b"}
        assert client.post("/__aimock/chaos", json={"dropRate": 1}, headers=mine).status_code == 200
        assert client.get("/__aimock/chaos", headers=mine).json()["scope"] == "test"
        assert client.get("/__aimock/chaos", headers=other).json()["scope"] == "server"
        assert client.post("/v1/chat/completions", json=body, headers=mine).status_code == 500
        assert client.post("/v1/chat/completions", json=body, headers=other).status_code == 200
        assert client.post("/v1/chat/completions", json=body).status_code == 200
        bad = client.post("/__aimock/chaos", json={"dropRat": 1}, headers=mine)
        assert bad.status_code == 400 and "dropRat" in bad.json()["error"]
        assert client.delete("/__aimock/chaos", headers=mine).json()["scope"] == "server"
        assert client.post("/v1/chat/completions", json=body, headers=mine).status_code == 200


POLICY = """apiVersion: aimock.dev/v1alpha1
kind: ChaosPolicy
metadata: {{name: {name}}}
spec: {{dropRate: {rate}, seed: 1}}
"""


@pytest.mark.parametrize(("calm", "wild"), [("a-calm", "z-wild"), ("z-calm", "a-wild")])
def test_every_policy_that_applies_takes_part(tmp_path: Path, calm: str, wild: str) -> None:
    (tmp_path / "fixtures.yaml").write_text(FIXTURES.read_text())
    (tmp_path / "calm.yaml").write_text(POLICY.format(name=calm, rate=0))
    (tmp_path / "wild.yaml").write_text(POLICY.format(name=wild, rate=1))
    server = start_server(["-f", str(tmp_path)])
    body = {"model": "gpt-4o", "messages": CHAT}
    try:
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            statuses = {client.post("/chat/completions", json=body).status_code for _ in range(20)}
        policies = {e["response"].get("chaosPolicy") for e in server.journal()}
    finally:
        server.stop()
    assert statuses == {500}  # whatever the names' order
    assert policies == {wild}
