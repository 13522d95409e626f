"""The MCP server model: what a stack file's `mcp.servers` (and AIMock's `mcp` section) define.

An MCP server is a name, an endpoint path, the identity it reports, and its tools, resources,
resource templates and prompts. A tool answers from its `results`, the first whose `match`
fits the call's arguments (exact object, subset, or per-argument regular expressions); a result
is content (or a `text` shorthand), optionally `structuredContent` and `isError`, or a
JSON-RPC `error` instead of a result.

Like the fixture model, every field has a description (it becomes the CRD's `kubectl explain`
text) and unknown keys are errors. No `mode="before"` validators: the CRD schema generator
refuses widening validators it does not know, so shorthands are plain unions instead.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, model_validator

from aimock.models.base import PATH_NAME, Section, SpecModel, require_unique

DEFAULT_MOUNT = "/mcp"
RESERVED_PREFIX = "/__aimock"


class ServerInfo(SpecModel):
    name: str = Field(min_length=1, description="Server name reported to clients.")
    version: str = Field("1.0.0", description="Server version reported to clients.")
    title: str | None = Field(None, description="Human-readable server title.")


class ArgumentsMatch(SpecModel):
    """Which tool calls a result answers; every given condition must hold."""

    arguments: dict[str, Any] | None = Field(
        None, description="The call's arguments must equal this object exactly."
    )
    arguments_subset: dict[str, Any] | None = Field(
        None, description="Every key of this object must be in the arguments with this value."
    )
    arguments_regex: dict[str, str] | None = Field(
        None,
        description="Argument name -> Python regular expression searched in the argument "
        "(non-strings are compared as their JSON text).",
    )

    @model_validator(mode="after")
    def _check(self) -> ArgumentsMatch:
        if self.arguments is None and self.arguments_subset is None and not self.arguments_regex:
            raise ValueError("give at least one of arguments, argumentsSubset, argumentsRegex")
        for name, pattern in (self.arguments_regex or {}).items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(
                    f"argumentsRegex.{name}: invalid regex {pattern!r}: {exc}"
                ) from None
        return self


class RpcErrorSpec(SpecModel):
    code: int = Field(description="JSON-RPC error code, e.g. -32603.")
    message: str = Field(description="JSON-RPC error message.")
    data: Any = Field(None, description="Optional error data, any JSON value.")


class ToolResult(SpecModel):
    """One answer of a tool: a result, or a JSON-RPC error."""

    match: ArgumentsMatch | None = Field(
        None, description="Which calls this answers; absent = every call (a catch-all)."
    )
    content: list[dict[str, Any]] | None = Field(
        None, description="MCP content blocks, e.g. [{type: text, text: ...}]."
    )
    text: str | None = Field(None, description="Shorthand for one text content block.")
    structured_content: dict[str, Any] | None = Field(
        None, description="Structured result object (for tools with an outputSchema)."
    )
    is_error: bool = Field(False, description="A tool failure the model should see (isError).")
    error: RpcErrorSpec | None = Field(
        None, description="Answer with this JSON-RPC error instead of a result."
    )

    @model_validator(mode="after")
    def _check(self) -> ToolResult:
        if self.content is not None and self.text is not None:
            raise ValueError("give content or text, not both")
        answers = (self.content, self.text, self.structured_content)
        if self.error is not None and any(a is not None for a in answers):
            raise ValueError("an error result carries no content, text or structuredContent")
        if self.error is None and all(a is None for a in answers):
            raise ValueError("give content, text, structuredContent or error")
        return self


class Tool(SpecModel):
    name: str = Field(min_length=1, description="Tool name, unique in its server.")
    title: str | None = Field(None, description="Human-readable title.")
    description: str | None = Field(None, description="What the tool does (shown to the model).")
    input_schema: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object"},
        description="JSON Schema of the arguments (type object).",
    )
    output_schema: dict[str, Any] | None = Field(
        None, description="JSON Schema of structuredContent."
    )
    annotations: dict[str, Any] | None = Field(
        None, description="Tool annotations (readOnlyHint, destructiveHint, ...)."
    )
    results: list[ToolResult] = Field(
        default_factory=list, description="Answers, first whose match fits the call wins."
    )


class Resource(SpecModel):
    uri: str = Field(min_length=1, description="Resource URI, unique in its server.")
    name: str = Field(min_length=1, description="Resource name.")
    title: str | None = Field(None, description="Human-readable title.")
    description: str | None = Field(None, description="What the resource holds.")
    mime_type: str | None = Field(None, description="MIME type, e.g. text/plain.")
    text: str | None = Field(None, description="Text contents returned by resources/read.")
    blob: str | None = Field(None, description="Base64 binary contents (instead of text).")

    @model_validator(mode="after")
    def _check(self) -> Resource:
        if self.text is not None and self.blob is not None:
            raise ValueError("give text or blob, not both")
        return self


class ResourceTemplate(SpecModel):
    uri_template: str = Field(min_length=1, description="RFC 6570 URI template.")
    name: str = Field(min_length=1, description="Template name.")
    title: str | None = Field(None, description="Human-readable title.")
    description: str | None = Field(None, description="What the resources hold.")
    mime_type: str | None = Field(None, description="MIME type of the resources.")


class PromptArgument(SpecModel):
    name: str = Field(
        min_length=1, description="Argument name; messages refer to it in double braces."
    )
    description: str | None = Field(None, description="What the argument means.")
    required: bool = Field(False, description="prompts/get fails without it.")


class PromptMessage(SpecModel):
    role: Literal["user", "assistant"] = Field(description="Who speaks: user or assistant.")
    content: str | dict[str, Any] = Field(
        description="Text (an argument name in double braces is replaced by its value), "
        "or an MCP content block."
    )


class Prompt(SpecModel):
    name: str = Field(min_length=1, description="Prompt name, unique in its server.")
    title: str | None = Field(None, description="Human-readable title.")
    description: str | None = Field(None, description="What the prompt is for.")
    arguments: list[PromptArgument] = Field(
        default_factory=list, description="Arguments prompts/get accepts."
    )
    messages: list[PromptMessage] = Field(
        default_factory=list, description="Messages prompts/get returns."
    )


class McpServer(SpecModel):
    """One MCP server (Streamable HTTP) served on this port."""

    name: str = Field(
        pattern=PATH_NAME, description="Server name; its endpoint is /mcp/{name} unless path says."
    )
    path: str | None = Field(
        None, description="Endpoint path (default /mcp/{name}; the first server also /mcp)."
    )
    server_info: ServerInfo | None = Field(
        None, description="Identity in the initialize result (default: the name, 1.0.0)."
    )
    instructions: str | None = Field(None, description="Instructions for the client's model.")
    response_mode: Literal["json", "sse"] = Field(
        "json",
        description="How requests are answered when the client accepts both: json, or sse "
        "(one event per response). A client accepting only text/event-stream gets sse.",
    )
    tools: list[Tool] = Field(default_factory=list, description="Tools (tools/list, tools/call).")
    resources: list[Resource] = Field(
        default_factory=list, description="Resources (resources/list, resources/read)."
    )
    resource_templates: list[ResourceTemplate] = Field(
        default_factory=list, description="Resource templates (resources/templates/list)."
    )
    prompts: list[Prompt] = Field(
        default_factory=list, description="Prompts (prompts/list, prompts/get)."
    )

    @model_validator(mode="after")
    def _check(self) -> McpServer:
        if self.path is not None:
            if not self.path.startswith("/") or self.path.endswith("/"):
                raise ValueError(f"path {self.path!r} must start with '/' and not end with '/'")
            if self.path == RESERVED_PREFIX or self.path.startswith(RESERVED_PREFIX + "/"):
                raise ValueError(f"path {self.path!r} is reserved for the control API")
        require_unique("tools", [t.name for t in self.tools])
        require_unique("resources", [r.uri for r in self.resources])
        require_unique("prompts", [p.name for p in self.prompts])
        return self

    @property
    def endpoint(self) -> str:
        return self.path or f"{DEFAULT_MOUNT}/{self.name}"

    @property
    def info(self) -> ServerInfo:
        return self.server_info or ServerInfo(name=self.name)


class McpSpec(SpecModel):
    """MCP servers this stack serves over Streamable HTTP."""

    servers: list[McpServer] = Field(
        default_factory=list,
        description="MCP servers, each on /mcp/{name} (or its path); the first also on /mcp.",
    )
    # The official SDK's StreamableHTTPSessionManager defaults (mcp 2.3): a session idle for
    # 30 minutes is closed, and 10,000 are open at most. There a full server refuses new
    # sessions (503); a mock ends the least recently used instead, so a long test run never
    # stalls on sessions its clients forgot to DELETE.
    session_ttl_seconds: float = Field(
        1800,
        gt=0,
        description="A session unused for this long ends (its id then answers 404).",
    )
    max_sessions: int = Field(
        10_000,
        ge=1,
        description="Sessions held at most; opening one more ends the least recently used.",
    )

    @model_validator(mode="after")
    def _check(self) -> McpSpec:
        require_unique("servers", [s.name for s in self.servers])
        require_unique("server paths", [s.endpoint for s in self.servers])
        return self


SECTION = Section(
    key="mcp",
    model=McpSpec,
    description="MCP servers (Streamable HTTP) on /mcp/{name}: tools, resources, prompts. "
    "Read at start for custom paths; definitions reload.",
    inventory=("MCP servers", "servers"),
)
