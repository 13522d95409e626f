"""Matching: every criterion, sequences, and first-match-wins (also against a naive scan)."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aimock.canonical import CanonicalRequest, Message, RequestContext
from aimock.fixtures.compiled import ServerDefaults
from aimock.fixtures.loading import SourcedFixture
from aimock.fixtures.matching import Compiled, FixtureIndex, MatchState, required_literal
from aimock.models.fixture import Fixture
from tests.server.conftest import ClientFactory, answer, chat, user

TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {}}}


def assistant_calls(*ids: str) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": i, "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
            for i in ids
        ],
    }


def tool_result(call_id: str, text: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": text}


# --- text criteria -------------------------------------------------------------------------

USER_MESSAGE = """
fixtures:
  - match: {userMessage: {equals: exact words}}
    response: {content: equals}
  - match: {userMessage: {regex: "^order #\\\\d+$"}}
    response: {content: regex}
  - match: {userMessage: {contains: shout, ignoreCase: true}}
    response: {content: ignore-case}
  - match: {userMessage: {equals: QUIET please, ignoreCase: true}}
    response: {content: equals-ignore-case}
  - match: {userMessage: weather}
    response: {content: contains}
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("exact words", "equals"),
        ("exact words!", "error:404:no_fixture_match"),
        ("order #42", "regex"),
        ("order #42 please", "error:404:no_fixture_match"),
        ("please SHOUT", "ignore-case"),
        ("quiet PLEASE", "equals-ignore-case"),
        ("quiet please now", "error:404:no_fixture_match"),
        ("what is the weather like", "contains"),
        ("what is the Weather like", "error:404:no_fixture_match"),  # case-sensitive
    ],
)
async def test_user_message_operators(make_client: ClientFactory, text: str, expected: str) -> None:
    client = await make_client(USER_MESSAGE)
    assert await answer(client, text) == expected


async def test_user_message_is_the_last_user_message_with_text(
    make_client: ClientFactory,
) -> None:
    client = await make_client(
        "fixtures:\n  - {match: {userMessage: first}, response: {content: old}}\n"
        "  - {match: {userMessage: latest}, response: {content: new}}\n"
    )
    image_only = {
        "role": "user",
        "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}}],
    }
    messages = [
        user("first"),
        {"role": "assistant", "content": "ok"},
        {
            "role": "user",
            "content": [{"type": "text", "text": "lat"}, {"type": "text", "text": "est"}],
        },
        image_only,
    ]
    # The image-only message is skipped; text parts are joined; history is not consulted.
    assert await answer(client, messages=messages) == "new"


async def test_system_message_string_and_list(make_client: ClientFactory) -> None:
    client = await make_client(
        """
fixtures:
  - match: {systemMessage: [pirate, terse]}
    response: {content: both}
  - match: {systemMessage: pirate}
    response: {content: one}
"""
    )

    def system(*texts: str) -> list[dict[str, Any]]:
        return [*({"role": "system", "content": t} for t in texts), user("hi")]

    assert await answer(client, messages=system("You are a pirate", "Be terse")) == "both"
    assert await answer(client, messages=system("You are a pirate")) == "one"
    developer = [{"role": "developer", "content": "pirate, terse"}, user("hi")]
    assert await answer(client, messages=developer) == "both"
    assert await answer(client, messages=[user("pirate terse")]) == "error:404:no_fixture_match"


async def test_input_text_matches_embeddings(make_client: ClientFactory) -> None:
    client = await make_client(
        """
fixtures:
  - match: {inputText: "alpha beta"}
    response: {embedding: [1, 2, 3]}
"""
    )
    response = await client.post(
        "/v1/embeddings", json={"model": "text-embedding-3-small", "input": ["alpha", "beta"]}
    )
    body = await response.json()
    assert [d["embedding"] for d in body["data"]] == [[1, 2, 3], [1, 2, 3]]
    # A miss answers a deterministic vector instead (not strict).
    response = await client.post("/v1/embeddings", json={"model": "m", "input": "gamma"})
    body = await response.json()
    assert len(body["data"][0]["embedding"]) == 1536


