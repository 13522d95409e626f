"""The ollama SDK on the native API: `/api/chat` (every feature) and `/api/generate` (no tools:
a prompt has no turns to carry calls and results)."""

from __future__ import annotations

from typing import Any

import ollama
from ollama import Client

from tests.sdk.contract import base
from tests.sdk.contract.base import Adapter, Feature, Outcome

MODEL = "llama3.2"
WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": base.TOOL_NAME,
        "description": base.WEATHER_TOOL_DESCRIPTION,
        "parameters": base.WEATHER_PARAMETERS,
    },
}


def status_of(error: BaseException) -> int | None:
    """The SDK has one error class; its status says which error it was."""
    return error.status_code if isinstance(error, ollama.ResponseError) else None


def chat_request(feature: Feature, prompt: str) -> dict[str, Any]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
    request: dict[str, Any] = {"messages": messages}
    if feature in ("tool_call", "tool_result"):
        request["tools"] = [WEATHER_TOOL]
    if feature == "tool_result":
        call = {"function": {"name": base.TOOL_NAME, "arguments": base.TOOL_ARGUMENTS}}
        messages += [
            {"role": "assistant", "content": "", "tool_calls": [call]},
            {"role": "tool", "content": base.TOOL_RESULT, "tool_name": base.TOOL_NAME},
        ]
    return {**request, **_options(feature)}


def _options(feature: Feature) -> dict[str, Any]:
    if feature == "thinking":
        return {"think": True}
    if feature == "structured":
        return {"format": base.SCHEMA}
    return {}


def _add_message(outcome: Outcome, message: Any, stream: bool) -> None:
    if message.content:
        outcome.text += message.content
        if stream:
            outcome.pieces.append(message.content)
    outcome.thinking += message.thinking or ""
    for call in message.tool_calls or ():
        outcome.tool_calls.append((call.function.name, dict(call.function.arguments)))


class OllamaChat(Adapter):
    name = "ollama-chat"
    surfaces = ("ollama.chat",)

    def ask(self, origin: str, feature: Feature, prompt: str, *, stream: bool) -> Outcome:
        outcome = Outcome()
        with Client(host=origin) as client:
            request = chat_request(feature, prompt)
            if stream:
                for part in client.chat(model=MODEL, **request, stream=True):
                    _add_message(outcome, part.message, stream=True)
            else:
                _add_message(outcome, client.chat(model=MODEL, **request).message, stream=False)
        return outcome

    def status_of(self, error: BaseException) -> int | None:
        return status_of(error)


class OllamaGenerate(Adapter):
    name = "ollama-generate"
    surfaces = ("ollama.generate",)
    features = frozenset({"text", "thinking", "structured", "error"})

    def ask(self, origin: str, feature: Feature, prompt: str, *, stream: bool) -> Outcome:
        outcome = Outcome()
        with Client(host=origin) as client:
            options = _options(feature)
            parts = (
                list(client.generate(model=MODEL, prompt=prompt, **options, stream=True))
                if stream
                else [client.generate(model=MODEL, prompt=prompt, **options)]
            )
        for part in parts:
            if part.response:
                outcome.text += part.response
                if stream:
                    outcome.pieces.append(part.response)
            outcome.thinking += part.thinking or ""
        return outcome

    def status_of(self, error: BaseException) -> int | None:
        return status_of(error)


ADAPTERS: list[Adapter] = [OllamaChat(), OllamaGenerate()]
