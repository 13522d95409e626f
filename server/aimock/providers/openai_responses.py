"""OpenAI Responses API: `POST /v1/responses` (placeholder until the surface lands)."""

from __future__ import annotations

from aimock.surface import Provider

PROVIDER = Provider(name="openai.responses")