@pytest.mark.parametrize(
    ("fixture_model", "request_model", "matches"),
    [
        ("claude-opus-4", "claude-opus-4", True),
        ("claude-opus-4", "claude-opus-4-20250514", True),
        ("claude-opus-4", "claude-opus-4o", False),
        ("gpt-4", "gpt-4o", False),
        ("gpt-4", "gpt-4-0613", True),
        ("gpt-4", "gpt-4-turbo", False),
        ("{contains: mini}", "gpt-4o-mini", True),
        ("{regex: '^o[13]'}", "o3-mini", True),
        ("{equals: gpt-4}", "gpt-4-0613", False),
    ],
)
async def test_model_family_rule(
    make_client: ClientFactory, fixture_model: str, request_model: str, matches: bool
) -> None:
    client = await make_client(
        f"fixtures:\n  - match: {{model: {fixture_model}}}\n    response: {{content: matched}}\n"
    )
    got = await answer(client, "hi", model=request_model)
    assert (got == "matched") is matches


async def test_tool_name(make_client: ClientFactory) -> None:
    client = await make_client(
        "fixtures:\n  - {match: {toolName: get_weather}, response: {content: tool}}\n"
    )
    assert await answer(client, "hi", tools=[TOOL]) == "tool"
    assert await answer(client, "hi") == "error:404:no_fixture_match"


TOOL_RESULTS = """
fixtures:
  - match: {toolCallId: call_2}
    response: {content: after call_2}
  - match: {toolResultContains: sunny}
    response: {content: sunny result}
  - match: {hasToolResult: true}
    response: {content: some tool result}
  - match: {hasToolResult: false}
    response: {content: no tool result}
"""


async def test_tool_call_id_looks_at_the_last_message_only(make_client: ClientFactory) -> None:
    client = await make_client(TOOL_RESULTS)
    turn = [user("weather?"), assistant_calls("call_1", "call_2")]
    last = [*turn, tool_result("call_1", "rain"), tool_result("call_2", "rain")]
    assert await answer(client, messages=last) == "after call_2"
    # call_2 is in the history but not last: not a toolCallId match.
    earlier = [*turn, tool_result("call_2", "rain"), tool_result("call_1", "rain")]
    assert await answer(client, messages=earlier) == "some tool result"


async def test_tool_result_contains_looks_at_the_last_message(
    make_client: ClientFactory,
) -> None:
    client = await make_client(TOOL_RESULTS)
    turn = [user("weather?"), assistant_calls("call_9")]
    assert await answer(client, messages=[*turn, tool_result("call_9", "sunny")]) == (
        "sunny result"
    )


async def test_has_tool_result_counts_the_current_turn_only(make_client: ClientFactory) -> None:
    client = await make_client(TOOL_RESULTS)
    old_turn = [user("weather?"), assistant_calls("call_9"), tool_result("call_9", "rain")]
    new_turn = [*old_turn, {"role": "assistant", "content": "It rains."}, user("and now?")]
    assert await answer(client, messages=new_turn) == "no tool result"
    assert await answer(client, messages=[tool_result("call_9", "rain")]) == "some tool result"


async def test_response_format(make_client: ClientFactory) -> None:
    client = await make_client(
        "fixtures:\n"
        "  - {match: {responseFormat: json_object}, response: {content: {a: 1}}}\n"
        "  - {match: {}, response: {content: plain}}\n"
    )
    got = await answer(client, "x", response_format={"type": "json_object"})
    assert got == '{"a":1}'
    assert await answer(client, "x") == "plain"


async def test_turn_index_counts_assistant_messages(make_client: ClientFactory) -> None:
    client = await make_client(
        "fixtures:\n"
        "  - {match: {userMessage: go, turnIndex: 0}, response: {content: turn 0}}\n"
        "  - {match: {userMessage: go, turnIndex: 1}, response: {content: turn 1}}\n"
    )
    assert await answer(client, "go") == "turn 0"
    second = [user("go"), {"role": "assistant", "content": "turn 0"}, user("go")]
    assert await answer(client, messages=second) == "turn 1"


