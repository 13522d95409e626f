"""The contract every provider adapter fulfils, and what the shared fixtures answer.

One fixture set (tests/sdk/fixtures/contract.yaml, matched on the user's words only, never on
a surface) must answer every provider the same way. An adapter drives one provider's official
SDK: it sends the conversation a feature needs in that provider's own request shape and reports
what the SDK parsed, in neutral terms the contract test compares across providers.

A new provider is covered by one adapter module in `adapters/` exposing `ADAPTERS`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Literal

Feature = Literal["text", "tool_call", "tool_result", "thinking", "structured", "error"]
FEATURES: tuple[Feature, ...] = (
    "text",
    "tool_call",
    "tool_result",
    "thinking",
    "structured",
    "error",
)

# What the user says for each feature, and what contract.yaml answers.
PROMPTS: dict[str, str] = {
    "text": "contract-hello",
    "tool_call": "contract-weather",
    "tool_result": "contract-weather",
    "thinking": "contract-think",
    "structured": "contract-city",
    "error": "contract-limit",  # 429; "contract-unavailable" answers 503
}
UNAVAILABLE = "contract-unavailable"

TEXT = "The same answer, whichever provider asks for it."
TOOL_NAME = "get_weather"
TOOL_ARGUMENTS = {"city": "Paris"}
TOOL_CALL_ID = "call_contract_weather"  # the id the adapter gives the earlier tool call
TOOL_RESULT = '{"temperature": 18, "sky": "sunny"}'
AFTER_TOOL = "It is 18 degrees and sunny in Paris."
THINKING = "Two plus two makes four."
THOUGHT_ANSWER = "4"
STRUCTURED = {"city": "Paris", "temperature": 18}
# The schema adapters send when they ask for structured output.
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "temperature": {"type": "integer"}},
    "required": ["city", "temperature"],
    "additionalProperties": False,
}
WEATHER_TOOL_DESCRIPTION = "Current weather in a city."
WEATHER_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}


@dataclass
class Outcome:
    """What the SDK parsed, neutral of the provider."""

    text: str = ""
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    thinking: str = ""
    # Streamed text pieces in arrival order (stream mode only); their join must be `text`.
    pieces: list[str] = field(default_factory=list)


class Adapter(ABC):
    """One provider's official SDK, seen through the contract."""

    name: str  # test id, e.g. "openai-chat"
    surfaces: tuple[str, ...]  # registry surface names this adapter covers
    features: frozenset[str] = frozenset(FEATURES)
    streams: bool = True  # whether the provider has a streamed variant

    @abstractmethod
    def ask(self, origin: str, feature: Feature, prompt: str, *, stream: bool) -> Outcome:
        """Send `prompt` shaped for `feature` to the mock at `origin` (scheme://host:port).

        - text / thinking / error: one user message `prompt` (thinking enabled for "thinking";
          for "error" the SDK is expected to raise).
        - tool_call: `prompt` with the get_weather tool offered (WEATHER_PARAMETERS).
        - tool_result: the follow-up turn: user `prompt`, the assistant's earlier get_weather
          call (id TOOL_CALL_ID, arguments TOOL_ARGUMENTS), and its result TOOL_RESULT.
        - structured: `prompt` asking for JSON output with SCHEMA in the provider's own mode.
        """

    @abstractmethod
    def status_of(self, error: BaseException) -> int | None:
        """The HTTP status when `error` is the SDK's own API error class for it, else None."""
