"""The openai SDK on OpenRouter's base `/api/v1` (Chat Completions, OpenRouter-shaped answers).

OpenRouter sends reasoning as `message.reasoning` / `delta.reasoning`, never as
`reasoning_content`, so thinking is read from that field.
"""

from __future__ import annotations

from openai import OpenAI

from tests.sdk.contract.adapters.openai import collect_chat, status_of
from tests.sdk.contract.base import Adapter, Feature, Outcome

MODEL = "openai/gpt-4o"


class OpenRouterChat(Adapter):
    name = "openrouter-chat"
    surfaces = ("openai.chat",)

    def ask(self, origin: str, feature: Feature, prompt: str, *, stream: bool) -> Outcome:
        with OpenAI(base_url=f"{origin}/api/v1", api_key="test", max_retries=0) as client:
            return collect_chat(
                client,
                feature,
                prompt,
                stream,
                model=MODEL,
                reasoning_field="reasoning",
                extra_body={"reasoning": {"effort": "low"}} if feature == "thinking" else None,
            )

    def status_of(self, error: BaseException) -> int | None:
        return status_of(error)


ADAPTERS: list[Adapter] = [OpenRouterChat()]
