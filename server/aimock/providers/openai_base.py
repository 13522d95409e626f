"""What every OpenAI surface shares: the error envelope, rate-limit headers, and where the
OpenAI wire is served (OpenAI itself, Azure OpenAI, and the OpenAI-compatible vendors).

Not a surface itself; the OpenAI surface modules import it, never each other.

Bases. An OpenAI-compatible client appends the route (`/chat/completions`, `/embeddings`,
`/responses`, `/models`) to its base URL, so each vendor's base is a path prefix here:

    /v1            OpenAI, Together, Mistral (the mistralai SDK's paths hold `/v1`), DeepSeek,
                   vLLM, LM Studio, llama.cpp, ...              provider "openai"
    (bare)         clients configured without `/v1` (DeepSeek's documented base)   "openai"
    /openai/v1     Groq, and Azure OpenAI's v1 API (the same path for both)        "openai"
    /api/v1        OpenRouter                                                   "openrouter"
    /inference/v1  Fireworks                                                     "fireworks"

Azure OpenAI's classic API (`openai.AzureOpenAI`) puts the deployment in the path:
`/openai/deployments/{deployment}/chat/completions|embeddings?api-version=...`; routes without
a deployment (`/responses`, `/models`) live under `/openai`. Those surfaces have provider
"azure", so `match.provider: azure` tells them apart; the deployment name is the model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aimock.canonical import CanonicalRequest, RequestContext
from aimock.providers.assembly import Assembly
from aimock.surface import ErrorDialect, ErrorInfo, Parse, ProtocolError, Surface

_DEFAULT_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    409: "conflict_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


def error_body(info: ErrorInfo) -> dict[str, Any]:
    error: dict[str, Any] = {
        "message": info.message,
        "type": info.type or _DEFAULT_TYPES.get(info.status, "server_error"),
        "param": info.param,
        "code": info.code,
    }
    if info.metadata:
        error["metadata"] = dict(info.metadata)
    return {"error": error}


def error_headers(info: ErrorInfo) -> dict[str, str]:
    if info.status != 429:
        return {}
    retry = info.retry_after if info.retry_after is not None else 1.0
    seconds = f"{retry:g}"
    return {
        "Retry-After": seconds,
        "x-ratelimit-limit-requests": "60",
        "x-ratelimit-limit-tokens": "150000",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-remaining-tokens": "0",
        "x-ratelimit-reset-requests": f"{seconds}s",
        "x-ratelimit-reset-tokens": f"{seconds}s",
    }


def unauthorized(given: bool) -> ErrorInfo:
    """OpenAI's 401s: a wrong key, or none."""
    if given:
        return ErrorInfo(
            401,
            "Incorrect API key provided. You can find your API keys at "
            "https://platform.openai.com/account/api-keys.",
            type="invalid_request_error",
            code="invalid_api_key",
        )
    return ErrorInfo(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization "
        "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        type="invalid_request_error",
    )


ERRORS = ErrorDialect(body=error_body, headers=error_headers, unauthorized=unauthorized)


def azure_error_body(info: ErrorInfo) -> dict[str, Any]:
    """The OpenAI envelope, plus Azure's `innererror` (content filter details) when an error
    fixture gives one in its metadata: `metadata: {innererror: {code: ..., ...}}`."""
    metadata = dict(info.metadata or {})
    inner = metadata.pop("innererror", None)
    body = error_body(
        ErrorInfo(info.status, info.message, info.type, info.code, info.param, metadata=metadata)
    )
    if inner is not None:
        body["error"]["innererror"] = inner
    return body


def azure_unauthorized(given: bool) -> ErrorInfo:
    """Azure OpenAI's 401, the same for a wrong key and none."""
    del given
    return ErrorInfo(
        401,
        "Access denied due to invalid subscription key or wrong API endpoint. Make sure to "
        "provide a valid key for an active subscription and use a correct regional API "
        "endpoint for your resource.",
        code="401",
    )


