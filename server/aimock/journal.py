"""The request journal: a bounded ring buffer of what was asked and what was answered.

Entries keep AIMock's JSON shape (`id`, `timestamp`, `method`, `path`, `headers`, `body`,
`response{status, fixture, source, interrupted, chaosAction, strictOverride}`) so its clients
keep working, plus what we add: surface, provider, model, testId, latency and, for JSON-RPC
services such as MCP, `rpcMethod`.
"""

from __future__ import annotations

import itertools
import re
import time
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import orjson

REDACTED = "[REDACTED]"
# A header or query parameter whose name has one of these words carries a credential:
# Authorization, x-api-key, x-goog-api-key, Ocp-Apim-Subscription-Key, X-Amz-Security-Token,
# X-Chroma-Token, X-AIMock-Admin-Token, Gemini's `?key=`, presigned AWS URLs' X-Amz-Signature
# and X-Amz-Credential... (`tokens`, a count, is not `token`).
_SECRET_WORDS = re.compile(
    r"(?:^|[-_.])(?:authorization|cookie|token|key|apikey|secret|password|signature|"
    r"credential)(?:$|[-_.])"
)
# Names with such a word that carry nothing secret, and that a test may want to read.
_NOT_SECRET = frozenset({"idempotency-key", "x-stainless-idempotency-key"})
# Body fields that carry a credential (Tavily takes its key in the body).
SECRET_BODY_FIELDS = frozenset({"api_key", "apiKey", "apikey", "access_token", "token"})
_ids = itertools.count(1)


def is_secret(name: str) -> bool:
    """Whether a header or query parameter named `name` carries a credential."""
    lowered = name.lower()
    return lowered not in _NOT_SECRET and _SECRET_WORDS.search(lowered) is not None


def redact_query(path: str) -> str:
    """`path` with the values of credential query parameters replaced."""
    if "?" not in path:
        return path
    base, _, query = path.partition("?")
    parts = []
    for part in query.split("&"):
        name, sep, _value = part.partition("=")
        redacted = sep and is_secret(unquote(name))
        parts.append(f"{name}={REDACTED}" if redacted else part)
    return base + "?" + "&".join(parts)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: _redacted_header(k, v) for k, v in headers.items()}


# A browser's OpenAI Realtime socket offers its key as a subprotocol (`aimock.auth`).
_KEY_PROTOCOL = re.compile(r"openai-insecure-api-key\.[^,\s]*")


def _redacted_header(name: str, value: str) -> str:
    if is_secret(name):
        return REDACTED
    if name.lower() == "sec-websocket-protocol":
        return _KEY_PROTOCOL.sub(f"openai-insecure-api-key.{REDACTED}", value)
    return value


def redact_body(body: Any) -> Any:
    """A JSON body with the values of its top-level credential fields replaced; a body
    without one is returned as it is, not copied."""
    if not isinstance(body, dict) or SECRET_BODY_FIELDS.isdisjoint(body):
        return body
    return {k: (REDACTED if k in SECRET_BODY_FIELDS else v) for k, v in body.items()}


# AIMock's names for why a stream was cut, so its clients read our journal unchanged.
INTERRUPT_REASONS = {"truncated": "truncateAfterChunks", "disconnected": "disconnectAfterMs"}


@dataclass
class Entry:
    method: str
    path: str
    headers: Mapping[str, str]
    surface: str | None
    provider: str | None
    test_id: str
    id: str = field(default_factory=lambda: f"req-{next(_ids)}")
    timestamp: float = field(default_factory=time.time)
    body: Any = None
    model: str | None = None
    status: int = 0
    fixture: dict[str, Any] | None = None
    source: str = "internal"  # fixture | fallback | internal
    chaos_action: str | None = None
    # The ChaosPolicy whose draw hit, and the seed of the generator that drew it, if seeded.
    chaos_policy: str | None = None
    chaos_seed: int | None = None
    strict_override: bool | None = None
    interrupted: str | None = None  # truncated | disconnected | client_gone
    latency_ms: float = 0.0
    # JSON-RPC services (MCP): the method asked, e.g. tools/call (several for a batch).
    rpc_method: str | None = None
    # The `x-request-id` the answer carried.
    request_id: str | None = None
    # The size of the request body as sent, and whether the journal kept only its start.
    body_bytes: int = 0
    body_truncated: bool = False
    # The journal's byte budget dropped the body of this (old) entry.
    body_dropped: bool = False
    # A miss: the nearest fixtures, each `{fixture, failed: [why, ...]}` (fixtures.explain).
    nearest: list[dict[str, Any]] | None = None
    # The answer's body as sent (a stream's frames too), and its content type; kept as the
    # request body is (its start past the per-body cap, dropped past the total budget).
    response_body: bytes | None = None
    response_type: str | None = None
    response_truncated: bool = False

    @property
    def matched(self) -> bool:
        return self.fixture is not None

    def to_json(self) -> dict[str, Any]:
        response: dict[str, Any] = {
            "status": self.status,
            "fixture": self.fixture,
            "source": self.source,
        }
        if self.interrupted:
            response["interrupted"] = True
            response["interruptReason"] = INTERRUPT_REASONS.get(self.interrupted, self.interrupted)
        if self.chaos_action:
            response["chaosAction"] = self.chaos_action
            if self.chaos_policy is not None:
                response["chaosPolicy"] = self.chaos_policy
            if self.chaos_seed is not None:
                response["chaosSeed"] = self.chaos_seed
        if self.strict_override is not None:
            response["strictOverride"] = self.strict_override
        if self.nearest is not None:
            response["nearestFixtures"] = self.nearest
        if self.response_body is not None:
            response["body"] = _answer(self.response_body, self.response_type)
            response["contentType"] = self.response_type
            if self.response_truncated:
                response["bodyTruncated"] = True
        out: dict[str, Any] = {
            "id": self.id,
            "timestamp": int(self.timestamp * 1000),
            "method": self.method,
            "path": redact_query(self.path),
            "headers": redact_headers(self.headers),
            "body": redact_body(self.body),
            "surface": self.surface,
            "provider": self.provider,
            "model": self.model,
            "testId": self.test_id,
            "matched": self.matched,
            "latencyMs": round(self.latency_ms, 3),
            "response": response,
        }
        if self.rpc_method is not None:
            out["rpcMethod"] = self.rpc_method
        if self.request_id is not None:
            out["requestId"] = self.request_id
        if self.body_truncated or self.body_dropped:
            out["bodyBytes"] = self.body_bytes
            if self.body_truncated:
                out["bodyTruncated"] = True
            if self.body_dropped:
                out["bodyDropped"] = True
        return representable(out)