SEQUENCE_INDEX = """
fixtures:
  - match: {userMessage: count, sequenceIndex: 0}
    response: {content: zero}
  - match: {userMessage: count, sequenceIndex: 1}
    response: {content: one}
  - match: {userMessage: count}
    response: {content: fallback}
"""


async def test_sequence_index_groups_advance_together_per_test_id(
    make_client: ClientFactory,
) -> None:
    client = await make_client(SEQUENCE_INDEX)
    a, b = {"X-Test-Id": "a"}, {"X-Test-Id": "b"}
    assert await answer(client, "count", headers=a) == "zero"
    assert await answer(client, "count", headers=b) == "zero"
    assert await answer(client, "count", headers=a) == "one"
    assert await answer(client, "count", headers=a) == "fallback"
    assert await answer(client, "count", headers=b) == "one"
    assert await answer(client, "count") == "zero"  # the default test id has its own count


async def test_sequence_index_by_query_test_id(make_client: ClientFactory) -> None:
    client = await make_client(SEQUENCE_INDEX)
    body = {"model": "m", "messages": [user("count")]}
    for expected in ("zero", "one"):
        response = await client.post("/v1/chat/completions?testId=q", json=body)
        assert (await response.json())["choices"][0]["message"]["content"] == expected


async def test_endpoint_criterion(make_client: ClientFactory) -> None:
    client = await make_client(
        """
fixtures:
  - match: {endpoint: embedding}
    response: {error: {message: no embeddings today}, status: 503}
  - match: {}
    response: {content: chat}
"""
    )
    response = await client.post("/v1/embeddings", json={"model": "m", "input": "x"})
    assert response.status == 503
    assert (await response.json())["error"]["message"] == "no embeddings today"
    assert await answer(client, "x") == "chat"


async def test_surface_and_provider_criteria(make_client: ClientFactory) -> None:
    client = await make_client(
        """
fixtures:
  - match: {surface: openai.responses}
    response: {content: responses}
  - match: {provider: anthropic}
    response: {content: anthropic}
  - match: {surface: openai.chat, provider: openai}
    response: {content: chat}
"""
    )
    assert await answer(client, "x") == "chat"


async def test_context_and_headers_criteria(make_client: ClientFactory) -> None:
    client = await make_client(
        """
fixtures:
  - match: {context: app-one}
    response: {content: context one}
  - match: {headers: {X-Tenant: {equals: acme}, x-region: eu}}
    response: {content: acme in eu}
  - match: {}
    response: {content: default}
"""
    )
    assert await answer(client, "x", headers={"X-AIMock-Context": "app-one"}) == "context one"
    tenant = {"x-tenant": "acme", "X-Region": "eu-west"}
    assert await answer(client, "x", headers=tenant) == "acme in eu"
    assert await answer(client, "x", headers={"X-Tenant": "acme"}) == "default"


# --- sequences -----------------------------------------------------------------------------


def sequence_fixture(on_exhausted: str) -> str:
    return f"""
fixtures:
  - match: {{userMessage: seq}}
    sequence: [{{content: a}}, {{content: b}}]
    onExhausted: {on_exhausted}
  - match: {{userMessage: seq}}
    response: {{content: after}}
"""


@pytest.mark.parametrize(
    ("on_exhausted", "expected"),
    [
        ("fallthrough", ["a", "b", "after", "after"]),
        ("repeat-last", ["a", "b", "b", "b"]),
        ("cycle", ["a", "b", "a", "b"]),
    ],
)
async def test_sequence_on_exhausted(
    make_client: ClientFactory, on_exhausted: str, expected: list[str]
) -> None:
    client = await make_client(sequence_fixture(on_exhausted))
    assert [await answer(client, "seq") for _ in expected] == expected
    # Another test id starts from the beginning.
    assert await answer(client, "seq", headers={"X-Test-Id": "other"}) == "a"


async def test_a_sequence_of_one_answer_is_exhausted_too(make_client: ClientFactory) -> None:
    client = await make_client(sequence_fixture("fallthrough").replace(", {content: b}", ""))
    assert [await answer(client, "seq") for _ in range(3)] == ["a", "after", "after"]


