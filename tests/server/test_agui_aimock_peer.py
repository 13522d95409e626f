"""AIMock's own `aimock -c` beside ours on the same `aimock.json` `agui` section: every run is
answered alike (the status; for a run, the events' types with consecutive text slices taken as
one, the text, tool calls and state; a written run's events as written).

Known differences (docs/surfaces/agui.md) are left out of the comparison: ours slices text into
several TEXT_MESSAGE_CONTENT events and echoes the run's ids where AIMock invents new ones.
AIMock is installed from npm into ~/.cache/aimock/peers on first use (tests/peers.py).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ServerProcess, serving, terminate
from tests.peers import _free_port, aimock_bin

CONFIG: dict[str, Any] = {
    "agui": {
        "fixtures": [
            # AIMock's onMessage: matched on the message alone, toolName ignored.
            {"match": {"message": "hello", "toolName": "absent"}, "text": "Hi there"},
            # Text wins over events.
            {
                "match": {"message": "both"},
                "text": "the text",
                "events": [{"type": "RUN_STARTED", "threadId": "x", "runId": "y"}],
            },
            {"match": {"message": "skipped"}},  # neither text nor events: skipped
            {
                "match": {"toolCallId": "call-7"},
                "events": [
                    {"type": "RUN_STARTED", "threadId": "t1", "runId": "r1"},
                    {"type": "TOOL_CALL_START", "toolCallId": "c2", "toolCallName": "lookup"},
                    {"type": "TOOL_CALL_ARGS", "toolCallId": "c2", "delta": '{"q":"x"}'},
                    {"type": "TOOL_CALL_END", "toolCallId": "c2"},
                    {"type": "STATE_SNAPSHOT", "snapshot": {"done": True}},
                    {"type": "RUN_FINISHED", "threadId": "t1", "runId": "r1"},
                ],
            },
            {"match": {"toolName": "search"}, "text": "searching"},
            {"match": {"stateKey": "cart"}, "text": "your cart"},
        ]
    }
}


def user(text: Any) -> dict[str, Any]:
    return {"id": "u", "role": "user", "content": text}


RUNS: list[dict[str, Any]] = [
    {"threadId": "t", "runId": "r", "messages": [user("say hello")]},
    {"threadId": "t", "runId": "r", "messages": [user("both please")]},
    {"threadId": "t", "runId": "r", "messages": [user("skipped")]},
    {"messages": [user("x"), {"id": "t", "role": "tool", "toolCallId": "call-7", "content": "ok"}]},
    # toolCallId looks at the last message only.
    {"messages": [{"id": "t", "role": "tool", "toolCallId": "call-7", "content": "ok"}, user("x")]},
    {"messages": [user("find")], "tools": [{"name": "search", "description": "d"}]},
    {"messages": [user("?")], "state": {"cart": []}},
    {"messages": [user("?")], "state": ["cart"]},
    # Structured content: text parts joined; the last user message with text counts.
    {"messages": [user([{"type": "text", "text": "well"}, {"type": "text", "text": "hello"}])]},
    {"messages": [user("hello"), user([{"type": "image", "url": "u"}])]},
    {"messages": []},
    {"messages": "not a list"},
]


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("agui-peer") / "aimock.json"
    path.write_text(json.dumps(CONFIG))
    return path


@pytest.fixture(scope="module")
def peer(config: Path) -> Iterator[str]:
    """AIMock's `aimock -c` (the config binary) on a free loopback port."""
    binary = aimock_bin().parent / "aimock"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(binary), "-c", str(config), "-p", str(port), "--host", "127.0.0.1"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, f"AIMock exited with {process.returncode}"
            try:
                httpx.get(url + "/health", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "AIMock did not start"
                time.sleep(0.1)
        yield url
    finally:
        terminate(process)


@pytest.fixture(scope="module")
def ours(config: Path) -> Iterator[ServerProcess]:
    with serving("-c", str(config)) as server:
        yield server


def outline(response: httpx.Response) -> Any:
    """What both must agree on."""
    if response.status_code != 200:
        return response.status_code
    events = [json.loads(b.removeprefix("data: ")) for b in response.text.split("\n\n") if b]
    kinds: list[str] = []
    for event in events:
        if not (kinds and kinds[-1] == event["type"] == "TEXT_MESSAGE_CONTENT"):
            kinds.append(event["type"])
    text = "".join(e["delta"] for e in events if e["type"] == "TEXT_MESSAGE_CONTENT")
    # Ids are compared only where the fixture wrote them: made-up ones differ by nature.
    fixed = {"t1", "r1"}
    rest = [
        {
            k: v
            for k, v in e.items()
            if k not in ("timestamp", "messageId", "delta")
            and not (k in ("threadId", "runId") and v not in fixed)
        }
        for e in events
        if e["type"] != "TEXT_MESSAGE_CONTENT"
    ]
    return kinds, text, rest


@pytest.mark.parametrize("body", RUNS, ids=[json.dumps(r)[:60] for r in RUNS])
def test_a_run_is_answered_as_aimock_answers_it(
    peer: str, ours: ServerProcess, body: dict[str, Any]
) -> None:
    theirs = httpx.post(peer + "/agui", json=body, timeout=10)
    mine = httpx.post(ours.url + "/agui", json=body, timeout=10)
    if theirs.status_code == 400:  # AIMock refuses fewer shapes; both refuse this one
        assert mine.status_code == 400
        return
    assert outline(mine) == outline(theirs)
