"""The cohere SDK (`ClientV2`) on the v2 Chat API."""

from __future__ import annotations

import json
from typing import Any

import httpx
from cohere import ClientV2
from cohere.core.api_error import ApiError
from cohere.errors import ServiceUnavailableError, TooManyRequestsError

from tests.sdk.contract import base
from tests.sdk.contract.base import Adapter, Feature, Outcome

MODEL = "command-a-03-2025"
ERROR_CLASSES: dict[int, type[ApiError]] = {
    429: TooManyRequestsError,
    503: ServiceUnavailableError,
}


def request_for(feature: Feature, prompt: str) -> dict[str, Any]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
    request: dict[str, Any] = {"messages": messages}
    if feature in ("tool_call", "tool_result"):
        request["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": base.TOOL_NAME,
                    "description": base.WEATHER_TOOL_DESCRIPTION,
                    "parameters": base.WEATHER_PARAMETERS,
                },
            }
        ]
    if feature == "tool_result":
        call = {
            "id": base.TOOL_CALL_ID,
            "type": "function",
            "function": {"name": base.TOOL_NAME, "arguments": json.dumps(base.TOOL_ARGUMENTS)},
        }
        messages += [
            {"role": "assistant", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": base.TOOL_CALL_ID, "content": base.TOOL_RESULT},
        ]
    if feature == "thinking":
        request["thinking"] = {"type": "enabled"}
    if feature == "structured":
        request["response_format"] = {"type": "json_object", "json_schema": base.SCHEMA}
    return request


def outcome_of_message(message: Any) -> Outcome:
    outcome = Outcome()
    for item in message.content or ():
        if item.type == "text":
            outcome.text += item.text
        elif item.type == "thinking":
            outcome.thinking += item.thinking
    for call in message.tool_calls or ():
        outcome.tool_calls.append((call.function.name, json.loads(call.function.arguments)))
    return outcome


def outcome_of_events(events: Any) -> Outcome:
    outcome = Outcome()
    calls: dict[int, list[str]] = {}
    for event in events:
        if event.type == "content-delta":
            content = event.delta.message.content
            if content.text:
                outcome.pieces.append(content.text)
            outcome.thinking += content.thinking or ""
        elif event.type == "tool-call-start":
            calls[event.index] = [event.delta.message.tool_calls.function.name, ""]
        elif event.type == "tool-call-delta":
            calls[event.index][1] += event.delta.message.tool_calls.function.arguments
    outcome.text = "".join(outcome.pieces)
    outcome.tool_calls = [(name, json.loads(args or "{}")) for name, args in calls.values()]
    return outcome


class CohereChat(Adapter):
    name = "cohere-chat"
    surfaces = ("cohere.chat",)

    def ask(self, origin: str, feature: Feature, prompt: str, *, stream: bool) -> Outcome:
        request = request_for(feature, prompt)
        with httpx.Client(timeout=30) as http:
            client = ClientV2(api_key="test", base_url=origin, max_retries=0, httpx_client=http)
            if stream:
                return outcome_of_events(client.chat_stream(model=MODEL, **request))
            return outcome_of_message(client.chat(model=MODEL, **request).message)

    def status_of(self, error: BaseException) -> int | None:
        if not isinstance(error, ApiError) or error.status_code is None:
            return None
        expected = ERROR_CLASSES.get(error.status_code)
        return error.status_code if expected and isinstance(error, expected) else None


ADAPTERS: list[Adapter] = [CohereChat()]
