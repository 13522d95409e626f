"""Services (MCP, A2A, vector databases) under the same chaos, strict mode and journal as the LLM
surfaces: chaos from the `X-AIMock-Chaos-*` headers and from the server's `--chaos-*` rates,
each drop answered in the service's own error format; strict misses answered as errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from aimock.chaos import MALFORMED_BODY
from tests.conftest import ServerProcess, start_server

HERE = Path(__file__).resolve().parent
# One stack file per server (a server loads one MockStack): the services' own test stacks.
STACKS = {"mcp": "fixtures_mcp", "a2a": "fixtures_a2a", "vector.qdrant": "fixtures_vector"}
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
STRICT = {"X-AIMock-Strict": "true"}


def rpc(method: str, **params: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}


def a2a_message(text: str) -> dict[str, Any]:
    message = {"messageId": "m-1", "role": "ROLE_USER", "parts": [{"text": text}]}
    return rpc("SendMessage", message=message)


def _json_rpc_drop(response: httpx.Response) -> None:
    assert response.json()["error"] == {"code": -32603, "message": "Chaos: request dropped"}


def _qdrant_drop(response: httpx.Response) -> None:
    assert response.json()["status"] == {"error": "Service internal error: Chaos: request dropped"}


@dataclass(frozen=True)
class Target:
    """One request to a service, and the check of its dropped (HTTP 500) answer."""

    surface: str
    method: str
    path: str
    body: Any
    check_drop: Callable[[httpx.Response], None]


TARGETS = [
    Target("mcp", "POST", "/mcp/weather", rpc("ping"), _json_rpc_drop),
    Target("a2a", "POST", "/a2a/travel", a2a_message("a2a-hello"), _json_rpc_drop),
    Target("vector.qdrant", "GET", "/collections", None, _qdrant_drop),
]
BY_SERVICE = pytest.mark.parametrize("target", TARGETS, ids=[t.surface for t in TARGETS])


def _start(surface: str, *args: str) -> ServerProcess:
    return start_server(["-f", str(HERE / STACKS[surface]), *args])


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, ServerProcess]]:
    started = {surface: _start(surface) for surface in STACKS}
    yield started
    for process in started.values():
        process.stop()


def _send(
    server: ServerProcess, method: str, path: str, body: Any, headers: dict[str, str]
) -> httpx.Response:
    with server.control() as http:
        return http.request(method, path, json=body, headers={**ACCEPT, **headers})


def _hit(server: ServerProcess, target: Target, headers: dict[str, str]) -> httpx.Response:
    return _send(server, target.method, target.path, target.body, headers)


def _last(server: ServerProcess, surface: str) -> dict[str, Any]:
    entry: dict[str, Any] = server.journal(surface=surface)[-1]
    return entry["response"]  # type: ignore[no-any-return]


@BY_SERVICE
def test_header_drop_answers_the_service_error(
    servers: dict[str, ServerProcess], target: Target
) -> None:
    server = servers[target.surface]
    answer = _hit(server, target, {"X-AIMock-Chaos-Drop": "1"})
    assert answer.status_code == 500
    target.check_drop(answer)
    response = _last(server, target.surface)
    assert response["status"] == 500 and response["chaosAction"] == "drop"


@BY_SERVICE
def test_header_malformed_answers_broken_json(
    servers: dict[str, ServerProcess], target: Target
) -> None:
    server = servers[target.surface]
    answer = _hit(server, target, {"X-AIMock-Chaos-Malformed": "1"})
    assert (answer.status_code, answer.content) == (200, MALFORMED_BODY)
    response = _last(server, target.surface)
    assert response["status"] == 200 and response["chaosAction"] == "malformed"


@BY_SERVICE
def test_header_disconnect_cuts_the_connection(
    servers: dict[str, ServerProcess], target: Target
) -> None:
    server = servers[target.surface]
    with pytest.raises(httpx.TransportError):
        _hit(server, target, {"X-AIMock-Chaos-Disconnect": "1"})
    response = _last(server, target.surface)
    assert response["status"] == 0 and response["chaosAction"] == "disconnect"


@BY_SERVICE
def test_server_chaos_rate_reaches_the_service(target: Target) -> None:
    process = _start(target.surface, "--chaos-drop", "1")
    try:
        answer = _hit(process, target, {})
        assert answer.status_code == 500
        target.check_drop(answer)
        assert _last(process, target.surface)["chaosAction"] == "drop"
        metrics = httpx.get(f"{process.url}/metrics").text
        assert f'action="drop",surface="{target.surface}"' in metrics
    finally:
        process.stop()


def test_mcp_strict_miss_answers_an_error(servers: dict[str, ServerProcess]) -> None:
    server = servers["mcp"]
    call = rpc("tools/call", name="get_weather", arguments={"city": "Nowhere"})
    modern = {"MCP-Protocol-Version": "2026-07-28"}
    lenient = _send(server, "POST", "/mcp/weather", call, modern).json()
    assert lenient["result"]["isError"] is True
    strict = _send(server, "POST", "/mcp/weather", call, {**modern, **STRICT}).json()
    assert strict["error"]["code"] == -32603
    assert strict["error"]["message"].startswith(
        "Strict mode: no result of tool 'get_weather' matches the arguments"
    )


def test_a2a_strict_miss_answers_an_error(servers: dict[str, ServerProcess]) -> None:
    server = servers["a2a"]
    miss = a2a_message("a2a-nothing-matches-this")
    lenient = _send(server, "POST", "/a2a/travel", miss, {}).json()
    assert lenient["result"]["task"]["status"]["state"] == "TASK_STATE_FAILED"
    strict = _send(server, "POST", "/a2a/travel", miss, STRICT).json()
    assert strict["error"] == {
        "code": -32603,
        "message": "Strict mode: no response of agent 'travel' matched the message "
        "'a2a-nothing-matches-this'",
    }
