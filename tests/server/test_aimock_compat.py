"""AIMock's fixture JSON loads unchanged and answers as AIMock answers it.

Each file here is written the way AIMock documents its format (`{"fixtures": [...]}`, plain
strings as substrings, string tool arguments, `_warning` keys from its recorder); the expected
answers follow /work/shared/reference/aimock.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from tests.server.conftest import ClientFactory, answer, chat, state_of, user


async def aimock_client(
    make_client: ClientFactory, tmp_path: Path, fixtures: list[dict[str, Any]], **extra: Any
) -> TestClient[Any, Any]:
    file = tmp_path / "aimock-fixtures.json"
    file.write_text(json.dumps({"fixtures": fixtures, **extra}))
    return await make_client(paths=(file,))


def assistant(text: str | None = None, calls: tuple[str, ...] = ()) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if calls:
        message["tool_calls"] = [
            {"id": c, "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
            for c in calls
        ]
    return message


async def test_a_recorded_file_with_warning_keys_loads(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    client = await aimock_client(
        make_client,
        tmp_path,
        [{"match": {"userMessage": "capital of France"}, "response": {"content": "Paris."}}],
        _warning="Recorded by aimock; review before committing",
        _warnings=["model date suffix stripped"],
    )
    assert await answer(client, "What is the capital of France?") == "Paris."


async def test_user_message_is_a_case_sensitive_substring_of_the_last_texted_user_message(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    client = await aimock_client(
        make_client,
        tmp_path,
        [
            {"match": {"userMessage": "hello"}, "response": {"content": "greeting"}},
            {"match": {"userMessage": "bye"}, "response": {"content": "farewell"}},
        ],
    )
    assert await answer(client, "oh hello there") == "greeting"
    assert await answer(client, "Hello") == "error:404:no_fixture_match"
    # History is never consulted: only the last user message with text counts.
    history = [user("hello"), assistant("hi!"), user("bye now")]
    assert await answer(client, messages=history) == "farewell"
    attachment = {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}
    assert await answer(client, messages=[user("bye"), attachment]) == "farewell"


async def test_tool_calls_with_string_arguments(make_client: ClientFactory, tmp_path: Path) -> None:
    client = await aimock_client(
        make_client,
        tmp_path,
        [
            {
                "match": {"userMessage": "weather"},
                "response": {
                    "toolCalls": [
                        {"name": "get_weather", "arguments": '{"city":"Paris"}', "id": "call_1"},
                        {"name": "get_time", "arguments": '{"tz":"CET"}'},
                    ]
                },
            }
        ],
    )
    status, body = await chat(client, "weather?")
    assert status == 200
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    calls = choice["message"]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["get_weather", "get_time"]
    assert calls[0]["id"] == "call_1"
    assert calls[1]["id"].startswith("call_")
    assert json.loads(calls[0]["function"]["arguments"]) == {"city": "Paris"}


async def test_error_with_status(make_client: ClientFactory, tmp_path: Path) -> None:
    client = await aimock_client(
        make_client,
        tmp_path,
        [
            {
                "match": {"userMessage": "limit"},
                "response": {
                    "error": {"message": "Rate limit reached", "type": "rate_limit_error"},
                    "status": 429,
                },
            },
            {"match": {"userMessage": "boom"}, "response": {"error": {"message": "Boom"}}},
        ],
    )
    response = await client.post(
        "/v1/chat/completions", json={"model": "gpt-4o", "messages": [user("limit")]}
    )
    assert response.status == 429
    assert response.headers["Retry-After"] == "1"
    assert response.headers["x-ratelimit-remaining-requests"] == "0"
    body = await response.json()
    assert body["error"]["message"] == "Rate limit reached"
    assert body["error"]["type"] == "rate_limit_error"
    status, body = await chat(client, "boom")
    assert status == 500  # AIMock's default status for an error response
    assert body["error"]["type"] == "server_error"


async def test_embedding_response(make_client: ClientFactory, tmp_path: Path) -> None:
    client = await aimock_client(
        make_client,
        tmp_path,
        [{"match": {"inputText": "hello world"}, "response": {"embedding": [0.1, 0.2, 0.3]}}],
    )
    response = await client.post(
        "/v1/embeddings", json={"model": "text-embedding-3-small", "input": ["hello", "world"]}
    )
    body = await response.json()
    assert [d["embedding"] for d in body["data"]] == [[0.1, 0.2, 0.3]] * 2


async def test_content_as_an_object_is_sent_as_json(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    client = await aimock_client(
        make_client,
        tmp_path,
        [
            {
                "match": {"userMessage": "json", "responseFormat": "json_object"},
                "response": {"content": {"name": "aimock", "tags": ["a", "b"]}},
            }
        ],
    )
    got = await answer(client, "give json", response_format={"type": "json_object"})
    assert got is not None
    assert json.loads(got) == {"name": "aimock", "tags": ["a", "b"]}


async def test_pacing_and_chaos_keys_load_and_apply(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    client = await aimock_client(
        make_client,
        tmp_path,
        [
            {
                "match": {"userMessage": "paced"},
                "response": {"content": "abcdefgh"},
                "latency": 0,
                "chunkSize": 4,
                "streamingProfile": {"ttft": 0, "tps": 100000, "jitter": 0},
                "chaos": {"dropRate": 0, "malformedRate": 0, "disconnectRate": 0},
                "recordedTimings": {"ttftMs": 0, "interChunkDelaysMs": [0], "totalDurationMs": 0},
                "replaySpeed": 2,
                "metadata": {"systemHash": "deadbeef", "toolsHash": "cafebabe"},
            },
            {
                "match": {"userMessage": "cut"},
                "response": {"content": "abcdefghijkl"},
                "chunkSize": 4,
                "truncateAfterChunks": 2,
            },
        ],
    )
    response = await client.post(
        "/v1/chat/completions",
        json={"model": "m", "messages": [user("paced")], "stream": True},
    )
    text = await response.text()
    pieces = [
        json.loads(line[6:])["choices"][0]["delta"].get("content")
        for line in text.splitlines()
        if line.startswith("data: {")
    ]
    assert [p for p in pieces if p] == ["abcd", "efgh"]
    assert text.endswith("data: [DONE]\n\n")
    physics = [entry.physics for entry in state_of(client).index.entries]
    assert physics[0].replay_speed == 2
    assert physics[0].tps == 100000
    assert physics[1].truncate_after_chunks == 2  # its effect is covered in test_pacing


async def test_sequence_index_counts_per_test_id(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    client = await aimock_client(
        make_client,
        tmp_path,
        [
            {"match": {"userMessage": "next", "sequenceIndex": 0}, "response": {"content": "1st"}},
            {"match": {"userMessage": "next", "sequenceIndex": 1}, "response": {"content": "2nd"}},
            {"match": {"userMessage": "next"}, "response": {"content": "later"}},
        ],
    )
    one, two = {"X-Test-Id": "one"}, {"X-Test-Id": "two"}
    assert await answer(client, "next", headers=one) == "1st"
    assert await answer(client, "next", headers=one) == "2nd"
    assert await answer(client, "next", headers=two) == "1st"
    assert await answer(client, "next", headers=one) == "later"


async def test_turn_index_and_has_tool_result(make_client: ClientFactory, tmp_path: Path) -> None:
    client = await aimock_client(
        make_client,
        tmp_path,
        [
            {
                "match": {"userMessage": "plan", "turnIndex": 0, "hasToolResult": False},
                "response": {"toolCalls": [{"name": "lookup", "arguments": "{}", "id": "c1"}]},
            },
            {
                "match": {"userMessage": "plan", "turnIndex": 1, "hasToolResult": True},
                "response": {"content": "done after the tool"},
            },
        ],
    )
    status, body = await chat(client, "plan a trip")
    assert status == 200
    assert body["choices"][0]["message"]["tool_calls"][0]["id"] == "c1"
    follow_up = [
        user("plan a trip"),
        assistant(None, ("c1",)),
        {"role": "tool", "tool_call_id": "c1", "content": "found"},
    ]
    assert await answer(client, messages=follow_up) == "done after the tool"


async def test_tool_call_id(make_client: ClientFactory, tmp_path: Path) -> None:
    client = await aimock_client(
        make_client,
        tmp_path,
        [{"match": {"toolCallId": "call_abc"}, "response": {"content": "got call_abc"}}],
    )
    messages = [
        user("go"),
        assistant(None, ("call_abc",)),
        {"role": "tool", "tool_call_id": "call_abc", "content": "ok"},
    ]
    assert await answer(client, messages=messages) == "got call_abc"
    # A later user message means the last message is no longer the tool result.
    assert await answer(client, messages=[*messages, user("thanks")]) == (
        "error:404:no_fixture_match"
    )


async def test_context_header(make_client: ClientFactory, tmp_path: Path) -> None:
    client = await aimock_client(
        make_client,
        tmp_path,
        [
            {"match": {"userMessage": "hi", "context": "app-a"}, "response": {"content": "A"}},
            {"match": {"userMessage": "hi", "context": "app-b"}, "response": {"content": "B"}},
        ],
    )
    assert await answer(client, "hi", headers={"X-AIMock-Context": "app-b"}) == "B"
    assert await answer(client, "hi", headers={"X-AIMock-Context": "app-a"}) == "A"
    assert await answer(client, "hi") == "error:404:no_fixture_match"


async def test_usage_with_provider_field_names(make_client: ClientFactory, tmp_path: Path) -> None:
    client = await aimock_client(
        make_client,
        tmp_path,
        [
            {
                "match": {"userMessage": "count"},
                "response": {
                    "content": "ok",
                    "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
                    "finishReason": "length",
                },
            }
        ],
    )
    status, body = await chat(client, "count")
    assert status == 200
    assert body["usage"]["prompt_tokens"] == 11
    assert body["usage"]["completion_tokens"] == 7
    assert body["choices"][0]["finish_reason"] == "length"


async def test_a_folder_of_aimock_files_loads_in_aimock_order(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    def fixture(content: str) -> str:
        return json.dumps(
            {"fixtures": [{"match": {"userMessage": "who"}, "response": {"content": content}}]}
        )

    (tmp_path / "b.json").write_text(fixture("b"))
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "a.json").write_text(fixture("a/a"))
    (tmp_path / "c.json").write_text(fixture("c"))
    client = await make_client(paths=(tmp_path,))
    # Files of a folder first (sorted), then its sub-folders.
    assert await answer(client, "who") == "b"
