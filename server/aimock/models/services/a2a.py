"""The A2A agent model: what a stack file's `a2a.agents` (and AIMock's `a2a` section) define.

An agent is a name, an endpoint path, its agent card (description, version, skills,
capabilities), the A2A protocol version its card declares (`1.0`, or `0.3` for the legacy
card the a2a-sdk client answers with its v0.3 compat transport), and its `responses`. A
response answers the first incoming message whose text fits its `match` (substring, equality
or a regular expression; no match = a catch-all): a task in a given state with a reply and
artifacts, or a plain message; `streaming` lists the status and artifact updates a streamed
answer sends before its final status.

Like the fixture model, every field has a description (it becomes the CRD's `kubectl explain`
text) and unknown keys are errors.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, model_validator

from aimock.models.base import PATH_NAME, Section, SpecModel, require_unique

DEFAULT_MOUNT = "/a2a"
RESERVED_PREFIX = "/__aimock"

TaskState = Literal[
    "submitted",
    "working",
    "input-required",
    "auth-required",
    "completed",
    "canceled",
    "failed",
    "rejected",
]
# A task in one of these states is over: it cannot be canceled.
TERMINAL_STATES: frozenset[str] = frozenset({"completed", "canceled", "failed", "rejected"})


class MessageMatch(SpecModel):
    """Which messages a response answers, by their text (text parts joined by newlines);
    every given condition must hold."""

    text: str | None = Field(None, description="The message text must contain this substring.")
    equals: str | None = Field(None, description="The message text must equal this exactly.")
    regex: str | None = Field(
        None, description="Python regular expression searched in the message text."
    )

    @model_validator(mode="after")
    def _check(self) -> MessageMatch:
        if self.text is None and self.equals is None and self.regex is None:
            raise ValueError("give at least one of text, equals, regex")
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise ValueError(f"regex: invalid regex {self.regex!r}: {exc}") from None
        return self


class Part(SpecModel):
    """One content part: text, structured data, or a file by URL."""

    text: str | None = Field(None, description="A text part.")
    data: Any = Field(None, description="A structured data part (a JSON object).")
    url: str | None = Field(None, description="A file part: the file's URL.")
    media_type: str | None = Field(None, description="MIME type of a data or file part.")
    filename: str | None = Field(None, description="File name of a file part.")

    @model_validator(mode="after")
    def _check(self) -> Part:
        given = [k for k in ("text", "data", "url") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of text, data, url")
        if self.data is not None and not isinstance(self.data, dict):
            raise ValueError("data must be an object")
        return self


class Artifact(SpecModel):
    """An output of a task."""

    artifact_id: str | None = Field(
        None, description="Artifact id (default: derived from the task id and its position)."
    )
    name: str | None = Field(None, description="Artifact name.")
    description: str | None = Field(None, description="What the artifact holds.")
    parts: list[Part] = Field(min_length=1, description="The artifact's content parts.")


class StreamUpdate(SpecModel):
    """One update of a streamed answer: a status change or an artifact (chunk)."""

    status: TaskState | None = Field(None, description="Send a status update to this state.")
    text: str | None = Field(None, description="Agent message carried by a status update.")
    artifact: Artifact | None = Field(None, description="Send this artifact (or chunk of it).")
    append: bool = Field(
        False, description="The artifact's parts extend the artifact with the same artifactId."
    )
    last_chunk: bool = Field(True, description="The last chunk of this artifact.")

    @model_validator(mode="after")
    def _check(self) -> StreamUpdate:
        if (self.status is None) == (self.artifact is None):
            raise ValueError("give exactly one of status, artifact")
        if self.text is not None and self.status is None:
            raise ValueError("text belongs to a status update")
        return self


class AgentResponse(SpecModel):
    """One answer of an agent; the first whose match fits the message wins."""

    match: MessageMatch | None = Field(
        None, description="Which messages this answers; absent = every message (a catch-all)."
    )
    reply: str | list[Part] | None = Field(
        None, description="The agent's reply: text, or content parts (the task's status message)."
    )
    artifacts: list[Artifact] = Field(
        default_factory=list, description="Artifacts of the task (sent last when streamed)."
    )
    state: TaskState = Field("completed", description="The task's final state.")
    message: bool = Field(
        False, description="Answer with a plain message (the reply) instead of a task."
    )
    streaming: list[StreamUpdate] | None = Field(
        None,
        description="Updates a streamed answer sends between the working task and the final "
        "status (before the artifacts); non-streamed answers fold them into the task.",
    )

    @model_validator(mode="after")
    def _check(self) -> AgentResponse:
        if self.message:
            if self.reply is None:
                raise ValueError("a message answer needs a reply")
            if self.artifacts or self.streaming:
                raise ValueError("a message answer carries no artifacts or streaming updates")
        return self


class Skill(SpecModel):
    id: str = Field(min_length=1, description="Skill id, unique in its agent.")
    name: str = Field(min_length=1, description="Skill name.")
    description: str = Field("", description="What the skill does.")
    tags: list[str] = Field(default_factory=list, description="Keywords describing the skill.")
    examples: list[str] | None = Field(None, description="Example prompts.")


class Capabilities(SpecModel):
    streaming: bool = Field(
        True, description="The agent streams (the client then uses SendStreamingMessage)."
    )


class Agent(SpecModel):
    """One A2A agent (JSON-RPC binding) served on this port."""

    name: str = Field(
        pattern=PATH_NAME, description="Agent name; its endpoint is /a2a/{name} unless path says."
    )
    path: str | None = Field(
        None,
        description="Endpoint path (default /a2a/{name}); its card is at "
        "{path}/.well-known/agent-card.json (the first agent's also at the root).",
    )
    description: str = Field("", description="What the agent does (agent card).")
    version: str = Field("1.0.0", description="Agent version (agent card).")
    protocol_version: Literal["1.0", "0.3"] = Field(
        "1.0",
        description="A2A protocol version the card declares: '1.0', or '0.3' (a legacy card; "
        "a2a-sdk then speaks message/send...). Quote it in YAML.",
    )
    capabilities: Capabilities = Field(
        default_factory=Capabilities, description="Agent capabilities (agent card)."
    )
    default_input_modes: list[str] = Field(
        default_factory=lambda: ["text/plain"], description="Accepted input MIME types."
    )
    default_output_modes: list[str] = Field(
        default_factory=lambda: ["text/plain"], description="Produced output MIME types."
    )
    skills: list[Skill] = Field(default_factory=list, description="Skills (agent card).")
    responses: list[AgentResponse] = Field(
        default_factory=list, description="Answers, first whose match fits the message wins."
    )

    @model_validator(mode="after")
    def _check(self) -> Agent:
        if self.path is not None:
            if not self.path.startswith("/") or self.path.endswith("/"):
                raise ValueError(f"path {self.path!r} must start with '/' and not end with '/'")
            if self.path == RESERVED_PREFIX or self.path.startswith(RESERVED_PREFIX + "/"):
                raise ValueError(f"path {self.path!r} is reserved for the control API")
        require_unique("skills", [s.id for s in self.skills])
        return self

    @property
    def endpoint(self) -> str:
        return self.path or f"{DEFAULT_MOUNT}/{self.name}"


class A2ASpec(SpecModel):
    """A2A agents this stack serves over JSON-RPC."""

    agents: list[Agent] = Field(
        default_factory=list,
        description="A2A agents, each on /a2a/{name} (or its path); the first one's card is "
        "also at /.well-known/agent-card.json.",
    )
    # a2a-sdk's InMemoryTaskStore keeps tasks for ever; a mock serving a long test run cannot,
    # so tasks get the same bounds as MCP sessions.
    task_ttl_seconds: float = Field(
        1800,
        gt=0,
        description="A task unused (no message, get or cancel) for this long is forgotten "
        "(it then answers TaskNotFoundError, -32001).",
    )
    max_tasks: int = Field(
        10_000,
        ge=1,
        description="Tasks held at most; creating one more forgets the least recently used.",
    )

    @model_validator(mode="after")
    def _check(self) -> A2ASpec:
        require_unique("agents", [a.name for a in self.agents])
        require_unique("agent paths", [a.endpoint for a in self.agents])
        return self


SECTION = Section(
    key="a2a",
    model=A2ASpec,
    description="A2A agents (JSON-RPC, v1.0 or v0.3) on /a2a/{name}: agent cards, "
    "responses matched on the message text, tasks. Read at start for custom paths.",
    inventory=("A2A agents", "agents"),
)
