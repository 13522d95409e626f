"""AG-UI agents read with the official clients against a real server process: every event of a
run parsed with the Python package's models (`ag_ui.core`), and runs consumed end to end by the
JavaScript client (`@ag-ui/client`'s HttpAgent, installed from npm into a cache outside the
clone, as tests/peers.py installs AIMock).

The stack file tests/sdk/fixtures_agui/stack.yaml defines the default agent on /agui, `planner`
on /agui/planner and `ops` on its own path.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ag_ui.core import (
    AssistantMessage,
    Event,
    EventType,
    RunAgentInput,
    Tool,
    ToolMessage,
    UserMessage,
)
from pydantic import BaseModel, TypeAdapter

from tests.conftest import ServerProcess, start_server
from tests.peers import CACHE, npm_installed

HERE = Path(__file__).resolve().parent
STACK = HERE / "fixtures_agui"
EVENTS: TypeAdapter[Any] = TypeAdapter(Event)
# The JS client: @ag-ui/client, installed beside AIMock's peer cache (not in it: two npm installs
# into one prefix would rewrite each other's tree).
CLIENT_CACHE = CACHE.parent / "agui-client"
CLIENT_PACKAGE = "@ag-ui/client@>=0.0.40"
CLIENT_SCRIPT = HERE / "agui_client.cjs"


@pytest.fixture(scope="module")
def agui_server() -> Iterator[ServerProcess]:
    server = start_server(["-f", str(STACK)])
    yield server
    server.stop()
    assert "Traceback" not in "".join(server.output)


def run_input(
    text: str | None = None,
    *,
    thread: str = "thread-1",
    run: str = "run-1",
    tools: list[Tool] | None = None,
    state: Any = None,
    history: list[Any] | None = None,
) -> dict[str, Any]:
    """A RunAgentInput built with the official models, as the wire has it."""
    messages: list[Any] = list(history or [])
    if text is not None:
        messages.append(UserMessage(id=f"u-{len(messages)}", content=text))
    body = RunAgentInput(
        thread_id=thread,
        run_id=run,
        state=state if state is not None else {},
        messages=messages,
        tools=tools or [],
        context=[],
        forwarded_props={},
    )
    dumped: dict[str, Any] = body.model_dump(mode="json", by_alias=True)
    return dumped


def parse_stream(raw: str) -> list[BaseModel]:
    """Every `data:` frame of an SSE answer as an `ag_ui.core` event, checking that the frame is
    exactly what the model serializes (camelCase names, nothing unknown)."""
    events: list[BaseModel] = []
    for block in raw.split("\n\n"):
        if not block.strip():
            continue
        assert block.startswith("data: "), block
        payload = json.loads(block.removeprefix("data: "))
        event = EVENTS.validate_python(payload, strict=True)  # no coercion: JSON types exact
        assert not event.model_extra, f"fields unknown to ag_ui.core: {event.model_extra}"
        assert event.model_dump(mode="json", by_alias=True) == payload
        events.append(event)
    return events


def run(
    server: ServerProcess,
    body: Any,
    path: str = "/agui",
    headers: dict[str, str] | None = None,
) -> list[BaseModel]:
    response = httpx.post(
        server.url + path,
        json=body,
        headers={"Accept": "text/event-stream", **(headers or {})},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return parse_stream(response.text)


def types(events: list[BaseModel]) -> list[str]:
    return [e.type.value for e in events]  # type: ignore[attr-defined]


def check_run_envelope(events: list[BaseModel], thread: str, run_id: str) -> None:
    first, last = events[0], events[-1]
    assert first.type == EventType.RUN_STARTED  # type: ignore[attr-defined]
    assert (first.thread_id, first.run_id) == (thread, run_id)  # type: ignore[attr-defined]
    assert last.type == EventType.RUN_FINISHED  # type: ignore[attr-defined]
    assert (last.thread_id, last.run_id) == (thread, run_id)  # type: ignore[attr-defined]
    assert all(e.timestamp is not None for e in events)  # type: ignore[attr-defined]


# --- the Python models ---------------------------------------------------------------------------


def test_a_text_run_streams_one_message_in_order(agui_server: ServerProcess) -> None:
    events = run(agui_server, run_input("agui-hello", thread="t-7", run="r-9"))
    check_run_envelope(events, "t-7", "r-9")
    kinds = types(events)
    assert kinds[1] == "TEXT_MESSAGE_START" and kinds[-2] == "TEXT_MESSAGE_END"
    contents = events[2:-2]
    assert len(contents) > 1  # sliced by the server's chunk size
    assert {e.type for e in contents} == {EventType.TEXT_MESSAGE_CONTENT}  # type: ignore[attr-defined]
    ids = {e.message_id for e in events[1:-1]}  # type: ignore[attr-defined]
    assert len(ids) == 1
    text = "".join(e.delta for e in contents)  # type: ignore[attr-defined]
    assert text == "Hello from the AG-UI mock: this answer is streamed in slices."
    assert events[1].role == "assistant"  # type: ignore[attr-defined]


def test_a_tool_call_run_offers_the_call_and_its_result(agui_server: ServerProcess) -> None:
    events = run(agui_server, run_input("agui-search"))
    check_run_envelope(events, "thread-1", "run-1")
    assert types(events)[1] == "TOOL_CALL_START"
    start = events[1]
    assert start.tool_call_name == "web_search"  # type: ignore[attr-defined]
    args = [e for e in events if e.type == EventType.TOOL_CALL_ARGS]  # type: ignore[attr-defined]
    assert json.loads("".join(a.delta for a in args)) == {"query": "latest news"}  # type: ignore[attr-defined]
    end = types(events).index("TOOL_CALL_END")
    result = events[end + 1]
    assert result.type == EventType.TOOL_CALL_RESULT  # type: ignore[attr-defined]
    assert result.tool_call_id == start.tool_call_id  # type: ignore[attr-defined]
    assert result.content == "3 results"  # type: ignore[attr-defined]


def test_a_run_offering_a_tool_is_matched_by_the_tool_name(agui_server: ServerProcess) -> None:
    weather = Tool(name="get_weather", description="Weather by city", parameters={})
    events = run(agui_server, run_input("What is the weather?", tools=[weather]))
    kinds = types(events)
    assert kinds.index("TEXT_MESSAGE_END") < kinds.index("TOOL_CALL_START")
    start = events[kinds.index("TOOL_CALL_START")]
    text_start = events[kinds.index("TEXT_MESSAGE_START")]
    assert start.tool_call_id == "call-weather-1"  # type: ignore[attr-defined]
    assert start.parent_message_id == text_start.message_id  # type: ignore[attr-defined]


def test_the_tool_result_continues_the_run_by_its_tool_call_id(
    agui_server: ServerProcess,
) -> None:
    """A human-in-the-loop continuation: the last message is the tool's result."""
    weather = Tool(name="get_weather", description="Weather by city", parameters={})
    history = [
        UserMessage(id="u-0", content="What is the weather?"),
        AssistantMessage(
            id="a-1",
            tool_calls=[
                {
                    "id": "call-weather-1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                }
            ],
        ),
        ToolMessage(id="t-2", tool_call_id="call-weather-1", content="sunny, 21C"),
    ]
    events = run(agui_server, run_input(tools=[weather], history=history))
    deltas = [e.delta for e in events if e.type == EventType.TEXT_MESSAGE_CONTENT]  # type: ignore[attr-defined]
    assert "".join(deltas) == "It is sunny in Paris."


def test_a_state_run_sends_a_snapshot_then_a_json_patch(agui_server: ServerProcess) -> None:
    events = run(agui_server, run_input("count", state={"counter": 0}))
    check_run_envelope(events, "thread-1", "run-1")
    assert types(events) == ["RUN_STARTED", "STATE_SNAPSHOT", "STATE_DELTA", "RUN_FINISHED"]
    assert events[1].snapshot == {"counter": 1, "items": []}  # type: ignore[attr-defined]
    patch = [op.model_dump(mode="json", by_alias=True) for op in events[2].delta]  # type: ignore[attr-defined]
    assert patch == [
        {"op": "replace", "path": "/counter", "value": 2},
        {"op": "add", "path": "/items/-", "value": "first"},
    ]


def test_a_messages_snapshot_carries_typed_messages(agui_server: ServerProcess) -> None:
    events = run(agui_server, run_input("agui-history"))
    assert types(events) == ["RUN_STARTED", "MESSAGES_SNAPSHOT", "RUN_FINISHED"]
    messages = events[1].messages  # type: ignore[attr-defined]
    assert [(m.role, m.content) for m in messages] == [
        ("user", "earlier question"),
        ("assistant", "earlier answer"),
    ]


def test_an_error_run_ends_with_run_error(agui_server: ServerProcess) -> None:
    events = run(agui_server, run_input("agui-fail"))
    kinds = types(events)
    assert kinds[0] == "RUN_STARTED" and kinds[-1] == "RUN_ERROR"
    assert "RUN_FINISHED" not in kinds
    error = events[-1]
    assert (error.message, error.code) == ("the agent crashed", "AGENT_CRASH")  # type: ignore[attr-defined]


def test_a_named_agent_runs_steps_and_reasoning(agui_server: ServerProcess) -> None:
    events = run(agui_server, run_input("plan my week"), path="/agui/planner")
    check_run_envelope(events, "thread-1", "run-1")
    kinds = types(events)
    assert kinds[1] == "STEP_STARTED" and kinds[-2] == "STEP_FINISHED"
    assert events[1].step_name == events[-2].step_name == "planning"  # type: ignore[attr-defined]
    assert kinds.index("REASONING_END") < kinds.index("TEXT_MESSAGE_START")
    reasoning = [e.delta for e in events if e.type == EventType.REASONING_MESSAGE_CONTENT]  # type: ignore[attr-defined]
    assert "".join(reasoning) == "First think, then answer."
    # The default agent does not know this message; the other agents answer their own runs.
    assert httpx.post(agui_server.url + "/agui", json=run_input("plan my week")).status_code == 404
    ops = run(agui_server, run_input("anything"), path="/agents/ops/")
    assert types(ops)[-1] == "RUN_FINISHED"


def test_written_events_go_out_as_written_with_the_run_ids(agui_server: ServerProcess) -> None:
    events = run(agui_server, run_input("agui-raw-42", thread="t-raw", run="r-raw"))
    assert types(events) == ["RUN_STARTED", "CUSTOM", "TEXT_MESSAGE_CHUNK", "RUN_FINISHED"]
    check_run_envelope(events, "t-raw", "r-raw")
    assert events[1].value == {"percent": 50}  # type: ignore[attr-defined]
    assert events[-1].result == {"ok": True}  # type: ignore[attr-defined]


def test_delay_ms_paces_every_event(agui_server: ServerProcess) -> None:
    started = time.monotonic()
    events = run(agui_server, run_input("agui-slow"))
    elapsed = time.monotonic() - started
    assert elapsed >= len(events) * 0.060 * 0.9


def test_a_strict_miss_is_a_failed_run(agui_server: ServerProcess) -> None:
    events = run(
        agui_server,
        run_input("nothing matches this", thread="t-s", run="r-s"),
        headers={"X-AIMock-Strict": "true"},
    )
    assert types(events) == ["RUN_STARTED", "RUN_ERROR"]
    assert (events[0].thread_id, events[0].run_id) == ("t-s", "r-s")  # type: ignore[attr-defined]
    assert events[1].code == "no_fixture_match"  # type: ignore[attr-defined]
    assert "nothing matches this" in events[1].message  # type: ignore[attr-defined]


def test_a_miss_is_a_404_json_error(agui_server: ServerProcess) -> None:
    response = httpx.post(agui_server.url + "/agui", json=run_input("nothing matches this"))
    assert response.status_code == 404
    assert response.json()["code"] == "no_fixture_match"
    assert "nothing matches this" in response.json()["error"]


def test_runs_are_journaled_with_their_agent_and_fixture(agui_server: ServerProcess) -> None:
    run(agui_server, run_input("plan", run="r-journal"), path="/agui/planner")
    entries = [
        e
        for e in agui_server.journal()
        if isinstance(e.get("body"), dict) and e["body"].get("runId") == "r-journal"
    ]
    assert len(entries) == 1
    entry = entries[0]
    assert entry["surface"] == "agui"
    assert entry["response"]["status"] == 200  # type: ignore[index]
    assert entry["response"]["fixture"] == {"aguiAgent": "planner", "aguiFixture": 0}  # type: ignore[index]


# --- chaos ----------------------------------------------------------------------------------------


def test_chaos_truncate_cuts_the_run_midway(agui_server: ServerProcess) -> None:
    with httpx.stream(
        "POST",
        agui_server.url + "/agui",
        json=run_input("agui-hello"),
        headers={"X-AIMock-Chaos-Truncate": "1"},
        timeout=10,
    ) as response:
        assert response.status_code == 200
        raw = b""
        with pytest.raises(httpx.RemoteProtocolError):
            for chunk in response.iter_bytes():
                raw += chunk
    events = parse_stream(raw.decode())
    assert types(events)[0] == "RUN_STARTED"
    assert "RUN_FINISHED" not in types(events)


def test_chaos_disconnect_drops_the_connection(agui_server: ServerProcess) -> None:
    with pytest.raises(httpx.TransportError):
        httpx.post(
            agui_server.url + "/agui",
            json=run_input("agui-hello"),
            headers={"X-AIMock-Chaos-Disconnect": "1"},
            timeout=10,
        )


def test_chaos_drop_answers_a_json_500(agui_server: ServerProcess) -> None:
    response = httpx.post(
        agui_server.url + "/agui",
        json=run_input("agui-hello"),
        headers={"X-AIMock-Chaos-Drop": "1"},
    )
    assert response.status_code == 500
    assert response.json() == {"error": "Chaos: request dropped", "code": "chaos_drop"}


# --- the JavaScript client -----------------------------------------------------------------------


def client_module() -> Path:
    """@ag-ui/client, installed on first use (npm, into CLIENT_CACHE)."""
    module = CLIENT_CACHE / "node_modules" / "@ag-ui" / "client"
    npm_installed(CLIENT_PACKAGE, CLIENT_CACHE, module / "package.json")
    return module


def js_run(url: str, body: dict[str, Any]) -> dict[str, Any]:
    """One run through HttpAgent.runAgent: the events it saw, the messages and state it
    assembled, and the error it raised."""
    node = shutil.which("node")
    assert node is not None, "node is needed to run @ag-ui/client"
    done = subprocess.run(
        [node, str(CLIENT_SCRIPT), str(client_module()), url, json.dumps(body)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_the_js_client_runs_a_text_and_tool_call_conversation(
    agui_server: ServerProcess,
) -> None:
    body = run_input(
        "What is the weather?",
        thread="js-thread",
        run="js-run",
        tools=[Tool(name="get_weather", description="Weather by city", parameters={})],
    )
    result = js_run(agui_server.url + "/agui", body)
    assert result["error"] is None
    seen = result["events"]
    assert seen[0] == {"type": "RUN_STARTED", "threadId": "js-thread", "runId": "js-run"}
    assert seen[-1]["type"] == "RUN_FINISHED"
    assistant = [m for m in result["messages"] if m["role"] == "assistant"]
    assert assistant[-1]["content"] == "Let me look that up."
    call = assistant[-1]["toolCalls"][0]
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}


def test_the_js_client_applies_state_snapshots_and_deltas(agui_server: ServerProcess) -> None:
    result = js_run(agui_server.url + "/agui", run_input("count", state={"counter": 0}))
    assert result["error"] is None
    assert result["state"] == {"counter": 2, "items": ["first"]}


def test_the_js_client_sees_a_disconnect_mid_run_as_an_error(
    agui_server: ServerProcess,
) -> None:
    body = run_input("agui-cut")
    result = js_run(agui_server.url + "/agui", body)
    assert result["error"], "a run cut mid-stream must fail the client's run"
    assert 0 < len(result["events"]) < 5
    assert "RUN_FINISHED" not in [e["type"] for e in result["events"]]
    # The same through chaos, for a run that would otherwise complete.
    body["headers"] = {"X-AIMock-Chaos-Truncate": "1"}
    chaotic = js_run(
        agui_server.url + "/agui", run_input("agui-hello") | {"headers": body["headers"]}
    )
    assert chaotic["error"]
    assert "RUN_FINISHED" not in [e["type"] for e in chaotic["events"]]


def test_the_js_client_reports_a_strict_miss_as_a_run_error(agui_server: ServerProcess) -> None:
    body = run_input("nothing matches this") | {"headers": {"X-AIMock-Strict": "true"}}
    result = js_run(agui_server.url + "/agui", body)
    assert [e["type"] for e in result["events"]] == ["RUN_STARTED", "RUN_ERROR"]
