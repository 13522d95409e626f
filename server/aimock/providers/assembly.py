"""Assemble a streamed answer back into one `Reply`: the half of record mode every provider
shares. A provider's `collapse` reads its own event shapes and feeds the pieces in here, so
no provider repeats the bookkeeping of text, thinking and tool-call fragments.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from aimock.fixtures.compiled import Reply, ReplyToolCall, extensions
from aimock.models.fixture import Fixture, Response


@dataclass(frozen=True, slots=True)
class RedactedReasoning:
    """Opaque reasoning blobs after the visible reasoning: Anthropic's `redacted_thinking`
    blocks, Bedrock Converse's `redactedContent` (the two wires that carry them)."""

    blobs: tuple[str, ...]

    def fixture_fields(self) -> dict[str, Any]:
        return {"redactedThinking": list(self.blobs)}


def redacted_reasoning(fixture: Fixture | None, response: Response) -> RedactedReasoning | None:
    """The reply extension of a fixture's `redactedThinking`."""
    del fixture
    blobs = tuple(response.redacted_thinking or ())
    return RedactedReasoning(blobs) if blobs else None


def redacted_blobs(reply: Reply) -> tuple[str, ...]:
    found = reply.extension(RedactedReasoning)
    return found.blobs if found is not None else ()


@dataclass
class _ToolCallParts:
    id: str | None = None
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass
class Assembly:
    """The pieces of one streamed answer, in arrival order."""

    text: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    refusal: list[str] = field(default_factory=list)
    redacted_thinking: list[str] = field(default_factory=list)
    signature: str | None = None
    finish_reason: str | None = None
    id: str | None = None
    model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    _calls: dict[object, _ToolCallParts] = field(default_factory=dict)

    def tool_call(
        self, key: object, *, id: str | None = None, name: str | None = None, arguments: str = ""
    ) -> None:
        """Add to the tool call known by `key` (a stream index, an id or a block number),
        opening it on first sight; ids and names arrive once, arguments in pieces."""
        call = self._calls.setdefault(key, _ToolCallParts())
        if id:
            call.id = id
        if name:
            call.name += name
        if arguments:
            call.arguments.append(arguments)

    def whole_tool_call(self, id: str | None, name: str, arguments: object) -> None:
        """A tool call that arrives complete (arguments as an object or a JSON string)."""
        text = arguments if isinstance(arguments, str) else orjson.dumps(arguments).decode()
        self.tool_call(len(self._calls), id=id, name=name, arguments=text)

    def reply(self) -> Reply:
        calls = tuple(
            ReplyToolCall(call.name, "".join(call.arguments) or "{}", call.id)
            for call in self._calls.values()
        )
        return Reply(
            kind="message",
            content="".join(self.text) if self.text else None,
            reasoning="".join(self.reasoning) if self.reasoning else None,
            reasoning_signature=self.signature,
            refusal="".join(self.refusal) if self.refusal else None,
            extensions=extensions(
                RedactedReasoning(tuple(self.redacted_thinking)) if self.redacted_thinking else None
            ),
            tool_calls=calls,
            finish_reason=self.finish_reason,
            id=self.id,
            model=self.model,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
        )


def collapse_objects(
    events: Sequence[tuple[str | None, Any]], step: Callable[[Assembly, Mapping[str, Any]], None]
) -> Reply:
    """A recorded stream whose events are JSON objects, fed to `step` one by one, as one reply;
    anything else (a `[DONE]`-style terminator) is skipped."""
    assembly = Assembly()
    for _, data in events:
        if isinstance(data, dict):
            step(assembly, data)
    return assembly.reply()