async def test_first_match_wins_in_file_order(make_client: ClientFactory) -> None:
    client = await make_client(
        """
fixtures:
  - {match: {userMessage: hello}, response: {content: first}}
  - {match: {userMessage: {equals: hello world}}, response: {content: second}}
  - {match: {}, response: {content: catch-all}}
"""
    )
    assert await answer(client, "hello world") == "first"
    assert await answer(client, "bye") == "catch-all"


async def test_a_miss_is_404_in_the_openai_envelope(make_client: ClientFactory) -> None:
    client = await make_client("fixtures:\n  - {match: {userMessage: x}, response: {content: y}}\n")
    status, body = await chat(client, "nothing")
    assert status == 404
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["code"] == "no_fixture_match"


# --- the index agrees with a naive first-match scan ----------------------------------------

WORDS = ["alpha", "beta", "Gamma", "delta", "", "alp", "ETA", "İstanbul", "ß"]
MODELS = ["gpt-4", "gpt-4o", "gpt-4-0613", "claude-opus-4", "claude-opus-4-20250514"]


def _text_criterion(rng: random.Random) -> Any:
    word = rng.choice(WORDS)
    kind = rng.choice(["plain", "contains", "equals", "regex"])
    if kind == "plain":
        return word
    if kind == "regex":
        # Some with a literal run every match must hold (found through it), some without.
        choices = ["^al", "eta$", "a.p", "(?i)gamma", "[0-9]", "ß", "lpha b", r"(al|de)lta eta"]
        return {"regex": rng.choice([*choices, r"\w+ beta", "İstan"])}
    criterion: dict[str, Any] = {kind: word if kind == "contains" else rng.choice(SENTENCES)}
    if rng.random() < 0.4:
        criterion["ignoreCase"] = True
    return criterion


SENTENCES = ["alpha beta", "ALPHA BETA", "gamma", "delta eta", "", "İstanbul ß", "alp"]


def random_fixture(rng: random.Random) -> dict[str, Any]:
    match: dict[str, Any] = {}
    if rng.random() < 0.6:
        match["userMessage"] = _text_criterion(rng)
    elif rng.random() < 0.3:
        match["inputText"] = _text_criterion(rng)
    if rng.random() < 0.25:
        match["model"] = rng.choice(MODELS)
    if rng.random() < 0.15:
        match["systemMessage"] = rng.choice(["be", ["be", "terse"], {"regex": "^Be"}])
    if rng.random() < 0.15:
        match["toolName"] = rng.choice(["get_weather", "search"])
    if rng.random() < 0.1:
        match["hasToolResult"] = rng.random() < 0.5
    if rng.random() < 0.1:
        match["responseFormat"] = "json_object"
    if rng.random() < 0.1:
        match["endpoint"] = rng.choice(["chat", "embedding"])
    kind = rng.random()
    if kind < 0.7:
        response: dict[str, Any] = {"content": "c"}
    elif kind < 0.9:
        response = {"embedding": [0.5]}
    else:
        response = {"error": {"message": "e"}, "status": 500}
    return {"match": match, "response": response}


def random_request(rng: random.Random) -> CanonicalRequest:
    context = RequestContext(headers={})
    model = rng.choice(MODELS)
    if rng.random() < 0.3:
        inputs = tuple(rng.choice(SENTENCES) for _ in range(rng.randint(1, 2)))
        return CanonicalRequest(
            "openai.embeddings", "openai", "embedding", model, context, inputs=inputs
        )
    messages: list[Message] = []
    if rng.random() < 0.3:
        messages.append(Message("system", rng.choice(["Be terse", "be kind", "Be"])))
    for _ in range(rng.randint(0, 2)):
        messages.append(Message("user", rng.choice([*SENTENCES, None])))
        if rng.random() < 0.4:
            messages.append(Message("assistant", "ok"))
    if rng.random() < 0.2:
        messages.append(Message("tool", "result", tool_call_id="call_1"))
    tools = tuple(rng.sample(["get_weather", "search", "other"], rng.randint(0, 2)))
    fmt = rng.choice([None, None, "json_object", "text"])
    return CanonicalRequest(
        "openai.chat", "openai", "chat", model, context, tuple(messages), tools, fmt
    )


