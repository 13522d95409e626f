"""OpenAI model listing: `GET /v1/models` and `GET /v1/models/{id}`.

Lists the model ids fixtures name, or a default set when they name none, as AIMock does.
Ids may hold slashes (`meta-llama/Llama-3-8b`), percent-encoded or not.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from aimock.providers import openai_base
from aimock.surface import ErrorInfo, PlainRoute, Provider, ServerView
from aimock.wire import json_response

CREATED = 1_700_000_000


def _model(model_id: str, request: web.Request) -> dict[str, Any]:
    card = {"id": model_id, "object": "model", "created": CREATED, "owned_by": "aimock"}
    if openai_base.is_mistral_agent(request.headers.get("User-Agent")):
        card.update(_mistral_card(model_id))
    return card


def _mistral_card(model_id: str) -> dict[str, Any]:
    """Mistral's extra card fields: the mistralai SDK picks a card's class by `type` ("base";
    "fine-tuned" for fine-tunes) and requires `capabilities`. The mock cannot know a model's
    real capabilities; it claims chat and tool calling."""
    return {
        "capabilities": {"completion_chat": True, "function_calling": True},
        "name": model_id,
        "max_context_length": 32768,
        "aliases": [],
        "deprecation": None,
        "type": "base",
    }


def _ids(view: ServerView) -> list[str]:
    return view.models or list(openai_base.DEFAULT_MODELS)


async def list_models(request: web.Request, view: ServerView) -> web.StreamResponse:
    return json_response({"object": "list", "data": [_model(m, request) for m in _ids(view)]})


async def get_model(request: web.Request, view: ServerView) -> web.StreamResponse:
    model_id = request.match_info["model"]
    if model_id not in _ids(view):
        info = ErrorInfo(
            404,
            f"The model '{model_id}' does not exist or you do not have access to it.",
            type="invalid_request_error",
            code="model_not_found",
            param="model",
        )
        return json_response(openai_base.error_body(info), 404)
    return json_response(_model(model_id, request))


def _routes(provider: str, prefix: str) -> tuple[PlainRoute, ...]:
    errors = openai_base.AZURE_ERRORS if provider == openai_base.AZURE else openai_base.ERRORS
    return (
        PlainRoute("openai.models", provider, "GET", f"{prefix}/models", list_models, errors),
        # `.+`: model ids may hold slashes (Hugging Face style "org/name"), sent encoded
        # (%2F, as the SDK does) or not.
        PlainRoute(
            "openai.models", provider, "GET", f"{prefix}/models/{{model:.+}}", get_model, errors
        ),
    )


# The same bases the other OpenAI surfaces answer on, so one `base_url` serves them all;
# Azure's classic client lists models on `/openai/models?api-version=...`.
PROVIDER = Provider(
    name="openai.models",
    routes=(
        *(route for prefix in openai_base.PREFIXES for route in _routes("openai", prefix)),
        # OpenRouter's listing is its own (providers/openrouter.py).
        *(
            route
            for provider, prefix in openai_base.VENDOR_PREFIXES.items()
            if provider != openai_base.OPENROUTER
            for route in _routes(provider, prefix)
        ),
        *_routes(openai_base.AZURE, openai_base.AZURE_ROOT),
    ),
)
