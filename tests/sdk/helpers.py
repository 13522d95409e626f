"""Request pieces the SDK tests share: the get_weather / get_time tools, the city JSON schema,
a one-message conversation, and a raw JSON POST to a running server.

Provider-specific wrappers (an Anthropic `input_schema` tool, a Bedrock `toolSpec`, a Gemini
`FunctionDeclaration`, a Responses function tool) stay in their test module, built from the
parameter schemas here. The contract tests keep their own constants (tests/sdk/contract/base.py).
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import ServerProcess

WEATHER_DESCRIPTION = "Current weather in a city."
# get_weather's parameters: `city` optional, or required.
CITY_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {"city": {"type": "string"}}}
CITY_PARAMETERS_REQUIRED: dict[str, Any] = {**CITY_PARAMETERS, "required": ["city"]}
# A structured answer: {"city": ..., "temperature": ...}.
CITY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "temperature": {"type": "integer"}},
    "required": ["city", "temperature"],
}


def function_tool(
    name: str, parameters: dict[str, Any], description: str | None = None
) -> dict[str, Any]:
    """A tool in the Chat Completions shape (`{"type": "function", "function": {...}}`)."""
    function: dict[str, Any] = {"name": name}
    if description is not None:
        function["description"] = description
    function["parameters"] = parameters
    return {"type": "function", "function": function}


# Chat Completions tools. The bare one (no description, `city` optional) is what the OpenAI,
# Azure, OpenRouter and OpenAI-compatible tests send; Cohere and Ollama send the described one.
WEATHER_TOOL: Any = function_tool("get_weather", CITY_PARAMETERS)
DESCRIBED_WEATHER_TOOL: dict[str, Any] = function_tool(
    "get_weather", CITY_PARAMETERS_REQUIRED, WEATHER_DESCRIPTION
)
TIME_TOOL: dict[str, Any] = function_tool("get_time", {"type": "object", "properties": {}})


def user(text: str) -> list[Any]:
    """A conversation of one plain-text user message, in the OpenAI-style message shape."""
    return [{"role": "user", "content": text}]


def post(
    server: ServerProcess,
    path: str,
    body: Any,
    *,
    api_key: str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> httpx.Response:
    """POST `body` as JSON to `path` on `server`, past any SDK; with `api_key`, as a bearer
    token in `authorization`."""
    sent = dict(headers or {})
    if api_key is not None:
        sent["authorization"] = f"Bearer {api_key}"
    return httpx.post(server.url + path, json=body, headers=sent, timeout=timeout)
