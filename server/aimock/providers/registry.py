"""Every provider the server speaks, one line each. Order is route registration order."""

from __future__ import annotations

from aimock.providers import (
    anthropic_messages,
    bedrock_converse,
    bedrock_invoke,
    cohere,
    gemini,
    ollama,
    openai_chat,
    openai_embeddings,
    openai_models,
    openai_moderations,
    openai_responses,
    tavily,
)
from aimock.surface import Provider

PROVIDERS: tuple[Provider, ...] = (
    openai_chat.PROVIDER,
    openai_responses.PROVIDER,
    openai_embeddings.PROVIDER,
    openai_moderations.PROVIDER,
    openai_models.PROVIDER,
    anthropic_messages.PROVIDER,
    gemini.PROVIDER,
    bedrock_invoke.PROVIDER,
    bedrock_converse.PROVIDER,
    ollama.PROVIDER,
    cohere.PROVIDER,
    tavily.PROVIDER,
)


def environment(origin: str) -> dict[str, str]:
    """Every SDK's base-URL (and dummy key) variable pointing at a mock served at `origin`."""
    merged: dict[str, str] = {}
    for provider in PROVIDERS:
        for name, template in provider.environment.items():
            merged.setdefault(name, template.replace("{origin}", origin.rstrip("/")))
    return merged


def surface_names() -> list[str]:
    return [surface.name for provider in PROVIDERS for surface in provider.surfaces]