AZURE_ERRORS = ErrorDialect(
    body=azure_error_body, headers=error_headers, unauthorized=azure_unauthorized
)


def openrouter_error_body(info: ErrorInfo) -> dict[str, Any]:
    """OpenRouter's envelope: `{"error": {"code": <status>, "message", "metadata"?}}`. The
    openai SDK picks its exception class from the status, not the body, so it raises the same
    classes as on OpenAI. `param` is added when the mock knows it (a request it refuses):
    the SDK exposes it as `error.param`."""
    error: dict[str, Any] = {"code": info.status, "message": info.message}
    if info.param is not None:
        error["param"] = info.param
    if info.metadata:
        error["metadata"] = dict(info.metadata)
    return {"error": error}


def openrouter_unauthorized(given: bool) -> ErrorInfo:
    return ErrorInfo(401, "User not found." if given else "No auth credentials found")


OPENROUTER_ERRORS = ErrorDialect(
    body=openrouter_error_body, headers=error_headers, unauthorized=openrouter_unauthorized
)

# What the openai SDK (and most OpenAI-compatible clients) read to find the service; the
# Azure client reads its own three.
ENVIRONMENT = {
    "OPENAI_BASE_URL": "{origin}/v1",
    "OPENAI_API_KEY": "aimock",
    "AZURE_OPENAI_ENDPOINT": "{origin}",
    "AZURE_OPENAI_API_KEY": "aimock",
    "OPENAI_API_VERSION": "2024-10-21",
}

# Where OpenAI clients send a route: the SDK's `/v1` base, a bare host (clients configured
# without `/v1`), and `/openai/v1` (Groq; Azure's v1 API). Provider "openai".
PREFIXES = ("/v1", "", "/openai/v1")

# OpenAI-compatible vendors whose base path is theirs alone, by provider name.
VENDOR_PREFIXES: Mapping[str, str] = {"openrouter": "/api/v1", "fireworks": "/inference/v1"}

# The models listed when no fixture names one (as AIMock lists them).
DEFAULT_MODELS = (
    "gpt-4",
    "gpt-4o",
    "gpt-4o-mini",
    "claude-3-5-sonnet-20241022",
    "gemini-2.0-flash",
    "text-embedding-3-small",
)

OPENAI = "openai"
AZURE = "azure"
OPENROUTER = "openrouter"
AZURE_ROOT = "/openai"
API_VERSION = "api-version"


# What `obfuscation` pads a streamed piece with: random characters in the real API, of a
# length that hides the piece's; any string will do for a client, which ignores it.
_PADDING = "Zq7XkP2mWb9tRvN4"


def obfuscates(provider: str, stream_options: Mapping[str, Any]) -> bool:
    """Whether streamed pieces carry `obfuscation`: OpenAI's own API pads them unless
    `stream_options.include_obfuscation` is false."""
    return provider == OPENAI and stream_options.get("include_obfuscation") is not False


def padding(size: int) -> str:
    """An `obfuscation` value whose length follows `size`."""
    return _PADDING[: 1 + size % len(_PADDING)]


def rebase(path: str, prefix: str) -> str | None:
    """An OpenAI route's `/v1/...` path under another base (`--openai-prefix`), else None."""
    return prefix + path[len("/v1") :] if path.startswith("/v1/") else None


def errors_for(provider: str) -> ErrorDialect:
    """The error envelope a provider's OpenAI routes answer with."""
    return {AZURE: AZURE_ERRORS, OPENROUTER: OPENROUTER_ERRORS}.get(provider, ERRORS)


def paths(route: str) -> tuple[str, ...]:
    """Every path an OpenAI route is reached on, e.g. paths("/embeddings")."""
    return tuple(prefix + route for prefix in PREFIXES)


def azure_deployment_path(route: str) -> str:
    """The classic Azure path of a deployment route, e.g. for "/chat/completions"."""
    return f"{AZURE_ROOT}/deployments/{{deployment}}{route}"


