"""Extra OpenAI base paths: `--openai-prefix` and the stack's `openaiPrefixes`.

Validation (a prefix starts with '/', has no trailing '/', plain segments only), merging of
flags and spec, and the routes the app registers for them.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from aimock.models.stack import StackSpec, check_openai_prefix
from aimock.state import ServeOptions, resolve
from tests.server.conftest import ClientFactory, chat_body, user
from tests.server.test_cli import run_cli

FIXTURE = """
fixtures:
  - match: { userMessage: prefix-hello }
    response: { content: "Hello through a prefix." }
"""
STACK = """
apiVersion: aimock.dev/v1alpha1
kind: MockStack
metadata: { name: gateway }
spec:
  openaiPrefixes: [/from-spec/v1]
---
"""


@pytest.mark.parametrize("prefix", ["/gw/v1", "/llm", "/a.b/c_d/e-f/~g", "/v1"])
def test_valid_prefixes(prefix: str) -> None:
    assert check_openai_prefix(prefix) == prefix
    assert StackSpec.model_validate({"openaiPrefixes": [prefix]}).openai_prefixes == [prefix]


@pytest.mark.parametrize(
    ("prefix", "message"),
    [
        ("gw/v1", "must start with '/'"),
        ("/gw/v1/", "must not end with '/'"),
        ("/", "must not end with '/'"),
        ("", "must start with '/'"),
        ("/gw//v1", "segment ''"),
        ("/gw/{model}", "segment '{model}'"),
        ("/gw v1", "segment 'gw v1'"),
        ("/__aimock", "reserved"),
        ("/__aimock/x", "reserved"),
    ],
)
def test_invalid_prefixes(prefix: str, message: str) -> None:
    with pytest.raises(ValueError, match="openai prefix") as caught:
        check_openai_prefix(prefix)
    assert message in str(caught.value)
    with pytest.raises(ValidationError, match="openaiPrefixes"):
        StackSpec.model_validate({"openaiPrefixes": [prefix]})


def test_the_cli_refuses_a_bad_prefix() -> None:
    result = run_cli("serve", "--openai-prefix", "/gw/v1/")
    assert result.returncode == 2
    assert "--openai-prefix: openai prefix '/gw/v1/' must not end with '/'" in result.stderr


def test_flags_come_first_then_the_spec_each_once() -> None:
    options = ServeOptions(openai_prefixes=("/a", "/b"))
    spec = StackSpec.model_validate({"openaiPrefixes": ["/b", "/c"]})
    assert resolve(options, spec).openai_prefixes == ("/a", "/b", "/c")
    assert resolve(ServeOptions(), None).openai_prefixes == ()


async def test_every_openai_route_answers_under_a_prefix(make_client: ClientFactory) -> None:
    client = await make_client(FIXTURE, openai_prefixes=("/gw/v1", "/v1"))
    status, body = await _post(client, "/gw/v1/chat/completions", chat_body(user("prefix-hello")))
    assert status == 200 and body["choices"][0]["message"]["content"] == "Hello through a prefix."
    status, body = await _post(client, "/gw/v1/responses", {"model": "m", "input": "prefix-hello"})
    assert status == 200 and body["output"][0]["content"][0]["text"] == "Hello through a prefix."
    status, body = await _post(client, "/gw/v1/embeddings", {"model": "m", "input": "x"})
    assert status == 200 and body["data"][0]["object"] == "embedding"
    status, body = await _post(client, "/gw/v1/moderations", {"input": "x"})
    assert status == 200
    listing = await client.get("/gw/v1/models")
    assert listing.status == 200 and (await listing.json())["object"] == "list"
    one = await client.get("/gw/v1/models/gpt-4o")
    assert one.status == 200 and (await one.json())["id"] == "gpt-4o"
    # A prefix that repeats a built-in one changes nothing.
    status, _ = await _post(client, "/v1/chat/completions", chat_body(user("prefix-hello")))
    assert status == 200
    journal = await (await client.get("/__aimock/journal")).json()
    assert {entry["provider"] for entry in journal if "chat" in entry["path"]} == {"openai"}


async def test_anthropic_routes_are_not_prefixed(make_client: ClientFactory) -> None:
    client = await make_client(FIXTURE, openai_prefixes=("/gw",))
    response = await client.post("/gw/messages", json={})
    assert response.status == 404
    response = await client.post("/gw/chat/completions", json=chat_body(user("prefix-hello")))
    assert response.status == 200


async def test_the_spec_prefixes_are_served(make_client: ClientFactory, tmp_path: Any) -> None:
    path = tmp_path / "stack.yaml"
    path.write_text(STACK + FIXTURE)
    client = await make_client(paths=(path,))
    status, body = await _post(
        client, "/from-spec/v1/chat/completions", chat_body(user("prefix-hello"))
    )
    assert status == 200, body


async def _post(client: Any, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    response = await client.post(path, json=body)
    return response.status, await response.json()
