"""AIMock's `aimock.json` `agui` section loads unchanged and answers, and our stack section is
checked where the file is read.

Verified against the installed npm package @copilotkit/aimock 1.43.0: dist/config-loader.d.ts
(`AGUIConfig {path?, fixtures?: [{match: {message?, toolCallId?, toolName?, stateKey?}, text?,
events?: AGUIEvent[], delayMs?}]}`), dist/config-loader.js (a `text` fixture with a `message`
is `onMessage(message, text)`, matching the message alone; without one it keeps toolCallId,
toolName and stateKey; `text` wins over `events`; a fixture with neither is skipped with a
warning; the mount defaults to `/agui`), dist/agui-handler.js (message: substring of the last
user message with text; toolCallId: the last message is that tool's result; toolName: in
`tools`; stateKey: a key of `state`), and the package's own example
fixtures/examples/agui/agui-text-response.json, which the first test serves as it is.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from ag_ui.core import Event, EventType
from pydantic import TypeAdapter, ValidationError

from aimock import aimock_config
from aimock.models.services.agui import AguiSpec
from tests.conftest import serving
from tests.peers import CACHE

EVENTS: TypeAdapter[Any] = TypeAdapter(Event)
AIMOCK_EXAMPLE = (
    CACHE / "node_modules/@copilotkit/aimock/fixtures/examples/agui/agui-text-response.json"
)
# The same shapes as AIMock's example, with our own values.
SECTION: dict[str, Any] = {
    "path": "/agent",
    "fixtures": [
        {"match": {"message": "hello"}, "text": "Hi from the config", "delayMs": 5},
        {
            "match": {"message": "search", "toolName": "ignored-by-aimock"},
            "text": "text wins over events",
            "events": [{"type": "RUN_STARTED", "threadId": "t", "runId": "r"}],
        },
        {
            "match": {"toolCallId": "call-1"},
            "events": [
                {"type": "RUN_STARTED", "threadId": "t1", "runId": "r1"},
                {"type": "TEXT_MESSAGE_START", "messageId": "m1", "role": "assistant"},
                {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": "done"},
                {"type": "TEXT_MESSAGE_END", "messageId": "m1"},
                {"type": "RUN_FINISHED", "threadId": "t1", "runId": "r1"},
            ],
        },
        {"match": {"stateKey": "cart"}, "text": "your cart"},
        {"match": {"message": "nothing"}},
    ],
}


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "aimock.json"
    path.write_text(json.dumps(data))
    return path


def parse(raw: str) -> list[Any]:
    return [
        EVENTS.validate_python(json.loads(block.removeprefix("data: ")))
        for block in raw.split("\n\n")
        if block.strip()
    ]


def post(url: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(url, json=body, timeout=10)


def test_aimocks_own_example_config_serves(tmp_path: Path) -> None:
    if not AIMOCK_EXAMPLE.exists():
        pytest.skip("AIMock's npm package is not installed (tests/peers.py installs it)")
    config = tmp_path / "aimock.json"
    config.write_bytes(AIMOCK_EXAMPLE.read_bytes())
    with serving("-c", str(config)) as server:
        hello = {
            "threadId": "a",
            "runId": "b",
            "messages": [{"id": "1", "role": "user", "content": "hello there"}],
        }
        response = post(server.url + "/agui", hello)
        assert response.status_code == 200
        events = parse(response.text)
        text = "".join(e.delta for e in events if e.type == EventType.TEXT_MESSAGE_CONTENT)
        assert text == "Hi! How can I help you today?"
        search = {"messages": [{"id": "1", "role": "user", "content": "search the web"}]}
        written = parse(post(server.url + "/agui", search).text)
        assert [e.type.value for e in written][:2] == ["RUN_STARTED", "TOOL_CALL_START"]
        assert (written[0].thread_id, written[0].run_id) == ("t1", "r1")  # as written


def test_the_agui_section_loads_in_aimocks_shape(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        config = aimock_config.load(_write(tmp_path, {"agui": SECTION}))
    spec = config.sections["agui"]
    assert isinstance(spec, AguiSpec)
    assert spec.path == "/agent"
    hello, search, tool, cart = spec.fixtures  # the one with neither text nor events is skipped
    assert "agui.fixtures[4] has neither text nor events" in caplog.text
    assert "not served by this version" not in caplog.text
    assert hello.delay_ms == 5 and hello.text == "Hi from the config"
    # AIMock's onMessage: a text fixture with a message matches on the message alone.
    assert search.match.tool_name is None and search.events is None
    assert tool.events is not None and tool.match.tool_call_id == "call-1"
    assert cart.match.state_key == "cart"


def test_the_agui_section_answers_like_aimock(tmp_path: Path) -> None:
    with serving("-c", str(_write(tmp_path, {"agui": SECTION}))) as server:
        url = server.url + "/agent"
        user = {"id": "u", "role": "user", "content": "search please"}
        text = parse(post(url, {"threadId": "t", "runId": "r", "messages": [user]}).text)
        kinds = [e.type.value for e in text]
        assert kinds[:2] == ["RUN_STARTED", "TEXT_MESSAGE_START"]
        assert kinds[-2:] == ["TEXT_MESSAGE_END", "RUN_FINISHED"]
        deltas = [e.delta for e in text if e.type == EventType.TEXT_MESSAGE_CONTENT]
        assert "".join(deltas) == "text wins over events"
        asked = {"id": "u", "role": "user", "content": "call the tool"}
        tool = {"id": "t", "role": "tool", "toolCallId": "call-1", "content": "ok"}
        assert parse(post(url, {"messages": [asked, tool]}).text)[2].delta == "done"
        cart = post(
            url, {"messages": [{"id": "x", "role": "user", "content": "?"}], "state": {"cart": []}}
        )
        assert "your cart" in cart.text
        assert post(server.url + "/agui", {"messages": [user]}).status_code == 404  # moved


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ([], "agui: expected an object with a fixtures list"),
        ({"fixtures": {}}, "agui: expected an object with a fixtures list"),
        ({"path": "agui"}, "agui.path"),
        ({"fixtures": [{"match": {"message": 3}, "text": "x"}]}, "agui.fixtures.0.match.message"),
        ({"fixtures": [{"match": {}, "events": [{"type": "NOPE"}]}]}, "unknown AG-UI event type"),
        ({"fixtures": [{"match": {}, "events": [{"type": "TOOL_CALL_START"}]}]}, "toolCallId"),
    ],
)
def test_a_bad_agui_section_names_the_field(tmp_path: Path, section: Any, message: str) -> None:
    with pytest.raises(aimock_config.ConfigError, match=message.replace(".", r"\.")):
        aimock_config.load(_write(tmp_path, {"agui": section}))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"agents": [{"name": "a"}, {"name": "a"}]}, "two agents named 'a'"),
        ({"agents": [{"name": "a", "path": "/agui"}]}, "two agent paths"),
        ({"path": "/__aimock/x"}, "reserved"),
        ({"fixtures": [{"text": "x", "events": []}]}, "not both"),
        ({"fixtures": [{"match": {"message": "x"}}]}, "give events, or at least one"),
        ({"fixtures": [{"stateDelta": [{"value": 1}]}]}, "op and a path"),
        ({"fixtures": [{"text": "x", "delayMs": -1}]}, "delayMs"),
        ({"fixtures": [{"text": "x", "nope": 1}]}, "nope"),
    ],
)
def test_the_stack_section_is_checked(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        AguiSpec.model_validate(spec)
