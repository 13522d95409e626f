"""The openai SDK's AzureOpenAI client: Chat Completions on the classic deployment routes, and
the Responses API on `/openai/responses`."""

from __future__ import annotations

from openai import AzureOpenAI

from tests.sdk.contract.adapters.openai import collect_chat, collect_responses, status_of
from tests.sdk.contract.base import Adapter, Feature, Outcome


class AzureChat(Adapter):
    name = "azure-openai-chat"
    surfaces = ("openai.chat",)

    def ask(self, origin: str, feature: Feature, prompt: str, *, stream: bool) -> Outcome:
        with AzureOpenAI(
            azure_endpoint=origin,
            api_version="2024-10-21",
            azure_deployment="gpt-4o",
            api_key="test",
            max_retries=0,
        ) as client:
            return collect_chat(client, feature, prompt, stream)

    def status_of(self, error: BaseException) -> int | None:
        return status_of(error)


class AzureResponses(Adapter):
    name = "azure-openai-responses"
    surfaces = ("openai.responses",)

    def ask(self, origin: str, feature: Feature, prompt: str, *, stream: bool) -> Outcome:
        with AzureOpenAI(
            azure_endpoint=origin, api_version="2025-04-01-preview", api_key="test", max_retries=0
        ) as client:
            return collect_responses(client, feature, prompt, stream, model="gpt-4o")

    def status_of(self, error: BaseException) -> int | None:
        return status_of(error)


ADAPTERS: list[Adapter] = [AzureChat(), AzureResponses()]
