"""The anthropic SDK on the Messages API."""

from __future__ import annotations

import json
from typing import Any

import anthropic
from anthropic import Anthropic

from tests.sdk.contract import base
from tests.sdk.contract.base import Adapter, Feature, Outcome

MODEL = "claude-sonnet-4-6"
ERROR_CLASSES: dict[int, type[anthropic.APIStatusError]] = {
    429: anthropic.RateLimitError,
    503: anthropic.InternalServerError,
}


def status_of(error: BaseException) -> int | None:
    """Shared by every adapter that drives the anthropic SDK (Messages, Foundry, Bedrock)."""
    if not isinstance(error, anthropic.APIStatusError):
        return None
    expected = ERROR_CLASSES.get(error.status_code)
    return error.status_code if expected and isinstance(error, expected) else None


def request_for(feature: Feature, prompt: str) -> dict[str, Any]:
    """The Messages request body for `feature` (without model and stream)."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
    request: dict[str, Any] = {"max_tokens": 1024, "messages": messages}
    if feature in ("tool_call", "tool_result"):
        request["tools"] = [
            {
                "name": base.TOOL_NAME,
                "description": base.WEATHER_TOOL_DESCRIPTION,
                "input_schema": base.WEATHER_PARAMETERS,
            }
        ]
    if feature == "tool_result":
        call = {
            "type": "tool_use",
            "id": base.TOOL_CALL_ID,
            "name": base.TOOL_NAME,
            "input": base.TOOL_ARGUMENTS,
        }
        result = {
            "type": "tool_result",
            "tool_use_id": base.TOOL_CALL_ID,
            "content": base.TOOL_RESULT,
        }
        messages += [
            {"role": "assistant", "content": [call]},
            {"role": "user", "content": [result]},
        ]
    if feature == "thinking":
        request["thinking"] = {"type": "enabled", "budget_tokens": 1024}
    if feature == "structured":
        request["output_config"] = {"format": {"type": "json_schema", "schema": base.SCHEMA}}
    return request


def outcome_of_blocks(blocks: list[Any]) -> Outcome:
    """A final message's content blocks (SDK objects) in contract terms."""
    outcome = Outcome()
    for block in blocks:
        if block.type == "text":
            outcome.text += block.text
        elif block.type == "thinking":
            outcome.thinking += block.thinking
        elif block.type == "tool_use":
            outcome.tool_calls.append((block.name, dict(block.input)))
    return outcome


def outcome_of_events(events: Any) -> Outcome:
    """A stream of raw Messages events (SDK objects) in contract terms."""
    outcome = Outcome()
    tools: dict[int, list[str]] = {}
    for event in events:
        if event.type == "content_block_start" and event.content_block.type == "tool_use":
            tools[event.index] = [event.content_block.name, ""]
        elif event.type == "content_block_delta":
            delta = event.delta
            if delta.type == "text_delta":
                outcome.pieces.append(delta.text)
            elif delta.type == "thinking_delta":
                outcome.thinking += delta.thinking
            elif delta.type == "input_json_delta":
                tools[event.index][1] += delta.partial_json
    outcome.text = "".join(outcome.pieces)
    outcome.tool_calls = [(name, json.loads(args or "{}")) for name, args in tools.values()]
    return outcome


class AnthropicMessages(Adapter):
    name = "anthropic-messages"
    surfaces = ("anthropic.messages",)

    def ask(self, origin: str, feature: Feature, prompt: str, *, stream: bool) -> Outcome:
        request = request_for(feature, prompt)
        with Anthropic(base_url=origin, api_key="test", max_retries=0) as client:
            if stream:
                return outcome_of_events(
                    client.messages.create(model=MODEL, **request, stream=True)
                )
            return outcome_of_blocks(client.messages.create(model=MODEL, **request).content)

    def status_of(self, error: BaseException) -> int | None:
        return status_of(error)


ADAPTERS: list[Adapter] = [AnthropicMessages()]
