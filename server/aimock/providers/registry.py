"""Every provider the server speaks, one line each. Order is route registration order."""

from __future__ import annotations

from aimock.providers import (
    openai_chat,
    openai_embeddings,
    openai_models,
    openai_moderations,
    openai_responses,
)
from aimock.surface import Provider

PROVIDERS: tuple[Provider, ...] = (
    openai_chat.PROVIDER,
    openai_responses.PROVIDER,
    openai_embeddings.PROVIDER,
    openai_moderations.PROVIDER,
    openai_models.PROVIDER,
)
