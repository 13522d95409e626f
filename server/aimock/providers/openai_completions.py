"""OpenAI legacy Completions: `POST /v1/completions`, plain and streamed.

The prompt is the request's user message: fixtures match it with `userMessage`, as they
match a chat request (the endpoint kind is `chat`, so a fixture without `surface:` answers
both). `prompt` may be a string, a list of strings, a list of token ids or a list of such
lists; each prompt is a user message, in order (token ids read as their numbers joined by
spaces), and the request is matched once: every prompt's choices carry the fixture's text,
`n` choices per prompt, numbered `prompt_index * n + j` as the API numbers them.

The answer is the fixture's text (a refusal's text, or "" for an answer with only tool calls:
this wire has no tool calls). `echo` puts the prompt before it; `suffix` is accepted and not
rendered; `logprobs` (0-5) gives each choice a `logprobs` object over the text's tokens
(words and the spaces before them), with deterministic values. `max_tokens` does not cut the
answer (a fixture's `finishReason: length` says it was cut).

The stream is server-sent events, `data:` only: per choice its text in `chunkSize` slices,
then an empty chunk with its `finish_reason`; a usage chunk (`choices: []`) when
`stream_options.include_usage`; then `data: [DONE]`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from aimock.canonical import CanonicalRequest, Message, RequestContext
from aimock.fixtures.compiled import Reply
from aimock.providers import openai_base
from aimock.providers.assembly import Assembly
from aimock.providers.common import (
    bounded,
    estimate_tokens,
    expect_object,
    json_type_name,
    missing,
    new_id,
    now,
    optional,
    require,
    slices,
    token_counts,
)
from aimock.surface import Event, Provider, RenderOptions, bad_request

SURFACE = "openai.completions"
ROUTE = "/completions"
MAX_CHOICES = 128  # n, and n times the number of prompts
MAX_PROMPTS = 2048
MAX_LOGPROBS = 5
_TOKEN = re.compile(r"\s*\S+|\s+")

# --------------------------------------------------------------------------- request


def parse(
    body: Any, context: RequestContext, params: Mapping[str, str], provider: str = "openai"
) -> CanonicalRequest:
    body = expect_object(body)
    model = params.get("deployment") or require(body, "model", str, "a string")
    if body.get("prompt") is None:
        raise missing("prompt")
    prompts = _prompts(body["prompt"])
    n = bounded(body, "n", 1, MAX_CHOICES) or 1
    if n * len(prompts) > MAX_CHOICES:
        raise bad_request(
            f"Invalid 'n': {n} choices for each of {len(prompts)} prompts is more than "
            f"{MAX_CHOICES} choices.",
            param="n",
            code="invalid_value",
        )
    best_of = bounded(body, "best_of", 1, 20)
    if best_of is not None and best_of < n:
        raise bad_request("best_of must be greater than or equal to n.", param="best_of")
    logprobs = bounded(body, "logprobs", 0, MAX_LOGPROBS)
    optional(body, "suffix", str, "a string")
    optional(body, "max_tokens", int, "an integer")
    optional(body, "stop", (str, list), "a string or an array")
    stream_options = optional(body, "stream_options", dict, "an object") or {}
    return CanonicalRequest(
        surface=SURFACE,
        provider=provider,
        endpoint="chat",
        model=model,
        context=context,
        messages=tuple(Message("user", prompt) for prompt in prompts),
        stream=optional(body, "stream", bool, "a boolean") or False,
        extras={
            "prompts": tuple(prompts),
            "n": n,
            "echo": optional(body, "echo", bool, "a boolean") or False,
            "logprobs": logprobs,
            "include_usage": bool(stream_options.get("include_usage")),
        },
    )


def _prompts(raw: Any) -> list[str]:
    """The prompts of `prompt`: a string, token ids, or a list of either."""
    if isinstance(raw, str):
        return [raw]
    if not isinstance(raw, list):
        raise _bad_prompt(raw)
    if not raw:
        raise bad_request(
            "Invalid 'prompt': empty array. Expected an array with minimum length 1, but got an "
            "empty array instead.",
            param="prompt",
            code="empty_array",
        )
    if len(raw) > MAX_PROMPTS:
        raise bad_request(
            f"Invalid 'prompt': array too long. Expected an array with maximum length "
            f"{MAX_PROMPTS}, but got an array with length {len(raw)} instead.",
            param="prompt",
            code="array_above_max_length",
        )
    if all(_is_token(item) for item in raw):
        return [_tokens_text(raw)]
    prompts: list[str] = []
    for item in raw:
        if isinstance(item, str):
            prompts.append(item)
        elif isinstance(item, list) and all(_is_token(token) for token in item):
            prompts.append(_tokens_text(item))
        else:
            raise _bad_prompt(raw)
    return prompts


def _is_token(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _tokens_text(tokens: list[Any]) -> str:
    return " ".join(str(token) for token in tokens)


def _bad_prompt(raw: Any) -> Exception:
    return bad_request(
        "Invalid type for 'prompt': expected a string, an array of strings, an array of "
        f"integers or an array of arrays of integers, but got {json_type_name(raw)} instead.",
        param="prompt",
        code="invalid_type",
    )


# --------------------------------------------------------------------------- response


def _text(reply: Reply) -> str:
    if reply.content is not None:
        return reply.content
    return reply.refusal or ""


def _finish_reason(reply: Reply) -> str:
    return reply.finish_reason if reply.finish_reason in ("length", "content_filter") else "stop"


def _prompts_of(request: CanonicalRequest) -> tuple[str, ...]:
    """The request's prompts (a request this module did not parse: its last user message)."""
    prompts: tuple[str, ...] | None = request.extras.get("prompts")
    return prompts if prompts is not None else (request.last_user_text or "",)


