"""A run's input (`RunAgentInput`) read and checked, the error envelope, fixture matching, and
the service's state (the agents of the spec in force, the runs recorded)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from aimock import ids
from aimock.models.fixture import TextMatch
from aimock.models.services.agui import AguiFixture, AguiRecord, AguiSpec, RunMatch
from aimock.surface import ErrorDialect, ErrorInfo, bad_request

Json = dict[str, Any]


# --- errors -------------------------------------------------------------------------------------


def _error_body(info: ErrorInfo) -> Json:
    """AIMock's AG-UI error body, `{"error": message}`, with our code beside it."""
    body: Json = {"error": info.message}
    if info.code:
        body["code"] = info.code
    return body


def _error_headers(info: ErrorInfo) -> dict[str, str]:
    return {"Allow": "POST"} if info.status == 405 else {}


ERRORS = ErrorDialect(body=_error_body, headers=_error_headers)


# --- the run's input ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RunInput:
    """What matching and the answer read of a `RunAgentInput`."""

    thread_id: str
    run_id: str
    parent_run_id: str | None
    messages: list[Json]
    tools: list[Json]
    state: Any

    @functools.cached_property
    def user_text(self) -> str:
        """The last user message with text (AIMock's rule: its text parts joined by spaces);
        worked out once, however many fixtures ask."""
        for message in reversed(self.messages):
            if message.get("role") != "user":
                continue
            text = _text_of(message.get("content"))
            if text:
                return text
        return ""

    def last_tool_call_id(self) -> str | None:
        """The toolCallId of the last message, when it is a tool result."""
        if not self.messages:
            return None
        last = self.messages[-1]
        call = last.get("toolCallId")
        return call if last.get("role") == "tool" and isinstance(call, str) else None


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    parts = [
        p["text"]
        for p in content
        if isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
    ]
    return " ".join(p for p in parts if p).strip()


def _string(body: Json, key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request(f"Invalid RunAgentInput: {key!r} must be a string", param=key)
    return value


def _objects(body: Json, key: str) -> list[Json]:
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise bad_request(f"Invalid RunAgentInput: {key!r} must be a list of objects", param=key)
    return value


def parse_input(body: Any) -> RunInput:
    """A request body as a run's input, or a 400 naming what is wrong with it."""
    if not isinstance(body, dict):
        raise bad_request("Invalid RunAgentInput: expected a JSON object", code="invalid_input")
    messages = _objects(body, "messages")
    for index, message in enumerate(messages):
        if not isinstance(message.get("role"), str):
            raise bad_request(
                f"Invalid RunAgentInput: messages[{index}] needs a role", param="messages"
            )
    return RunInput(
        thread_id=_string(body, "threadId") or ids.uuid4(),
        run_id=_string(body, "runId") or ids.uuid4(),
        parent_run_id=_string(body, "parentRunId"),
        messages=messages,
        tools=_objects(body, "tools"),
        state=body.get("state"),
    )


# --- matching -----------------------------------------------------------------------------------


Check = Callable[[RunInput], bool]


def _text_check(match: TextMatch) -> Callable[[str], bool]:
    flags = re.IGNORECASE if match.ignore_case else 0
    if match.regex is not None:
        pattern = re.compile(match.regex, flags)
        return lambda text: pattern.search(text) is not None
    if match.equals is not None:
        exact = match.equals
        if match.ignore_case:
            return lambda text: text.lower() == exact.lower()
        return lambda text: text == exact
    sub = match.contains or ""
    if match.ignore_case:
        return lambda text: sub.lower() in text.lower()
    return lambda text: sub in text


def _checks(match: RunMatch) -> list[Check]:
    checks: list[Check] = []
    if match.message is not None:
        fits = _text_check(match.message)
        checks.append(lambda run: fits(run.user_text))
    if match.tool_call_id is not None:
        call = match.tool_call_id
        checks.append(lambda run: run.last_tool_call_id() == call)
    if match.tool_name is not None:
        name = match.tool_name
        checks.append(lambda run: any(tool.get("name") == name for tool in run.tools))
    if match.state_key is not None:
        key = match.state_key
        checks.append(lambda run: isinstance(run.state, dict) and key in run.state)
    return checks


Compiled = tuple[AguiFixture, list[Check]]


def select(fixtures: Sequence[Compiled], run: RunInput) -> tuple[int, AguiFixture] | None:
    for index, (fixture, checks) in enumerate(fixtures):
        if all(check(run) for check in checks):
            return index, fixture
    return None


@dataclass(frozen=True)
class Agent:
    name: str  # "" for the default agent
    endpoint: str
    fixtures: tuple[Compiled, ...]
    record: AguiRecord | None = None

    @property
    def label(self) -> str:
        return self.name or "default"


def compiled(fixture: AguiFixture) -> Compiled:
    return fixture, _checks(fixture.match)


class AguiService:
    """The path -> agent map of the spec in force (compiled once per spec), the runs recorded
    from upstream agents (by endpoint, until the control API's reset), and the HTTP client
    record mode forwards with."""

    def __init__(self) -> None:
        self._spec: AguiSpec | None = None
        self._by_path: dict[str, Agent] = {}
        self.recorded: dict[str, list[Compiled]] = {}
        self._session: aiohttp.ClientSession | None = None

    def agent_at(self, spec: AguiSpec, path: str) -> Agent | None:
        if spec is not self._spec:  # a reload brought new definitions: follow them once
            default = Agent("", spec.path, tuple(map(compiled, spec.fixtures)), spec.record)
            by_path = {spec.path: default}
            for agent in spec.agents:
                endpoint = spec.endpoint(agent)
                fixtures = tuple(map(compiled, agent.fixtures))
                by_path[endpoint] = Agent(agent.name, endpoint, fixtures, agent.record)
            self._by_path, self._spec = by_path, spec
        return self._by_path.get(path.rstrip("/") or "/")

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(auto_decompress=True)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


AGUI: web.AppKey[AguiService] = web.AppKey("aimock_agui", AguiService)
