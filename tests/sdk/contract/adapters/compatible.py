"""The mistralai SDK, an OpenAI-compatible client with its own types (Mistral's `/v1`).

Mistral's content is a string or a list of chunks: reasoning arrives as `ThinkChunk`s (their
`thinking` holds `TextChunk`s), the answer as `TextChunk`s or, once a stream has finished
thinking, plain strings."""

from __future__ import annotations

import json
from typing import Any

from mistralai.client import Mistral, errors
from mistralai.client.models import TextChunk, ThinkChunk

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


def _split(content: Any) -> tuple[str, str]:
    """(answer text, thinking text) of a message's or a delta's content."""
    if isinstance(content, str):
        return content, ""
    text, thinking = "", ""
    for chunk in content or ():
        if isinstance(chunk, TextChunk):
            text += chunk.text
        elif isinstance(chunk, ThinkChunk):
            thinking += "".join(c.text for c in chunk.thinking if isinstance(c, TextChunk))
    return text, thinking


def _arguments(raw: Any) -> dict[str, Any]:
    return raw if isinstance(raw, dict) else dict(json.loads(raw))


class MistralChat(Adapter):
    name = "mistral-chat"
    surfaces = ("openai.chat",)
    # Mistral's reasoning models think unasked (no request flag), so "thinking" sends the plain
    # conversation and reads the ThinkChunks.

    def ask(self, origin: str, feature: Feature, prompt: str, *, stream: bool) -> Outcome:
        request = {"model": MODEL, "messages": _messages(feature, prompt), **_options(feature)}
        with Mistral(api_key="test", server_url=origin) as client:
            if not stream:
                message = client.chat.complete(**request).choices[0].message
                text, thinking = _split(message.content)
                return Outcome(
                    text=text,
                    thinking=thinking,
                    tool_calls=[
                        (c.function.name, _arguments(c.function.arguments))
                        for c in message.tool_calls or []
                    ],
                )
            outcome = Outcome()
            for event in client.chat.stream(**request):
                for choice in event.data.choices:
                    text, thinking = _split(choice.delta.content)
                    outcome.thinking += thinking
                    if text:
                        outcome.pieces.append(text)
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