def naive_first_match(index: FixtureIndex, request: CanonicalRequest) -> Compiled | None:
    for entry in index.entries:
        if request.endpoint in entry.endpoints and entry.matches_shape(request):
            return entry
    return None


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_the_index_selects_what_a_linear_scan_selects(seed: int) -> None:
    # Many small sets as well as large ones: in a large set an early catch-all hides the
    # fixtures behind it, so small sets are where a missed candidate shows.
    rng = random.Random(seed)
    hits = checked = 0
    for size in [*(rng.randint(1, 12) for _ in range(40)), 300]:
        fixtures = [
            SourcedFixture(Fixture.model_validate(random_fixture(rng)), f"gen#[{i}]")
            for i in range(size)
        ]
        index = FixtureIndex(fixtures, ServerDefaults())
        for _ in range(400 if size == 300 else 20):
            request = random_request(rng)
            selected = index.select(request, MatchState(strict_turn_index=False)).compiled
            expected = naive_first_match(index, request)
            assert selected is expected, (request, selected, expected)
            hits += selected is not None
            checked += 1
    assert hits > checked // 5  # the generator produces real matches, not only misses


def test_an_empty_ignore_case_substring_matches_everything() -> None:
    fixture = Fixture.model_validate(
        {
            "match": {"userMessage": {"contains": "", "ignoreCase": True}},
            "response": {"content": "c"},
        }
    )
    index = FixtureIndex([SourcedFixture(fixture, "f#[0]")], ServerDefaults())
    request = CanonicalRequest(
        "openai.chat", "openai", "chat", "m", RequestContext({}), (Message("user", "Any"),)
    )
    assert index.select(request, MatchState(strict_turn_index=False)).compiled is not None


# Regex fixtures are looked up by a literal every match must hold; that must never hide one.

_piece = st.one_of(
    st.text(alphabet="abcxyz .-", min_size=1, max_size=6).map(re.escape),
    st.sampled_from([r"\d", r"\w+", r"[a-c]", r".", r"\s?", r"\b", "^", "$"]),
    st.lists(st.text(alphabet="abcxyz", min_size=1, max_size=4), min_size=2, max_size=3).map(
        lambda alternatives: "(" + "|".join(alternatives) + ")"
    ),
    st.text(alphabet="abc", min_size=1, max_size=3).map(lambda t: f"({re.escape(t)})?"),
    st.text(alphabet="xyz", min_size=1, max_size=2).map(lambda t: f"(?:{re.escape(t)})+"),
)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), pieces=st.lists(_piece, min_size=1, max_size=6))
def test_a_regex_match_always_holds_its_required_literal(
    data: st.DataObject, pieces: list[str]
) -> None:
    pattern = "".join(pieces)
    literal = required_literal(pattern)
    if literal is None:
        return
    text = data.draw(st.from_regex(pattern))
    assert re.search(pattern, text) is not None
    assert literal in text, (pattern, literal, text)


REGEXES = """
fixtures:
  - {match: {userMessage: {regex: '(question|query) about topic-7\\b'}}, response: {content: r7}}
  - {match: {userMessage: {regex: '\\d+ apples'}}, response: {content: apples}}
  - {match: {userMessage: {regex: '(?i)SHOUTED words'}}, response: {content: folded}}
  - {match: {userMessage: {regex: 'quiet', ignoreCase: true}}, response: {content: quiet}}
  - {match: {userMessage: topic-7}, response: {content: plain}}
"""


async def test_regex_fixtures_are_found_through_their_literal_and_in_file_order(
    make_client: ClientFactory,
) -> None:
    client = await make_client(REGEXES)
    assert await answer(client, "a query about topic-7 please") == "r7"
    assert await answer(client, "topic-7") == "plain"  # the regex needs its words around it
    assert await answer(client, "I have 12 apples") == "apples"
    assert await answer(client, "shouted WORDS here") == "folded"
    assert await answer(client, "QUIET please") == "quiet"
    assert await answer(client, "nothing at all") == "error:404:no_fixture_match"
