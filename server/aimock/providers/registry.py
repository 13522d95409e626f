"""Every provider the server speaks, one line each. Order is route registration order.

The import-linter contracts in pyproject.toml list the same modules; a test checks they agree."""

from __future__ import annotations

from aimock.fixtures.compiled import Extend
from aimock.providers import (
    anthropic_messages,
    bedrock_converse,
    bedrock_invoke,
    byteplus_videos,
    cohere,
    elevenlabs,
    fal,
    gemini,
    gemini_live,
    grok_videos,
    ollama,
    openai_audio,
    openai_batches,
    openai_chat,
    openai_completions,
    openai_embeddings,
    openai_files,
    openai_fine_tuning,
    openai_images,
    openai_live,
    openai_models,
    openai_moderations,
    openai_realtime,
    openai_responses,
    openai_videos,
    openrouter,
    openrouter_videos,
    tavily,
    veo,
)
from aimock.providers.openai_base import ERRORS
from aimock.surface import ErrorDialect, Provider

PROVIDERS: tuple[Provider, ...] = (
    openai_chat.PROVIDER,
    openai_responses.PROVIDER,
    openai_completions.PROVIDER,
    openai_embeddings.PROVIDER,
    openai_images.PROVIDER,
    openai_moderations.PROVIDER,
    openai_audio.PROVIDER,
    # Before openai_models and gemini: their `GET {v}/models/{model:.+}` would take Veo's
    # operations (`{v}/models/{model}/operations/{id}`).
    veo.PROVIDER,
    openai_models.PROVIDER,
    openai_videos.PROVIDER,
    grok_videos.PROVIDER,  # after openai_videos: shares `GET /v1/videos/{id}`
    openai_files.PROVIDER,
    openai_batches.PROVIDER,
    openai_fine_tuning.PROVIDER,
    openai_realtime.PROVIDER,
    anthropic_messages.PROVIDER,
    gemini.PROVIDER,
    gemini_live.PROVIDER,
    bedrock_invoke.PROVIDER,
    bedrock_converse.PROVIDER,
    ollama.PROVIDER,
    cohere.PROVIDER,
    tavily.PROVIDER,
    openrouter.PROVIDER,
    elevenlabs.PROVIDER,
    openrouter_videos.PROVIDER,
    byteplus_videos.PROVIDER,
    fal.PROVIDER,
    openai_live.PROVIDER,
)


def environment(origin: str) -> dict[str, str]:
    """Every SDK's base-URL (and dummy key) variable pointing at a mock served at `origin`."""
    merged: dict[str, str] = {}
    for provider in PROVIDERS:
        for name, template in provider.environment.items():
            merged.setdefault(name, template.replace("{origin}", origin.rstrip("/")))
    return merged


# Every provider's reply extension builders (each once), compiled into the fixture index.
REPLY_EXTENSIONS: tuple[Extend, ...] = tuple(
    dict.fromkeys(build for provider in PROVIDERS for build in provider.extensions)
)

# The envelope of answers no provider owns (an unknown path): the most common one.
DEFAULT_ERRORS: ErrorDialect = ERRORS
