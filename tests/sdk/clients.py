"""Helpers for tests that run every scenario with both the sync and the async OpenAI client."""

from __future__ import annotations

import inspect
from typing import Any

from openai import AsyncOpenAI, OpenAI

Client = OpenAI | AsyncOpenAI


async def resolve(value: Any) -> Any:
    """The result of a sync or async SDK call."""
    return await value if inspect.isawaitable(value) else value


async def collect(stream: Any) -> list[Any]:
    """Every item of a sync or async SDK stream."""
    if hasattr(stream, "__aiter__"):
        return [item async for item in stream]
    return list(stream)
