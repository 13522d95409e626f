"""The openai SDK on Chat Completions and on the Responses API."""

from __future__ import annotations

import json
from typing import Any

import openai
from openai import OpenAI

from tests.sdk.contract import base
from tests.sdk.contract.base import Adapter, Feature, Outcome

MODEL = "gpt-4o"
# The SDK's own exception class for each status the contract provokes.
ERROR_CLASSES: dict[int, type[openai.APIStatusError]] = {
    429: openai.RateLimitError,
    503: openai.InternalServerError,
}


def status_of(error: BaseException) -> int | None:
    """Shared by every adapter that drives the openai SDK."""
    if not isinstance(error, openai.APIStatusError):
        return None
    expected = ERROR_CLASSES.get(error.status_code)
    return error.status_code if expected and isinstance(error, expected) else None


def chat_messages(feature: Feature, prompt: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
    if feature == "tool_result":
        call = {
            "id": base.TOOL_CALL_ID,
            "type": "function",
            "function": {"name": base.TOOL_NAME, "arguments": json.dumps(base.TOOL_ARGUMENTS)},
        }
        messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        messages.append(
            {"role": "tool", "tool_call_id": base.TOOL_CALL_ID, "content": base.TOOL_RESULT}
        )
    return messages


def chat_options(feature: Feature) -> dict[str, Any]:
    """Tools and response format of a Chat Completions request for `feature`."""
    options: dict[str, Any] = {}
    if feature in ("tool_call", "tool_result"):
        options["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": base.TOOL_NAME,
                    "description": base.WEATHER_TOOL_DESCRIPTION,
                    "parameters": base.WEATHER_PARAMETERS,
                },
            }
        ]
    if feature == "structured":
        options["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "city", "schema": base.SCHEMA, "strict": True},
        }
    return options


def collect_chat(
    client: OpenAI,
    feature: Feature,
    prompt: str,
    stream: bool,
    *,
    model: str = MODEL,
    reasoning_field: str = "reasoning_content",
    **extra: Any,
) -> Outcome:
    """One Chat Completions call, plain or streamed, in contract terms. Vendors that name
    the reasoning field otherwise (OpenRouter's `reasoning`) pass `reasoning_field`."""
    request: dict[str, Any] = {
        "model": model,
        "messages": chat_messages(feature, prompt),
        **chat_options(feature),
        **extra,
    }
    if not stream:
        message = client.chat.completions.create(**request).choices[0].message
        fields = message.model_extra or {}
        return Outcome(
            text=message.content or "",
            thinking=fields.get(reasoning_field) or "",
            tool_calls=[
                (call.function.name, json.loads(call.function.arguments))
                for call in message.tool_calls or []
                if call.type == "function"
            ],
        )
    outcome = Outcome()
    calls: dict[int, list[str]] = {}
    for chunk in client.chat.completions.create(**request, stream=True):
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        if delta.content:
            outcome.pieces.append(delta.content)
        outcome.thinking += (delta.model_extra or {}).get(reasoning_field) or ""
        for call in delta.tool_calls or []:
            name_and_args = calls.setdefault(call.index, ["", ""])
            if call.function and call.function.name:
                name_and_args[0] += call.function.name
            if call.function and call.function.arguments:
                name_and_args[1] += call.function.arguments
    outcome.text = "".join(outcome.pieces)
    outcome.tool_calls = [(name, json.loads(args)) for name, args in calls.values()]
    return outcome


class OpenAIChat(Adapter):
    name = "openai-chat"
    surfaces = ("openai.chat",)

    def ask(self, origin: str, feature: Feature, prompt: str, *, stream: bool) -> Outcome:
        with OpenAI(base_url=f"{origin}/v1", api_key="test", max_retries=0) as client:
            return collect_chat(client, feature, prompt, stream)

    def status_of(self, error: BaseException) -> int | None:
        return status_of(error)


def responses_request(feature: Feature, prompt: str) -> dict[str, Any]:
    """The Responses API request for `feature` (without model)."""
    items: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
    if feature == "tool_result":
        items.append(
            {
                "type": "function_call",
                "call_id": base.TOOL_CALL_ID,
                "name": base.TOOL_NAME,
                "arguments": json.dumps(base.TOOL_ARGUMENTS),
            }
        )
        items.append(
            {
                "type": "function_call_output",
                "call_id": base.TOOL_CALL_ID,
                "output": base.TOOL_RESULT,
            }
        )
    request: dict[str, Any] = {"input": items}
    if feature in ("tool_call", "tool_result"):
        request["tools"] = [
            {
                "type": "function",
                "name": base.TOOL_NAME,
                "description": base.WEATHER_TOOL_DESCRIPTION,
                "parameters": base.WEATHER_PARAMETERS,
                "strict": False,
            }
        ]
    if feature == "thinking":
        request["reasoning"] = {"effort": "low", "summary": "auto"}
    if feature == "structured":
        request["text"] = {"format": {"type": "json_schema", "name": "city", "schema": base.SCHEMA}}
    return request


def _output_outcome(output: list[Any]) -> Outcome:
    outcome = Outcome()
    for item in output:
        if item.type == "message":
            outcome.text += "".join(c.text for c in item.content if c.type == "output_text")
        elif item.type == "reasoning":
            outcome.thinking += "".join(s.text for s in item.summary)
        elif item.type == "function_call":
            outcome.tool_calls.append((item.name, json.loads(item.arguments)))
    return outcome


def collect_responses(
    client: OpenAI, feature: Feature, prompt: str, stream: bool, model: str = MODEL
) -> Outcome:
    """One Responses API call, plain or streamed, in contract terms."""
    request = {"model": model, **responses_request(feature, prompt)}
    if not stream:
        return _output_outcome(client.responses.create(**request).output)
    pieces: list[str] = []
    final = None
    for event in client.responses.create(**request, stream=True):
        if event.type == "response.output_text.delta":
            pieces.append(event.delta)
        elif event.type == "response.completed":
            final = event.response
    assert final is not None, "the stream ends with response.completed"
    outcome = _output_outcome(final.output)
    outcome.pieces = pieces
    return outcome


class OpenAIResponses(Adapter):
    name = "openai-responses"
    surfaces = ("openai.responses",)

    def ask(self, origin: str, feature: Feature, prompt: str, *, stream: bool) -> Outcome:
        with OpenAI(base_url=f"{origin}/v1", api_key="test", max_retries=0) as client:
            return collect_responses(client, feature, prompt, stream)

    def status_of(self, error: BaseException) -> int | None:
        return status_of(error)


ADAPTERS: list[Adapter] = [OpenAIChat(), OpenAIResponses()]
