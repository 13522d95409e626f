"""What every OpenAI surface shares: the error envelope, rate-limit headers, usage maths.

Not a surface itself; the OpenAI surface modules import it, never each other.
"""

from __future__ import annotations

from typing import Any

from aimock.surface import ErrorDialect, ErrorInfo

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


ERRORS = ErrorDialect(body=error_body, headers=error_headers)

# What the openai SDK (and most OpenAI-compatible clients) read to find the service.
ENVIRONMENT = {"OPENAI_BASE_URL": "{origin}/v1", "OPENAI_API_KEY": "aimock"}

# Where OpenAI clients send a route: the SDK's `/v1` base, a bare host (clients configured
# without `/v1`), and Azure-style `/openai/v1`.
PREFIXES = ("/v1", "", "/openai/v1")


def paths(route: str) -> tuple[str, ...]:
    """Every path an OpenAI route is reached on, e.g. paths("/embeddings")."""
    return tuple(prefix + route for prefix in PREFIXES)
