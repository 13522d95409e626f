"""Strict mode: a miss is a 503 that says what was not matched; per-request override."""

from __future__ import annotations

import pytest

from tests.server.conftest import ClientFactory, answer, chat, state_of, user

FIXTURES = """
fixtures:
  - match: {userMessage: once, sequenceIndex: 0}
    response: {content: the only time}
  - match: {userMessage: hello}
    response: {content: hi}
  - match: {userMessage: step, turnIndex: 1}
    response: {content: second turn}
"""


async def test_a_strict_miss_is_503_naming_the_request(make_client: ClientFactory) -> None:
    client = await make_client(FIXTURES, strict=True)
    status, body = await chat(client, "unknown question", model="gpt-4o-mini")
    assert status == 503
    error = body["error"]
    assert error["code"] == "no_fixture_match"
    assert error["message"].startswith("Strict mode: no fixture matched")
    assert "surface=openai.chat" in error["message"]
    assert "model='gpt-4o-mini'" in error["message"]
    assert "'unknown question'" in error["message"]
    assert await answer(client, "hello") == "hi"


async def test_a_lenient_miss_is_404(make_client: ClientFactory) -> None:
    client = await make_client(FIXTURES)
    status, body = await chat(client, "unknown question")
    assert status == 404
    assert body["error"]["code"] == "no_fixture_match"
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["message"].startswith("No fixture matched")


async def test_a_long_message_is_shortened_in_the_error(make_client: ClientFactory) -> None:
    client = await make_client(FIXTURES, strict=True)
    _, body = await chat(client, "x" * 500, headers={"X-Test-Id": "t-long"})
    message = body["error"]["message"]
    assert "x" * 80 + "..." in message
    assert "x" * 81 not in message
    assert "testId='t-long'" in message


@pytest.mark.parametrize("value", ["true", "1", "TRUE"])
async def test_the_header_turns_strict_on_per_request(
    make_client: ClientFactory, value: str
) -> None:
    client = await make_client(FIXTURES)
    status, _ = await chat(client, "unknown", headers={"X-AIMock-Strict": value})
    assert status == 503
    status, _ = await chat(client, "unknown")
    assert status == 404
    entries = [e.to_json()["response"] for e in state_of(client).journal]
    assert entries[0]["strictOverride"] is True
    assert "strictOverride" not in entries[1]


@pytest.mark.parametrize("value", ["false", "0"])
async def test_the_header_turns_strict_off_per_request(
    make_client: ClientFactory, value: str
) -> None:
    client = await make_client(FIXTURES, strict=True)
    status, _ = await chat(client, "unknown", headers={"X-AIMock-Strict": value})
    assert status == 404
    assert [e.strict_override for e in state_of(client).journal] == [False]


async def test_a_junk_header_value_changes_nothing(make_client: ClientFactory) -> None:
    client = await make_client(FIXTURES, strict=True)
    status, _ = await chat(client, "unknown", headers={"X-AIMock-Strict": "maybe"})
    assert status == 503


async def test_a_fixture_skipped_by_sequence_says_so(make_client: ClientFactory) -> None:
    client = await make_client(FIXTURES, strict=True)
    assert await answer(client, "once") == "the only time"
    status, body = await chat(client, "once")
    assert status == 503
    assert body["error"]["message"].startswith(
        "Strict mode: 1 candidate fixture(s) skipped by sequence/turn state. Nearest fixtures: "
        "inline.yaml#fixtures[0]: sequenceIndex 0, but its group is at 1 | "
    )


async def test_a_fixture_skipped_by_a_hard_turn_gate_says_so(
    make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIMOCK_STRICT_TURN_INDEX", "1")
    client = await make_client(FIXTURES, strict=True)
    status, body = await chat(client, "step")  # turn 0; the fixture wants turn 1
    assert status == 503
    assert "1 candidate fixture(s) skipped" in body["error"]["message"]
    turn_one = [user("step"), {"role": "assistant", "content": "ok"}, user("step")]
    assert await answer(client, messages=turn_one) == "second turn"


async def test_without_the_hard_gate_turn_index_relaxes(make_client: ClientFactory) -> None:
    client = await make_client(FIXTURES, strict=True)
    assert await answer(client, "step") == "second turn"


async def test_strict_embeddings_do_not_fall_back(make_client: ClientFactory) -> None:
    client = await make_client(FIXTURES, strict=True)
    response = await client.post("/v1/embeddings", json={"model": "m", "input": "x"})
    assert response.status == 503
    lenient = await make_client(FIXTURES)
    response = await lenient.post("/v1/embeddings", json={"model": "m", "input": "x"})
    assert response.status == 200
    assert state_of(lenient).journal.query()[0].source == "fallback"


async def test_a_stack_serves_only_the_surfaces_it_enables(make_client: ClientFactory) -> None:
    client = await make_client(
        """
apiVersion: aimock.dev/v1alpha1
kind: MockStack
metadata: {name: only-chat}
spec:
  surfaces: [openai.chat]
  fixtures:
    - match: {}
      response: {content: hi}
""",
    )
    chat = await client.post(
        "/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "x"}]}
    )
    assert chat.status == 200
    embeddings = await client.post("/v1/embeddings", json={"model": "m", "input": "x"})
    assert embeddings.status == 404
    assert (await embeddings.json())["error"]["code"] == "surface_disabled"
