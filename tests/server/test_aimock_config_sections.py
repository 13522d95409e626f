"""AIMock's `aimock.json` `mcp`, `a2a` and `vector` sections load unchanged.

Verified against AIMock's own source, CopilotKit/aimock v1.38.0 (commit c9af8c33) and the
installed npm package @copilotkit/aimock 1.43.0 (dist/config-loader.d.ts and the *-types.d.ts
declarations are identical in both):
- src/config-loader.ts: `MCPConfig {path, serverInfo {name, version}, tools [MCPToolDefinition
  + result?: string], resources [{uri, name, mimeType?, description?, text?, blob?}], prompts
  [MCPPromptDefinition + result?: {messages: [{role, content: {type, text}}]}]}`;
  `A2AConfig {path, agents [A2AAgentDefinition + messages/tasks/streamingTasks: [{pattern,
  parts?, artifacts?, events?, delayMs?}]]}`; `VectorConfig {path, collections [{name,
  dimension, vectors? [{id, values, metadata?}], queryResults? [QueryResult]}]}`.
- src/mcp-types.ts, src/a2a-types.ts (parts `{text}|{data, mediaType?}|{url, mediaType?}`,
  stream events `{type: status, state}|{type: artifact, parts, append?, lastChunk?, name?}`),
  src/vector-types.ts (`QueryResult {id, score, metadata?, values?}`).
- Behaviour: src/mcp-handler.ts (a tool without result answers `{content: [], isError:
  false}`), src/mcp-mock.ts (default serverInfo `mcp-mock` 1.0.0), src/a2a-handler.ts and
  src/a2a-mock.ts (ONE endpoint at the path, card of the first agent, patterns of every agent
  matched in order by substring), src/vector-handler.ts (result `values` never rendered).
- Structure of the configs below follows fixtures/examples/{mcp/mcp-config.json,
  a2a/a2a-config.json, vector/vector-config.json}, with our own names and values.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aimock import aimock_config

MCP_SECTION: dict[str, Any] = {
    "path": "/mcp",
    "serverInfo": {"name": "Weather Tools", "version": "2.4.0"},
    "tools": [
        {
            "name": "forecast",
            "description": "Forecast for a city",
            "inputSchema": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
            "result": "Sunny, 21 degrees.",
        },
        {"name": "noop", "description": "Registered without a result"},
    ],
    "resources": [
        {
            "uri": "file:///stations.txt",
            "name": "Stations",
            "mimeType": "text/plain",
            "description": "Weather stations",
            "text": "Oslo\nBergen",
        },
        {"uri": "file:///logo.png", "name": "Logo", "mimeType": "image/png", "blob": "iVBO"},
        {"uri": "file:///empty", "name": "Empty"},
    ],
    "prompts": [
        {
            "name": "summarize",
            "description": "Summarize a forecast",
            "arguments": [{"name": "city", "description": "Which city", "required": True}],
            "result": {
                "messages": [
                    {"role": "user", "content": {"type": "text", "text": "Summarize the week."}}
                ]
            },
        },
        {"name": "bare"},
    ],
}

A2A_SECTION: dict[str, Any] = {
    "agents": [
        {
            "name": "planner",
            "description": "Plans trips",
            "version": "0.9.0",
            "skills": [
                {
                    "id": "route",
                    "name": "Route planning",
                    "description": "Plans a route",
                    "tags": ["travel"],
                }
            ],
            "capabilities": {"streaming": True},
            "messages": [{"pattern": "hello", "parts": [{"text": "Hi, where to?"}]}],
            "tasks": [
                {
                    "pattern": "book",
                    "artifacts": [
                        {"artifactId": "b-1", "name": "booking", "parts": [{"text": "Booked."}]}
                    ],
                }
            ],
            "streamingTasks": [
                {
                    "pattern": "itinerary",
                    "events": [
                        {"type": "status", "state": "TASK_STATE_WORKING"},
                        {
                            "type": "artifact",
                            "name": "itinerary",
                            "parts": [{"text": "Day 1: museum."}],
                            "lastChunk": True,
                        },
                        {"type": "status", "state": "TASK_STATE_COMPLETED"},
                    ],
                    "delayMs": 50,
                }
            ],
        },
        {
            "name": "translator",
            "messages": [
                {
                    "pattern": "translate",
                    "parts": [{"data": {"lang": "fr"}, "mediaType": "application/json"}],
                }
            ],
        },
    ]
}

VECTOR_SECTION: dict[str, Any] = {
    "collections": [
        {
            "name": "recipes",
            "dimension": 3,
            "vectors": [
                {"id": "r-1", "values": [0.3, 0.1, 0.7], "metadata": {"dish": "soup"}},
                {"id": "r-2", "values": [0.6, 0.2, 0.1]},
            ],
            "queryResults": [
                {"id": "r-1", "score": 0.91, "metadata": {"dish": "soup"}},
                {"id": "r-2", "score": 0.64, "values": [0.6, 0.2, 0.1]},
            ],
        },
        {"name": "empty-shelf", "dimension": 2},
    ]
}


def _load(tmp_path: Path, sections: dict[str, Any]) -> aimock_config.AimockConfig:
    file = tmp_path / "aimock.json"
    file.write_text(json.dumps(sections))
    return aimock_config.load(file)


def test_mcp_section_in_aimock_shape(tmp_path: Path) -> None:
    spec = _load(tmp_path, {"mcp": MCP_SECTION}).sections.get("mcp")
    assert spec is not None
    [server] = spec.servers
    assert server.endpoint == "/mcp"
    assert (server.info.name, server.info.version) == ("Weather Tools", "2.4.0")
    forecast, noop = server.tools
    assert forecast.input_schema["required"] == ["city"]
    assert [r.text for r in forecast.results] == ["Sunny, 21 degrees."]
    assert [(r.content, r.is_error) for r in noop.results] == [([], False)]
    stations, logo, empty = server.resources
    assert (stations.mime_type, stations.description, stations.text) == (
        "text/plain",
        "Weather stations",
        "Oslo\nBergen",
    )
    assert (logo.blob, logo.text) == ("iVBO", None)
    assert (empty.text, empty.blob) == (None, None)
    summarize, bare = server.prompts
    assert summarize.arguments[0].required and summarize.description == "Summarize a forecast"
    assert summarize.messages[0].content == {"type": "text", "text": "Summarize the week."}
    assert bare.messages == []


def test_mcp_section_defaults_are_aimocks(tmp_path: Path) -> None:
    spec = _load(tmp_path, {"mcp": {}}).sections.get("mcp")
    assert spec is not None
    [server] = spec.servers
    assert (server.endpoint, server.info.name, server.info.version) == (
        "/mcp",
        "mcp-mock",
        "1.0.0",
    )


def test_a2a_section_in_aimock_shape(tmp_path: Path) -> None:
    spec = _load(tmp_path, {"a2a": A2A_SECTION}).sections.get("a2a")
    assert spec is not None
    planner, translator = spec.agents
    assert (planner.endpoint, planner.version, planner.description) == (
        "/a2a",
        "0.9.0",
        "Plans trips",
    )
    assert planner.skills[0].tags == ["travel"] and planner.capabilities.streaming
    # AIMock's one endpoint matches every agent's patterns, the first agent's first.
    texts = [r.match.text for r in planner.responses if r.match is not None]
    assert texts == ["hello", "book", "itinerary", "translate"]
    hello, book, itinerary, translate = planner.responses
    assert hello.message and hello.reply is not None and not isinstance(hello.reply, str)
    assert hello.reply[0].text == "Hi, where to?"
    assert (book.state, book.artifacts[0].artifact_id) == ("completed", "b-1")
    assert itinerary.streaming is not None and itinerary.state == "completed"
    assert [u.status for u in itinerary.streaming] == ["working", None]
    assert translate.reply is not None and not isinstance(translate.reply, str)
    assert translate.reply[0].media_type == "application/json"
    assert translator.endpoint == "/a2a/translator"
    assert [r.match.text for r in translator.responses if r.match is not None] == ["translate"]


def test_a2a_section_path_moves_the_one_endpoint(tmp_path: Path) -> None:
    spec = _load(tmp_path, {"a2a": {"path": "/agents/", **A2A_SECTION}}).sections.get("a2a")
    assert spec is not None
    assert [a.endpoint for a in spec.agents] == ["/agents", "/agents/translator"]


def test_vector_section_in_aimock_shape(tmp_path: Path) -> None:
    spec = _load(tmp_path, {"vector": {"path": "/vector", **VECTOR_SECTION}}).sections.get("vector")
    assert spec is not None
    recipes, empty = spec.collections
    assert (recipes.name, recipes.dimension) == ("recipes", 3)
    assert [(p.id, p.vector, p.metadata) for p in recipes.points] == [
        ("r-1", [0.3, 0.1, 0.7], {"dish": "soup"}),
        ("r-2", [0.6, 0.2, 0.1], None),
    ]
    [static] = recipes.query_results
    assert static.match is None  # AIMock's results answer every query of the collection
    assert [(r.id, r.score, r.metadata) for r in static.results] == [
        ("r-1", 0.91, {"dish": "soup"}),
        ("r-2", 0.64, None),
    ]
    assert (empty.points, empty.query_results) == ([], [])


def test_all_three_sections_in_one_file(tmp_path: Path) -> None:
    config = _load(tmp_path, {"mcp": MCP_SECTION, "a2a": A2A_SECTION, "vector": VECTOR_SECTION})
    assert set(config.sections) == {"mcp", "a2a", "vector"}


def test_llm_record_becomes_record_options(tmp_path: Path) -> None:
    record = {"providers": {"anthropic": "https://api.anthropic.com"}, "proxyOnly": True}
    config = _load(tmp_path, {"llm": {"record": record, "replaySpeed": 2}})
    assert config.record is not None
    assert (config.record.mode, dict(config.record.providers)) == (
        "proxy-only",
        {"anthropic": "https://api.anthropic.com"},
    )
    assert config.replay_speed == 2


def test_llm_record_without_providers_names_the_field(tmp_path: Path) -> None:
    with pytest.raises(aimock_config.ConfigError, match=r"llm\.record\.providers: expected"):
        _load(tmp_path, {"llm": {"record": {"proxyOnly": True}}})
