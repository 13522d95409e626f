"""OpenAI moderations: `POST /v1/moderations`.

A fixture's `moderation: {flagged, categories}` decides the verdict (match it with
`inputText`); a miss, when not strict, answers "not flagged", as AIMock does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aimock.canonical import CanonicalRequest, RequestContext
from aimock.fixtures.compiled import Reply
from aimock.providers import openai_base
from aimock.providers.common import (
    at_most,
    expect_object,
    new_id,
    not_blank,
    optional,
    require,
    text_of,
)
from aimock.surface import Provider, RenderOptions, Surface, bad_request

CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)
DEFAULT_MODEL = "omni-moderation-latest"
# The API judges at most one image a request (its 400 `too_many_images`). It documents no
# limit on texts; the mock takes as many as an embeddings request (2048), as each input is
# answered with a result of its own.
MAX_IMAGES = 1
MAX_INPUTS = 2048


def parse(body: Any, context: RequestContext, params: Mapping[str, str]) -> CanonicalRequest:
    del params
    body = expect_object(body)
    raw = require(body, "input", (str, list), "a string or an array")
    items = [raw] if isinstance(raw, str) else raw
    if not items:
        raise bad_request("'input' must not be empty.", param="input", code="empty_array")
    at_most(items, "input", MAX_INPUTS)
    _at_most_images(items)
    inputs = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            inputs.append(not_blank(item, "input" if isinstance(raw, str) else f"input[{i}]"))
        elif isinstance(item, dict):
            # Multi-modal input: text parts count, image parts are judged by the fixture.
            inputs.append(text_of([item], f"input[{i}]") or "")
        else:
            raise bad_request(
                f"Invalid type for 'input[{i}]': expected a string or an object.",
                param=f"input[{i}]",
                code="invalid_type",
            )
    model = optional(body, "model", str, "a string") or DEFAULT_MODEL
    return CanonicalRequest(
        surface="openai.moderations",
        provider="openai",
        endpoint="moderation",
        model=model,
        context=context,
        inputs=tuple(inputs),
    )


def _at_most_images(items: list[Any]) -> None:
    images = sum(1 for item in items if isinstance(item, dict) and item.get("type") == "image_url")
    if images > MAX_IMAGES:
        raise bad_request(
            f"Number of images ({images}) exceeds maximum of {MAX_IMAGES}",
            param="input",
            code="too_many_images",
        )


def _result(reply: Reply) -> dict[str, Any]:
    flagged = set(reply.flagged_categories) if reply.flagged else set()
    if reply.flagged and not flagged:
        flagged = {"harassment"}
    return {
        "flagged": reply.flagged,
        "categories": {name: name in flagged for name in CATEGORIES},
        "category_scores": {name: 0.97 if name in flagged else 0.0001 for name in CATEGORIES},
        "category_applied_input_types": {
            name: ["text"] if name in flagged else [] for name in CATEGORIES
        },
    }


def render(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> dict[str, Any]:
    del options
    result = _result(reply)
    return {
        "id": reply.id or new_id("modr-"),
        "model": reply.model or request.model,
        "results": [result for _ in request.inputs],
    }


def fallback(request: CanonicalRequest) -> Reply:
    del request
    return Reply(kind="moderation", flagged=False)


MODERATIONS = Surface(
    name="openai.moderations",
    provider="openai",
    endpoint="moderation",
    method="POST",
    paths=openai_base.paths("/moderations"),
    parse=parse,
    render=render,
    errors=openai_base.ERRORS,
    fallback=fallback,
)

PROVIDER = Provider(name="openai.moderations", surfaces=(MODERATIONS,))