def _choices(request: CanonicalRequest) -> Iterator[tuple[int, str]]:
    """(index, prompt) of every choice: `n` per prompt, in order."""
    n: int = request.extras.get("n", 1)
    for p, prompt in enumerate(_prompts_of(request)):
        for j in range(n):
            yield p * n + j, prompt


def _logprobs(text: str, offset: int, echoed: bool, top: int) -> dict[str, Any]:
    """A legacy `logprobs` object over `text`'s tokens, deterministic (the first token of an
    echoed prompt has none, as the API's)."""
    tokens = _TOKEN.findall(text)
    values: list[float | None] = [round(-0.01 * (1 + len(t.strip()) % 7), 4) for t in tokens]
    if echoed and values:
        values[0] = None
    offsets: list[int] = []
    at = offset
    for token in tokens:
        offsets.append(at)
        at += len(token)
    return {
        "tokens": tokens,
        "token_logprobs": values,
        "top_logprobs": (
            [None if v is None else {t: v} for t, v in zip(tokens, values, strict=True)]
            if top > 0
            else None
        ),
        "text_offset": offsets,
    }


def _usage(request: CanonicalRequest, reply: Reply) -> dict[str, Any]:
    prompt, completion, reasoning = token_counts(request, reply)
    choices = len(_prompts_of(request)) * int(request.extras.get("n", 1))
    completion = (completion + reasoning) * choices
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _base(request: CanonicalRequest, reply: Reply) -> dict[str, Any]:
    return {
        "id": reply.id or new_id("cmpl-"),
        "object": "text_completion",
        "created": reply.created or now(),
        "model": reply.model or request.model,
        "system_fingerprint": reply.system_fingerprint or "fp_aimock",
    }


def render(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> dict[str, Any]:
    del options
    text, echo, top = _text(reply), bool(request.extras.get("echo")), request.extras.get("logprobs")
    choices = []
    for index, prompt in _choices(request):
        whole = prompt + text if echo else text
        choices.append(
            {
                "text": whole,
                "index": index,
                "logprobs": None if top is None else _logprobs(whole, 0, echo, top),
                "finish_reason": _finish_reason(reply),
            }
        )
    return {**_base(request, reply), "choices": choices, "usage": _usage(request, reply)}


def stream(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> Iterator[Event]:
    base = _base(request, reply)
    text, echo, top = _text(reply), bool(request.extras.get("echo")), request.extras.get("logprobs")

    def chunk(index: int, piece: str, at: int, finish: str | None = None) -> Event:
        logprobs = None if top is None or not piece else _logprobs(piece, at, echo and at == 0, top)
        choice = {"text": piece, "index": index, "logprobs": logprobs, "finish_reason": finish}
        return Event({**base, "choices": [choice]}, tokens=estimate_tokens(piece))

    for index, prompt in _choices(request):
        at = 0
        if echo:
            yield chunk(index, prompt, at)
            at += len(prompt)
        for piece in slices(text, options.chunk_size):
            yield chunk(index, piece, at)
            at += len(piece)
        yield chunk(index, "", at, _finish_reason(reply))
    if request.extras.get("include_usage"):
        yield Event({**base, "choices": [], "usage": _usage(request, reply)}, trailer=True)
    yield Event("[DONE]", trailer=True)


# --------------------------------------------------------------------------- collapse


def collapse(events: Sequence[tuple[str | None, Any]]) -> Reply:
    """A recorded Completions stream back into one answer: the first choice's text."""
    assembly = Assembly()
    for choice in openai_base.streamed_choices(events, assembly):
        if not isinstance(choice, dict) or choice.get("index", 0) != 0:
            continue
        if isinstance(choice.get("text"), str) and choice["text"]:
            assembly.text.append(choice["text"])
        assembly.finish_reason = choice.get("finish_reason") or assembly.finish_reason
    return assembly.reply()


def decode(body: Any) -> Reply:
    """A non-streamed Completions body back into one answer: its first choice."""
    body = body if isinstance(body, dict) else {}
    return collapse([(None, body)])


PROVIDER = Provider(
    name="openai.completions",
    surfaces=openai_base.surfaces(
        ROUTE,
        openai_base.azure_deployment_path(ROUTE),
        parse,
        name=SURFACE,
        endpoint="chat",
        render=render,
        stream=stream,
        collapse=collapse,
        decode=decode,
    ),
)