def _answer(body: bytes, content_type: str | None) -> Any:
    """An answer's body for the journal: JSON as JSON, anything else as text (a stream's
    frames, an event-stream's binary as replaced characters)."""
    if content_type is not None and content_type.startswith("application/json"):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass  # a truncated or malformed body (chaos) shows as text
    return body.decode("utf-8", "replace")


def representable(entry: dict[str, Any]) -> dict[str, Any]:
    """`entry` as JSON can hold it. A request may have sent what JSON out cannot carry (a body
    nested deeper than the encoder goes, header bytes that are not UTF-8): those parts are
    replaced, so one hostile request never breaks reading the journal."""
    try:
        orjson.dumps(entry)
    except (TypeError, orjson.JSONEncodeError):
        pass
    else:
        return entry
    body = entry.get("body")
    try:
        orjson.dumps(body)
    except (TypeError, orjson.JSONEncodeError) as exc:
        body = f"[not representable as JSON: {exc}]"
    safe: dict[str, Any] = _clean({**entry, "body": None})
    safe["body"] = _clean(body)
    return safe


def _clean(value: Any) -> Any:
    """`value` with every string made valid UTF-8 (undecodable bytes replaced)."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


class Journal:
    """The last `max_entries` requests. A body over `max_body_bytes` is kept as the start of
    its text (marked `bodyTruncated`), and the bodies held together stay under
    `max_total_bytes`: past it, the oldest entries lose theirs (marked `bodyDropped`), so
    large requests cannot pile up in memory (1,000 entries of 10 MiB each would be 10 GB)."""

    def __init__(
        self,
        max_entries: int = 1000,
        max_body_bytes: int = 1024 * 1024,
        max_total_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self._entries: deque[Entry] = deque()
        self._max_entries = max_entries
        self._max_body = max_body_bytes
        self._max_total = max_total_bytes
        # The entries still holding a weighed body, oldest first, and their bytes together.
        self._weighed: deque[Entry] = deque()
        self._bytes = 0

    @property
    def body_bytes(self) -> int:
        """The bytes of request and answer bodies the journal holds now."""
        return self._bytes

    def add(self, entry: Entry, raw: bytes | None = None) -> None:
        """Keep `entry`; `raw` is the body as sent (it sizes it, and a truncated body keeps
        the start of it)."""
        if raw is not None:
            entry.body_bytes = len(raw)
            if len(raw) > self._max_body:
                entry.body = raw[: self._max_body].decode("utf-8", "replace")
                entry.body_truncated = True
        answer = entry.response_body
        if answer is not None and len(answer) > self._max_body:
            entry.response_body, entry.response_truncated = answer[: self._max_body], True
        if self._max_entries and len(self._entries) >= self._max_entries:
            self._forget(self._entries.popleft())
        self._entries.append(entry)
        weight = self._weight(entry)
        if weight:
            self._weighed.append(entry)
            self._bytes += weight
        while self._bytes > self._max_total and self._weighed:
            oldest = self._weighed.popleft()
            self._bytes -= self._weight(oldest)
            oldest.body, oldest.response_body, oldest.body_dropped = None, None, True

    def _weight(self, entry: Entry) -> int:
        """The bytes an entry's bodies count against the total budget."""
        request = min(entry.body_bytes, self._max_body) if entry.body is not None else 0
        answer = entry.response_body
        return request + (len(answer) if answer is not None else 0)

    def _forget(self, entry: Entry) -> None:
        # The oldest entry leaves: if it still weighed, it is the oldest of the weighed too.
        if self._weighed and self._weighed[0] is entry:
            self._weighed.popleft()
            self._bytes -= self._weight(entry)

    def clear(self) -> None:
        self._entries.clear()
        self._weighed.clear()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(list(self._entries))

    def query(
        self,
        *,
        surface: str | None = None,
        provider: str | None = None,
        model: str | None = None,
        status: int | None = None,
        matched: bool | None = None,
        test_id: str | None = None,
        since: float | None = None,
        limit: int | None = None,
    ) -> list[Entry]:
        out = [
            e
            for e in self._entries
            if (surface is None or e.surface == surface)
            and (provider is None or e.provider == provider)
            and (model is None or e.model == model)
            and (status is None or e.status == status)
            and (matched is None or e.matched is matched)
            and (test_id is None or e.test_id == test_id)
            and (since is None or e.timestamp * 1000 >= since)
        ]
        return out[-limit:] if limit else out
