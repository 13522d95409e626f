"""A miss names its nearest fixtures and what each failed: in the error body of every surface
family, in the journal, and in the log (`--log-level debug`); the request log line names the
fixture that answered, as text or as JSON (`--log-format json`)."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from aimock.fixtures.compiled import ServerDefaults
from aimock.fixtures.explain import MAX_COMPARED, nearest
from aimock.fixtures.loading import SourcedFixture
from aimock.fixtures.matching import FixtureIndex, MatchState
from aimock.models.fixture import Fixture
from tests.conftest import serving_fixtures
from tests.server.conftest import ClientFactory, chat, user
from tests.server.test_matching import random_fixture, random_request


async def miss_message(
    make_client: ClientFactory, fixtures: str, **request: Any
) -> tuple[str, list[dict[str, Any]]]:
    """The 404 message of a chat request the fixtures miss, and its journal entry's list."""
    client = await make_client(fixtures)
    status, body = await chat(client, **request)
    assert status == 404, body
    [entry] = await (await client.get("/__aimock/journal")).json()
    return body["error"]["message"], entry["response"]["nearestFixtures"]


@pytest.mark.parametrize(
    ("match", "request_", "said"),
    [
        (
            {"userMessage": "refund"},
            {"text": "I want a refnud"},
            'userMessage "refund" not in "I want a refnud"',
        ),
        ({"userMessage": {"equals": "hi"}}, {"text": "hi there"}, 'userMessage "hi" ≠ "hi there"'),
        (
            {"userMessage": {"regex": "^order #\\d+$"}},
            {"text": "order 42"},
            'userMessage /^order #\\d+$/ does not match "order 42"',
        ),
        (
            {"userMessage": {"contains": "SHOUT", "ignoreCase": True}},
            {"text": "quiet"},
            'userMessage "SHOUT" not in "quiet" (ignoring case)',
        ),
        (
            {"userMessage": "hello", "model": "gpt-4o-mini"},
            {"text": "hello"},
            "model gpt-4o-mini ≠ gpt-4o",
        ),
        (
            {"userMessage": "hello", "systemMessage": "pirate"},
            {"messages": [{"role": "system", "content": "Be terse"}, user("hello")]},
            'systemMessage "pirate" not in "Be terse"',
        ),
        (
            {"userMessage": "hello", "systemMessage": "pirate"},
            {"text": "hello"},
            'systemMessage "pirate": the request has no system message',
        ),
        (
            {"userMessage": "hello", "toolName": "get_weather"},
            {"text": "hello"},
            "toolName get_weather not among the request's tools []",
        ),
        (
            {"userMessage": "hello", "hasToolResult": True},
            {"text": "hello"},
            "hasToolResult true, but the request holds no tool result",
        ),
        (
            {"userMessage": "hello", "responseFormat": "json_object"},
            {"text": "hello"},
            "responseFormat json_object ≠ none",
        ),
        (
            {"userMessage": "hello", "surface": "openai.responses"},
            {"text": "hello"},
            "surface openai.responses ≠ openai.chat",
        ),
        (
            {"userMessage": "hello", "provider": "anthropic"},
            {"text": "hello"},
            "provider anthropic ≠ openai",
        ),
        (
            {"userMessage": "hello", "context": "billing"},
            {"text": "hello"},
            "context billing ≠ none",
        ),
        (
            {"userMessage": "hello", "headers": {"X-Tenant": "acme"}},
            {"text": "hello", "headers": {"x-tenant": "globex"}},
            'headers.x-tenant "acme" not in "globex"',
        ),
        (
            {"userMessage": "hello", "toolCallId": "call_1"},
            {"text": "hello"},
            "toolCallId call_1: the last message is not a tool result",
        ),
        (
            {"userMessage": "hello", "toolResultContains": "sunny"},
            {"text": "hello"},
            'toolResultContains "sunny": the last message is not a tool result',
        ),
    ],
)
async def test_each_match_key_says_why_it_failed(
    make_client: ClientFactory, match: dict[str, Any], request_: dict[str, Any], said: str
) -> None:
    fixtures = json.dumps({"fixtures": [{"match": match, "response": {"content": "x"}}]})
    message, listed = await miss_message(make_client, fixtures, **request_)
    assert said in message
    assert listed == [{"fixture": "inline.yaml#fixtures[0]", "failed": [said]}]