@dataclass(frozen=True)
class Mount:
    """One provider's paths for one OpenAI route."""

    provider: str
    paths: tuple[str, ...]


def vendor_mounts(route: str) -> tuple[Mount, ...]:
    return tuple(Mount(name, (prefix + route,)) for name, prefix in VENDOR_PREFIXES.items())


def surfaces(
    route: str,
    azure_path: str,
    parse: ProviderParse,
    variant: Callable[[str], Mapping[str, Any]] = lambda provider: {},
    **fields: Any,
) -> tuple[Surface, ...]:
    """An OpenAI route (`POST`) as one surface for every provider serving it, in registration
    order: OpenAI on its prefixes, each vendor on its own base, Azure on `azure_path`. Each
    gets the provider's parse and error envelope; `fields` are the `Surface`'s others (name,
    endpoint, render...), and `variant` gives a provider's own differences."""
    mounts = (Mount(OPENAI, paths(route)), *vendor_mounts(route), Mount(AZURE, (azure_path,)))
    return tuple(
        Surface(
            **{
                "method": "POST",
                "provider": mount.provider,
                "paths": mount.paths,
                "parse": parse_for(parse, mount.provider),
                "errors": errors_for(mount.provider),
                **fields,
                **variant(mount.provider),
            }
        )
        for mount in mounts
    )


class ProviderParse(Protocol):
    """A surface's parse that names the provider it serves.

    Its `provider` default only says that one exists; it is a str, not `...`, because the
    compiled build (scripts/compile.py) evaluates defaults."""

    def __call__(
        self,
        body: Any,
        context: RequestContext,
        params: Mapping[str, str],
        provider: str = "openai",
    ) -> CanonicalRequest: ...


def parse_for(parse: ProviderParse, provider: str) -> Parse:
    """`parse` for one provider; Azure's also checks `api-version` as Azure does."""

    def parse_as(body: Any, context: RequestContext, params: Mapping[str, str]) -> CanonicalRequest:
        if provider == AZURE:
            require_api_version(context)
        return parse(body, context, params, provider)

    return parse_as


MISTRAL_AGENT = "mistral-client"  # the mistralai SDK sends mistral-client-python/<version>


def from_mistral(context: RequestContext) -> bool:
    """Whether Mistral's own client sent the request: Mistral's API differs from OpenAI's in
    a few fields its SDK requires (whole streamed tool calls, reasoning as `thinking` content
    chunks, an embeddings `id`, typed model cards)."""
    return is_mistral_agent(context.header("user-agent"))


def is_mistral_agent(user_agent: str | None) -> bool:
    """`from_mistral` for routes that read the raw User-Agent header (model listing)."""
    return MISTRAL_AGENT in (user_agent or "")


def require_api_version(context: RequestContext) -> None:
    """Classic Azure routes answer 404 "Resource not found" without `?api-version=` (any
    value is accepted here). The openai SDK's AzureOpenAI always sends it; a hand-built URL
    that forgets it fails against the mock as it would against Azure."""
    if not context.query.get(API_VERSION):
        raise ProtocolError(ErrorInfo(404, "Resource not found", type=None, code="404"))


def streamed_choices(events: Sequence[tuple[str | None, Any]], assembly: Assembly) -> Iterator[Any]:
    """The choices of a recorded OpenAI stream (Chat Completions, legacy Completions), chunk
    by chunk; each chunk's id, model and usage go to `assembly`. The `[DONE]` terminator is
    not a chunk."""
    for _, chunk in events:
        if not isinstance(chunk, dict):
            continue
        assembly.id = assembly.id or chunk.get("id")
        assembly.model = assembly.model or chunk.get("model")
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            assembly.input_tokens = usage.get("prompt_tokens")
            assembly.output_tokens = usage.get("completion_tokens")
        yield from chunk.get("choices") or ()
