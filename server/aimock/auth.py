"""Inbound API keys: when keys are configured, a request must carry one of them, the way its
provider's SDK sends a key, or it is refused in that provider's own words (each protocol's
`ErrorDialect.unauthorized`).

The key may come in any header an SDK puts one in: `Authorization: Bearer` (OpenAI, Cohere,
Mistral, OpenRouter, MCP, A2A...), `Authorization: Key` (fal), the access key id of a SigV4
`Authorization` (Bedrock), `x-api-key` (Anthropic), `x-goog-api-key` or the `key` query
parameter (Gemini), `api-key` (Azure, Qdrant, Pinecone), `xi-api-key` (ElevenLabs),
`x-chroma-token` (Chroma), or a browser's WebSocket subprotocol
`openai-insecure-api-key.<key>` (OpenAI Realtime). Every credential a request carries must be
a configured key, and at least one must be there. Keys are compared in constant time.

The control API keeps its own token, and the probes (`/health`, `/ready`, `/metrics`) stay
open. Keys never reach the journal, the logs or recordings: the journal redacts the headers
and query parameters that carry them.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable, Mapping

# Headers whose whole value is a key.
KEY_HEADERS = ("x-api-key", "x-goog-api-key", "api-key", "xi-api-key", "x-chroma-token")
# `Authorization` schemes whose credential is a key (fal's is `Key`).
_BEARER = re.compile(r"^(?:bearer|key)[ \t]+(\S+)[ \t]*$", re.IGNORECASE)
# SigV4 (Bedrock): the key is the access key id, the first part of the credential scope.
_SIGV4 = re.compile(r"^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)/", re.IGNORECASE)
# A browser cannot set headers on a WebSocket: OpenAI Realtime takes the key as a subprotocol.
BROWSER_KEY_PROTOCOL = "openai-insecure-api-key."
ENVIRONMENT = "AIMOCK_API_KEYS"  # AIMock's variable: comma-separated keys
MAX_KEYS = 1000
MAX_KEY_LENGTH = 4096


class InboundKeys:
    """The keys a request must carry one of."""

    def __init__(self, keys: Iterable[str], source: str = "keys") -> None:
        normalized = [normalize(key, f"{source}[{index}]") for index, key in enumerate(keys)]
        if not normalized:
            raise ValueError(f"{source}: no API key given (an empty list would refuse everything)")
        if len(normalized) > MAX_KEYS:
            raise ValueError(f"{source}: at most {MAX_KEYS} API keys")
        if len(set(normalized)) != len(normalized):
            raise ValueError(f"{source}: the same API key is given twice")
        self._keys = tuple(key.encode() for key in normalized)

    def __len__(self) -> int:
        return len(self._keys)

    def refusal(self, headers: Mapping[str, str], query: Mapping[str, str]) -> bool | None:
        """None when the request is admitted; else whether it gave a credential at all
        (True: a wrong one; False: none)."""
        found = credentials(headers, query)
        if found is None:
            return True  # a credential header that holds no key (an unknown scheme)
        if not found:
            return False
        return None if all(self._known(candidate) for candidate in found) else True

    def _known(self, candidate: str) -> bool:
        # A header that is not UTF-8 reaches here with its bytes escaped: never a key.
        given = candidate.encode("utf-8", "surrogateescape")
        # Every key is compared, so the time taken says nothing of which one came close.
        matches = [hmac.compare_digest(given, key) for key in self._keys]
        return any(matches)


def normalize(key: str, where: str) -> str:
    """A configured key without the blanks around it; ValueError naming `where` when it is
    empty, too long or holds control characters."""
    if not isinstance(key, str):
        raise ValueError(f"{where}: an API key is a string")
    value = key.strip(" \t")
    if not value:
        raise ValueError(f"{where}: an API key must not be empty")
    if len(value) > MAX_KEY_LENGTH:
        raise ValueError(f"{where}: an API key is at most {MAX_KEY_LENGTH} characters")
    if any(ord(c) < 32 or ord(c) == 127 or c.isspace() for c in value):
        raise ValueError(f"{where}: an API key must not hold blanks or control characters")
    return value


def from_environment(value: str) -> InboundKeys:
    """`AIMOCK_API_KEYS`, comma-separated."""
    return InboundKeys(value.split(","), ENVIRONMENT)


def credentials(headers: Mapping[str, str], query: Mapping[str, str]) -> list[str] | None:
    """Every credential the request carries (lower-cased header names); None when one is
    there but is no key (an `Authorization` of another scheme)."""
    found: list[str] = []
    authorization = headers.get("authorization")
    if authorization is not None:
        matched = _BEARER.match(authorization) or _SIGV4.match(authorization)
        if matched is None:
            return None
        found.append(matched.group(1))
    for name in KEY_HEADERS:
        value = headers.get(name)
        if value is not None:
            found.append(value.strip(" \t"))
    key = query.get("key")
    if key is not None:
        found.append(key)
    for offered in headers.get("sec-websocket-protocol", "").split(","):
        protocol = offered.strip()
        if protocol.startswith(BROWSER_KEY_PROTOCOL):
            found.append(protocol.removeprefix(BROWSER_KEY_PROTOCOL))
    return found
