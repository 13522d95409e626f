"""MCP (Streamable HTTP) driven by the official `mcp` client against a real server process.

The stack file tests/sdk/fixtures_mcp/stack.yaml defines two servers: `weather` (the first, so
also on /mcp) and `docs` (answers in SSE). The 2.x `Client` in its default auto mode probes
`server/discover` and speaks the stateless 2026-07-28 revision; `mode="legacy"` and
`ClientSession` over `streamable_http_client` speak the session-based handshake.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client, ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from tests.conftest import ServerProcess, start_server

STACK = Path(__file__).resolve().parent / "fixtures_mcp"
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def mcp_server() -> Iterator[ServerProcess]:
    server = start_server(["-f", str(STACK)])
    yield server
    server.stop()


# Each test opens its client itself: anyio's cancel scopes must close in the task that opened
# them, which an async fixture's teardown does not guarantee.
MODES = pytest.mark.parametrize("mode", ["auto", "legacy"])


def weather(server: ServerProcess, mode: str) -> Client:
    return Client(f"{server.url}/mcp/weather", mode=mode)  # type: ignore[arg-type]


def texts(result: Any) -> list[str]:
    return [block.text for block in result.content]


@MODES
async def test_handshake_negotiates_identity(mcp_server: ServerProcess, mode: str) -> None:
    async with weather(mcp_server, mode) as client:
        assert client.protocol_version in ("2025-11-25", "2026-07-28")
        assert client.server_info is not None
        assert (client.server_info.name, client.server_info.version) == ("weather-mock", "2.0.0")
        assert client.server_capabilities.tools is not None


@MODES
async def test_list_and_call_tools(mcp_server: ServerProcess, mode: str) -> None:
    async with weather(mcp_server, mode) as client:
        listed = await client.list_tools()
        assert [t.name for t in listed.tools] == ["get_weather", "no_results"]
        assert listed.tools[0].input_schema["required"] == ["city"]

        exact = await client.call_tool("get_weather", {"city": "Lisbon"})
        assert texts(exact) == ["Lisbon: 21C and sunny"] and not exact.is_error
        subset = await client.call_tool("get_weather", {"city": "Paris", "units": "metric"})
        assert texts(subset) == ["Paris: 14C and cloudy"]
        assert subset.structured_content == {"temp": 14, "sky": "cloudy"}
        regex = await client.call_tool("get_weather", {"city": "New York"})
        assert texts(regex) == ["New somewhere: 9C"]
        # Exact means exact: an extra argument falls through to the next results, none of which fit.
        miss = await client.call_tool("get_weather", {"city": "Lisbon", "units": "metric"})
        assert miss.is_error and "no result of tool 'get_weather'" in texts(miss)[0]


@MODES
async def test_tool_errors(mcp_server: ServerProcess, mode: str) -> None:
    async with weather(mcp_server, mode) as client:
        failed = await client.call_tool("get_weather", {"city": "Atlantis"})
        assert failed.is_error and texts(failed) == ["city not found: Atlantis"]
        with pytest.raises(MCPError) as rpc:
            await client.call_tool("get_weather", {"city": "Mordor"})
        assert (rpc.value.code, rpc.value.message) == (-32603, "weather backend down")
        with pytest.raises(MCPError) as unknown:
            await client.call_tool("no_such_tool", {})
        assert unknown.value.code == -32602 and "Unknown tool" in unknown.value.message


@MODES
async def test_resources_and_templates(mcp_server: ServerProcess, mode: str) -> None:
    async with weather(mcp_server, mode) as client:
        listed = await client.list_resources()
        assert [(str(r.uri), r.name, r.mime_type) for r in listed.resources] == [
            ("file:///readme.md", "readme", "text/markdown"),
            ("file:///logo.png", "logo", "image/png"),
        ]
        readme = await client.read_resource("file:///readme.md")
        assert readme.contents[0].text == "# Weather service"  # type: ignore[union-attr]
        logo = await client.read_resource("file:///logo.png")
        assert logo.contents[0].blob == "aGVsbG8="  # type: ignore[union-attr]
        templates = await client.list_resource_templates()
        assert [t.uri_template for t in templates.resource_templates] == ["weather://{city}/today"]
        with pytest.raises(MCPError) as missing:
            await client.read_resource("file:///nope")
        # -32002 in the handshake era; 2026-07-28 folds it into invalid params.
        assert missing.value.code in (-32002, -32602)


@MODES
async def test_prompts(mcp_server: ServerProcess, mode: str) -> None:
    async with weather(mcp_server, mode) as client:
        listed = await client.list_prompts()
        [prompt] = listed.prompts
        assert prompt.name == "forecast"
        assert [(a.name, a.required) for a in prompt.arguments or []] == [
            ("city", True),
            ("style", False),
        ]
        got = await client.get_prompt("forecast", {"city": "Oslo", "style": "haiku"})
        assert got.description == "Ask for a forecast."
        assert [(m.role, m.content.text) for m in got.messages] == [  # type: ignore[union-attr]
            ("user", "Give me the forecast for Oslo in a haiku style."),
            ("assistant", "Checking Oslo..."),
        ]
        short = await client.get_prompt("forecast", {"city": "Rome"})
        assert short.messages[0].content.text == "Give me the forecast for Rome in a  style."  # type: ignore[union-attr]
        with pytest.raises(MCPError) as missing:
            await client.get_prompt("forecast", {})
        assert missing.value.code == -32602 and "city" in missing.value.message


async def test_second_server_answers_in_sse(mcp_server: ServerProcess) -> None:
    for mode in ("auto", "legacy"):
        async with Client(f"{mcp_server.url}/mcp/docs", mode=mode) as docs:  # type: ignore[arg-type]
            assert docs.server_info is not None and docs.server_info.name == "docs-mock"
            assert [t.name for t in (await docs.list_tools()).tools] == ["search_docs"]
            assert texts(await docs.call_tool("search_docs", {"q": "x"})) == ["Found 3 pages."]
    # The first server is also on /mcp.
    async with Client(f"{mcp_server.url}/mcp", mode="legacy") as first:
        assert first.server_info is not None and first.server_info.name == "weather-mock"


async def test_client_session_lifecycle_ends_with_delete(mcp_server: ServerProcess) -> None:
    mcp_server.reset()
    url = f"{mcp_server.url}/mcp/weather"
    async with streamable_http_client(url) as (read, write), ClientSession(read, write) as session:
        init = await session.initialize()
        assert init.protocol_version == "2025-11-25"
        assert init.instructions == "Use get_weather for forecasts."
        await session.send_ping()
        result = await session.call_tool("get_weather", {"city": "Lisbon"})
        assert texts(result) == ["Lisbon: 21C and sunny"]
    entries = mcp_server.journal(surface="mcp")
    sessions = {e["headers"].get("mcp-session-id") for e in entries if e["method"] == "DELETE"}  # type: ignore[union-attr]
    # The transport ended its session with DELETE on exit; the id is unknown from then on.
    [ended] = sessions
    with mcp_server.control() as http:
        again = http.post(url, json=rpc("ping"), headers={**ACCEPT, "Mcp-Session-Id": str(ended)})
    assert again.status_code == 404


def rpc(method: str, id: int | None = 1, **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
    if id is not None:
        body["id"] = id
    return body


def open_session(http: httpx.Client, path: str = "/mcp/weather") -> str:
    init = rpc(
        "initialize",
        protocolVersion="2025-06-18",
        capabilities={},
        clientInfo={"name": "t", "version": "1"},
    )
    answer = http.post(path, json=init, headers=ACCEPT)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith(
        "application/json"
    )
    assert answer.json()["result"]["protocolVersion"] == "2025-06-18"  # the client's, supported
    return answer.headers["mcp-session-id"]


def test_protocol_errors(mcp_server: ServerProcess) -> None:
    with mcp_server.control() as http:
        bad_json = http.post("/mcp/weather", content=b"{nope", headers=ACCEPT)
        assert bad_json.status_code == 400
        assert bad_json.json()["error"]["code"] == -32700 and bad_json.json()["id"] is None
        not_rpc = http.post("/mcp/weather", json={"hello": 1}, headers=ACCEPT)
        assert not_rpc.status_code == 400 and not_rpc.json()["error"]["code"] == -32600

        no_session = http.post("/mcp/weather", json=rpc("tools/list"), headers=ACCEPT)
        assert no_session.status_code == 400 and no_session.json()["error"]["code"] == -32600
        unknown = http.post(
            "/mcp/weather", json=rpc("tools/list"), headers={**ACCEPT, "Mcp-Session-Id": "nope"}
        )
        assert unknown.status_code == 404 and "error" in unknown.json()

        session = {**ACCEPT, "Mcp-Session-Id": open_session(http)}
        method = http.post("/mcp/weather", json=rpc("tools/destroy", id=7), headers=session)
        assert method.status_code == 200
        assert method.json() == {
            "jsonrpc": "2.0",
            "id": 7,
            "error": {"code": -32601, "message": "Method not found: tools/destroy"},
        }
        initialized = http.post(
            "/mcp/weather", json=rpc("notifications/initialized", id=None), headers=session
        )
        assert (initialized.status_code, initialized.content) == (202, b"")
        batch = [rpc("ping", id=1), rpc("notifications/progress", id=None), rpc("tools/list", id=2)]
        answers = http.post("/mcp/weather", json=batch, headers=session).json()
        assert [a["id"] for a in answers] == [1, 2] and answers[0]["result"] == {}
        only_notes = http.post(
            "/mcp/weather", json=[rpc("notifications/x", id=None)], headers=session
        )
        assert only_notes.status_code == 202

        sse = http.post(
            "/mcp/weather",
            json=rpc("ping", id=3),
            headers={**session, "Accept": "text/event-stream"},
        )
        assert sse.headers["content-type"].startswith("text/event-stream")
        assert sse.text == 'event: message\ndata: {"jsonrpc":"2.0","id":3,"result":{}}\n\n'

        assert http.get("/mcp/weather", headers=session).status_code == 405
        assert http.delete("/mcp/weather", headers=session).status_code == 200
        gone = http.post("/mcp/weather", json=rpc("ping"), headers=session)
        assert gone.status_code == 404
        assert http.delete("/mcp/weather", headers=session).status_code == 404

        # A handshake-era server must never leave discover hanging; this one answers it.
        discover = http.post("/mcp/weather", json=rpc("server/discover"), headers=ACCEPT).json()
        assert "2026-07-28" in discover["result"]["supportedVersions"]
        assert discover["result"]["resultType"] == "complete"
        old = http.post(
            "/mcp/weather",
            json=rpc("tools/list"),
            headers={**ACCEPT, "MCP-Protocol-Version": "1999-01-01"},
        )
        assert old.status_code == 400 and old.json()["error"]["code"] == -32022
        nobody = http.post("/mcp/nobody", json=rpc("ping"), headers=ACCEPT)
        assert nobody.status_code == 404 and nobody.json()["error"]["code"] == -32601


def test_sessions_belong_to_their_server_and_reset_ends_them(mcp_server: ServerProcess) -> None:
    with mcp_server.control() as http:
        session = {**ACCEPT, "Mcp-Session-Id": open_session(http)}
        other = http.post("/mcp/docs", json=rpc("ping"), headers=session)
        assert other.status_code == 404
        assert http.post("/mcp/weather", json=rpc("ping"), headers=session).status_code == 200
        assert http.post("/__aimock/reset").status_code == 200
        assert http.post("/mcp/weather", json=rpc("ping"), headers=session).status_code == 404


async def test_journal_shows_mcp_calls(mcp_server: ServerProcess) -> None:
    mcp_server.reset()
    async with Client(f"{mcp_server.url}/mcp/weather", mode="legacy") as client:
        await client.call_tool("get_weather", {"city": "Lisbon"})
    # The transport also tries a GET stream in the background (answered 405): leave it out.
    entries = [e for e in mcp_server.journal(surface="mcp") if e["method"] != "GET"]
    calls = [(e["method"], e.get("rpcMethod"), e["response"]["status"]) for e in entries]  # type: ignore[index]
    assert calls[:3] == [
        ("POST", "initialize", 200),
        ("POST", "notifications/initialized", 202),
        ("POST", "tools/call", 200),
    ]
    call = entries[2]
    assert call["path"] == "/mcp/weather" and call["matched"] is True
    assert call["body"]["params"]["arguments"] == {"city": "Lisbon"}  # type: ignore[index]
    metrics = httpx.get(f"{mcp_server.url}/metrics").text
    assert (
        'aimock_requests_total{matched="true",provider="mcp",status="200",surface="mcp"}' in metrics
    )
