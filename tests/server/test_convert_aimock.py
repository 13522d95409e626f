"""AIMock fixture JSON and aimock.json: converted with our own loaders, then served by a real
aimock process beside the real AIMock (tests/peers.py) on the source files: the same requests
through the official openai SDK get the same answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from aimock.convert import convert
from tests.conftest import serving
from tests.peers import AimockPeer
from tests.server.convert_helpers import SAMPLES, WEATHER_TOOL, converted, user

CONFIG = SAMPLES / "aimock" / "aimock.json"
FIXTURES = SAMPLES / "aimock" / "fixtures"


@pytest.fixture(scope="module")
def peer() -> Iterator[AimockPeer]:
    # aimock.json says strict and chunkSize 8: AIMock's llmock takes them as flags.
    started = AimockPeer(["--fixtures", str(FIXTURES), "--strict", "--chunk-size", "8"])
    yield started
    started.stop()


def answers(client: openai.OpenAI) -> list[Any]:
    """What a suite would look at, for each request of the sample."""
    got: list[Any] = []
    paris = client.chat.completions.create(model="gpt-4o", messages=[user("capital of France?")])
    got.append((paris.choices[0].message.content, paris.choices[0].finish_reason))
    stream = client.chat.completions.create(
        model="gpt-4o", messages=[user("capital of France?")], stream=True
    )
    got.append([c.choices[0].delta.content for c in stream if c.choices])
    weather = client.chat.completions.create(
        model="gpt-4o", messages=[user("weather in Paris")], tools=[WEATHER_TOOL]
    )
    calls = weather.choices[0].message.tool_calls or []
    got.append([(c.id, c.function.name, c.function.arguments) for c in calls])
    after = client.chat.completions.create(
        model="gpt-4o",
        messages=[
            user("weather in Paris"),
            {"role": "assistant", "tool_calls": [calls[0].model_dump()]},
            {"role": "tool", "tool_call_id": calls[0].id, "content": "18C"},
        ],
        tools=[WEATHER_TOOL],
    )
    got.append(after.choices[0].message.content)
    try:
        client.chat.completions.create(model="gpt-4o", messages=[user("flaky")])
    except openai.RateLimitError as exc:
        got.append((exc.status_code, exc.code, exc.response.headers.get("retry-after")))
    for _ in range(2):
        count = client.chat.completions.create(model="gpt-4o", messages=[user("count")])
        got.append(count.choices[0].message.content)
    vector = client.embeddings.create(
        model="text-embedding-3-small", input="hello vector", encoding_format="float"
    )
    got.append(vector.data[0].embedding)
    try:
        client.chat.completions.create(model="gpt-4o", messages=[user("nothing matches this")])
    except openai.APIStatusError as exc:
        got.append((exc.status_code, exc.code))
    return got


def test_the_conversion_answers_as_aimock_does(peer: AimockPeer, tmp_path: Path) -> None:
    out, _notes = converted(CONFIG, tmp_path / "out")
    with openai.OpenAI(base_url=peer.url + "/v1", api_key="test", max_retries=0) as theirs:
        expected = answers(theirs)
    with (
        serving("-f", str(out)) as server,
        openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0) as ours,
    ):
        got = answers(ours)
    assert got == expected
    # What the sample was written to show, so an empty comparison cannot pass.
    assert expected[0] == ("The capital of France is Paris.", "stop")
    assert expected[1][1:-1] == ["The capi", "tal of F", "rance is", " Paris."]
    assert expected[-1] == (503, "no_fixture_match")  # strict, from aimock.json


def test_the_config_s_mcp_section_is_served_from_the_stack(tmp_path: Path) -> None:
    out, _notes = converted(CONFIG, tmp_path / "out")
    accept = {"Accept": "application/json, text/event-stream"}
    with serving("-f", str(out)) as server, httpx.Client(base_url=server.url) as http:
        opened = http.post(
            "/mcp",
            headers=accept,
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-03-26",
                    "capabilities": {},
                    "clientInfo": {"name": "test", "version": "1"},
                },
            },
        )
        session = {**accept, "Mcp-Session-Id": opened.headers["mcp-session-id"]}
        called = http.post(
            "/mcp",
            headers=session,
            json={
                "jsonrpc": "2.0",
                "id": 2,
                "method": "tools/call",
                "params": {"name": "search", "arguments": {"q": "x"}},
            },
        )
    assert called.json()["result"]["content"] == [{"type": "text", "text": "found 3 pages"}]


def test_what_our_loader_refuses_is_named_not_dropped_silently() -> None:
    (conversion,) = convert([SAMPLES / "aimock" / "broken.json"])
    notes = {(n.where, n.kind): n.reason for n in conversion.notes}
    assert "unknown field" in notes[("$.fixtures[0].match.userMesage", "dropped")]
    assert notes[("$.fixtures[1].response", "dropped")] == "content is an empty string"
    assert "video jobs" in notes[("$.fixtures[2].response.video", "dropped")]
    assert ("$.fixtures[3].match.turnIndex", "approximated") in notes
    assert [c.fixture["response"]["content"] for c in conversion.fixtures] == [
        "second turn",
        "kept",
    ]


def test_the_config_loader_s_reports_are_notes() -> None:
    settings, *_files = convert([CONFIG])
    where = {n.where for n in settings.notes}
    assert {"$.port", "$.metrics"} <= where
    assert settings.stack["strict"] is True


def test_a_folder_is_read_in_aimock_s_order(tmp_path: Path) -> None:
    """A folder's files by name, then its sub-folders: `b.json` before `a/x.json`."""
    (tmp_path / "a").mkdir()
    for name, text in (("a/x.json", "from a/x"), ("b.json", "from b"), ("c.json", "from c")):
        fixture = {"match": {"userMessage": "q"}, "response": {"content": text}}
        (tmp_path / name).write_text(json.dumps({"fixtures": [fixture]}))
    read = [c.fixtures[0].fixture["response"]["content"] for c in convert([tmp_path])]
    assert read == ["from b", "from c", "from a/x"]
