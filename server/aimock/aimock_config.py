"""Reading AIMock's `aimock.json` config (`-c/--config`).

Its `llm` section (fixtures, latency, chunkSize, chaos) and top-level port, host and strict
apply now; other `llm` keys (record, replaySpeed, ...) are reported as not applied, and
the `mcp` section becomes one MCP server (see `_mcp`); the `a2a` section becomes A2A agents
(see `aimock.services.a2a_model.aimock_a2a`); the `vector` section is read by the vector
surfaces.

`services: {search, rerank, moderate}` are AIMock's switches for match-all handlers on
`/search`, `/v2/rerank` and `/v1/moderations`. Here those surfaces always answer a request no
fixture matches (plausible search results, overlap-scored rerank, unflagged moderation), so
the switches are checked and need nothing more; only strict mode differs (see
docs/surfaces/tavily.md).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from aimock.fixtures.model import ChaosRates
from aimock.services.a2a_model import A2ASpec, aimock_a2a
from aimock.services.mcp_model import McpSpec
from aimock.services.vector.vector_model import VectorSpec, aimock_vector

log = logging.getLogger("aimock.config")
PENDING_SECTIONS = ("agui", "auth")
SERVICE_SWITCHES = ("search", "rerank", "moderate")
APPLIED_LLM_KEYS = ("fixtures", "latency", "chunkSize", "chaos", "logLevel")
# What AIMock's MCPMock reports when the `mcp` section gives no serverInfo.
AIMOCK_MCP_SERVER_INFO = {"name": "mcp-mock", "version": "1.0.0"}


class ConfigError(Exception):
    pass


@dataclass
class AimockConfig:
    fixture_paths: list[Path] = field(default_factory=list)
    port: int | None = None
    host: str | None = None
    strict: bool | None = None
    latency: float | None = None
    chunk_size: int | None = None
    chaos: ChaosRates | None = None
    mcp: McpSpec | None = None
    vector: VectorSpec | None = None
    a2a: A2ASpec | None = None


def _typed(
    data: dict[str, Any],
    key: str,
    kinds: tuple[type, ...],
    where: str,
    file: Path,
    *,
    bounds: tuple[float, float | None] | None = None,
) -> Any:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, kinds) or isinstance(value, bool) != (bool in kinds):
        expected = " or ".join(k.__name__ for k in kinds)
        raise ConfigError(f"{file}: {where}{key}: expected {expected}, got {value!r}")
    if bounds is not None and isinstance(value, int | float):
        low, high = bounds
        if value < low or (high is not None and value > high):
            wanted = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
            raise ConfigError(f"{file}: {where}{key}: {value!r} is out of range: must be {wanted}")
    return value


def load(path: Path) -> AimockConfig:
    try:
        data = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except orjson.JSONDecodeError as exc:
        raise ConfigError(f"{path}: invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    llm = data.get("llm")
    llm = {} if llm is None else llm
    if not isinstance(llm, dict):
        raise ConfigError(f"{path}: llm: expected an object")
    config = AimockConfig(
        port=_typed(data, "port", (int,), "", path, bounds=(0, 65535)),
        host=_typed(data, "host", (str,), "", path),
        strict=_typed(data, "strict", (bool,), "", path),
        latency=_typed(llm, "latency", (int, float), "llm.", path, bounds=(0, None)),
        chunk_size=_typed(llm, "chunkSize", (int,), "llm.", path, bounds=(1, None)),
    )
    fixtures = _typed(llm, "fixtures", (str,), "llm.", path)
    if fixtures:
        config.fixture_paths = [(path.parent / fixtures).resolve()]
    if llm.get("chaos") is not None:
        try:
            config.chaos = ChaosRates.model_validate(llm["chaos"])
        except ValidationError as exc:
            first = exc.errors()[0]
            field_path = ".".join(str(part) for part in first["loc"])
            raise ConfigError(
                f"{path}: llm.chaos.{field_path}: {first['msg']}".replace(
                    "llm.chaos.:", "llm.chaos:"
                )
            ) from None
    for key in llm:
        if key not in APPLIED_LLM_KEYS:
            log.warning("%s: llm.%s is not applied by this version", path, key)
    _check_services(data, path)
    config.mcp = _mcp(data, path)
    config.vector = aimock_vector(data, path)
    config.a2a = aimock_a2a(data, path)
    for section in PENDING_SECTIONS:
        if section in data:
            log.warning("%s: the %r section is not served by this version yet", path, section)
    return config


def _check_services(data: dict[str, Any], path: Path) -> None:
    """AIMock's `services` switches: an object of booleans. Every switch is served without
    them (see the module docstring); an unknown one is reported."""
    services = data.get("services")
    if services is None:
        return
    if not isinstance(services, dict):
        raise ConfigError(f"{path}: services: expected an object")
    for key in services:
        if key in SERVICE_SWITCHES:
            _typed(services, key, (bool,), "services.", path)
        else:
            log.warning("%s: services.%s is not a service this version knows", path, key)


def _mcp(data: dict[str, Any], path: Path) -> McpSpec | None:
    """AIMock's one MCP server, `mcp: {path, serverInfo, tools, resources, prompts}`, as our
    model: a tool's `result` (text, content blocks, or `{content, isError}`) becomes its one
    catch-all result, a prompt's `result` (`{description?, messages}`) its messages.

    AIMock's defaults are kept: serverInfo `mcp-mock` 1.0.0, and a tool without `result`
    answers every call with empty content (not an error)."""
    section = data.get("mcp")
    if section is None:
        return None
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: mcp: expected an object")
    info = section.get("serverInfo") or dict(AIMOCK_MCP_SERVER_INFO)
    server: dict[str, Any] = {
        "name": info.get("name", "mcp-mock") if isinstance(info, dict) else "mcp-mock",
        "path": section.get("path", "/mcp"),
        "serverInfo": info,
        "tools": [_aimock_tool(t) for t in section.get("tools") or []],
        "resources": section.get("resources") or [],
        "prompts": [_aimock_prompt(p) for p in section.get("prompts") or []],
    }
    server["name"] = re.sub(r"[^A-Za-z0-9._~-]", "-", str(server["name"])) or "mcp-mock"
    try:
        return McpSpec.model_validate({"servers": [server]})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"][2:])  # past servers.0
        raise ConfigError(f"{path}: mcp.{where}: {first['msg']}".replace("mcp.:", "mcp:")) from None


def _aimock_tool(tool: Any) -> Any:
    if not isinstance(tool, dict) or "results" in tool:
        return tool  # not AIMock's shape: let validation name the problem
    if "result" not in tool:
        # AIMock registers no handler and answers `{content: [], isError: false}`.
        return {**tool, "results": [{"content": []}]}
    rest = {k: v for k, v in tool.items() if k != "result"}
    result = tool["result"]
    if isinstance(result, str):
        answer: Any = {"text": result}
    elif isinstance(result, list):
        answer = {"content": result}
    else:
        answer = result  # {content, isError, structuredContent}: our result's own keys
    return {**rest, "results": [answer]}


def _aimock_prompt(prompt: Any) -> Any:
    if not isinstance(prompt, dict) or "result" not in prompt:
        return prompt
    rest = {k: v for k, v in prompt.items() if k != "result"}
    result = prompt["result"] if isinstance(prompt["result"], dict) else {}
    if "description" in result and "description" not in rest:
        rest["description"] = result["description"]
    return {**rest, "messages": result.get("messages", [])}
