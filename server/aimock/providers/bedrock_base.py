"""What the AWS Bedrock Runtime surfaces share: the error envelope, the model id from the
path, the environment boto3 reads. Not a surface itself (bedrock_invoke.py and
bedrock_converse.py are).

Errors are rest-json: the status, a `{"message": ...}` body, and the exception's name in the
`x-amzn-ErrorType` header, which botocore turns into `ClientError.response["Error"]["Code"]`
(anything after a `:` in the header is dropped). Requests are SigV4-signed; the signature is
accepted unchecked, as any mock must.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aimock import ids
from aimock.canonical import CanonicalRequest
from aimock.surface import ErrorDialect, ErrorInfo, bad_request

FAMILY = "bedrock"  # Surface.provider of every Bedrock surface (`match.provider: bedrock`)

# The exception botocore's service model declares for each status (a fixture may name another
# one in `error.type`, e.g. ModelNotReadyException, which is also a 429).
_STATUS_EXCEPTIONS = {
    400: "ValidationException",
    401: "UnrecognizedClientException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    413: "ValidationException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}
EXCEPTIONS = frozenset(
    {
        *_STATUS_EXCEPTIONS.values(),
        "ConflictException",
        "ModelNotReadyException",
        "ModelStreamErrorException",
        "ServiceQuotaExceededException",
        "MissingAuthenticationTokenException",
    }
)

# Every variable boto3 (and anthropic's AnthropicBedrock) reads to find the endpoint, a region
# and credentials; the credentials only have to exist, the mock never checks the signature.
ENVIRONMENT = {
    "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": "{origin}",
    "ANTHROPIC_BEDROCK_BASE_URL": "{origin}",
    "AWS_ACCESS_KEY_ID": "aimock",
    "AWS_SECRET_ACCESS_KEY": "aimock",
    "AWS_REGION": "us-east-1",  # read by AnthropicBedrock
    "AWS_DEFAULT_REGION": "us-east-1",  # read by botocore
}


def exception_name(info: ErrorInfo) -> str:
    """The Bedrock exception for an error: one a fixture names (type or code) wins; otherwise
    the status's own, InternalServerException for other 5xx, ValidationException for 4xx."""
    for named in (info.type, info.code):
        if isinstance(named, str) and named in EXCEPTIONS:  # a name, never an unhashable value
            return named
    if info.status in _STATUS_EXCEPTIONS:
        return _STATUS_EXCEPTIONS[info.status]
    return "InternalServerException" if info.status >= 500 else "ValidationException"


def error_body(info: ErrorInfo) -> dict[str, Any]:
    return {"message": info.message}


def error_headers(info: ErrorInfo) -> dict[str, str]:
    return {"x-amzn-ErrorType": exception_name(info), "x-amzn-RequestId": ids.uuid4()}


def unauthorized(given: bool) -> ErrorInfo:
    """AWS's refusals of a request signed with an access key id it does not know, or not
    signed at all: both 403."""
    if given:
        return ErrorInfo(
            403,
            "The security token included in the request is invalid.",
            type="UnrecognizedClientException",
        )
    return ErrorInfo(
        403, "Missing Authentication Token", type="MissingAuthenticationTokenException"
    )


ERRORS = ErrorDialect(body=error_body, headers=error_headers, unauthorized=unauthorized)


def answer_headers(request: CanonicalRequest) -> dict[str, str]:
    """Every Bedrock answer names its request, as the service does."""
    del request
    return {"x-amzn-RequestId": ids.uuid4()}


def invoke_headers(request: CanonicalRequest) -> dict[str, str]:
    """InvokeModel also echoes the body's content type (boto3's `contentType`)."""
    return {**answer_headers(request), "X-Amzn-Bedrock-Content-Type": "application/json"}


def model_id(params: Mapping[str, str]) -> str:
    """The `{modelId}` path segment, decoded: a model id, an inference profile id or an ARN
    (whose `:` and `/` boto3 percent-encodes; the router matches before decoding)."""
    model = params.get("modelId", "")
    if not model:
        raise bad_request(
            "1 validation error detected: Value at 'modelId' failed to satisfy constraint: "
            "Member must have length greater than or equal to 1"
        )
    return model


# Latencies Bedrock reports (Converse `metrics.latencyMs`, InvokeModel's
# `amazon-bedrock-invocationMetrics`). The mock renders before it paces, so it reports a small
# nominal figure rather than a measurement; non-zero, so a client dividing by it is safe.
NOMINAL_LATENCY_MS = 1
