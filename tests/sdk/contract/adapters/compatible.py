"""The mistralai SDK, an OpenAI-compatible client with its own types (Mistral's `/v1`)."""

from __future__ import annotations

import json
from typing import Any

from mistralai.client import Mistral, errors

from tests.sdk.contract import base
from tests.sdk.contract.base import Adapter, Feature, Outcome

MODEL = "mistral-large-latest"
# Mistral's SDK raises one class for every status but 422.
EXPECTED = frozenset({429, 503})


def _messages(feature: Feature, prompt: str) -> list[Any]:
    messages: list[Any] = [{"role": "user", "content": prompt}]
    if feature == "tool_result":
        call = {
            "id": base.TOOL_CALL_ID,
            "type": "function",
            "function": {"name": base.TOOL_NAME, "arguments": json.dumps(base.TOOL_ARGUMENTS)},
        }
        messages.append({"role": "assistant", "content": "", "tool_calls": [call]})
        messages.append(
            {
                "role": "tool",
                "tool_call_id": base.TOOL_CALL_ID,
                "name": base.TOOL_NAME,
                "content": base.TOOL_RESULT,
            }
        )
    return messages


def _options(feature: Feature) -> dict[str, Any]:
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


def _arguments(raw: Any) -> dict[str, Any]:
    return raw if isinstance(raw, dict) else dict(json.loads(raw))


class MistralChat(Adapter):
    name = "mistral-chat"
    surfaces = ("openai.chat",)
    # Mistral's reasoning arrives as "thinking" content chunks, which the mock does not render.
    features = frozenset(base.FEATURES) - {"thinking"}

    def ask(self, origin: str, feature: Feature, prompt: str, *, stream: bool) -> Outcome:
        request = {"model": MODEL, "messages": _messages(feature, prompt), **_options(feature)}
        with Mistral(api_key="test", server_url=origin) as client:
            if not stream:
                message = client.chat.complete(**request).choices[0].message
                content = message.content if isinstance(message.content, str) else ""
                return Outcome(
                    text=content or "",
                    tool_calls=[
                        (c.function.name, _arguments(c.function.arguments))
                        for c in message.tool_calls or []
                    ],
                )
            outcome = Outcome()
            for event in client.chat.stream(**request):
                for choice in event.data.choices:
                    if isinstance(choice.delta.content, str) and choice.delta.content:
                        outcome.pieces.append(choice.delta.content)
                    for call in choice.delta.tool_calls or []:
                        outcome.tool_calls.append(
                            (call.function.name, _arguments(call.function.arguments))
                        )
            outcome.text = "".join(outcome.pieces)
            return outcome

    def status_of(self, error: BaseException) -> int | None:
        if isinstance(error, errors.SDKError) and error.status_code in EXPECTED:
            return error.status_code
        return None


ADAPTERS: list[Adapter] = [MistralChat()]