async def test_the_nearest_fail_fewest_keys_then_hold_the_closest_text(
    make_client: ClientFactory,
) -> None:
    fixtures = """
fixtures:
  - {name: far, match: {userMessage: shipping, model: gpt-4o-mini}, response: {content: a}}
  - {name: other, match: {userMessage: invoice}, response: {content: b}}
  - {name: typo, match: {userMessage: refund}, response: {content: c}}
  - {name: embedding, match: {inputText: refund}, response: {embedding: [0.5]}}
"""
    message, listed = await miss_message(make_client, fixtures, text="I want a refnud")
    assert [near["fixture"] for near in listed] == ["typo", "other", "far"]
    assert len(listed[2]["failed"]) == 2  # the text and the model
    assert message.startswith("No fixture matched (surface=openai.chat")
    assert 'Nearest fixtures: typo: userMessage "refund" not in "I want a refnud" | other:' in (
        message
    )


async def test_what_state_held_back_is_said(make_client: ClientFactory) -> None:
    fixtures = """
fixtures:
  - name: once
    match: {userMessage: once}
    sequence: [{content: first}]
  - name: second-step
    match: {userMessage: step, sequenceIndex: 1}
    response: {content: later}
"""
    client = await make_client(fixtures)
    assert (await chat(client, "once"))[0] == 200
    status, body = await chat(client, "once")
    assert status == 404
    assert (
        "once: its sequence of 1 answers is used up (onExhausted: fallthrough)"
        in (body["error"]["message"])
    )
    status, body = await chat(client, "step")
    assert "second-step: sequenceIndex 1, but its group is at 0" in body["error"]["message"]


async def test_strict_mode_explains_its_503_too(make_client: ClientFactory) -> None:
    client = await make_client("fixtures: [{match: {userMessage: refund}, response: {content: c}}]")
    status, body = await chat(client, "refnud", headers={"X-AIMock-Strict": "true"})
    assert status == 503
    assert (
        'Nearest fixtures: inline.yaml#fixtures[0]: userMessage "refund"'
        in (body["error"]["message"])
    )


def test_a_miss_with_no_fixture_of_its_kind_names_none() -> None:
    index = FixtureIndex(
        [
            SourcedFixture(
                Fixture.model_validate(
                    {"match": {"inputText": "x"}, "response": {"embedding": [0.1]}}
                ),
                "f#[0]",
            )
        ],
        ServerDefaults(),
    )
    request = random_request(random.Random(3))
    if request.endpoint == "chat":
        assert nearest(index, request, MatchState()) == []


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_near_miss_never_names_a_fixture_that_would_answer(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(30):
        fixtures = [
            SourcedFixture(Fixture.model_validate(random_fixture(rng)), f"gen#[{i}]")
            for i in range(rng.randint(1, 15))
        ]
        index = FixtureIndex(fixtures, ServerDefaults())
        for _ in range(20):
            request = random_request(rng)
            state = MatchState(strict_turn_index=False)
            if index.select(request, state).compiled is not None:
                continue
            near = nearest(index, request, state)
            assert len(near) <= 3
            by_label = {entry.label: entry for entry in index.entries}
            for miss in near:
                entry = by_label[miss.fixture]
                assert request.endpoint in entry.endpoints
                assert miss.failed  # every near miss says what failed...
                assert not entry.matches_shape(request)  # ...and it did fail


def test_a_miss_in_a_large_set_compares_a_bounded_number_of_fixtures() -> None:
    fixtures = [
        SourcedFixture(
            Fixture.model_validate(
                {"match": {"userMessage": f"topic {i}"}, "response": {"content": "c"}}
            ),
            f"big#[{i}]",
        )
        for i in range(MAX_COMPARED + 500)
    ]
    index = FixtureIndex(fixtures, ServerDefaults())
    request = random_request(random.Random(1))
    near = nearest(index, request, MatchState())
    assert all(int(m.fixture.split("[")[1].rstrip("]")) < MAX_COMPARED for m in near)


# --- every surface family, over HTTP to a real server -------------------------------------------

FAMILIES = [
    ("/v1/chat/completions", {"model": "gpt-4o", "messages": [user("I want a refnud")]}),
    ("/v1/responses", {"model": "gpt-4o", "input": "I want a refnud"}),
    (
        "/v1/messages",
        {"model": "claude-sonnet-4-5", "max_tokens": 9, "messages": [user("I want a refnud")]},
    ),
    (
        "/v1beta/models/gemini-2.5-flash:generateContent",
        {"contents": [{"role": "user", "parts": [{"text": "I want a refnud"}]}]},
    ),
    (
        "/model/anthropic.claude-3-haiku/converse",
        {"messages": [{"role": "user", "content": [{"text": "I want a refnud"}]}]},
    ),
    ("/api/chat", {"model": "llama3", "messages": [user("I want a refnud")]}),
    ("/v2/chat", {"model": "command-r", "messages": [user("I want a refnud")]}),
]


def test_every_family_names_the_nearest_fixture_in_its_own_envelope(tmp_path: Path) -> None:
    fixtures = [
        {"name": "refunds", "match": {"userMessage": "refund"}, "response": {"content": "c"}}
    ]
    with serving_fixtures(tmp_path, fixtures) as server, httpx.Client(base_url=server.url) as http:
        for path, body in FAMILIES:
            response = http.post(path, json=body)
            assert response.status_code == 404, (path, response.text)
            said = 'refunds: userMessage "refund" not in "I want a refnud"'
            assert json.dumps(said)[1:-1] in response.text, path  # as the JSON body holds it
        # The official SDK carries it to the caller.
        client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)
        with pytest.raises(openai.NotFoundError) as caught:
            client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "refnud"}]
            )
        assert "refunds: userMessage" in str(caught.value)


