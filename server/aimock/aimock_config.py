"""Reading AIMock's `aimock.json` config (`-c/--config`).

Its `llm` section (fixtures, latency, chunkSize, chaos) and top-level port, host and strict
apply now; other `llm` keys (record, replaySpeed, ...) are reported as not applied, and
the `mcp` section becomes one MCP server (see `_mcp`), the `a2a` section A2A agents (see
`_a2a`), the `vector` section vector collections (see `_vector`), the `agui` section the
default AG-UI agent (see `_agui`), and `auth.apiKeys` the inbound API keys. Every translation from
AIMock's shapes into ours lives in this module; the models know nothing of AIMock's file.

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
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from aimock.auth import InboundKeys
from aimock.models.base import first_problem
from aimock.models.fixture import ChaosRates
from aimock.models.services import a2a, agui, mcp, vector
from aimock.recording.options import RecordOptions

M = TypeVar("M", bound=BaseModel)
log = logging.getLogger("aimock.models.stack")
PENDING_SECTIONS: tuple[str, ...] = ()
SERVICE_SWITCHES = ("search", "rerank", "moderate")
APPLIED_LLM_KEYS = (
    "fixtures",
    "latency",
    "chunkSize",
    "chaos",
    "logLevel",
    "record",
    "replaySpeed",
)
# The keys of `llm.record` applied (fal and OpenRouter video knobs have no surface here yet).
APPLIED_RECORD_KEYS = (
    "providers",
    "providerKeys",
    "fixturePath",
    "proxyOnly",
    "recordFullModelVersion",
    "upstreamTimeoutMs",
    "bodyTimeoutMs",
)
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
    replay_speed: float | None = None
    # `llm.record`: record (or, with proxyOnly, proxy) mode, its upstreams and keys.
    record: RecordOptions | None = None
    # Service sections by key (`mcp`, `a2a`, `vector`): they replace the stack spec's.
    sections: dict[str, BaseModel] = field(default_factory=dict)
    # `auth.apiKeys`: the inbound API keys (AIMOCK_API_KEYS, when set, wins, as in AIMock).
    api_keys: InboundKeys | None = None


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
        config.chaos = _validated(ChaosRates, llm["chaos"], path, "llm.chaos")
    config.replay_speed = _typed(
        llm, "replaySpeed", (int, float), "llm.", path, bounds=(0.001, None)
    )
    if llm.get("record") is not None:
        config.record = _record(llm["record"], path, config.fixture_paths)
    for key in llm:
        if key not in APPLIED_LLM_KEYS:
            log.warning("%s: llm.%s is not applied by this version", path, key)
    _check_services(data, path)
    for key, translate in TRANSLATIONS.items():
        translated = translate(data, path)
        if translated is not None:
            config.sections[key] = translated
    if data.get("auth") is not None:
        config.api_keys = _api_keys(data["auth"], path)
    for section in PENDING_SECTIONS:
        if section in data:
            log.warning("%s: the %r section is not served by this version yet", path, section)
    return config


def _api_keys(auth: Any, path: Path) -> InboundKeys:
    """AIMock's `auth: {apiKeys: [...]}`."""
    if not isinstance(auth, dict):
        raise ConfigError(f"{path}: auth: expected an object")
    keys = auth.get("apiKeys")
    if not isinstance(keys, list):
        raise ConfigError(f"{path}: auth.apiKeys: expected an array of keys")
    try:
        return InboundKeys(keys, "auth.apiKeys")
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None


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


def _record(section: Any, path: Path, fixture_paths: list[Path]) -> RecordOptions:
    """AIMock's `llm.record` as our record options: `providers` (name -> base URL),
    `proxyOnly`, `fixturePath` (default `<fixtures>/recorded`), `recordFullModelVersion`,
    the two timeouts (ms), and `providerKeys`."""
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: llm.record: expected an object")
    providers = section.get("providers")
    if not isinstance(providers, dict) or not providers:
        raise ConfigError(f"{path}: llm.record.providers: expected an object of base URLs")
    for name, url in providers.items():
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError(f"{path}: llm.record.providers.{name}: expected an http(s) URL")
    keys = _typed(section, "providerKeys", (dict,), "llm.record.", path) or {}
    where = _typed(section, "fixturePath", (str,), "llm.record.", path)
    first = fixture_paths[0] if fixture_paths else path.parent / "fixtures"
    directory = (path.parent / where).resolve() if where else first / "recorded"
    timeout = _typed(
        section, "upstreamTimeoutMs", (int, float), "llm.record.", path, bounds=(1, None)
    )
    body = _typed(section, "bodyTimeoutMs", (int, float), "llm.record.", path, bounds=(1, None))
    for key in section:
        if key not in APPLIED_RECORD_KEYS:
            log.warning("%s: llm.record.%s is not applied by this version", path, key)
    return RecordOptions(
        mode="proxy-only"
        if _typed(section, "proxyOnly", (bool,), "llm.record.", path)
        else "record",
        providers=dict(providers),
        directory=directory,
        upstream_timeout=(timeout or 30_000) / 1000,
        body_timeout=(body or 30_000) / 1000,
        full_model_version=bool(
            _typed(section, "recordFullModelVersion", (bool,), "llm.record.", path)
        ),
        keys={str(k): str(v) for k, v in keys.items()},
    )


