"""The A2A agent model: stack-file errors name the file, the field and the reason; AIMock's
aimock.json `a2a` section maps onto the same model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aimock import aimock_config
from aimock.fixtures.loading import LoadError, load_paths
from aimock.services.a2a import card

STACK = """\
apiVersion: aimock.dev/v1alpha1
kind: MockStack
metadata: {{name: s}}
spec:
  a2a:
    agents:
{agents}
"""


def load_agents(tmp_path: Path, agents: str) -> LoadError | list[str]:
    file = tmp_path / "stack.yaml"
    file.write_text(STACK.format(agents=agents))
    try:
        loaded = load_paths([file])
    except LoadError as exc:
        return exc
    assert loaded.stack is not None and loaded.stack.a2a is not None
    return [a.endpoint for a in loaded.stack.a2a.agents]


def problems(result: LoadError | list[str]) -> list[str]:
    assert isinstance(result, LoadError), result
    return [str(p) for p in result.problems]


def test_endpoints_default_to_the_name(tmp_path: Path) -> None:
    agents = "      - {name: a}\n      - {name: b, path: /agents/b}"
    assert load_agents(tmp_path, agents) == ["/a2a/a", "/agents/b"]


@pytest.mark.parametrize(
    ("agents", "field", "reason"),
    [
        ("      - {name: 'bad name'}", "a2a.agents[0].name", "should match pattern"),
        ("      - {name: a, respones: []}", "a2a.agents[0].respones", "unknown field"),
        ("      - {name: a, protocolVersion: '2.0'}", "a2a.agents[0].protocolVersion", "'1.0'"),
        (
            "      - {name: a, responses: [{match: {}, reply: x}]}",
            "a2a.agents[0].responses[0].match",
            "give at least one of text, equals, regex",
        ),
        (
            "      - {name: a, responses: [{match: {regex: '('}, reply: x}]}",
            "a2a.agents[0].responses[0].match",
            "invalid regex",
        ),
        (
            "      - {name: a, responses: [{reply: [{text: x, url: 'http://u'}]}]}",
            "a2a.agents[0].responses[0].reply",
            "exactly one of text, data, url",
        ),
        (
            "      - {name: a, responses: [{reply: x, state: done}]}",
            "a2a.agents[0].responses[0].state",
            "'completed'",
        ),
        (
            "      - {name: a, responses: [{message: true}]}",
            "a2a.agents[0].responses[0]",
            "a message answer needs a reply",
        ),
        (
            "      - {name: a, responses: [{reply: x, streaming: [{status: working, "
            "artifact: {parts: [{text: y}]}}]}]}",
            "a2a.agents[0].responses[0].streaming[0]",
            "exactly one of status, artifact",
        ),
        ("      - {name: a}\n      - {name: a}", "a2a", "two agents named 'a'"),
        ("      - {name: a, path: /__aimock/x}", "a2a.agents[0]", "reserved"),
        ("      - {name: a, path: /x/}", "a2a.agents[0]", "must start with '/'"),
    ],
)
def test_a_bad_agent_names_file_field_and_reason(
    tmp_path: Path, agents: str, field: str, reason: str
) -> None:
    # A union (reply: text or parts) reports each alternative; one names the real reason.
    found = problems(load_agents(tmp_path, agents))
    assert any("stack.yaml" in m and field in m and reason in m for m in found), found


def test_aimock_json_a2a_section_becomes_agents(tmp_path: Path) -> None:
    file = tmp_path / "aimock.json"
    agent = {
        "name": "helper",
        "description": "Helps.",
        "skills": [{"id": "s", "name": "S", "tags": ["t"]}],
        "capabilities": {"streaming": True},
        "messages": [{"pattern": "hi", "parts": [{"text": "hello"}]}],
        "tasks": [{"pattern": "do", "artifacts": [{"name": "out", "parts": [{"text": "done"}]}]}],
        "streamingTasks": [
            {
                "pattern": "stream",
                "events": [
                    {"type": "status", "state": "TASK_STATE_WORKING"},
                    {
                        "type": "artifact",
                        "name": "doc",
                        "parts": [{"text": "a"}],
                        "lastChunk": False,
                    },
                    {"type": "artifact", "name": "doc", "parts": [{"text": "b"}], "append": True},
                    {"type": "status", "state": "TASK_STATE_COMPLETED"},
                ],
                "delayMs": 5,
            }
        ],
    }
    file.write_text(json.dumps({"a2a": {"path": "/agents", "agents": [agent]}}))
    spec = aimock_config.load(file).sections.get("a2a")
    assert spec is not None
    [served] = spec.agents
    assert (served.name, served.endpoint, served.description) == ("helper", "/agents", "Helps.")
    message, task, streamed = served.responses
    assert message.message and message.match is not None and message.match.text == "hi"
    assert task.artifacts[0].name == "out" and task.state == "completed"
    assert streamed.streaming is not None and streamed.state == "completed"
    assert [u.status for u in streamed.streaming] == ["working", None, None]
    assert streamed.streaming[2].append and streamed.streaming[2].artifact is not None
    assert streamed.streaming[2].artifact.artifact_id == "doc"


def test_aimock_json_bad_a2a_section_names_the_field(tmp_path: Path) -> None:
    file = tmp_path / "aimock.json"
    file.write_text(json.dumps({"a2a": {"agents": [{"name": "a", "bogus": 1}]}}))
    with pytest.raises(aimock_config.ConfigError, match=r"aimock.json: a2a.agents.0.bogus"):
        aimock_config.load(file)


def test_cards_per_protocol_version(tmp_path: Path) -> None:
    agents = "      - {name: new}\n      - {name: old, protocolVersion: '0.3'}"
    file = tmp_path / "stack.yaml"
    file.write_text(STACK.format(agents=agents))
    loaded = load_paths([file])
    assert loaded.stack is not None and loaded.stack.a2a is not None
    new, old = (card(a, "http://h:1") for a in loaded.stack.a2a.agents)
    assert new["supportedInterfaces"] == [
        {"url": "http://h:1/a2a/new", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}
    ]
    assert "url" not in new and "protocolVersion" not in new
    assert (old["url"], old["protocolVersion"], old["preferredTransport"]) == (
        "http://h:1/a2a/old",
        "0.3.0",
        "JSONRPC",
    )
