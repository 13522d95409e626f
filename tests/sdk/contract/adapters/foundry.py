"""The anthropic SDK's AnthropicFoundry client (Claude on Azure AI Foundry)."""

from __future__ import annotations

from anthropic import AnthropicFoundry

from tests.sdk.contract.adapters.anthropic import (
    MODEL,
    outcome_of_blocks,
    outcome_of_events,
    request_for,
    status_of,
)
from tests.sdk.contract.base import Adapter, Feature, Outcome


class Foundry(Adapter):
    name = "anthropic-foundry"
    surfaces = ("anthropic.messages",)

    def ask(self, origin: str, feature: Feature, prompt: str, *, stream: bool) -> Outcome:
        request = request_for(feature, prompt)
        with AnthropicFoundry(
            base_url=f"{origin}/anthropic", api_key="test", max_retries=0
        ) as client:
            if stream:
                events = client.messages.create(model=MODEL, **request, stream=True)
                return outcome_of_events(events)
            return outcome_of_blocks(client.messages.create(model=MODEL, **request).content)

    def status_of(self, error: BaseException) -> int | None:
        return status_of(error)


ADAPTERS: list[Adapter] = [Foundry()]