def _validated(model: type[M], data: Any, path: Path, where: str, skip: int = 0) -> M:
    """`data` as `model`, or a ConfigError naming the file and the field (`where.loc`); the
    first `skip` parts of the location are ours, not the file's."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        location, message = first_problem(exc, skip)
        raise ConfigError(
            f"{path}: {where}{'.' + location if location else ''}: {message}"
        ) from None


def _mcp(data: dict[str, Any], path: Path) -> mcp.McpSpec | None:
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
    return _validated(mcp.McpSpec, {"servers": [server]}, path, "mcp", skip=2)  # past servers.0


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


# --- a2a ---------------------------------------------------------------------------------------


def _a2a(data: dict[str, Any], path: Path) -> a2a.A2ASpec | None:
    """AIMock's `a2a: {path, agents: [card + messages/tasks/streamingTasks]}` as our model.

    Each pattern (a substring of the message text) becomes a response, in the order messages,
    tasks, streamingTasks: `messages` answer a plain message with their `parts`, `tasks` a
    completed task with their `artifacts`, `streamingTasks` their `events` (status and artifact
    updates; a final terminal status becomes the task's state). `delayMs` is not applied.

    AIMock serves ONE endpoint, the section's `path` (default /a2a): its card is the first
    agent's, and a message is matched against every agent's patterns in order. So the first
    agent is served there with the responses of all agents; every other agent is also served
    on its own `{path}/{name}` with its own responses.
    """
    section = data.get("a2a")
    if section is None:
        return None
    if not isinstance(section, dict) or not isinstance(section.get("agents", []), list):
        raise ConfigError(f"{path}: a2a: expected an object with an agents list")
    mount = section.get("path", a2a.DEFAULT_MOUNT)
    converted = [_aimock_agent(a) for a in section.get("agents") or []]
    _mount_like_aimock(converted, mount)
    return _validated(a2a.A2ASpec, {"agents": converted}, path, "a2a")


def _mount_like_aimock(agents: list[Any], mount: Any) -> None:
    """The first agent on `mount` answering every agent's patterns, the others on
    `{mount}/{name}` (see `_a2a`)."""
    if not isinstance(mount, str) or not agents or not all(isinstance(a, dict) for a in agents):
        return  # validation names the problem
    first, *others = agents
    first["path"] = mount.rstrip("/")
    for agent in others:
        if isinstance(agent.get("name"), str):
            agent["path"] = f"{mount.rstrip('/')}/{agent['name']}"
    first["responses"] = [r for a in agents for r in a["responses"]]


def _aimock_agent(agent: Any) -> Any:
    if not isinstance(agent, dict):
        return agent
    patterns = ("messages", "tasks", "streamingTasks")
    out = {k: v for k, v in agent.items() if k not in patterns}
    responses: list[Any] = []
    for message in agent.get("messages") or []:
        parts = message.get("parts") or [{"text": ""}]
        responses.append({"match": _pattern(message), "message": True, "reply": parts})
    for task in agent.get("tasks") or []:
        responses.append({"match": _pattern(task), "artifacts": task.get("artifacts") or []})
    for streamed in agent.get("streamingTasks") or []:
        responses.append(_aimock_streaming(streamed))
    out["responses"] = responses
    return out


def _pattern(item: Any) -> Any:
    return {"text": item.get("pattern")} if isinstance(item, dict) else None


def _state(value: Any) -> Any:
    """`TASK_STATE_INPUT_REQUIRED` or `input-required` -> `input-required`."""
    if not isinstance(value, str):
        return value
    return value.removeprefix("TASK_STATE_").lower().replace("_", "-")


def _aimock_streaming(streamed: Any) -> Any:
    if not isinstance(streamed, dict):
        return streamed
    updates: list[Any] = []
    for event in streamed.get("events") or []:
        if not isinstance(event, dict):
            updates.append(event)
        elif event.get("type") == "status":
            updates.append({"status": _state(event.get("state"))})
        else:
            artifact = {"parts": event.get("parts") or []}
            if event.get("name") is not None:  # chunks of one artifact share its name
                artifact.update(name=event["name"], artifactId=event["name"])
            updates.append(
                {
                    "artifact": artifact,
                    "append": bool(event.get("append", False)),
                    "lastChunk": bool(event.get("lastChunk", True)),
                }
            )
    response: dict[str, Any] = {"match": _pattern(streamed), "streaming": updates}
    last = updates[-1] if updates else None
    if isinstance(last, dict) and last.get("status") in a2a.TERMINAL_STATES | {"input-required"}:
        response["state"] = updates.pop()["status"]
    return response


# --- vector ------------------------------------------------------------------------------------


def _vector(data: dict[str, Any], path: Path) -> vector.VectorSpec | None:
    """AIMock's `vector: {path, collections: [{name, dimension, vectors, queryResults}]}` as
    our model: `vectors` ({id, values|vector, metadata}) are seed points, `queryResults` (a list
    of {id, score, metadata?, values?}) answer every query of the collection; AIMock never
    returns a result's `values`, so they are dropped. The mount `path` (e.g. `/vector`) is
    served as a prefix of every dialect's paths, beside their own (/collections, /api/v2...)."""
    section = data.get("vector")
    if section is None:
        return None
    if not isinstance(section, dict) or not isinstance(section.get("collections", []), list):
        raise ConfigError(f"{path}: vector: expected an object with a collections list")
    collections = [_aimock_collection(c) for c in section.get("collections") or []]
    spec: dict[str, Any] = {"collections": collections}
    if isinstance(section.get("path"), str) and section["path"].strip("/"):
        spec["path"] = "/" + section["path"].strip("/")
    return _validated(vector.VectorSpec, spec, path, "vector")


def _aimock_collection(collection: Any) -> Any:
    if not isinstance(collection, dict):
        return collection
    rest = {k: v for k, v in collection.items() if k not in ("vectors", "queryResults")}
    points = [
        {
            "id": str(v.get("id")),
            "vector": v.get("values", v.get("vector")),
            **({"metadata": v["metadata"]} if v.get("metadata") is not None else {}),
        }
        if isinstance(v, dict)
        else v
        for v in collection.get("vectors") or []
    ]
    results = collection.get("queryResults") or []
    static = [{"results": [_aimock_result(r) for r in results]}] if results else []
    return {**rest, "points": points, "queryResults": static}


def _aimock_result(result: Any) -> Any:
    if not isinstance(result, dict):
        return result  # validation names the problem
    rest = {k: v for k, v in result.items() if k != "values"}
    return {**rest, "id": str(result.get("id"))}


# --- agui --------------------------------------------------------------------------------------


def _agui(data: dict[str, Any], path: Path) -> agui.AguiSpec | None:
    """AIMock's `agui: {path, fixtures: [{match, text | events, delayMs}]}` as our default
    AG-UI agent: the same keys, with AIMock's two readings of a fixture kept. A `text` fixture
    with a `message` matches on the message alone (AIMock's `onMessage` drops the other keys);
    `text` wins over `events` when both are given; a fixture with neither is skipped, with a
    warning, as AIMock skips it."""
    section = data.get("agui")
    if section is None:
        return None
    if not isinstance(section, dict) or not isinstance(section.get("fixtures", []), list):
        raise ConfigError(f"{path}: agui: expected an object with a fixtures list")
    for key in section:
        if key not in ("path", "fixtures"):
            log.warning("%s: agui.%s is not applied by this version", path, key)
    fixtures = []
    for index, fixture in enumerate(section.get("fixtures") or []):
        converted = _aimock_agui_fixture(fixture)
        if converted is None:
            log.warning("%s: agui.fixtures[%d] has neither text nor events: skipped", path, index)
        else:
            fixtures.append(converted)
    mount = section.get("path", agui.DEFAULT_MOUNT)
    if isinstance(mount, str) and len(mount) > 1:
        mount = mount.rstrip("/")  # AIMock's mount takes `/agui/` as `/agui`
    spec = {"path": mount, "fixtures": fixtures}
    return _validated(agui.AguiSpec, spec, path, "agui")


def _aimock_agui_fixture(fixture: Any) -> Any:
    if not isinstance(fixture, dict):
        return fixture  # validation names the problem
    match = fixture.get("match")
    if fixture.get("text"):
        text_fixture = {k: v for k, v in fixture.items() if k != "events"}
        if isinstance(match, dict) and match.get("message") is not None:
            text_fixture["match"] = {"message": match["message"]}
        return text_fixture
    if fixture.get("events") is not None:
        return {k: v for k, v in fixture.items() if k != "text"}
    return None


# Each service section AIMock's file can carry, and how it becomes ours.
TRANSLATIONS = {
    mcp.SECTION.key: _mcp,
    a2a.SECTION.key: _a2a,
    vector.SECTION.key: _vector,
    agui.SECTION.key: _agui,
}