def test_the_log_names_the_fixture_and_explains_a_miss(tmp_path: Path) -> None:
    fixtures = [
        {"name": "refunds", "match": {"userMessage": "refund"}, "response": {"content": "c"}}
    ]
    with serving_fixtures(tmp_path, fixtures, "--log-level", "debug") as server:
        with httpx.Client(base_url=server.url) as http:
            http.post("/v1/chat/completions", json={"model": "m", "messages": [user("a refund")]})
            http.post("/v1/chat/completions", json={"model": "m", "messages": [user("refnud")]})
        log = "".join(server.output)
    assert "POST /v1/chat/completions openai.chat 200 " in log
    assert "ms matched fixture=refunds" in log
    explained = 'nearest fixtures: refunds: userMessage "refund" not in "refnud"'
    assert f"POST /v1/chat/completions missed; {explained}" in log


def test_the_json_log_format_carries_the_fields(tmp_path: Path) -> None:
    fixtures = [
        {"name": "refunds", "match": {"userMessage": "refund"}, "response": {"content": "c"}}
    ]
    with serving_fixtures(
        tmp_path, fixtures, "--log-format", "json", "--log-level", "debug"
    ) as server:
        with httpx.Client(base_url=server.url) as http:
            http.post(
                "/v1/chat/completions?key=secret",
                json={"model": "m", "messages": [user("a refund")]},
                headers={"X-Test-Id": "t-1"},
            )
            http.post("/v1/chat/completions", json={"model": "m", "messages": [user("nope")]})
        # The log is read from the server's output by another thread: wait for both lines.
        deadline = time.monotonic() + 30
        while True:
            lines = [json.loads(line) for line in server.output if line.startswith("{")]
            if any("nearestFixtures" in line for line in lines) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    hit = next(line for line in lines if line.get("status") == 200)
    assert hit["fixture"] == "refunds" and hit["testId"] == "t-1" and hit["matched"] is True
    assert hit["path"] == "/v1/chat/completions?key=[REDACTED]"  # a key never reaches the log
    assert hit["requestId"].startswith("req_") and hit["level"] == "info"
    assert hit["message"].startswith("POST /v1/chat/completions?key=[REDACTED] openai.chat 200")
    missed = next(line for line in lines if "nearestFixtures" in line)
    assert missed["nearestFixtures"][0]["fixture"] == "refunds" and missed["level"] == "debug"
