"""The openai SDK on legacy Completions (`client.completions.create`): text and errors only,
since a prompt has no turns to carry tool calls, reasoning or a response format."""

from __future__ import annotations

from openai import OpenAI

from tests.sdk.contract.adapters.openai import MODEL, status_of
from tests.sdk.contract.base import Adapter, Feature, Outcome


class OpenAICompletions(Adapter):
    name = "openai-completions"
    surfaces = ("openai.completions",)
    features = frozenset({"text", "error"})

    def ask(self, origin: str, feature: Feature, prompt: str, *, stream: bool) -> Outcome:
        del feature
        with OpenAI(base_url=f"{origin}/v1", api_key="test", max_retries=0) as client:
            if not stream:
                return Outcome(
                    text=client.completions.create(model=MODEL, prompt=prompt).choices[0].text
                )
            outcome = Outcome()
            for chunk in client.completions.create(model=MODEL, prompt=prompt, stream=True):
                for choice in chunk.choices:
                    if choice.text:
                        outcome.text += choice.text
                        outcome.pieces.append(choice.text)
            return outcome

    def status_of(self, error: BaseException) -> int | None:
        return status_of(error)


ADAPTERS: list[Adapter] = [OpenAICompletions()]
