"""The AG-UI agent model: what a stack file's `agui` section (and AIMock's) defines.

AG-UI is the agent-to-frontend protocol: the frontend POSTs a `RunAgentInput` to an agent's
endpoint and reads its run as a stream of events. This section defines the agents served:
the default agent on `path` (`/agui`, AIMock's `agui.path`) with its `fixtures`, and named
`agents`, each on `{path}/{name}` (or its own `path`) with its own fixtures.

A fixture answers the first run its `match` fits (AIMock's keys: `message`, a substring of
the last user message, or `{contains|equals|regex}` as in LLM fixtures; `toolCallId`, the
last message is that tool call's result; `toolName`, the run offers that tool; `stateKey`,
the run's state has that key; all given keys must hold, none = a catch-all). It answers with
AIMock's shapes: `events`, the run's events as written (`RUN_STARTED`/`RUN_FINISHED` without
`threadId`/`runId` get the run's), or shorthands that build a whole run (`text`, and ours:
`reasoning`, `toolCalls`, `state`, `stateDelta`, `messages`, `step`, `error`). `delayMs` is
AIMock's wait between events; `chunkSize`, `truncateAfterChunks`, `disconnectAfterMs` and
`chaos` are the LLM fixtures' own. An agent's `record` forwards the runs it cannot answer to a
real agent and saves them (AIMock's `--agui-record`).

Like the fixture model, every field has a description (it becomes the CRD's `kubectl explain`
text) and unknown keys are errors.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, NonNegativeFloat, PositiveInt, field_validator, model_validator

from aimock.models.base import PATH_NAME, Section, SpecModel, require_unique
from aimock.models.fixture import ChaosRates, TextMatch

DEFAULT_MOUNT = "/agui"
RESERVED_PREFIX = "/__aimock"
# The most events one fixture may list, and the longest a `delayMs` may hold each.
MAX_EVENTS = 100_000
MAX_DELAY_MS = 60_000

# Every event type of the protocol (AG-UI 1.0, and the THINKING_* events it deprecated), with
# the keys each must carry; `RUN_STARTED` and `RUN_FINISHED` get the run's ids when they lack
# them, so they require nothing.
EVENT_KEYS: dict[str, tuple[str, ...]] = {
    "RUN_STARTED": (),
    "RUN_FINISHED": (),
    "RUN_ERROR": ("message",),
    "STEP_STARTED": ("stepName",),
    "STEP_FINISHED": ("stepName",),
    "TEXT_MESSAGE_START": ("messageId",),
    "TEXT_MESSAGE_CONTENT": ("messageId", "delta"),
    "TEXT_MESSAGE_END": ("messageId",),
    "TEXT_MESSAGE_CHUNK": (),
    "TOOL_CALL_START": ("toolCallId", "toolCallName"),
    "TOOL_CALL_ARGS": ("toolCallId", "delta"),
    "TOOL_CALL_END": ("toolCallId",),
    "TOOL_CALL_CHUNK": (),
    "TOOL_CALL_RESULT": ("messageId", "toolCallId", "content"),
    "STATE_SNAPSHOT": ("snapshot",),
    "STATE_DELTA": ("delta",),
    "MESSAGES_SNAPSHOT": ("messages",),
    "ACTIVITY_SNAPSHOT": ("messageId", "activityType", "content"),
    "ACTIVITY_DELTA": ("messageId", "activityType", "patch"),
    "REASONING_START": ("messageId",),
    "REASONING_MESSAGE_START": ("messageId",),
    "REASONING_MESSAGE_CONTENT": ("messageId", "delta"),
    "REASONING_MESSAGE_END": ("messageId",),
    "REASONING_MESSAGE_CHUNK": (),
    "REASONING_END": ("messageId",),
    "REASONING_ENCRYPTED_VALUE": ("subtype", "entityId", "encryptedValue"),
    "SUBAGENT_STARTED": ("subagentRunId", "name"),
    "SUBAGENT_FINISHED": ("subagentRunId",),
    "SUBAGENT_ERROR": ("subagentRunId", "message"),
    "RAW": ("event",),
    "CUSTOM": ("name",),
    "THINKING_START": (),
    "THINKING_END": (),
    "THINKING_TEXT_MESSAGE_START": (),
    "THINKING_TEXT_MESSAGE_CONTENT": ("delta",),
    "THINKING_TEXT_MESSAGE_END": (),
}


class RunMatch(SpecModel):
    """Which runs a fixture answers; every given key must hold (none = every run)."""

    message: TextMatch | None = Field(
        None,
        description="The last user message's text (its text parts joined by spaces): a "
        "plain string is a substring, or an object with contains, equals or regex.",
    )
    tool_call_id: str | None = Field(
        None, description="The run's last message is the result (role tool) of this tool call."
    )
    tool_name: str | None = Field(None, description="The run offers a tool of this name.")
    state_key: str | None = Field(None, description="The run's state is an object with this key.")


class ToolCall(SpecModel):
    """A tool call the agent makes (TOOL_CALL_START, _ARGS, _END, and _RESULT if given)."""

    name: str = Field(min_length=1, description="The tool's name (toolCallName).")
    arguments: str | dict[str, Any] = Field(
        "{}", description="Its arguments: JSON text, or an object written as JSON."
    )
    id: str | None = Field(None, description="Its toolCallId (default: a new id).")
    result: str | None = Field(
        None, description="The tool's result: a TOOL_CALL_RESULT event after the call."
    )


class RunError(SpecModel):
    """The run fails: RUN_ERROR ends it instead of RUN_FINISHED."""

    message: str = Field(description="What went wrong.")
    code: str | None = Field(None, description="An error code.")


class AguiFixture(SpecModel):
    """One answer of an agent; the first fixture whose match fits the run wins."""

    match: RunMatch = Field(
        default_factory=RunMatch, description="Which runs this answers; absent = every run."
    )
    events: list[dict[str, Any]] | None = Field(
        None,
        max_length=MAX_EVENTS,
        description="The run's events as sent (AIMock's shape), each with its `type`; a "
        "RUN_STARTED or RUN_FINISHED without threadId/runId gets the run's. Excludes the "
        "shorthands.",
    )
    text: str | None = Field(
        None, description="Shorthand: the assistant's text message (streamed in chunkSize slices)."
    )
    reasoning: str | None = Field(
        None, description="Shorthand: a reasoning message (REASONING_*) before the text."
    )
    tool_calls: list[ToolCall] = Field(
        default_factory=list, description="Shorthand: tool calls after the text."
    )
    state: Any = Field(None, description="Shorthand: a STATE_SNAPSHOT of this state.")
    state_delta: list[dict[str, Any]] | None = Field(
        None, description="Shorthand: a STATE_DELTA of these JSON Patch (RFC 6902) operations."
    )
    messages: list[dict[str, Any]] | None = Field(
        None, description="Shorthand: a MESSAGES_SNAPSHOT of these AG-UI messages."
    )
    step: str | None = Field(
        None, description="Shorthand: wrap the run's events in STEP_STARTED/STEP_FINISHED."
    )
    error: RunError | None = Field(
        None, description="Shorthand: end the run with RUN_ERROR instead of RUN_FINISHED."
    )
    delay_ms: NonNegativeFloat | None = Field(
        None, le=MAX_DELAY_MS, description="Milliseconds before each event (AIMock's delayMs)."
    )
    chunk_size: PositiveInt | None = Field(
        None, description="Characters per TEXT_MESSAGE_CONTENT (default: the server's)."
    )
    truncate_after_chunks: PositiveInt | None = Field(
        None, description="Drop the connection after this many events (a failing agent)."
    )
    disconnect_after_ms: NonNegativeFloat | None = Field(
        None, description="Drop the connection this many milliseconds into the run."
    )
    chaos: ChaosRates | None = Field(None, description="Fault rates for the runs this answers.")

    @model_validator(mode="after")
    def _check(self) -> AguiFixture:
        shorthands = [
            key
            for key in ("text", "reasoning", "state", "state_delta", "messages", "error")
            if getattr(self, key) is not None
        ] + (["tool_calls"] if self.tool_calls else [])
        if self.events is not None:
            if shorthands or self.step is not None:
                raise ValueError("give events, or shorthands (text, toolCalls...), not both")
            for index, event in enumerate(self.events):
                _check_event(index, event)
        elif not shorthands:
            raise ValueError(
                "give events, or at least one of text, reasoning, toolCalls, state, "
                "stateDelta, messages, error"
            )
        for operation in self.state_delta or []:
            if not isinstance(operation.get("op"), str) or not isinstance(
                operation.get("path"), str
            ):
                raise ValueError("stateDelta: each operation needs an op and a path")
        return self


def _check_event(index: int, event: dict[str, Any]) -> None:
    kind = event.get("type")
    if not isinstance(kind, str) or kind not in EVENT_KEYS:
        raise ValueError(f"events[{index}]: unknown AG-UI event type {kind!r}")
    missing = [key for key in EVENT_KEYS[kind] if key not in event]
    if missing:
        raise ValueError(f"events[{index}]: {kind} needs {', '.join(missing)}")


def _check_path(path: str) -> str:
    if not path.startswith("/") or path.endswith("/"):
        raise ValueError(f"path {path!r} must start with '/' and not end with '/'")
    if path == RESERVED_PREFIX or path.startswith(RESERVED_PREFIX + "/"):
        raise ValueError(f"path {path!r} is reserved for the control API")
    if "{" in path or "}" in path:
        raise ValueError(f"path {path!r} must not hold braces")
    return path


class AguiRecord(SpecModel):
    """Record mode (AIMock's `--agui-record`): a run no fixture matches is forwarded to a real
    AG-UI agent, its stream relayed to the client as it arrives and saved as a fixture."""

    upstream: str = Field(
        pattern=r"^https?://",
        description="The real agent's endpoint (http or https URL) a missed run is POSTed to.",
    )
    proxy_only: bool = Field(
        False, description="Relay only: save nothing (AIMock's --agui-proxy-only)."
    )
    fixture_path: str = Field(
        "agui-recorded",
        min_length=1,
        description="Folder the recordings are written to (AIMock's fixture file shape, one "
        "file a run), relative to the server's working directory.",
    )
    timeout_seconds: float = Field(
        30, gt=0, le=3600, description="Seconds the upstream may stay silent before a 502."
    )


class AguiAgent(SpecModel):
    """A named AG-UI agent, on `{agui.path}/{name}` unless its `path` says."""

    name: str = Field(
        pattern=PATH_NAME, description="Agent name; its endpoint is /agui/{name} unless path says."
    )
    path: str | None = Field(None, description="Endpoint path (default {agui.path}/{name}).")
    fixtures: list[AguiFixture] = Field(
        default_factory=list, description="Its answers, first whose match fits the run wins."
    )
    record: AguiRecord | None = Field(
        None, description="Forward the runs no fixture matches to a real agent, and save them."
    )

    @field_validator("path")
    @classmethod
    def _path(cls, path: str | None) -> str | None:
        return path if path is None else _check_path(path)


class AguiSpec(SpecModel):
    """AG-UI agents this stack serves: runs answered as SSE event streams."""

    path: str = Field(
        DEFAULT_MOUNT,
        description="The default agent's endpoint (AIMock's agui.path); named agents are "
        "under it. Read at start.",
    )
    fixtures: list[AguiFixture] = Field(
        default_factory=list,
        description="The default agent's answers (AIMock's agui.fixtures), first match wins.",
    )
    agents: list[AguiAgent] = Field(
        default_factory=list, description="Named agents, each on {path}/{name} (or its path)."
    )
    record: AguiRecord | None = Field(
        None,
        description="The default agent's record mode: forward the runs no fixture matches to "
        "a real agent, and save them.",
    )

    @field_validator("path")
    @classmethod
    def _path(cls, path: str) -> str:
        return _check_path(path)

    @model_validator(mode="after")
    def _check(self) -> AguiSpec:
        require_unique("agents", [a.name for a in self.agents])
        require_unique("agent paths", [self.path, *(self.endpoint(a) for a in self.agents)])
        return self

    def endpoint(self, agent: AguiAgent) -> str:
        return agent.path or f"{self.path}/{agent.name}"


SECTION = Section(
    key="agui",
    model=AguiSpec,
    description="AG-UI agents on /agui (and /agui/{name}): runs (RunAgentInput) answered as "
    "SSE event streams from fixtures matched on the last user message, tool result, tools "
    "and state. Read at start for custom paths.",
    inventory=("AG-UI agents", "agents"),
)
