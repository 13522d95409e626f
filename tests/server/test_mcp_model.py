"""The MCP server model: stack-file errors name the file, the field and the reason; AIMock's
aimock.json `mcp` section maps onto the same model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aimock import aimock_config
from aimock.fixtures.loading import LoadError, load_paths
from aimock.services import jsonrpc
from aimock.services.mcp import endpoints

STACK = """\
apiVersion: aimock.dev/v1alpha1
kind: MockStack
metadata: {{name: s}}
spec:
  mcp:
    servers:
{servers}
"""


def load_servers(tmp_path: Path, servers: str) -> LoadError | list[str]:
    file = tmp_path / "stack.yaml"
    file.write_text(STACK.format(servers=servers))
    try:
        loaded = load_paths([file])
    except LoadError as exc:
        return exc
    assert loaded.stack is not None and loaded.stack.mcp is not None
    return list(endpoints(loaded.stack.mcp))


def only_problem(result: LoadError | list[str]) -> str:
    assert isinstance(result, LoadError), result
    [problem] = result.problems
    return str(problem)


def test_endpoints_default_to_the_name_and_the_first_is_also_on_mcp(tmp_path: Path) -> None:
    servers = "      - {name: a}\n      - {name: b, path: /tools/b}"
    assert load_servers(tmp_path, servers) == ["/mcp", "/mcp/a", "/tools/b"]


@pytest.mark.parametrize(
    ("servers", "field", "reason"),
    [
        ("      - {name: 'bad name'}", "mcp.servers[0].name", "should match pattern"),
        ("      - {name: a, tols: []}", "mcp.servers[0].tols", "unknown field"),
        (
            "      - {name: a, tools: [{name: t, results: [{isError: true}]}]}",
            "mcp.servers[0].tools[0].results[0]",
            "give content, text, structuredContent or error",
        ),
        (
            "      - {name: a, tools: [{name: t, results: [{text: x, match: "
            "{argumentsRegex: {q: '('}}}]}]}",
            "mcp.servers[0].tools[0].results[0].match",
            "invalid regex",
        ),
        (
            "      - {name: a, resources: [{uri: u, name: n, text: x, blob: eA==}]}",
            "mcp.servers[0].resources[0]",
            "text or blob, not both",
        ),
        ("      - {name: a}\n      - {name: a}", "mcp", "two servers named 'a'"),
        ("      - {name: a, path: /__aimock/x}", "mcp.servers[0]", "reserved"),
    ],
)
def test_a_bad_server_names_file_field_and_reason(
    tmp_path: Path, servers: str, field: str, reason: str
) -> None:
    message = only_problem(load_servers(tmp_path, servers))
    assert "stack.yaml" in message and field in message and reason in message, message


def test_aimock_json_mcp_section_becomes_one_server(tmp_path: Path) -> None:
    file = tmp_path / "aimock.json"
    section = {
        "path": "/tools",
        "serverInfo": {"name": "my server", "version": "3.1.0"},
        "tools": [
            {"name": "echo", "inputSchema": {"type": "object"}, "result": "hi"},
            {"name": "blocks", "result": [{"type": "text", "text": "b"}]},
            {"name": "failing", "result": {"content": [], "isError": True}},
        ],
        "resources": [{"uri": "file:///a", "name": "a", "text": "A"}],
        "prompts": [
            {"name": "p", "result": {"messages": [{"role": "user", "content": "x"}]}},
        ],
    }
    file.write_text(json.dumps({"mcp": section}))
    spec = aimock_config.load(file).sections.get("mcp")
    assert spec is not None
    [server] = spec.servers
    assert (server.name, server.endpoint, server.info.version) == ("my-server", "/tools", "3.1.0")
    assert [r.text for t in server.tools for r in t.results] == ["hi", None, None]
    assert server.tools[1].results[0].content == [{"type": "text", "text": "b"}]
    assert server.tools[2].results[0].is_error
    assert server.prompts[0].messages[0].content == "x"


def test_aimock_json_bad_mcp_section_names_the_field(tmp_path: Path) -> None:
    file = tmp_path / "aimock.json"
    file.write_text(json.dumps({"mcp": {"tools": [{"name": "t", "bogus": 1}]}}))
    with pytest.raises(aimock_config.ConfigError, match=r"aimock.json: mcp.tools.0.bogus"):
        aimock_config.load(file)


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ([], -32600),
        ({"jsonrpc": "1.0", "method": "x", "id": 1}, -32600),
        ({"jsonrpc": "2.0", "method": "x", "id": True}, -32600),
        ({"jsonrpc": "2.0", "method": 5, "id": 1}, -32600),
        ({"jsonrpc": "2.0", "method": "x", "id": 1, "params": [1]}, -32602),
        ({"jsonrpc": "2.0", "id": 1}, -32600),
    ],
)
def test_jsonrpc_validation(message: object, code: int) -> None:
    with pytest.raises(jsonrpc.RpcError) as caught:
        jsonrpc.parse_message(message)
    assert caught.value.code == code and caught.value.status == 400


def test_jsonrpc_kinds() -> None:
    assert jsonrpc.parse_message({"jsonrpc": "2.0", "method": "m", "id": "a"}).is_request
    assert jsonrpc.parse_message({"jsonrpc": "2.0", "method": "m"}).is_notification
    assert jsonrpc.parse_message({"jsonrpc": "2.0", "id": 1, "result": {}}).is_response
