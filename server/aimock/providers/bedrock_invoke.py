"""AWS Bedrock InvokeModel: `POST /model/{modelId}/invoke` and
`POST /model/{modelId}/invoke-with-response-stream`, for Claude (the Anthropic body).

The request body is the model's native JSON. For Claude it is an Anthropic Messages body with
`anthropic_version: "bedrock-2023-05-31"` and without `model` or `stream` (the model is the
path's `{modelId}`, the operation says whether to stream); the reply is the Messages JSON.
Other model families' native bodies (Titan, Nova, Llama, Mistral, Cohere...) are not spoken:
they answer a ValidationException saying so (Converse serves every model id).

The stream is an AWS event-stream (streaming/eventstream.py). Every message is
`:event-type: chunk` with the payload `{"bytes": "<base64 of one Anthropic stream event>"}`,
in the Messages event order (anthropic_base.py):

    message_start, per block content_block_start / content_block_delta xN /
    content_block_stop, message_delta, message_stop

and, as Bedrock does, the last event (message_stop) also carries
`amazon-bedrock-invocationMetrics` {inputTokenCount, outputTokenCount, invocationLatency,
firstByteLatency}. boto3 yields `{"chunk": {"bytes": b"..."}}` for each.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

import orjson

from aimock.canonical import CanonicalRequest, RequestContext
from aimock.fixtures.compiled import Reply
from aimock.providers import anthropic_base, bedrock_base
from aimock.providers.assembly import Assembly
from aimock.providers.bedrock_base import ENVIRONMENT, ERRORS, FAMILY, NOMINAL_LATENCY_MS
from aimock.providers.bedrock_base import model_id as path_model_id
from aimock.providers.common import expect_object
from aimock.surface import Event, ProtocolError, Provider, RenderOptions, Surface, bad_request

SURFACE = "bedrock.invoke"
ANTHROPIC_VERSION = "bedrock-2023-05-31"
METRICS = "amazon-bedrock-invocationMetrics"

# --------------------------------------------------------------------------- request


def _malformed(reason: str) -> ProtocolError:
    """Bedrock's ValidationException wording for a native body it cannot take."""
    return bad_request(
        f"Malformed input request: {reason}, please reformat your input and try again."
    )


def _parse(
    body: Any, context: RequestContext, params: Mapping[str, str], *, stream: bool
) -> CanonicalRequest:
    model = path_model_id(params)
    body = expect_object(body)
    if "anthropic_version" not in body:
        if "anthropic" in model or "claude" in model:
            raise _malformed("#: required key [anthropic_version] not found")
        raise bad_request(
            f"aimock speaks only the Anthropic Claude body on InvokeModel (model {model!r} "
            "sent another model family's native body); use Converse for other models."
        )
    if not isinstance(body["anthropic_version"], str):
        raise _malformed("#/anthropic_version: expected type: String")
    for key in ("model", "stream"):  # the path carries them on Bedrock
        if key in body:
            raise _malformed(f"#: extraneous key [{key}] is not permitted")
    return anthropic_base.parse_body(
        body, context, surface=SURFACE, provider=FAMILY, model=model, stream=stream
    )


def parse(body: Any, context: RequestContext, params: Mapping[str, str]) -> CanonicalRequest:
    return _parse(body, context, params, stream=False)


def parse_stream(body: Any, context: RequestContext, params: Mapping[str, str]) -> CanonicalRequest:
    return _parse(body, context, params, stream=True)


# --------------------------------------------------------------------------- response


def _message(request: CanonicalRequest, reply: Reply) -> dict[str, Any]:
    return anthropic_base.message(request, reply, id_prefix="msg_bdrk_")


def render(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> dict[str, Any]:
    del options
    return _message(request, reply)


def _chunk(data: Any, tokens: int) -> Event:
    """One Anthropic event inside a Bedrock `chunk`: its JSON, base64 in `bytes`."""
    encoded = base64.b64encode(orjson.dumps(data)).decode()
    return Event({"bytes": encoded}, name="chunk", tokens=tokens)


def stream(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> Iterator[Event]:
    final = _message(request, reply)
    metrics = {
        "inputTokenCount": final["usage"]["input_tokens"],
        "outputTokenCount": final["usage"]["output_tokens"],
        "invocationLatency": NOMINAL_LATENCY_MS,
        "firstByteLatency": NOMINAL_LATENCY_MS,
    }
    for event in anthropic_base.stream_events(final, options.chunk_size):
        data = event.data
        if data["type"] == "message_stop":
            data = {**data, METRICS: metrics}
        yield _chunk(data, event.tokens)


# --------------------------------------------------------------------------- collapse


def collapse(events: Sequence[tuple[str | None, Any]]) -> Reply:
    """A recorded InvokeModel stream (its `chunk` payloads) back into one answer."""
    assembly = Assembly()
    for name, payload in events:
        if name not in (None, "chunk") or not isinstance(payload, dict):
            continue
        inner = orjson.loads(base64.b64decode(payload.get("bytes") or b""))
        if isinstance(inner, dict):
            anthropic_base.collapse_event(assembly, inner)
    return assembly.reply()


INVOKE = Surface(
    name=SURFACE,
    provider=FAMILY,
    endpoint="chat",
    method="POST",
    paths=("/model/{modelId}/invoke",),
    parse=parse,
    render=render,
    errors=ERRORS,
    decode=anthropic_base.decode,
    headers=bedrock_base.invoke_headers,
)

INVOKE_STREAM = replace(
    INVOKE,
    paths=("/model/{modelId}/invoke-with-response-stream",),
    parse=parse_stream,
    stream=stream,
    framing="eventstream",
    collapse=collapse,
)

PROVIDER = Provider(
    name="bedrock.invoke",
    surfaces=(INVOKE, INVOKE_STREAM),
    environment=ENVIRONMENT,
)
