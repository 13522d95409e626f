"""Anthropic Messages: `POST /v1/messages`, plain and streamed.

The reply is built once as the final content blocks (thinking, text, tool_use); the plain
body is the message around them, and the stream walks the same blocks. Anthropic's SDK
dispatches on the SSE event name, so every event is named after its JSON `type`:

    message_start (content [], stop_reason null),
    per block: content_block_start, content_block_delta xN, content_block_stop
      thinking: thinking_delta xN, then one signature_delta
      text:     text_delta xN
      tool_use: input_json_delta xN (slices of the serialised input)
    message_delta (stop_reason, output_tokens), message_stop.

Block indexes run 0, 1, 2 in start order: the SDK's accumulator appends on
`content_block_start` whatever its index says. The body parsing, message and event shapes live
in anthropic_base.py, shared with Claude on Bedrock InvokeModel; this module is the surface.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

from aiohttp import web

from aimock.canonical import CanonicalRequest, RequestContext
from aimock.fixtures.compiled import Reply
from aimock.providers import anthropic_base
from aimock.providers.anthropic_base import event as _event
from aimock.providers.anthropic_base import parse_body, required
from aimock.providers.assembly import redacted_reasoning
from aimock.providers.common import expect_object, new_id, optional, token_counts
from aimock.surface import (
    ErrorDialect,
    ErrorInfo,
    Event,
    PlainRoute,
    Provider,
    RenderOptions,
    ServerView,
    Surface,
)
from aimock.wire import json_response, read_json

# --------------------------------------------------------------------------- errors

# Anthropic answers one error type per status.
_STATUS_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_TYPES = frozenset(_STATUS_TYPES.values())


def _error_type(info: ErrorInfo) -> str:
    """The Anthropic type for an error. A fixture naming a specific Anthropic type keeps it;
    the generic `invalid_request_error` the pipeline uses for misses and oversize bodies
    gives way to the status's own type (404 not_found_error, 413 request_too_large)."""
    if info.type in _TYPES and info.type != "invalid_request_error":
        return str(info.type)
    if info.status in _STATUS_TYPES:
        return _STATUS_TYPES[info.status]
    return "api_error" if info.status >= 500 else "invalid_request_error"


def error_body(info: ErrorInfo) -> dict[str, Any]:
    return {"type": "error", "error": {"type": _error_type(info), "message": info.message}}


def error_headers(info: ErrorInfo) -> dict[str, str]:
    headers = {"request-id": new_id("req_")}
    if info.status == 429:
        retry = info.retry_after if info.retry_after is not None else 1.0
        headers.update(
            {
                "retry-after": f"{retry:g}",
                "anthropic-ratelimit-requests-limit": "60",
                "anthropic-ratelimit-requests-remaining": "0",
            }
        )
    return headers


def unauthorized(given: bool) -> ErrorInfo:
    message = "invalid x-api-key" if given else "x-api-key header is required"
    return ErrorInfo(401, message, type="authentication_error")


ERRORS = ErrorDialect(
    body=error_body, headers=error_headers, overloaded_status=529, unauthorized=unauthorized
)


# --------------------------------------------------------------------------- request


def parse(body: Any, context: RequestContext, params: Mapping[str, str]) -> CanonicalRequest:
    del params
    body = expect_object(body)
    return parse_body(
        body,
        context,
        surface="anthropic.messages",
        provider="anthropic",
        model=required(body, "model", str, "a string"),
        stream=optional(body, "stream", bool, "a boolean") or False,
    )


# --------------------------------------------------------------------------- extras
# The stream's `ping`, the Foundry surface and `count_tokens`.


def render_message(
    request: CanonicalRequest, reply: Reply, options: RenderOptions
) -> dict[str, Any]:
    del options
    return anthropic_base.api_usage(anthropic_base.message(request, reply))


def stream_message(
    request: CanonicalRequest, reply: Reply, options: RenderOptions
) -> Iterator[Event]:
    """The stream with one `ping` after `message_start` (a stream may carry pings anywhere;
    the SDK skips them)."""
    final = anthropic_base.api_usage(anthropic_base.message(request, reply))
    events = iter(anthropic_base.stream_events(final, options.chunk_size))
    yield next(events)  # message_start
    yield _event("ping")
    yield from events


async def count_tokens(request: web.Request, view: ServerView) -> web.StreamResponse:
    """`POST /v1/messages/count_tokens` -> `{input_tokens}`: the same estimate a message's
    usage reports (four characters a token). No fixture is consulted; nothing is journaled
    as a conversation turn."""
    body = expect_object(await read_json(request, view.max_body_bytes))
    # The body is a Messages request without `max_tokens`; parse checks everything else.
    canonical = parse({**body, "max_tokens": 1}, RequestContext(headers={}), {})
    input_tokens, _, _ = token_counts(canonical, Reply(kind="message"))
    return json_response({"input_tokens": input_tokens})


def foundry_parse(
    body: Any, context: RequestContext, params: Mapping[str, str]
) -> CanonicalRequest:
    """Anthropic on Azure AI Foundry speaks the same Messages wire; only the provider (and
    so `match.provider: foundry`) differs."""
    return replace(parse(body, context, params), provider=FOUNDRY)


def answer_headers(request: CanonicalRequest) -> dict[str, str]:
    """The id the SDK exposes as `_request_id` on every answer."""
    del request
    return {"request-id": new_id("req_")}


FOUNDRY = "foundry"
# AnthropicFoundry's base is `https://{resource}.services.ai.azure.com/anthropic/`.
FOUNDRY_ROOT = "/anthropic"

MESSAGES = Surface(
    name="anthropic.messages",
    provider="anthropic",
    endpoint="chat",
    method="POST",
    paths=("/v1/messages",),
    parse=parse,
    render=render_message,
    stream=stream_message,
    errors=ERRORS,
    collapse=anthropic_base.collapse,
    decode=anthropic_base.decode,
    headers=answer_headers,
)

FOUNDRY_MESSAGES = Surface(
    name="anthropic.messages",
    provider=FOUNDRY,
    endpoint="chat",
    method="POST",
    paths=(FOUNDRY_ROOT + "/v1/messages",),
    parse=foundry_parse,
    render=render_message,
    stream=stream_message,
    errors=ERRORS,
    collapse=anthropic_base.collapse,
    decode=anthropic_base.decode,
    headers=answer_headers,
)

PROVIDER = Provider(
    name="anthropic.messages",
    surfaces=(MESSAGES, FOUNDRY_MESSAGES),
    routes=(
        PlainRoute(
            "anthropic.count_tokens",
            "anthropic",
            "POST",
            "/v1/messages/count_tokens",
            count_tokens,
            ERRORS,
        ),
        PlainRoute(
            "anthropic.count_tokens",
            FOUNDRY,
            "POST",
            FOUNDRY_ROOT + "/v1/messages/count_tokens",
            count_tokens,
            ERRORS,
        ),
    ),
    # Never ANTHROPIC_FOUNDRY_RESOURCE: the client refuses a resource and a base URL together.
    environment={
        "ANTHROPIC_BASE_URL": "{origin}",
        "ANTHROPIC_API_KEY": "aimock",
        "ANTHROPIC_FOUNDRY_BASE_URL": "{origin}" + FOUNDRY_ROOT,
        "ANTHROPIC_FOUNDRY_API_KEY": "aimock",
    },
    extensions=(redacted_reasoning,),
)
