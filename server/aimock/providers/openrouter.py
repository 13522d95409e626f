"""OpenRouter's own routes beside its chat: `GET /api/v1/models` (OpenRouter's model cards),
`GET /api/v1/key` (the calling key's limits and usage) and `GET /api/v1/credits`.

The answers are shaped as OpenRouter's official SDK (`openrouter` on PyPI) requires them, field
for field, so `client.models.list()`, `client.api_keys.get_current_key_metadata()` and
`client.credits.get_credits()` parse them; an OpenAI client listing models on this base gets
the same list (it reads `id`). The model ids are those the fixtures name, else a default set,
as `GET /v1/models` lists them. A mock spends nothing: usage and credits are zero, limits none.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from aimock.providers import openai_base
from aimock.surface import PlainRoute, Provider, ServerView
from aimock.wire import json_response

PREFIX = openai_base.VENDOR_PREFIXES[openai_base.OPENROUTER]  # /api/v1
CREATED = 1_700_000_000
CONTEXT = 128_000
PARAMETERS = ("tools", "tool_choice", "max_tokens", "temperature", "top_p", "stop", "reasoning")
FREE = "0"


def card(model_id: str) -> dict[str, Any]:
    """One model as OpenRouter describes it: free, text in and out, a 128k context."""
    author = model_id.split("/", 1)[0] if "/" in model_id else "aimock"
    return {
        "id": model_id,
        "canonical_slug": model_id,
        "hugging_face_id": None,
        "name": model_id,
        "created": CREATED,
        "description": f"{model_id}, served by aimock from its fixtures.",
        "context_length": CONTEXT,
        "architecture": {
            "modality": "text->text",
            "input_modalities": ["text"],
            "output_modalities": ["text"],
            "tokenizer": "Other",
            "instruct_type": None,
        },
        "pricing": {"prompt": FREE, "completion": FREE, "request": FREE, "image": FREE},
        "top_provider": {
            "context_length": CONTEXT,
            "max_completion_tokens": 16_384,
            "is_moderated": False,
        },
        "per_request_limits": None,
        "supported_parameters": list(PARAMETERS),
        "supported_voices": None,
        "default_parameters": None,
        "links": {"details": f"{PREFIX}/models/{author}/endpoints"},
    }


async def list_models(request: web.Request, view: ServerView) -> web.StreamResponse:
    ids = view.models or list(openai_base.DEFAULT_MODELS)
    return json_response(
        {"data": [card(m) for m in ids], "links": {"next": None}, "total_count": len(ids)}
    )


async def current_key(request: web.Request, view: ServerView) -> web.StreamResponse:
    """The calling key: unlimited, nothing spent."""
    return json_response(
        {
            "data": {
                "label": "sk-or-v1-aimock",
                "limit": None,
                "limit_remaining": None,
                "limit_reset": None,
                "include_byok_in_limit": False,
                "usage": 0,
                "usage_daily": 0,
                "usage_weekly": 0,
                "usage_monthly": 0,
                "byok_usage": 0,
                "byok_usage_daily": 0,
                "byok_usage_weekly": 0,
                "byok_usage_monthly": 0,
                "is_free_tier": False,
                "is_management_key": False,
                "is_provisioning_key": False,
                "expires_at": None,
                "creator_user_id": None,
                "organization_id": None,
                "workspace_id": None,
                "allowed_data_regions": ["global"],
                "budgets": [],
                "effective_budget": None,
                "free_model_daily_requests": {"limit": 1000, "remaining": 1000, "used": 0},
                "rate_limit": {
                    "requests": -1,
                    "interval": "10s",
                    "note": "This field is deprecated and safe to ignore.",
                },
            }
        }
    )


async def credits(request: web.Request, view: ServerView) -> web.StreamResponse:
    return json_response({"data": {"total_credits": 0, "total_usage": 0}})


ERRORS = openai_base.OPENROUTER_ERRORS
PROVIDER = Provider(
    name="openrouter",
    routes=(
        PlainRoute(
            "openrouter.models", "openrouter", "GET", f"{PREFIX}/models", list_models, ERRORS
        ),
        PlainRoute("openrouter.key", "openrouter", "GET", f"{PREFIX}/key", current_key, ERRORS),
        PlainRoute("openrouter.credits", "openrouter", "GET", f"{PREFIX}/credits", credits, ERRORS),
    ),
)
